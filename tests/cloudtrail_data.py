"""CloudTrail test data: the documented record shapes in tests/data/cloudtrail/, payloads and files of them."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "cloudtrail"
LOG_FILE = DATA / "111122223333_CloudTrail_us-east-2_20261127T1010Z_q8Zk2TnW0vYp4Rc1.json"
S3_PREFIX = "AWSLogs/111122223333/CloudTrail/us-east-2/2026/11/27/"
GROUP = "aws-cloudtrail-logs-111122223333-0a1b2c3d"
# The records' eventName, oldest first.
NAMES = ["StartInstances", "DeleteBucketPolicy", "DeleteSecurityGroup", "AssumeRole", "ConsoleLogin", "ListUsers"]


def records() -> list[dict[str, Any]]:
    """The six records: IAMUser, AssumedRole, IAMUser with an error, AWSService, Root, IPv6 with AccessDenied."""
    return copy.deepcopy(json.loads(LOG_FILE.read_text())["Records"])


def by_type(user_type: str) -> dict[str, Any]:
    return next(r for r in records() if r["userIdentity"]["type"] == user_type)


def trail_payload(messages: list[str], group: str = GROUP, first_id: int = 0) -> bytes:
    """A CloudWatch Logs subscription payload whose log events are CloudTrail records (one per event)."""
    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": "111122223333",
        "logGroup": group,
        "logStream": "111122223333_CloudTrail_us-east-2",
        "subscriptionFilters": ["flowtui"],
        "logEvents": [
            {"id": str(first_id + i), "timestamp": 1_795_773_605_000 + i, "message": m} for i, m in enumerate(messages)
        ],
    }
    return gzip.compress(json.dumps(doc).encode())


def compact(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def trail_file(recs: list[dict[str, Any]]) -> bytes:
    """A CloudTrail log file as S3 holds it: gzip JSON with Records."""
    return gzip.compress(json.dumps({"Records": recs}).encode())


def event_at(record: dict[str, Any], event_id: str, when: int, source: str) -> dict[str, Any]:
    """``record`` moved to ``when`` (unix seconds) and ``source``, under a new eventID."""
    import datetime as dt

    out = copy.deepcopy(record)
    out["eventID"] = event_id
    out["eventTime"] = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out["sourceIPAddress"] = source
    return out


def scenario(now: int) -> list[dict[str, Any]]:
    """CloudTrail beside tests/ui_data.py's flows: the threat address 198.51.100.7 (REJECTs to 10.0.1.11:22
    every minute before ``now``) also calls the AWS API, once with an error; an EC2 instance and a service call too."""
    recs = {r["eventName"]: r for r in records()}
    return [
        event_at(recs["DeleteBucketPolicy"], "ev-delete-policy", now - 45, "198.51.100.7"),
        event_at(recs["StartInstances"], "ev-start", now - 120, "10.0.1.10"),
        event_at(recs["AssumeRole"], "ev-assume", now - 100, "ec2.amazonaws.com"),
        event_at(recs["DeleteSecurityGroup"], "ev-delete-sg", now - 200, "198.51.100.7"),
        event_at(recs["ListUsers"], "ev-old", now - 3600, "198.51.100.7"),  # outside a 15-minute window
    ]


def write_trail(db: Path, now: int) -> None:
    from flowtui.ingest import Pipeline
    from flowtui.store import Store

    with Store(db) as store:
        Pipeline(store).ingest_trail_file(json.dumps({"Records": scenario(now)}).encode(), "scenario", "test")
