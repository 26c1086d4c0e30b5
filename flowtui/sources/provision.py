"""What ``flowtui setup`` creates: a Kinesis stream, the role CloudWatch Logs uses, the subscription filter.

A :class:`Plan` is computed first, with read-only calls that tell which parts
exist already; it prints as a dry run, and :func:`apply` makes it so (each
step is idempotent, so running it again repairs a half-done setup).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions as bx

from flowtui.errors import SourceError
from flowtui.sources import aws
from flowtui.sources.aws import classify, describe, user_error
from flowtui.sources.region import REGION_SOURCES, region_for
from flowtui.sources.spec import AwsTarget
from flowtui.words import counted

SUBSCRIPTION_RETRY_S = 90.0  # a new role takes a while to be usable by CloudWatch Logs
PERMISSIONS = (
    "kinesis:CreateStream, kinesis:DescribeStreamSummary, iam:CreateRole, iam:GetRole, iam:PutRolePolicy,"
    " iam:PassRole, logs:CreateLogGroup, logs:DescribeLogGroups, logs:PutSubscriptionFilter, sts:GetCallerIdentity"
)


def partition_of(region: str) -> tuple[str, str]:
    """(ARN partition, DNS suffix) of a region."""
    if region.startswith("cn-"):
        return "aws-cn", "amazonaws.com.cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov", "amazonaws.com"
    return "aws", "amazonaws.com"


@dataclass
class Plan:
    log_group: str
    stream: str
    region: str
    account: str
    shards: int = 1
    role_name: str = ""
    filter_name: str = "flowtui"
    filter_pattern: str = ""
    exists: dict[str, bool | None] = field(default_factory=dict)  # step → exists (None: could not tell)
    check_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.role_name:
            self.role_name = f"flowtui-cwl-to-kinesis-{self.stream}"[:64]

    @property
    def partition(self) -> str:
        return partition_of(self.region)[0]

    @property
    def stream_arn(self) -> str:
        return f"arn:{self.partition}:kinesis:{self.region}:{self.account}:stream/{self.stream}"

    @property
    def role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{self.role_name}"

    @property
    def trust_policy(self) -> dict[str, Any]:
        suffix = partition_of(self.region)[1]
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{self.region}.{suffix}"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringLike": {"aws:SourceArn": f"arn:{self.partition}:logs:{self.region}:{self.account}:*"}
                    },
                }
            ],
        }

    @property
    def role_policy(self) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": self.stream_arn}],
        }

    def describe(self) -> str:
        """The plan for a person: what exists, what would be created, with the policies in full."""

        def state(step: str) -> str:
            found = self.exists.get(step)
            return "exists" if found else "unknown" if found is None else "to create"

        lines = [
            (
                f"CloudWatch Logs group {self.log_group!r} -> Kinesis stream {self.stream!r}"
                f" in {self.region} (account {self.account})"
            ),
            "",
            f"1. Log group {self.log_group} [{state('log_group')}]",
            (
                f"2. Kinesis stream {self.stream}, {counted(self.shards, 'shard')} [{state('stream')}]"
            ),
            f"   {self.stream_arn}",
            f"3. IAM role {self.role_name} [{state('role')}]",
            f"   {self.role_arn}",
            "   trust policy:",
            *("     " + line for line in json.dumps(self.trust_policy, indent=2).splitlines()),
            "   permission policy (inline, flowtui-put-record):",
            *("     " + line for line in json.dumps(self.role_policy, indent=2).splitlines()),
            (
                f"4. Subscription filter {self.filter_name!r} on {self.log_group}, pattern {self.filter_pattern!r},"
                f" to the stream through the role [{state('filter')}]"
            ),
        ]
        for error in self.check_errors:
            lines.append(f"   (could not check: {error})")
        return "\n".join(lines)


class Provisioner:
    """Plans and applies with boto3 (synchronous: a one-off command)."""

    def __init__(self, target: AwsTarget, log: Callable[[str], None] = print) -> None:
        import boto3

        self.target = target
        self.log = log
        try:
            self.session = boto3.Session(profile_name=target.profile, region_name=region_for(target.region))
        except bx.ProfileNotFound as exc:
            raise user_error(exc, "AWS", target) from None
        self.region = self.session.region_name
        if not self.region:
            raise SourceError(f"no AWS region: pass --region or set {REGION_SOURCES}")

    def client(self, service: str) -> Any:
        import botocore.config

        config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 5})
        return self.session.client(service, endpoint_url=self.target.endpoint_url, config=config)

    def plan(
        self,
        log_group: str,
        stream: str,
        shards: int = 1,
        role_name: str | None = None,
        filter_name: str = "flowtui",
        filter_pattern: str = "",
    ) -> Plan:
        try:
            account = self.client("sts").get_caller_identity()["Account"]
        except Exception as exc:
            if classify(exc) is None:
                raise
            raise user_error(exc, "your AWS account (sts:GetCallerIdentity)", self.target) from None
        plan = Plan(log_group, stream, str(self.region), account, shards, role_name or "", filter_name, filter_pattern)
        self._check(plan)
        return plan

    def _check(self, plan: Plan) -> None:
        logs, kinesis, iam = self.client("logs"), self.client("kinesis"), self.client("iam")

        def probe(step: str, call: Callable[[], bool]) -> None:
            try:
                plan.exists[step] = call()
            except Exception as exc:
                kind = classify(exc)
                if kind == aws.NOT_FOUND:
                    plan.exists[step] = False
                elif kind is None:
                    raise
                else:
                    plan.exists[step] = None
                    plan.check_errors.append(f"{step}: {describe(exc)}")

        probe("log_group", lambda: _log_group_exists(logs, plan.log_group))
        probe("stream", lambda: bool(kinesis.describe_stream_summary(StreamName=plan.stream)))
        probe("role", lambda: bool(iam.get_role(RoleName=plan.role_name)))
        probe(
            "filter",
            lambda: any(
                f.get("filterName") == plan.filter_name and f.get("destinationArn") == plan.stream_arn
                for f in logs.describe_subscription_filters(logGroupName=plan.log_group).get("subscriptionFilters", [])
            ),
        )

    def apply(self, plan: Plan) -> None:
        try:
            self._apply(plan)
        except SourceError:
            raise
        except Exception as exc:
            if classify(exc) is None:
                raise
            raise user_error(exc, f"the setup of {plan.log_group} -> {plan.stream}", self.target, PERMISSIONS) from None

    def _apply(self, plan: Plan) -> None:
        logs, kinesis, iam = self.client("logs"), self.client("kinesis"), self.client("iam")
        if not _log_group_exists(logs, plan.log_group):
            logs.create_log_group(logGroupName=plan.log_group)
            self.log(f"created log group {plan.log_group}")
        try:
            kinesis.describe_stream_summary(StreamName=plan.stream)
            self.log(f"Kinesis stream {plan.stream} exists")
        except Exception as exc:
            if classify(exc) != aws.NOT_FOUND:
                raise
            kinesis.create_stream(StreamName=plan.stream, ShardCount=plan.shards)
            self.log(f"created Kinesis stream {plan.stream} ({counted(plan.shards, 'shard')})")
        _wait_active(kinesis, plan.stream)
        trust = json.dumps(plan.trust_policy)
        try:
            iam.get_role(RoleName=plan.role_name)
            iam.update_assume_role_policy(RoleName=plan.role_name, PolicyDocument=trust)
            self.log(f"IAM role {plan.role_name} exists; trust policy set")
        except Exception as exc:
            if classify(exc) != aws.NOT_FOUND:
                raise
            iam.create_role(
                RoleName=plan.role_name,
                AssumeRolePolicyDocument=trust,
                Description=f"CloudWatch Logs puts {plan.log_group} into Kinesis stream {plan.stream} (flowtui)",
            )
            self.log(f"created IAM role {plan.role_name}")
        iam.put_role_policy(
            RoleName=plan.role_name, PolicyName="flowtui-put-record", PolicyDocument=json.dumps(plan.role_policy)
        )
        self._put_filter(logs, plan)
        self.log(f"subscription filter {plan.filter_name!r} sends {plan.log_group} to {plan.stream}")

    def _put_filter(self, logs: Any, plan: Plan) -> None:
        deadline = time.monotonic() + SUBSCRIPTION_RETRY_S
        delay = 2.0
        while True:
            try:
                logs.put_subscription_filter(
                    logGroupName=plan.log_group,
                    filterName=plan.filter_name,
                    filterPattern=plan.filter_pattern,
                    destinationArn=plan.stream_arn,
                    roleArn=plan.role_arn,
                )
                return
            except Exception as exc:
                # "Could not deliver test message": the new role is not usable yet.
                if classify(exc) != aws.INVALID or time.monotonic() > deadline:
                    raise
                self.log(f"waiting for the role to be usable by CloudWatch Logs ({describe(exc)})")
                time.sleep(delay)
                delay = min(delay * 1.5, 10.0)


def _log_group_exists(logs: Any, name: str) -> bool:
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        if any(g.get("logGroupName") == name for g in page.get("logGroups", [])):
            return True
    return False


def _wait_active(kinesis: Any, stream: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"]
        if status in ("ACTIVE", "UPDATING"):
            return
        if time.monotonic() > deadline:
            raise SourceError(f"Kinesis stream {stream!r} is still {status} after {timeout:.0f} s")
        time.sleep(1.0)
