"""flowtui tail --log-group: FilterLogEvents polling against moto's CloudWatch Logs, positions exactly-once."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from flowtui.cli import main
from flowtui.sources.spec import parse_start
from flowtui.store import Store
from tests.aws_server import moto_server  # noqa: F401 - the fixture
from tests.tail_helpers import REGION, distinct_flow_count, flow_count, flow_line, log_group_spec, tail

GROUP = "vpc-flow-logs"
STREAMS = ("eni-0a1b2c3d4e5f60718-all", "eni-0f0e0d0c0b0a09080-all")


class Logs:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.client = boto3.client("logs", endpoint_url=endpoint, region_name=REGION)
        self.client.create_log_group(logGroupName=GROUP)
        for s in STREAMS:
            self.client.create_log_stream(logGroupName=GROUP, logStreamName=s)
        self.n = 0
        self.put_count = 0

    def put(self, stream: str, timestamps: list[int]) -> None:
        events = []
        for ts in timestamps:
            self.n += 1
            events.append({"timestamp": ts, "message": flow_line(self.n)})
        self.client.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)
        self.put_count += len(events)


@pytest.fixture
def logs(moto_server: str) -> Logs:  # noqa: F811 - the imported fixture
    return Logs(moto_server)


def position(db: Path) -> dict[str, Any]:
    with Store(db) as store:
        text = store.checkpoint(f"cwlogs:{GROUP}")
    assert text is not None
    return json.loads(text)


def test_reads_every_stream_and_resumes_at_the_same_millisecond(logs: Logs, tmp_path: Path) -> None:
    now = int(time.time() * 1000) - 60_000
    logs.put(STREAMS[0], [now, now, now + 1, now + 2])
    logs.put(STREAMS[1], [now + 1, now + 2, now + 2])
    db = tmp_path / "flows.db"

    first = tail([log_group_spec(GROUP, logs.endpoint, limit=3)], db)[f"cwlogs:{GROUP}"]  # several pages
    assert (first.stored, first.duplicates, first.rejected) == (7, 0, 0)
    assert position(db)["t"] == now + 2 and len(position(db)["ids"]) == 3

    # More events at the millisecond already read, and later ones.
    logs.put(STREAMS[0], [now + 2, now + 3])
    logs.put(STREAMS[1], [now + 2])
    second = tail([log_group_spec(GROUP, logs.endpoint, limit=3)], db)[f"cwlogs:{GROUP}"]

    assert (second.stored, second.duplicates) == (3, 0)
    with Store(db) as store:
        (row,) = [s for s in store.statuses() if s["source"].startswith("cwlogs:")]
    assert (row["source"], row["state"], row["errors"]) == (f"cwlogs:{GROUP}", "stopped", 0)
    assert flow_count(db) == distinct_flow_count(db) == logs.put_count == 10
    assert position(db) == {"t": now + 3, "ids": position(db)["ids"]} and len(position(db)["ids"]) == 1
    with Store(db) as store:
        origins = {store.origin(o) for (o,) in store.conn.execute("SELECT DISTINCT origin FROM flows")}
    assert {o[:3] for o in origins} == {(GROUP, s, None) for s in STREAMS}


def test_late_events_are_caught_by_the_lookback_sweep(logs: Logs, tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    logs.put(STREAMS[0], [now - 1000, now])
    db = tmp_path / "flows.db"
    assert tail([log_group_spec(GROUP, logs.endpoint)], db)[f"cwlogs:{GROUP}"].stored == 2

    logs.put(STREAMS[1], [now - 30_000])  # ingested after newer events: behind the position
    without_sweep = tail([log_group_spec(GROUP, logs.endpoint, lookback=0)], db)[f"cwlogs:{GROUP}"]
    assert without_sweep.stored == 0
    swept = tail([log_group_spec(GROUP, logs.endpoint, lookback=600, sweep_interval=0)], db)[f"cwlogs:{GROUP}"]
    assert (swept.stored, flow_count(db)) == (1, 3)
    assert swept.duplicates == 1  # the sweep re-read the older stored event (not the one at the position)
    assert distinct_flow_count(db) == 3


def test_start_latest_skips_older_events(logs: Logs, tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    logs.put(STREAMS[0], [now - 5000, now - 4000])
    db = tmp_path / "flows.db"
    spec = log_group_spec(GROUP, logs.endpoint, start=parse_start("latest"))
    assert tail([spec], db)[f"cwlogs:{GROUP}"].stored == 0
    logs.put(STREAMS[0], [int(time.time() * 1000) + 10])
    assert tail([spec], db)[f"cwlogs:{GROUP}"].stored == 1


def test_cli_tail_log_group(logs: Logs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = int(time.time() * 1000)
    logs.put(STREAMS[0], [now, now + 1])
    db = tmp_path / "flows.db"
    argv = ["tail", "--endpoint-url", logs.endpoint, "--region", REGION, "--db", str(db), "--no-ui"]
    assert main([*argv, "--log-group", GROUP, "--until-caught-up"]) == 0
    out = capsys.readouterr()
    assert f"cwlogs:{GROUP}: 2 flows stored" in out.out
    progress = out.err.splitlines()[-1].split(" ", 2)[2]  # after the date and time
    assert progress.startswith(f"cwlogs:{GROUP}: stopped, 1 part (1 stopped), ")  # was '1 parts'

    assert main([*argv, "--log-group", "nope", "--until-caught-up"]) == 1
    err = capsys.readouterr().err
    assert "flowtui: CloudWatch Logs group 'nope' does not exist in us-east-1" in err
    assert "Traceback" not in err
