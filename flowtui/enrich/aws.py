"""The live inventory: describe-* through boto3 in every account and region.

A collection is all or nothing: if any account or region fails, the whole
refresh fails and :class:`InventoryRefresher` keeps the last good inventory, so
a flaky API or expired credentials never empty the map.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flowtui.config import Config, parse_duration
from flowtui.enrich.inventory import (
    DEFAULT_REFRESH_INTERVAL,
    Inventory,
    InventoryRefresher,
    Snapshot,
    snapshot_from_documents,
)
from flowtui.errors import ConfigError
from flowtui.sources.region import REGION_SOURCES, region_for

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Account:
    """One ``[[enrich.accounts]]`` table: a role to assume, a profile, or neither (the default chain)."""

    role_arn: str | None = None
    profile: str | None = None
    external_id: str | None = None
    regions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AwsSettings:
    regions: tuple[str, ...] = ()  # empty: the session's region
    accounts: tuple[Account, ...] = (Account(),)
    profile: str | None = None
    endpoint_url: str | None = None
    refresh_interval: float = DEFAULT_REFRESH_INTERVAL
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config: Config) -> AwsSettings:
        where = f"{config.path or 'config'}: [enrich]"
        regions = _strings(config.get("enrich", "regions", [], list), f"{where} regions")
        accounts_raw = config.section("enrich").get("accounts", [])
        if not isinstance(accounts_raw, list) or not all(isinstance(a, dict) for a in accounts_raw):
            raise ConfigError(f"{where} accounts must be an array of tables: [[enrich.accounts]]")
        accounts = tuple(
            Account(
                role_arn=_opt_str(a, "role_arn", where),
                profile=_opt_str(a, "profile", where),
                external_id=_opt_str(a, "external_id", where),
                regions=tuple(_strings(a.get("regions", []), f"{where} accounts regions")),
            )
            for a in accounts_raw
        ) or (Account(),)
        interval = parse_duration(
            config.get("enrich", "refresh_interval", DEFAULT_REFRESH_INTERVAL, (str, int, float)), "refresh_interval"
        )
        if interval <= 0:
            raise ConfigError(f"{where} refresh_interval must be positive")
        return cls(
            regions=tuple(regions),
            accounts=accounts,
            profile=config.get("enrich", "profile", None, str),
            endpoint_url=config.get("enrich", "endpoint_url", None, str),
            refresh_interval=interval,
        )


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{what} must be a list of strings")
    return value


def _opt_str(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where} accounts {key} must be a string")
    return value


def collect_documents(settings: AwsSettings) -> list[dict[str, Any]]:
    """describe-network-interfaces, -instances, -vpcs and RDS's describe-db-instances of every
    account and region, paginated."""
    import boto3
    from botocore.config import Config as BotoConfig

    boto_config = BotoConfig(
        connect_timeout=min(settings.timeout, 10),
        read_timeout=settings.timeout,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    docs: list[dict[str, Any]] = []
    for account in settings.accounts:
        session = boto3.Session(profile_name=account.profile or settings.profile, region_name=region_for(None))
        if account.role_arn:
            session = _assume(session, account, settings, boto_config)
        regions = account.regions or settings.regions or ((session.region_name,) if session.region_name else ())
        if not regions:
            raise ConfigError(f"no AWS region for the inventory: set [enrich] regions, or {REGION_SOURCES}")
        for region in regions:
            ec2 = session.client("ec2", region_name=region, endpoint_url=settings.endpoint_url, config=boto_config)
            for operation, key in (
                ("describe_network_interfaces", "NetworkInterfaces"),
                ("describe_instances", "Reservations"),
                ("describe_vpcs", "Vpcs"),
            ):
                items: list[Any] = []
                for page in ec2.get_paginator(operation).paginate():
                    items.extend(page.get(key) or ())
                docs.append({key: items})
            rds = session.client("rds", region_name=region, endpoint_url=settings.endpoint_url, config=boto_config)
            docs.append({"DBInstances": _db_instances(rds, region)})
    return docs


def _db_instances(rds: Any, region: str) -> list[Any]:
    """The DB instances (their names label RDS ENIs); none where the role may not list them.

    A role made for flowtui before it read RDS has only ec2:Describe*: its
    RDS ENIs keep their ``RDS eni-…`` label rather than the whole refresh
    failing. Any other error fails the refresh, as the EC2 calls do.
    """
    from botocore.exceptions import ClientError

    items: list[Any] = []
    try:
        for page in rds.get_paginator("describe_db_instances").paginate():
            items.extend(page.get("DBInstances") or ())
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            raise
        log.warning("inventory: no rds:DescribeDBInstances in %s (%s); RDS addresses are named by ENI", region, code)
        return []
    return items


def _assume(session: Any, account: Account, settings: AwsSettings, boto_config: Any) -> Any:
    import boto3

    sts = session.client("sts", endpoint_url=settings.endpoint_url, config=boto_config)
    kwargs: dict[str, Any] = {"RoleArn": account.role_arn, "RoleSessionName": "flowtui-inventory"}
    if account.external_id:
        kwargs["ExternalId"] = account.external_id
    creds = sts.assume_role(**kwargs)["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=session.region_name,
    )


def fetch_snapshot(settings: AwsSettings) -> Snapshot:
    return snapshot_from_documents(collect_documents(settings))


def aws_refresher(settings: AwsSettings, initial: Inventory | None = None) -> InventoryRefresher:
    """A refresher that describes the accounts and regions of ``settings``."""
    return InventoryRefresher(
        lambda: fetch_snapshot(settings), settings.refresh_interval, initial if initial is not None else Inventory()
    )
