"""Which AWS entity holds an address, as of a flow's time.

The inventory is built from what DescribeNetworkInterfaces, DescribeInstances,
DescribeVpcs and RDS's DescribeDBInstances return, whether live through boto3
(see :mod:`flowtui.enrich.aws`) or offline from the JSON the AWS CLI prints;
both arrive here as the same dictionaries.

Addresses move between resources (an instance is replaced, an Elastic IP is
re-associated, a public IP goes back to Amazon's pool), and flow records arrive
minutes after the traffic. So each address keeps a short history of
``(valid_from, entity)`` pairs and a flow is attributed to whoever held its
address at the flow's time. An :class:`Inventory` is immutable: a refresh
builds a new one and swaps the reference.

Text from AWS (Name tags, descriptions) is kept verbatim, control characters
and markup included; whoever displays it escapes it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import os
import re
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flowtui.errors import ConfigError

log = logging.getLogger(__name__)

# (entity, entity_description, entity_aws_type), e.g. ("ec2:i-0abc", "web-1", "EC2").
Entity = tuple[str, str | None, str]
# Per address: the start times and the holders from then on (None: nobody).
History = tuple[tuple[int, ...], tuple[Entity | None, ...]]

INVENTORY_KEYS = ("NetworkInterfaces", "Reservations", "Vpcs", "DBInstances")
# How long a superseded holder is remembered: flows older than this are rarely ingested.
KEEP_HISTORY_SECONDS = 30 * 86400
_NEG_INF = -math.inf
_POS_INF = math.inf

_NAT_RE = re.compile(r"\bnat-[0-9a-f]+\b")
_VPCE_RE = re.compile(r"\bvpce-[0-9a-f]+\b")
_TGW_RE = re.compile(r"\btgw-attach-[0-9a-f]+\b")
_LAMBDA_PREFIX = "AWS Lambda VPC ENI-"
_RDS_DESCRIPTION = "RDSNetworkInterface"
_UUID_TAIL = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# --------------------------------------------------------------------------- classification


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    name: str | None  # the Name tag, verbatim
    launch_time: int | None


def _name_tag(tags: Any) -> str | None:
    for tag in tags or ():
        if isinstance(tag, Mapping) and tag.get("Key") == "Name":
            value = tag.get("Value")
            return value if isinstance(value, str) else None
    return None


def _unix(value: Any) -> int | None:
    """AttachTime / LaunchTime as boto3 (datetime) or the AWS CLI (ISO 8601 text) gives it."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, str) and value:
        try:
            return int(datetime.fromisoformat(value).timestamp())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    return None


def _canonical(address: Any) -> str | None:
    if not isinstance(address, str):
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def classify(
    eni: Mapping[str, Any],
    instances: Mapping[str, InstanceInfo] | None = None,
    databases: Mapping[str, str] | None = None,
) -> Entity:
    """The entity an ENI stands for, from its InterfaceType, Description, RequesterId and attachment.

    ``databases`` maps an RDS ENI's id to the DB instance it belongs to (see :func:`rds_owners`).
    """
    eni_id = str(eni.get("NetworkInterfaceId") or "eni-unknown")
    raw_desc = eni.get("Description")
    desc = raw_desc if isinstance(raw_desc, str) else ""
    itype = eni.get("InterfaceType") or ""
    requester = str(eni.get("RequesterId") or "")
    attachment = eni.get("Attachment") or {}
    owner = str(attachment.get("InstanceOwnerId") or "")
    tag_name = _name_tag(eni.get("TagSet") or eni.get("Tags"))
    shown = desc or tag_name  # what a non-EC2 entity is described by

    if (
        desc.startswith("ELB ")
        or itype in ("network_load_balancer", "gateway_load_balancer")
        or requester == "amazon-elb"
    ):
        rest = desc[4:] if desc.startswith("ELB ") else ""
        parts = rest.split("/")
        name = parts[1] if len(parts) >= 3 and parts[0] in ("app", "net", "gwy") else rest
        return (f"elb:{name or eni_id}", shown, "ELB")
    if "amazon-rds" in (requester, owner) or desc.startswith("RDSNetworkInterface"):
        db = (databases or {}).get(eni_id)
        if db is not None:
            return (f"rds:{db}", db, "RDS")
        # Every RDS ENI is described "RDSNetworkInterface": say which one it is instead.
        return (f"rds:{eni_id}", tag_name or (desc if desc != _RDS_DESCRIPTION else "") or f"RDS {eni_id}", "RDS")
    if itype == "nat_gateway" or desc.startswith("Interface for NAT Gateway"):
        found = _NAT_RE.search(desc)
        return (f"nat:{found.group(0) if found else eni_id}", shown, "NAT")
    if itype == "lambda" or desc.startswith(_LAMBDA_PREFIX):
        fn = _UUID_TAIL.sub("", desc[len(_LAMBDA_PREFIX) :]) if desc.startswith(_LAMBDA_PREFIX) else ""
        return (f"lambda:{fn or eni_id}", shown, "LAMBDA")
    if itype in ("vpc_endpoint", "gateway_load_balancer_endpoint") or desc.startswith("VPC Endpoint Interface"):
        found = _VPCE_RE.search(desc)
        return (f"vpce:{found.group(0) if found else eni_id}", shown, "VPCE")
    if itype == "transit_gateway" or desc.startswith("Network Interface for Transit Gateway"):
        found = _TGW_RE.search(desc)
        return (f"tgw:{found.group(0) if found else eni_id}", shown, "TGW")
    if itype == "ecs" or desc.startswith("arn:aws:ecs") or "ecs" in requester.lower():
        return (f"ecs:{eni_id}", shown, "ECS")
    if desc.startswith("Amazon EKS "):
        cluster = desc[len("Amazon EKS ") :].split()
        return (f"eks:{cluster[0] if cluster else eni_id}", shown, "EKS")
    instance_id = attachment.get("InstanceId")
    if instance_id:
        info = (instances or {}).get(instance_id)
        label = info.name if info is not None else None
        return (f"ec2:{instance_id}", label if label is not None else tag_name or desc or None, "EC2")
    return (f"eni:{eni_id}", shown or None, "ENI")


def _is_rds(eni: Mapping[str, Any]) -> bool:
    owner = str((eni.get("Attachment") or {}).get("InstanceOwnerId") or "")
    desc = eni.get("Description")
    return "amazon-rds" in (str(eni.get("RequesterId") or ""), owner) or (
        isinstance(desc, str) and desc.startswith(_RDS_DESCRIPTION)
    )


def _db_account(db: Mapping[str, Any]) -> str | None:
    """The account of a DB instance, from its ARN (arn:aws:rds:REGION:ACCOUNT:db:NAME)."""
    parts = str(db.get("DBInstanceArn") or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _db_places(db: Mapping[str, Any]) -> tuple[str, set[str], set[str] | None] | None:
    """A DB instance's VPC, the subnets its ENIs may be in, and their AZs (None: any of them)."""
    group = db.get("DBSubnetGroup") or {}
    vpc = group.get("VpcId")
    subnets = {str(s.get("SubnetIdentifier")) for s in group.get("Subnets") or () if s.get("SubnetIdentifier")}
    if not isinstance(vpc, str) or not subnets:
        return None
    zones = {z for z in (db.get("AvailabilityZone"), db.get("SecondaryAvailabilityZone")) if isinstance(z, str) and z}
    # Multi-AZ without its standby's zone named, or no zone at all: the standby may be in any.
    if not zones or (db.get("MultiAZ") and len(zones) < 2):
        return vpc, subnets, None
    return vpc, subnets, zones


def rds_owners(enis: Iterable[Mapping[str, Any]], databases: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """RDS ENI id -> the DB instance it belongs to, where the describe-* results leave one answer.

    Neither API links the two: the ENI says only "RDSNetworkInterface" and
    DescribeDBInstances gives an endpoint's DNS name, no ENI or address. What
    does tie them: a DB instance's ENI lies in its VPC, in a subnet of its DB
    subnet group, in its zone (or its Multi-AZ standby's), in its account. An
    ENI is named for a DB instance only when that DB is its one candidate AND
    it is the DB's only candidate ENI in that zone; anything else (two DBs
    sharing subnets, an RDS Proxy or Aurora Serverless v1 ENI beside a DB, a
    DB list that could not be read) stays ``RDS eni-…``: a wrong name is worse
    than none.
    """
    places = []
    for db in databases:
        ident = db.get("DBInstanceIdentifier")
        place = _db_places(db)
        if isinstance(ident, str) and ident and place is not None and db.get("DBInstanceStatus") != "deleting":
            places.append((ident, _db_account(db), *place))
    if not places:
        return {}
    candidates: dict[str, tuple[set[str], Any]] = {}
    for eni in enis:
        if not _is_rds(eni) or not eni.get("NetworkInterfaceId"):
            continue
        zone, owner = eni.get("AvailabilityZone"), eni.get("OwnerId")
        found = {
            ident
            for ident, account, vpc, subnets, zones in places
            if vpc == eni.get("VpcId")
            and eni.get("SubnetId") in subnets
            and (zones is None or zone in zones)
            and (account is None or owner is None or account == owner)
        }
        candidates[str(eni["NetworkInterfaceId"])] = (found, zone)
    per_zone: dict[tuple[str, Any], int] = {}
    for found, zone in candidates.values():
        for ident in found:
            per_zone[(ident, zone)] = per_zone.get((ident, zone), 0) + 1
    return {
        eni_id: next(iter(found))
        for eni_id, (found, zone) in candidates.items()
        if len(found) == 1 and per_zone[(next(iter(found)), zone)] == 1
    }


def _eni_addresses(eni: Mapping[str, Any]) -> Iterator[Any]:
    """Every private (IPv4, IPv6) and public address of an ENI or an instance's interface."""
    yield from (eni.get("PrivateIpAddress"), (eni.get("Association") or {}).get("PublicIp"))
    for item in eni.get("PrivateIpAddresses") or ():
        yield item.get("PrivateIpAddress")
        yield (item.get("Association") or {}).get("PublicIp")
    for item in eni.get("Ipv6Addresses") or ():
        yield item.get("Ipv6Address")
    yield eni.get("Ipv6Address")


# --------------------------------------------------------------------------- snapshots


@dataclass
class Snapshot:
    """Who holds each address in one set of describe-* results, and the VPC CIDRs seen."""

    holders: dict[str, tuple[Entity, int | None]] = field(default_factory=dict)  # address -> (entity, since)
    vpc_cidrs: list[str] = field(default_factory=list)


def snapshot_from_documents(documents: Iterable[Mapping[str, Any]]) -> Snapshot:
    """Parse describe-network-interfaces / describe-instances / describe-vpcs / describe-db-instances results (any mix)."""
    enis: list[Mapping[str, Any]] = []
    instances: list[Mapping[str, Any]] = []
    databases: list[Mapping[str, Any]] = []
    cidrs: dict[str, None] = {}
    for doc in documents:
        enis.extend(doc.get("NetworkInterfaces") or ())
        databases.extend(doc.get("DBInstances") or ())
        for reservation in doc.get("Reservations") or ():
            instances.extend(reservation.get("Instances") or ())
        for vpc in doc.get("Vpcs") or ():
            _vpc_cidrs(vpc, cidrs)
    infos = {
        str(i["InstanceId"]): InstanceInfo(_name_tag(i.get("Tags")), _unix(i.get("LaunchTime")))
        for i in instances
        if i.get("InstanceId")
    }
    snap = Snapshot(vpc_cidrs=list(cidrs))
    owners = rds_owners(enis, databases)
    # An address claimed twice (overlapping VPCs in two accounts) goes to the latest attachment.
    for eni in enis:
        entity = classify(eni, infos, owners)
        attachment = eni.get("Attachment") or {}
        since = _unix(attachment.get("AttachTime"))
        info = infos.get(attachment.get("InstanceId") or "")
        if since is None and info is not None:
            since = info.launch_time
        for address in _eni_addresses(eni):
            _claim(snap.holders, address, entity, since)
    # Instances fill in what no ENI listing covered (a describe-instances dump on its own).
    claimed = set(snap.holders)
    for inst in instances:
        if not inst.get("InstanceId") or (inst.get("State") or {}).get("Name") == "terminated":
            continue
        info = infos[str(inst["InstanceId"])]
        entity = (f"ec2:{inst['InstanceId']}", info.name, "EC2")
        top = {
            "PrivateIpAddress": inst.get("PrivateIpAddress"),
            "Ipv6Address": inst.get("Ipv6Address"),
            "Association": {"PublicIp": inst.get("PublicIpAddress")},
        }
        for source in [*(inst.get("NetworkInterfaces") or ()), top]:
            since = _unix((source.get("Attachment") or {}).get("AttachTime")) or info.launch_time
            for address in _eni_addresses(source):
                if _canonical(address) not in claimed:
                    _claim(snap.holders, address, entity, since)
    return snap


def _claim(holders: dict[str, tuple[Entity, int | None]], address: Any, entity: Entity, since: int | None) -> None:
    addr = _canonical(address)
    if addr is None:
        return
    current = holders.get(addr)
    if current is None or (since is not None and (current[1] is None or since > current[1])):
        holders[addr] = (entity, since)


def _vpc_cidrs(vpc: Mapping[str, Any], out: dict[str, None]) -> None:
    if isinstance(vpc.get("CidrBlock"), str):
        out[vpc["CidrBlock"]] = None
    for assoc in vpc.get("CidrBlockAssociationSet") or ():
        state = (assoc.get("CidrBlockState") or {}).get("State", "associated")
        if state in ("associated", "associating") and isinstance(assoc.get("CidrBlock"), str):
            out[assoc["CidrBlock"]] = None
    for assoc in vpc.get("Ipv6CidrBlockAssociationSet") or ():
        state = (assoc.get("Ipv6CidrBlockState") or {}).get("State", "associated")
        if state in ("associated", "associating") and isinstance(assoc.get("Ipv6CidrBlock"), str):
            out[assoc["Ipv6CidrBlock"]] = None


class InventoryFileError(ConfigError):
    """An inventory file that is missing, unreadable or not a describe result; ``path`` names it, so
    a command that took it as an argument (``ingest --inventory``) can call it a bad argument."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


def read_inventory_files(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """The JSON documents of ``aws ec2 describe-*`` output files; a bad file is an InventoryFileError."""
    docs: list[dict[str, Any]] = []
    for path in paths:
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InventoryFileError(p, f"inventory file {p} does not exist") from None
        except OSError as exc:
            raise InventoryFileError(p, f"cannot read inventory file {p}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise InventoryFileError(p, f"cannot read inventory file {p}: {exc}") from None
        except ValueError as exc:
            raise InventoryFileError(p, f"inventory file {p} is not JSON: {exc}") from None
        items = doc if isinstance(doc, list) else [doc]
        if not items or not all(isinstance(d, dict) and any(k in d for k in INVENTORY_KEYS) for d in items):
            raise InventoryFileError(
                p,
                f"inventory file {p} is not the output of aws ec2 describe-network-interfaces, "
                "describe-instances, describe-vpcs or aws rds describe-db-instances "
                "(no NetworkInterfaces, Reservations, Vpcs or DBInstances key)",
            )
        docs.extend(items)
    return docs


# --------------------------------------------------------------------------- the point-in-time map


class Inventory:
    """Immutable: address -> history of holders, plus the VPC CIDRs known so far."""

    __slots__ = ("_history", "refreshed_at", "vpc_cidrs")

    def __init__(
        self,
        history: Mapping[str, History] | None = None,
        vpc_cidrs: Iterable[str] = (),
        refreshed_at: float | None = None,
    ) -> None:
        self._history: dict[str, History] = dict(history or {})
        self.vpc_cidrs: tuple[str, ...] = tuple(dict.fromkeys(vpc_cidrs))
        self.refreshed_at = refreshed_at

    @classmethod
    def from_snapshot(cls, snap: Snapshot, now: float | None = None) -> Inventory:
        return cls().updated(snap, now)

    @classmethod
    def from_documents(cls, documents: Iterable[Mapping[str, Any]]) -> Inventory:
        return cls.from_snapshot(snapshot_from_documents(documents))

    @classmethod
    def from_files(cls, paths: Iterable[str | os.PathLike[str]]) -> Inventory:
        return cls.from_documents(read_inventory_files(paths))

    def __len__(self) -> int:
        return len(self._history)

    def addresses(self) -> list[str]:
        return list(self._history)

    def history(self, address: str) -> list[tuple[int, Entity | None]]:
        h = self._history.get(address)
        return list(zip(*h, strict=True)) if h else []

    def updated(self, snap: Snapshot, now: float | None = None) -> Inventory:
        """A new inventory: this one's history plus what ``snap`` (taken at ``now``) shows.

        An address whose holder changed gets a new entry from its AttachTime when that
        is later than the previous entry, else from ``now``; one that vanished is
        marked as held by nobody from ``now``.
        """
        t_now = int(now) if now is not None else None
        history = dict(self._history)
        for addr, (entity, since) in snap.holders.items():
            old = history.get(addr)
            if old is None:
                start = since if since is not None else (t_now if t_now is not None else 0)
                history[addr] = ((start,), (entity,))
                continue
            starts, holders = old
            if holders[-1] == entity:
                continue
            limit = t_now if t_now is not None else since
            if since is not None and since > starts[-1] and (limit is None or since <= limit):
                start = since
            else:
                start = t_now if t_now is not None else starts[-1] + 1
            if start <= starts[-1]:  # same instant: the newer observation wins
                history[addr] = (starts, holders[:-1] + (entity,))
            else:
                history[addr] = (starts + (start,), holders + (entity,))
        if t_now is not None:
            for addr in self._history.keys() - snap.holders.keys():
                starts, holders = history[addr]
                if holders[-1] is not None:
                    start = max(t_now, starts[-1] + 1)
                    history[addr] = (starts + (start,), holders + (None,))
            _prune(history, t_now - KEEP_HISTORY_SECONDS)
        return Inventory(history, (*self.vpc_cidrs, *snap.vpc_cidrs), now)

    def entity_at(self, address: str, ts: float | None) -> Entity | None:
        """The holder of ``address`` at ``ts`` (the latest when ts is None; the earliest before any)."""
        return self.entity_span(address, ts)[0]

    def entity_span(self, address: str, ts: float | None) -> tuple[Entity | None, float, float]:
        """The holder at ``ts`` and the interval [from, until) over which that answer holds."""
        h = self._history.get(address)
        if h is None:
            return None, _NEG_INF, _POS_INF
        starts, holders = h
        n = len(starts)
        i = n - 1 if ts is None else bisect_right(starts, ts) - 1
        i = max(i, 0)  # before any known holder: the earliest
        lo = _NEG_INF if i == 0 else starts[i]
        hi = _POS_INF if i == n - 1 else starts[i + 1]
        return holders[i], lo, hi


def _prune(history: dict[str, History], horizon: int) -> None:
    for addr, (starts, holders) in list(history.items()):
        if len(starts) < 2 or starts[1] > horizon:
            continue
        keep = max(0, bisect_right(starts, horizon) - 1)
        starts, holders = starts[keep:], holders[keep:]
        if len(starts) == 1 and holders[0] is None:
            del history[addr]  # gone for longer than we remember
        else:
            history[addr] = (starts, holders)


# --------------------------------------------------------------------------- refreshing

DEFAULT_REFRESH_INTERVAL = 300.0


@dataclass
class InventoryRefresher:
    """Keeps ``inventory`` current: ``fetch`` every ``interval`` seconds in a daemon thread.

    The work happens off the ingest path; readers only ever follow a reference
    that is replaced whole.

    ``inventory`` is replaced, never mutated, so readers need no lock. A failed
    refresh keeps the last good inventory and sets ``last_error``.
    """

    fetch: Callable[[], Snapshot]
    interval: float = DEFAULT_REFRESH_INTERVAL
    inventory: Inventory = field(default_factory=Inventory)
    clock: Callable[[], float] = time.time
    last_error: str | None = None
    last_success: float | None = None
    generation: int = 0
    _listeners: list[Callable[[Inventory], None]] = field(default_factory=list, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_listener(self, callback: Callable[[Inventory], None]) -> None:
        """``callback(new_inventory)`` runs in the refreshing thread after every successful swap."""
        self._listeners.append(callback)

    def refresh(self) -> bool:
        """One refresh, now, in the calling thread. True when the inventory was replaced."""
        with self._lock:  # the thread and an explicit call never interleave
            started = self.clock()
            try:
                snap = self.fetch()
                new = self.inventory.updated(snap, started)
            except Exception as exc:  # noqa: BLE001 - any failure keeps the last good map
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("inventory refresh failed, keeping the last good inventory: %s", self.last_error)
                return False
            self.inventory = new
            self.last_error = None
            self.last_success = started
            self.generation += 1
        for callback in self._listeners:
            callback(new)
        return True

    def start(self, refresh_first: bool = False) -> None:
        """Start the daemon thread; with ``refresh_first`` the first refresh runs before this returns."""
        if refresh_first:
            self.refresh()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="flowtui-inventory", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()
