"""Each source on its own: one that cannot be read shows why and is tried again; the others keep ingesting."""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from flowtui.cli import main
from flowtui.errors import SourceError
from flowtui.sources.runner import SourcesFailed
from flowtui.store import Store
from tests.aws_server import moto_server  # noqa: F401 - the fixture
from tests.tail_helpers import (
    PYTHON,
    REGION,
    REPO,
    Faults,
    Producer,
    distinct_flow_count,
    flow_count,
    flow_line,
    kinesis_spec,
    log_group_spec,
    subprocess_env,
    tail,
)

MISSING = "Kinesis stream 'does-not-exist' does not exist in us-east-1 (check the name and --region)"


@pytest.fixture
def kinesis(moto_server: str) -> Any:  # noqa: F811 - the imported fixture
    return boto3.client("kinesis", endpoint_url=moto_server, region_name=REGION)


def good_stream(kinesis: Any, records: int = 120) -> Producer:
    kinesis.create_stream(StreamName="vpc-flow-logs", ShardCount=2)
    producer = Producer(kinesis, "vpc-flow-logs")
    producer.put(records)
    return producer


def good_and_missing(endpoint: str) -> list[Any]:
    """The QA's config: a stream that exists and has records, and one that does not exist."""
    return [kinesis_spec("vpc-flow-logs", endpoint), kinesis_spec("does-not-exist", endpoint)]


def statuses(db: Path) -> dict[str, tuple[str, str | None]]:
    with Store(db, readonly=True) as store:
        return {s["source"]: (s["state"], s["detail"]) for s in store.statuses()}


def wait_for(what: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with Store(db, readonly=True) as store:  # (a reader never holds up the writer)
            return store.flow_count()
    except Exception:  # noqa: BLE001 - the file is being created
        return 0


@contextmanager
def running(specs: list[Any], db: Path, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """The sources tailed in a thread (not until caught up) until the block ends; its outcome in the dict."""
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["results"] = tail(specs, db, until_caught_up=False, stop=stop, timeout=120, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            outcome["error"] = exc

    runner = threading.Thread(target=run)
    runner.start()
    try:
        yield outcome
    finally:
        stop.set()
        runner.join(30)
    assert not runner.is_alive()


def test_a_missing_stream_never_stops_the_healthy_one_and_is_read_once_created(
    kinesis: Any,
    moto_server: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    producer = good_stream(kinesis)
    db = tmp_path / "flows.db"
    caplog.set_level(logging.INFO, logger="flowtui.sources")
    specs = good_and_missing(moto_server)
    with running(specs, db) as outcome:
        wait_for(lambda: count(db) == producer.flows == 360)
        wait_for(lambda: statuses(db).get("kinesis:does-not-exist", ("",))[0] == "error")
        time.sleep(1.0)  # many retries (every 0.1 s at most here)
        producer.put(1000)  # the QA case: a thousand more events after the other source failed
        wait_for(lambda: count(db) == producer.flows == 3360)
        rows = statuses(db)
        assert rows["kinesis:does-not-exist"] == ("error", f"{MISSING}; retrying")
        assert rows["kinesis:vpc-flow-logs"][0] in ("reading", "caught-up")

        kinesis.create_stream(StreamName="does-not-exist", ShardCount=1)  # created later: it starts being read
        late = Producer(kinesis, "does-not-exist")
        late.put(50)
        wait_for(lambda: count(db) == producer.flows + late.flows == 3510)
        wait_for(lambda: statuses(db)["kinesis:does-not-exist"][0] in ("reading", "caught-up"))
        assert statuses(db)["kinesis:does-not-exist"][1] in (None, "1 reading", "1 caught-up")
    assert "error" not in outcome
    results = outcome["results"]
    assert (results["kinesis:vpc-flow-logs"].stored, results["kinesis:does-not-exist"].stored) == (3360, 150)
    assert distinct_flow_count(db) == 3510
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(said) == 1  # told once, not at each of its retries
    assert said[0].startswith(f"kinesis:does-not-exist: {MISSING}; trying again in ")
    final = statuses(db)
    assert (final["kinesis:vpc-flow-logs"], final["kinesis:does-not-exist"]) == (
        ("stopped", "2 stopped"),
        ("stopped", "1 stopped"),
    )
    with Store(db) as store:
        errors = {s["source"]: s["errors"] for s in store.statuses()}
    assert errors["kinesis:does-not-exist"] >= 2 and errors["kinesis:vpc-flow-logs"] == 0


def test_until_caught_up_reads_the_good_source_to_its_end_then_fails(
    kinesis: Any,
    moto_server: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    producer = good_stream(kinesis)
    db = tmp_path / "flows.db"
    specs = good_and_missing(moto_server)
    with pytest.raises(SourcesFailed) as caught:
        tail(specs, db)
    assert str(caught.value) == MISSING
    assert caught.value.failures == {"kinesis:does-not-exist": MISSING}
    assert caught.value.results["kinesis:vpc-flow-logs"].stored == producer.flows == 360
    assert flow_count(db) == distinct_flow_count(db) == 360
    rows = statuses(db)
    assert rows["kinesis:does-not-exist"] == ("error", MISSING)
    assert rows["kinesis:vpc-flow-logs"] == ("stopped", "2 stopped")


def test_two_failing_sources_are_both_named(kinesis: Any, moto_server: str, tmp_path: Path) -> None:  # noqa: F811
    good_stream(kinesis)
    specs = [
        kinesis_spec("gone-1", moto_server),
        kinesis_spec("vpc-flow-logs", moto_server),
        kinesis_spec("gone-2", moto_server),
    ]
    with pytest.raises(SourceError) as caught:
        tail(specs, tmp_path / "flows.db")
    one, two = (MISSING.replace("does-not-exist", n) for n in ("gone-1", "gone-2"))
    assert str(caught.value) == f"2 sources failed: kinesis:gone-1: {one}; kinesis:gone-2: {two}"
    assert flow_count(tmp_path / "flows.db") == 360


def test_a_bug_in_one_source_is_told_with_its_traceback_once_and_the_other_goes_on(
    kinesis: Any,
    moto_server: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    producer = good_stream(kinesis)
    kinesis.create_stream(StreamName="buggy", ShardCount=1)
    db = tmp_path / "flows.db"
    bug = ValueError("a bug in the reader")
    faults = Faults(describe_stream_summary=lambda n, kw: bug if kw["StreamName"] == "buggy" else None)
    caplog.set_level(logging.INFO, logger="flowtui.sources")
    specs = [kinesis_spec("vpc-flow-logs", moto_server), kinesis_spec("buggy", moto_server)]
    with running(specs, db, client_wrapper=faults.wrap) as outcome:
        wait_for(lambda: count(db) == 360)
        wait_for(lambda: faults.calls.get("describe_stream_summary", 0) >= 6)  # the buggy one tried again
        producer.put(100)
        wait_for(lambda: count(db) == producer.flows == 660)
        assert statuses(db)["kinesis:buggy"] == (
            "error",
            "stopped by a bug: ValueError('a bug in the reader'); retrying",
        )
    assert "error" not in outcome
    told = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(told) == 1 and told[0].exc_info is not None and told[0].exc_info[1] is bug


def test_a_missing_log_group_is_retried_beside_a_stream_and_read_once_created(
    kinesis: Any,
    moto_server: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    producer = good_stream(kinesis)
    logs = boto3.client("logs", endpoint_url=moto_server, region_name=REGION)
    db = tmp_path / "flows.db"
    specs = [kinesis_spec("vpc-flow-logs", moto_server), log_group_spec("/vpc/late", moto_server)]
    missing = "CloudWatch Logs group '/vpc/late' does not exist in us-east-1 (check the name and --region)"
    with running(specs, db) as outcome:
        wait_for(lambda: count(db) == 360)
        wait_for(lambda: statuses(db).get("cwlogs:/vpc/late", ("",))[0] == "error")
        assert statuses(db)["cwlogs:/vpc/late"] == ("error", f"{missing}; retrying")
        logs.create_log_group(logGroupName="/vpc/late")
        logs.create_log_stream(logGroupName="/vpc/late", logStreamName="eni-1")
        now = int(time.time() * 1000)
        events = [{"timestamp": now + i, "message": flow_line(900_000 + i)} for i in range(7)]
        logs.put_log_events(logGroupName="/vpc/late", logStreamName="eni-1", logEvents=events)
        wait_for(lambda: count(db) == 367)
        wait_for(lambda: statuses(db)["cwlogs:/vpc/late"] == ("reading", "1 caught-up"))  # the reason is gone
    assert outcome["results"]["cwlogs:/vpc/late"].stored == 7
    assert outcome["results"]["kinesis:vpc-flow-logs"].stored == producer.flows


# --- the command line -----------------------------------------------------------------------------------

FAST_TOML = (
    "poll_interval = 0.02\ndiscover_interval = 0.3\nstatus_interval = 0.1\nretry_base = 0.01\n"
    "retry_max = 0.05\ndenied_retry = 0.1\nmax_calls_per_s = 50\n"
)


def two_sources(tmp_path: Path, endpoint: str) -> Path:
    config = tmp_path / "that.toml"
    config.write_text(
        "".join(
            f'[[sources]]\ntype = "kinesis"\nstream = "{name}"\nregion = "{REGION}"\nendpoint_url = "{endpoint}"\n'
            + FAST_TOML
            for name in ("vpc-flow-logs", "does-not-exist")
        )
    )
    return config


def test_cli_until_caught_up_stores_the_good_source_and_exits_1(
    kinesis: Any,
    moto_server: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good_stream(kinesis)
    db = tmp_path / "flows.db"
    config = two_sources(tmp_path, moto_server)
    code = main(["tail", "--config", str(config), "--db", str(db), "--no-ui", "--until-caught-up"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == ["kinesis:vpc-flow-logs: 360 flows stored, 0 rejected to dead letters, 120 payloads"]
    assert err.strip().splitlines()[-1] == f"flowtui: {MISSING}"
    # Once as it happened (the other source was still being read), once as the reason for the exit status.
    assert err.count(MISSING) == 2 and "Traceback" not in err
    assert flow_count(db) == 360


def test_cli_no_ui_keeps_the_good_source_running_and_tells_the_error_once(
    kinesis: Any,
    moto_server: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    producer = good_stream(kinesis)
    db = tmp_path / "flows.db"
    config = two_sources(tmp_path, moto_server)
    proc = subprocess.Popen(
        [PYTHON, "-m", "flowtui", "tail", "--config", str(config), "--db", str(db), "--no-ui"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
        cwd=REPO,
    )
    try:
        wait_for(lambda: count(db) == 360)
        producer.put(1000)
        wait_for(lambda: count(db) == 3360)
        time.sleep(6.0)  # past the 5 s progress line, after dozens of retries of the missing stream
        assert proc.poll() is None  # still running
        with Store(db) as store:
            rows = {s["source"]: s for s in store.statuses()}
        assert rows["kinesis:does-not-exist"]["errors"] >= 3  # tried again and again
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err  # Ctrl-C, after what was fetched is stored and the summary said
    assert err.count(MISSING) == 1, err
    assert "kinesis:vpc-flow-logs: 3,360 flows stored" in out
    assert "kinesis:does-not-exist: 0 flows stored" in out


# --- as the dashboard runs it ---------------------------------------------------------------------------


def test_the_dashboards_ingest_process_keeps_the_healthy_source_beside_a_missing_one(
    kinesis: Any,
    moto_server: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    """``flowtui --config that.toml``: the sources run as a TailJob in the worker's child process."""
    from flowtui.sources.runner import TailJob
    from flowtui.worker import IngestWorker

    producer = good_stream(kinesis)
    db = tmp_path / "flows.db"
    config = tmp_path / "empty.toml"
    config.write_text("")
    specs = good_and_missing(moto_server)
    worker = IngestWorker(TailJob(specs, str(config)), db, status_interval=0.1, log_path=tmp_path / "ingest.log")
    worker.start()
    try:
        wait_for(lambda: count(db) == 360)
        producer.put(1000)
        wait_for(lambda: count(db) == 3360)
        rows = statuses(db)
        assert rows["kinesis:does-not-exist"] == ("error", f"{MISSING}; retrying")
        assert rows["kinesis:vpc-flow-logs"][0] in ("reading", "caught-up")
        assert worker.is_alive()
    finally:
        code = worker.stop()
    assert (code, worker.error) == (0, None)
    assert "tail" not in statuses(db)  # the job did not fail: each source reports itself
    assert (tmp_path / "ingest.log").read_text().count(MISSING) == 1
