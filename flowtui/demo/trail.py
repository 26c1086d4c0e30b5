"""CloudTrail events for the demo, from addresses in its traffic, so the correlation has something to show.

Every :data:`TRAIL_EVERY` simulated seconds a CloudTrail log group's
subscription delivers a payload of a few records, the way CloudWatch Logs does
(one record per log event), into the same pipeline as the flows:

* an operator in the office (the addresses that SSH to the bastion) working
  with EC2 and IAM as an IAM user;
* the reports worker (an EC2 instance, by its private address) calling S3,
  KMS and Secrets Manager under its instance role (an AssumedRole), after EC2
  assumed that role for it (an AWSService call from ``ec2.amazonaws.com``);
* the Spamhaus-listed outside address that knocks on the bastion's SSH port
  (it is in the threat matches) trying a leaked access key: who-am-I calls
  that work, and enumeration that AWS refuses (AccessDenied).

Records use a random generator of their own, so adding them does not change
the flows a seed makes. All of it is fake: documentation address ranges,
example account and key ids.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from flowtui.demo.environment import ACCOUNT_ID, REGION
from flowtui.demo.traffic import PayloadEncoder, TrafficGenerator

TRAIL_EVERY: Final = 20  # simulated seconds between CloudTrail payloads
TRAIL_GROUP: Final = f"aws-cloudtrail-logs-{ACCOUNT_ID}-demo"
TRAIL_STREAM: Final = f"{ACCOUNT_ID}_CloudTrail_{REGION}"
_CLI: Final = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/"
_BOTO: Final = "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#6.1.0 lang/python#3.11.8"
_ROLE: Final = "reports-worker-role"
Record = dict[str, Any]


class TrailMaker:
    """CloudTrail records and their payloads, for simulated times; deterministic for a seed."""

    def __init__(self, seed: int, traffic: TrafficGenerator) -> None:
        self.rng = random.Random(f"cloudtrail-{seed}")
        self.office = traffic.pools["office"][0]
        self.intruder = traffic.pools["spamhaus"][-1]  # the one knocking on the bastion
        self.worker = traffic.worker
        self.encoder = PayloadEncoder(log_group=TRAIL_GROUP)
        self._actors: list[tuple[float, Callable[[int], list[Record]]]] = [
            (0.45, self._operator),
            (0.3, self._worker),
            (0.25, self._intruder),
        ]

    def payload(self, t: int, every_actor: bool = False) -> bytes:
        """One subscription payload of the records made at second ``t`` (each actor once with ``every_actor``)."""
        records: list[Record] = []
        if every_actor:
            for _, actor in self._actors:
                records += actor(t)
        else:
            x = self.rng.random()
            for weight, actor in self._actors:
                if x < weight:
                    records += actor(t)
                    break
                x -= weight
        return self._encode(records, t)

    # --- actors ----------------------------------------------------------------------------
    def _operator(self, t: int) -> list[Record]:
        who = _iam_user("ops-alice", "AIDAEXAMPLEOPSALICE1", "AKIAEXAMPLEOPSALICE1")
        name, source, read_only, command = self.rng.choice(
            (
                ("DescribeInstances", "ec2.amazonaws.com", True, "ec2.describe-instances"),
                ("DescribeSecurityGroups", "ec2.amazonaws.com", True, "ec2.describe-security-groups"),
                ("StartInstances", "ec2.amazonaws.com", False, "ec2.start-instances"),
                ("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", False, "ec2.authorize-security-group-ingress"),
                ("ListRoles", "iam.amazonaws.com", True, "iam.list-roles"),
            )
        )
        return [self._record(t, name, source, self.office, who, read_only, _CLI + command)]

    def _worker(self, t: int) -> list[Record]:
        ip = self.worker.private_ip
        role = _assumed_role(_ROLE, self.worker.entity.removeprefix("ec2:"), "ASIAEXAMPLEWORKER001")
        bucket = "arn:aws:s3:::example-reports-bucket"
        out = [
            self._record(
                t - 2,
                "AssumeRole",
                "sts.amazonaws.com",
                "ec2.amazonaws.com",
                {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
                True,
                "ec2.amazonaws.com",
                resources=[(f"arn:aws:iam::{ACCOUNT_ID}:role/{_ROLE}", "AWS::IAM::Role")],
            )
        ]
        name, source, resources = self.rng.choice(
            (
                ("ListObjectsV2", "s3.amazonaws.com", [(bucket, "AWS::S3::Bucket")]),
                ("Decrypt", "kms.amazonaws.com", [(f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/example-reports-key", "AWS::KMS::Key")]),
                ("GetSecretValue", "secretsmanager.amazonaws.com", []),
            )
        )
        out.append(self._record(t, name, source, ip, role, True, _BOTO, resources=resources))
        return out

    def _intruder(self, t: int) -> list[Record]:
        """A leaked key tried from outside: who am I, then what can I see (mostly refused)."""
        who = _iam_user("ci-deploy", "AIDAEXAMPLECIDEPLOY1", "AKIAEXAMPLECIDEPLOY1")
        agent = "python-requests/2.31.0"
        out = [self._record(t - 1, "GetCallerIdentity", "sts.amazonaws.com", self.intruder, who, True, agent)]
        name, source, error = self.rng.choice(
            (
                ("ListUsers", "iam.amazonaws.com", ("AccessDenied", "iam:ListUsers")),
                ("ListBuckets", "s3.amazonaws.com", ("AccessDenied", "s3:ListAllMyBuckets")),
                ("DescribeInstances", "ec2.amazonaws.com", ("Client.UnauthorizedOperation", "ec2:DescribeInstances")),
                ("GetSecretValue", "secretsmanager.amazonaws.com", ("AccessDenied", "secretsmanager:GetSecretValue")),
            )
        )
        code, action = error
        message = f"User: arn:aws:iam::{ACCOUNT_ID}:user/ci-deploy is not authorized to perform: {action}"
        out.append(self._record(t, name, source, self.intruder, who, True, agent, error=(code, message)))
        return out

    # --- records and payloads ---------------------------------------------------------------
    def _record(
        self,
        t: int,
        name: str,
        source: str,
        address: str,
        identity: Record,
        read_only: bool,
        agent: str,
        error: tuple[str, str] | None = None,
        resources: list[tuple[str, str]] | None = None,
    ) -> Record:
        record: Record = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": address,
            "userAgent": agent,
        }
        if error is not None:
            record["errorCode"], record["errorMessage"] = error
        record.update(
            {
                "requestParameters": None,
                "responseElements": None,
                "requestID": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "eventID": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "readOnly": read_only,
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": ACCOUNT_ID,
                "eventCategory": "Management",
            }
        )
        if resources:
            record["resources"] = [{"accountId": ACCOUNT_ID, "type": kind, "ARN": arn} for arn, kind in resources]
        return record

    def _encode(self, records: list[Record], t: int) -> bytes:
        items = [(t, json.dumps(record, separators=(",", ":"))) for record in records]
        return self.encoder.data_message(TRAIL_STREAM, items)


def _iam_user(name: str, principal: str, key: str) -> Record:
    return {
        "type": "IAMUser",
        "principalId": principal,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}",
        "accountId": ACCOUNT_ID,
        "accessKeyId": key,
        "userName": name,
    }


def _assumed_role(role: str, session: str, key: str) -> Record:
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLEREPORTS01:{session}",
        "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/{session}",
        "accountId": ACCOUNT_ID,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEREPORTS01",
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{role}",
                "accountId": ACCOUNT_ID,
                "userName": role,
            },
            "attributes": {"creationDate": "2026-01-01T00:00:00Z", "mfaAuthenticated": "false"},
        },
        "ec2RoleDelivery": "2.0",
    }
