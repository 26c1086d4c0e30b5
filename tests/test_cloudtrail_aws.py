"""CloudTrail from AWS over real HTTP (moto's server): S3 exports as CloudTrail writes them, and a Kinesis stream
fed by a CloudWatch Logs subscription on a CloudTrail log group."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from flowtui.cli import main
from flowtui.store import Store
from tests.aws_server import moto_server  # noqa: F401 - the fixture
from tests.cloudtrail_data import NAMES, S3_PREFIX, compact, records, trail_file, trail_payload
from tests.tail_helpers import REGION, flow_line, kinesis_spec, log_group_spec, payload, tail

LOG_KEY = f"{S3_PREFIX}111122223333_CloudTrail_us-east-2_20261127T1010Z_q8Zk2TnW0vYp4Rc1.json.gz"
DIGEST_KEY = (
    "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2026/11/27/"
    "111122223333_CloudTrail-Digest_us-east-2_trail_us-east-2_20261127T1100Z.json.gz"
)


def stored(db: Path) -> list[str]:
    with Store(db) as store:
        return [n for (n,) in store.conn.execute("SELECT event_name FROM cloudtrail ORDER BY time")]


def test_s3_log_files_are_read_once_and_digests_skipped(
    moto_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name=REGION)
    s3.create_bucket(Bucket="trail")
    recs = records()
    s3.put_object(Bucket="trail", Key=LOG_KEY, Body=trail_file(recs[:4]))
    s3.put_object(Bucket="trail", Key=LOG_KEY.replace("1010Z", "1015Z"), Body=trail_file(recs[4:]))
    s3.put_object(Bucket="trail", Key=DIGEST_KEY, Body=b"{}")
    db = tmp_path / "ct.db"
    args = ["ingest", "--db", str(db), "--endpoint-url", moto_server, "--region", REGION, "s3://trail/AWSLogs/"]

    assert main(args) == 0
    out = capsys.readouterr()
    assert out.out == "2 files: 0 flows stored, 6 CloudTrail events stored, 0 rejected to dead letters\n"
    assert out.err == f"flowtui: s3://trail/{DIGEST_KEY}: a CloudTrail-Digest file (hashes, not events); skipped\n"
    assert len(stored(db)) == 6
    with Store(db) as store:
        positions = store.checkpoints("s3:trail/")
        assert sorted(positions) == [f"s3:trail/{LOG_KEY}", f"s3:trail/{LOG_KEY.replace('1010Z', '1015Z')}"]
        assert all(p.endswith(":done") for p in positions.values())

    assert main(args) == 0
    out = capsys.readouterr()
    assert out.out == "0 files: 0 flows stored, 0 rejected to dead letters\n"
    assert "2 objects read before; skipped" in out.err


def test_kinesis_stream_with_a_cloudtrail_subscription(moto_server: str, tmp_path: Path) -> None:  # noqa: F811
    kinesis = boto3.client("kinesis", endpoint_url=moto_server, region_name=REGION)
    kinesis.create_stream(StreamName="logs", ShardCount=2)
    trail = [compact(r) for r in records()]
    bad = json.dumps({"eventVersion": "1.08", "eventSource": "s3.amazonaws.com"})
    entries = [
        {"Data": trail_payload(trail[:3]), "PartitionKey": "a"},
        {"Data": trail_payload([*trail[3:], bad], first_id=3), "PartitionKey": "b"},
        {"Data": payload([flow_line(1), flow_line(2)]), "PartitionKey": "c"},  # flow logs in the same stream
        {"Data": trail_payload(trail[:3]), "PartitionKey": "a"},  # CloudWatch delivering a batch again
    ]
    kinesis.put_records(StreamName="logs", Records=entries)
    db = tmp_path / "ct.db"

    stats = tail([kinesis_spec("logs", moto_server)], db)["kinesis:logs"]

    assert (stats.stored, stats.cloudtrail, stats.duplicates, stats.rejected) == (2, 6, 3, 1)
    assert stored(db) == NAMES
    with Store(db) as store:
        (reason,) = [d["reason"] for d in store.dead_letters()]
        assert reason == "not a CloudTrail record: it has no eventName, eventTime"


def test_a_cloudtrail_log_group_read_directly(moto_server: str, tmp_path: Path) -> None:  # noqa: F811
    """flowtui tail on the CloudTrail log group itself (CloudWatch Logs API, no Kinesis)."""
    logs = boto3.client("logs", endpoint_url=moto_server, region_name=REGION)
    group, stream = "aws-cloudtrail-logs-111122223333", "111122223333_CloudTrail_us-east-2"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    recs = records()
    events = [{"timestamp": 1_795_773_605_000 + i * 1000, "message": compact(r)} for i, r in enumerate(recs)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    db = tmp_path / "ct.db"

    stats = tail([log_group_spec(group, moto_server)], db)[f"cwlogs:{group}"]
    again = tail([log_group_spec(group, moto_server)], db)[f"cwlogs:{group}"]

    assert (stats.stored, stats.cloudtrail, stats.rejected) == (0, 6, 0)
    assert again.cloudtrail == 0
    assert stored(db) == NAMES
