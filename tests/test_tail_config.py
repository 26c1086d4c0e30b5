"""[[sources]] in the config file, --start, and flags laid over the config."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import boto3
import pytest

from flowtui.cli import main
from flowtui.config import Config
from flowtui.errors import ConfigError, SourceError
from flowtui.sources.spec import (
    KinesisSpec,
    LogGroupSpec,
    Start,
    parse_sources,
    parse_start,
    sources_from_config,
)
from tests.aws_server import moto_server  # noqa: F401 - the fixture
from tests.tail_helpers import REGION, Producer, flow_count, flow_line

V5 = "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${srcaddr} ${dstaddr}"


def test_sources_tables_become_specs() -> None:
    kinesis, logs = parse_sources(
        [
            {
                "type": "kinesis",
                "stream": "flows",
                "region": "eu-west-1",
                "profile": "ops",
                "start": "latest",
                "poll_interval": "2s",
                "discover_interval": 60,
                "max_bytes_per_s": "1MB",
                "limit": 500,
            },
            {
                "type": "cloudwatch-logs",
                "log_group": "/vpc/flows",
                "format": V5,
                "lookback": "30m",
                "log_stream_prefix": "eni-",
            },
        ]
    )
    assert isinstance(kinesis, KinesisSpec) and isinstance(logs, LogGroupSpec)
    assert (kinesis.stream, kinesis.aws.region, kinesis.aws.profile, kinesis.start.mode) == (
        "flows",
        "eu-west-1",
        "ops",
        "latest",
    )
    assert (kinesis.poll_interval, kinesis.discover_interval, kinesis.max_bytes_per_s, kinesis.limit) == (
        2.0,
        60.0,
        1024 * 1024,
        500,
    )
    assert (logs.name, logs.format, logs.lookback, logs.log_stream_prefix) == ("cwlogs:/vpc/flows", V5, 1800.0, "eni-")
    assert kinesis.name == "kinesis:flows" and kinesis.shard_source("shardId-000000000001") == (
        "kinesis:flows/shardId-000000000001"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"type": "kinesis"}, 'a kinesis source needs stream = "…"'),
        ({"type": "sqs", "stream": "x"}, "type must be 'kinesis' or 'cloudwatch-logs', not 'sqs'"),
        ({"type": "kinesis", "stream": "x", "shards": 4}, "unknown key 'shards' for a kinesis source"),
        ({"type": "kinesis", "stream": "x", "start": "soonish"}, "bad start 'soonish'"),
        ({"type": "kinesis", "stream": "x", "limit": 0}, "limit must be a positive integer"),
        ({"type": "cloudwatch-logs", "log_group": "g", "region": 1}, "region must be a string"),
    ],
)
def test_bad_sources_name_the_table(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=r"config\.toml: \[\[sources\]\] #1: .*" + _re(message)):
        parse_sources([table], "config.toml")


def _re(text: str) -> str:
    import re

    return re.escape(text)


def test_a_source_listed_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="source kinesis:x is listed twice"):
        parse_sources([{"stream": "x"}, {"type": "kinesis", "stream": "x"}])


def test_start_values() -> None:
    assert parse_start(None) == Start("trim-horizon") == parse_start("TRIM_HORIZON")
    assert parse_start("latest") == Start("latest")
    assert parse_start("2024-05-01T12:00:00Z") == Start("time", 1714564800000)
    assert parse_start("2024-05-01T14:00:00+02:00") == Start("time", 1714564800000)
    assert parse_start("2024-05-01") == Start("time", 1714521600000)
    assert parse_start(dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)) == Start("time", 1714564800000)
    age = parse_start("-2h")
    assert age.mode == "time" and abs(age.time_ms - (time.time() - 7200) * 1000) < 5000  # type: ignore[operator]
    with pytest.raises(SourceError, match="use trim-horizon, latest, a time like"):
        parse_start("yesterday")


def test_ingest_format_is_the_default_of_sources_without_one(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ingest]\nformat = "{V5}"\n\n[[sources]]\nstream = "a"\n\n'
        '[[sources]]\nstream = "b"\nformat = "${version} ${srcaddr} ${dstaddr}"\n'
    )
    a, b = sources_from_config(Config.load(path))
    assert a.format == V5 and b.format == "${version} ${srcaddr} ${dstaddr}"


def test_tail_reads_every_configured_source(
    moto_server: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kinesis = boto3.client("kinesis", endpoint_url=moto_server, region_name=REGION)
    kinesis.create_stream(StreamName="flows", ShardCount=2)
    Producer(kinesis, "flows").put(10)
    logs = boto3.client("logs", endpoint_url=moto_server, region_name=REGION)
    logs.create_log_group(logGroupName="direct")
    logs.create_log_stream(logGroupName="direct", logStreamName="eni-1-all")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="direct",
        logStreamName="eni-1-all",
        logEvents=[{"timestamp": now, "message": flow_line(10_000 + i)} for i in range(4)],
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[sources]]\ntype = "kinesis"\nstream = "flows"\nregion = "{REGION}"\nendpoint_url = "{moto_server}"\n'
        "poll_interval = 0.02\n\n"
        f'[[sources]]\ntype = "cloudwatch-logs"\nlog_group = "direct"\nregion = "{REGION}"\n'
        f'endpoint_url = "{moto_server}"\n'
    )
    db = tmp_path / "flows.db"
    assert main(["tail", "--config", str(config), "--db", str(db), "--no-ui", "--until-caught-up"]) == 0
    out = capsys.readouterr().out
    assert "kinesis:flows: 30 flows stored" in out
    assert "cwlogs:direct: 4 flows stored" in out
    assert flow_count(db) == 34


def test_tail_keeps_flows_as_the_config_store_retain_says(
    moto_server: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    """[store] retain bound only `ingest`: tail (and the dashboard's ingest, which runs the same
    sources) opened its store without it, so the store grew for ever on a bastion's disk."""
    from flowtui.store import Batch, Part, Store
    from tests.conftest import V2_PRESENT, make_record

    now = int(time.time())
    db = tmp_path / "flows.db"
    with Store(db) as store:  # three days old: past retain
        old = [make_record(version=2, src_addr="10.0.0.1", dst_addr="10.0.0.2", start=now - 3 * 86400 + i, end=now - 3 * 86400 + 60) for i in range(3)]
        store.write(Batch([Part(old, V2_PRESENT)]))
    logs = boto3.client("logs", endpoint_url=moto_server, region_name=REGION)
    logs.create_log_group(logGroupName="recent")
    logs.create_log_stream(logGroupName="recent", logStreamName="eni-1-all")
    logs.put_log_events(
        logGroupName="recent",
        logStreamName="eni-1-all",
        logEvents=[{"timestamp": now * 1000, "message": flow_line(20_000 + i, start=now - 60)} for i in range(4)],
    )
    config = tmp_path / "config.toml"
    config.write_text(
        '[store]\nretain = "1d"\n\n'
        f'[[sources]]\ntype = "cloudwatch-logs"\nlog_group = "recent"\nregion = "{REGION}"\nendpoint_url = "{moto_server}"\n'
    )
    assert main(["tail", "--config", str(config), "--db", str(db), "--no-ui", "--until-caught-up"]) == 0
    with Store(db, readonly=True) as store:
        assert sorted(s for (s,) in store.conn.execute("SELECT start FROM flows")) == [now - 60] * 4
