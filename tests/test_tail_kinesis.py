"""flowtui tail against moto's Kinesis over HTTP: every shard, exact counts, resume, kill -9, user errors."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest

from flowtui.cli import main
from flowtui.errors import SourceError
from flowtui.sources import run_sources
from flowtui.store import Store
from tests.aws_server import moto_server  # noqa: F401 - the fixture
from tests.tail_helpers import (
    PYTHON,
    REGION,
    REPO,
    Faults,
    Producer,
    client_error,
    distinct_flow_count,
    flow_count,
    flow_line,
    kinesis_spec,
    subprocess_env,
    tail,
)


class Aws:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION)
        self.logs = boto3.client("logs", endpoint_url=endpoint, region_name=REGION)


@pytest.fixture
def aws(moto_server: str) -> Aws:  # noqa: F811 - the imported fixture
    return Aws(moto_server)


def make_stream(aws: Aws, name: str = "flows", shards: int = 4) -> Producer:
    aws.kinesis.create_stream(StreamName=name, ShardCount=shards)
    return Producer(aws.kinesis, name)


def test_drains_every_shard_exactly_and_skips_control_messages(aws: Aws, tmp_path: Path) -> None:
    producer = make_stream(aws)
    producer.put(300)
    producer.put_control(5)
    db = tmp_path / "flows.db"

    stats = tail([kinesis_spec("flows", aws.endpoint)], db)["kinesis:flows"]

    assert (stats.stored, stats.duplicates, stats.rejected, stats.control_messages) == (900, 0, 0, 5)
    assert flow_count(db) == distinct_flow_count(db) == 900
    with Store(db) as store:
        positions = store.checkpoints("kinesis:flows/")
        assert len(producer.last_seq) == 4
        assert positions == {f"kinesis:flows/{shard}": seq for shard, seq in producer.last_seq.items()}
        assert store.checkpoint("kinesis:flows") == "trim-horizon"
        rows = {s["source"]: s for s in store.statuses()}
        assert rows["kinesis:flows"]["state"] == "stopped"
        assert rows["kinesis:flows"]["errors"] == 0
        assert {r for r in rows if r.startswith("kinesis:flows/")} == set(positions)
        origins = store.conn.execute("SELECT DISTINCT origin FROM flows").fetchall()
        assert {store.origin(o)[2] for (o,) in origins} == {"flows"}  # (group, log stream, kinesis stream, owner)


def test_resume_after_a_clean_stop_reads_only_new_records(aws: Aws, tmp_path: Path) -> None:
    producer = make_stream(aws)
    producer.put(200)
    db = tmp_path / "flows.db"
    assert tail([kinesis_spec("flows", aws.endpoint)], db)["kinesis:flows"].stored == 600

    producer.put(50)
    second = tail([kinesis_spec("flows", aws.endpoint)], db)["kinesis:flows"]

    assert (second.stored, second.duplicates, second.payloads) == (150, 0, 50)
    assert flow_count(db) == distinct_flow_count(db) == 750


def test_start_latest_skips_what_is_there_and_keeps_its_start_across_restarts(
    aws: Aws,
    tmp_path: Path,
) -> None:
    producer = make_stream(aws, shards=2)
    producer.put(40)
    db = tmp_path / "flows.db"
    time.sleep(0.05)
    from flowtui.sources.spec import parse_start

    first = tail([kinesis_spec("flows", aws.endpoint, start=parse_start("latest"))], db)["kinesis:flows"]
    assert first.stored == 0
    producer.put(10)  # while flowtui is down, and no shard has a stored record yet
    second = tail([kinesis_spec("flows", aws.endpoint, start=parse_start("latest"))], db)["kinesis:flows"]
    assert second.stored == 30
    assert flow_count(db) == 30


def test_cloudwatch_subscription_delivers_gzip_payloads_that_tail_stores(
    aws: Aws,
    tmp_path: Path,
) -> None:
    make_stream(aws, "cwl", shards=2)
    logs, kinesis = aws.logs, aws.kinesis
    arn = kinesis.describe_stream_summary(StreamName="cwl")["StreamDescriptionSummary"]["StreamARN"]
    logs.create_log_group(logGroupName="vpc-flow-logs")
    logs.create_log_stream(logGroupName="vpc-flow-logs", logStreamName="eni-0a1b2c3d4e5f60718-all")
    logs.put_subscription_filter(
        logGroupName="vpc-flow-logs",
        filterName="to-kinesis",
        filterPattern="",
        destinationArn=arn,
        roleArn="arn:aws:iam::123456789012:role/cwl",
    )
    now = int(time.time() * 1000)
    for batch in range(5):
        events = [{"timestamp": now + batch, "message": flow_line(batch * 100 + i)} for i in range(20)]
        logs.put_log_events(logGroupName="vpc-flow-logs", logStreamName="eni-0a1b2c3d4e5f60718-all", logEvents=events)

    # moto (5.2) delivers real subscription payloads: gzip JSON, one per PutLogEvents call.
    shards = kinesis.list_shards(StreamName="cwl")["Shards"]
    raw = []
    for shard in shards:
        it = kinesis.get_shard_iterator(StreamName="cwl", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        raw += [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]]
    assert len(raw) == 5 and all(r[:2] == b"\x1f\x8b" for r in raw)
    doc = json.loads(gzip.decompress(raw[0]))
    assert doc["messageType"] == "DATA_MESSAGE" and doc["logGroup"] == "vpc-flow-logs"

    stats = tail([kinesis_spec("cwl", aws.endpoint)], tmp_path / "flows.db")["kinesis:cwl"]
    assert (stats.stored, stats.duplicates, stats.rejected) == (100, 0, 0)
    with Store(tmp_path / "flows.db") as store:
        (origin,) = store.conn.execute("SELECT DISTINCT origin FROM flows").fetchall()
        assert store.origin(origin[0])[:3] == ("vpc-flow-logs", "eni-0a1b2c3d4e5f60718-all", "cwl")


def test_health_is_logged_every_few_seconds_not_per_record(
    aws: Aws,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    producer = make_stream(aws, shards=2)
    producer.put(100)
    caplog.set_level("INFO", logger="flowtui.sources")
    tail([kinesis_spec("flows", aws.endpoint)], tmp_path / "flows.db", log_interval=5.0)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("kinesis:flows:")]
    assert len(lines) == 1  # the run is shorter than the interval: just the final line
    assert "stopped" in lines[0] and "stored 300" in lines[0] and "errors 0" in lines[0]


# --- the command line ---------------------------------------------------------------------------


def test_cli_tail_until_caught_up_prints_a_summary(
    aws: Aws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_stream(aws, shards=2).put(20)
    db = tmp_path / "flows.db"
    code = main(
        [
            "tail",
            "--stream",
            "flows",
            "--endpoint-url",
            aws.endpoint,
            "--region",
            REGION,
            "--db",
            str(db),
            "--until-caught-up",
            "--no-ui",
        ]
    )
    out = capsys.readouterr()
    assert code == 0
    assert "kinesis:flows: 60 flows stored" in out.out
    assert flow_count(db) == 60


@pytest.mark.parametrize(
    ("argv", "message", "status"),
    [
        (["--stream", "nope"], "Kinesis stream 'nope' does not exist in us-east-1", 1),
        (["--stream", "flows", "--start", "yesterday-ish"], "bad start 'yesterday-ish'", 2),  # a bad argument
    ],
)
def test_cli_user_errors_are_one_sentence(
    aws: Aws,
    tmp_path: Path,
    argv: list[str],
    message: str,
    status: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_stream(aws, shards=1)
    code = main(
        [
            "tail",
            *argv,
            "--endpoint-url",
            aws.endpoint,
            "--region",
            REGION,
            "--db",
            str(tmp_path / "f.db"),
            "--no-ui",
            "--until-caught-up",
        ]
    )
    err = capsys.readouterr().err
    assert code == status
    assert message in err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("flowtui: ")


def test_no_credentials_is_a_source_error(
    aws: Aws,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_stream(aws, shards=1)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(SourceError, match="no usable AWS credentials for Kinesis stream 'flows'"):
        tail([kinesis_spec("flows", aws.endpoint)], tmp_path / "f.db")


def test_access_denied_at_start_is_a_source_error(aws: Aws, tmp_path: Path) -> None:
    make_stream(aws, shards=1)
    denied = client_error(
        "AccessDeniedException", "User: x is not authorized to perform: kinesis:DescribeStreamSummary"
    )

    faults = Faults(describe_stream_summary=lambda n, kw: denied)
    with pytest.raises(SourceError, match="access denied to Kinesis stream 'flows'.*kinesis:GetRecords"):
        tail([kinesis_spec("flows", aws.endpoint)], tmp_path / "f.db", client_wrapper=faults.wrap)
    with Store(tmp_path / "f.db") as store:
        row = {s["source"]: s for s in store.statuses()}["kinesis:flows"]
        assert row["state"] == "error" and "access denied" in row["detail"]


def test_a_second_tail_of_the_same_stream_into_the_same_store_is_refused(
    aws: Aws,
    tmp_path: Path,
) -> None:
    make_stream(aws, shards=1)
    db = tmp_path / "flows.db"
    stop = threading.Event()
    from flowtui.sources import run_sources

    spec = kinesis_spec("flows", aws.endpoint)
    runner = threading.Thread(target=run_sources, args=([spec], db, stop))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while not Path(f"{db}.sources.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        proc = subprocess.run(
            [
                PYTHON,
                "-m",
                "flowtui",
                "tail",
                "--stream",
                "flows",
                "--endpoint-url",
                aws.endpoint,
                "--region",
                REGION,
                "--db",
                str(db),
                "--no-ui",
                "--until-caught-up",
            ],
            capture_output=True,
            check=False,
            text=True,
            env=subprocess_env(),
            cwd=REPO,
            timeout=30,
        )
    finally:
        stop.set()
        runner.join(10)
    assert proc.returncode == 1
    assert "another flowtui is already reading kinesis:flows" in proc.stderr


# --- kill -9 --------------------------------------------------------------------------------------


def _tail_process(db: Path, config: Path, endpoint: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            PYTHON,
            "-m",
            "flowtui",
            "tail",
            "--stream",
            "flows",
            "--endpoint-url",
            endpoint,
            "--region",
            REGION,
            "--db",
            str(db),
            "--config",
            str(config),
            "--no-ui",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
        cwd=REPO,
    )


def test_kill_9_mid_stream_then_restart_loses_and_doubles_nothing(
    aws: Aws,
    tmp_path: Path,
) -> None:
    producer = make_stream(aws)
    db = tmp_path / "flows.db"
    config = tmp_path / "config.toml"
    config.write_text(
        '[[sources]]\ntype = "kinesis"\nstream = "flows"\npoll_interval = 0.02\ndiscover_interval = 0.3\n'
        "status_interval = 0.1\nretry_base = 0.01\nretry_max = 0.05\nlimit = 40\n"
    )
    producer.put(400)
    for kill_after in (0.0, 0.3, 0.0):
        # A producer keeps writing while flowtui runs; it is killed at an arbitrary moment.
        done = threading.Event()
        feeder = threading.Thread(target=_feed, args=(producer, done))
        proc = _tail_process(db, config, aws.endpoint)
        feeder.start()
        try:
            deadline = time.monotonic() + 20
            start_count = _count_or_zero(db)
            while _count_or_zero(db) <= start_count and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(kill_after)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            done.set()
            feeder.join()
        assert proc.returncode == -signal.SIGKILL
        assert 0 < _count_or_zero(db) < producer.flows

    final = _tail_process(db, config, aws.endpoint, "--until-caught-up")
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, err
    assert flow_count(db) == distinct_flow_count(db) == producer.flows
    assert "already stored" not in out  # positions, not de-duplication, carried exactly-once
    with Store(db) as store:
        assert store.checkpoints("kinesis:flows/") == {
            f"kinesis:flows/{shard}": seq for shard, seq in producer.last_seq.items()
        }


def _feed(producer: Producer, done: threading.Event) -> None:
    while not done.is_set():
        producer.put(4)
        time.sleep(0.02)


def _count_or_zero(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with Store(db, readonly=True) as store:
            return store.flow_count()
    except Exception:  # noqa: BLE001 - the file is being created
        return 0


# --- as the dashboard runs it ---------------------------------------------------------------------


def test_run_sources_in_a_spawned_process_stops_on_its_event(aws: Aws, tmp_path: Path) -> None:
    producer = make_stream(aws, shards=2)
    producer.put(50)
    db = tmp_path / "flows.db"
    config = tmp_path / "config.toml"
    config.write_text("")  # an enricher with nothing configured
    Store(db).close()
    table = {
        "type": "kinesis",
        "stream": "flows",
        "region": REGION,
        "endpoint_url": aws.endpoint,
        "poll_interval": 0.02,
        "status_interval": 0.1,
    }
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    proc = ctx.Process(target=run_sources, args=([table], str(db), stop), kwargs={"config_path": str(config)})
    proc.start()
    try:
        deadline = time.monotonic() + 30
        while _count_or_zero(db) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        producer.put(10)
        while _count_or_zero(db) < 180 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        proc.join(20)
    assert proc.exitcode == 0
    assert flow_count(db) == distinct_flow_count(db) == 180
    with Store(db) as store:
        assert {s["source"]: s["state"] for s in store.statuses()}["kinesis:flows"] == "stopped"


def test_tail_job_runs_under_the_worker(aws: Aws, tmp_path: Path) -> None:
    from flowtui.sources.runner import TailJob
    from flowtui.worker import run_job

    make_stream(aws, shards=2).put(30)
    config = tmp_path / "config.toml"
    config.write_text("")
    job = TailJob([kinesis_spec("flows", aws.endpoint)], str(config), until_caught_up=True)
    run_job(job, tmp_path / "flows.db")
    assert flow_count(tmp_path / "flows.db") == 90
    with Store(tmp_path / "flows.db") as store:
        states = {s["source"]: s["state"] for s in store.statuses()}
    assert states["kinesis:flows"] == "stopped" and "tail" not in states  # the sources report themselves


def test_sigterm_stops_tail_cleanly_with_a_summary(aws: Aws, tmp_path: Path) -> None:
    make_stream(aws, shards=2).put(40)
    db = tmp_path / "flows.db"
    config = tmp_path / "config.toml"
    config.write_text('[[sources]]\ntype = "kinesis"\nstream = "flows"\npoll_interval = 0.02\n')
    proc = _tail_process(db, config, aws.endpoint)
    deadline = time.monotonic() + 20
    while _count_or_zero(db) < 120 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "kinesis:flows: 120 flows stored" in out
    assert "kinesis:flows: stopped" in err  # the last health line


def test_moto_reshard_keeps_parents_open_and_copies_records_yet_tail_ends_and_stores_each_once(
    aws: Aws, tmp_path: Path
) -> None:
    # moto's merge copies both parents' records into the child (new sequence numbers) and never ends
    # the parents' iterators. Parents still end (closed, nothing behind), children wait for them, and the
    # copies are recognised by their CloudWatch event keys.
    producer = make_stream(aws, shards=2)
    producer.put(30)
    db = tmp_path / "flows.db"
    assert tail([kinesis_spec("flows", aws.endpoint)], db)["kinesis:flows"].stored == 90
    shards = [s["ShardId"] for s in aws.kinesis.list_shards(StreamName="flows")["Shards"]]
    aws.kinesis.merge_shards(StreamName="flows", ShardToMerge=shards[0], AdjacentShardToMerge=shards[1])
    producer.put(10)

    stats = tail([kinesis_spec("flows", aws.endpoint)], db)["kinesis:flows"]

    assert (stats.stored, stats.duplicates) == (30, 90)
    assert flow_count(db) == distinct_flow_count(db) == producer.flows == 120
    with Store(db) as store:
        positions = store.checkpoints("kinesis:flows/")
    assert all(positions[f"kinesis:flows/{s}"].startswith("end:") for s in shards)


def test_the_progress_line_of_one_shard_says_shard(
    aws: Aws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """'1 shard (1 stopped)', was '1 shards (1 stopped)'."""
    make_stream(aws, shards=1).put(1)
    argv = ["tail", "--stream", "flows", "--endpoint-url", aws.endpoint, "--region", REGION]
    assert main([*argv, "--db", str(tmp_path / "f.db"), "--until-caught-up", "--no-ui"]) == 0
    err = capsys.readouterr().err.splitlines()
    line = err[-1].split(" ", 2)[2]  # after the date and time
    assert line.startswith("kinesis:flows: stopped, 1 shard (1 stopped), ")
    assert line.endswith(", stored 3, duplicates 0, rejected 0, errors 0")
