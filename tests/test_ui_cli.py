"""``flowtui`` with no command: the dashboard's arguments, and ingestion beside it from [[sources]]."""

from __future__ import annotations

import pickle
import threading
import time
from pathlib import Path

import pytest

from flowtui.cli import build_parser
from flowtui.cli.dashboard import SourcesJob, _ingest_worker
from flowtui.config import Config
from flowtui.errors import ConfigError
from flowtui.store import Store
from flowtui.worker import IngestWorker, run_job
from tests.aws_server import moto_server  # noqa: F401 - a pytest fixture
from tests.tail_helpers import Producer, flow_count, kinesis_spec


def test_root_arguments() -> None:
    args = build_parser().parse_args(["--db", "x.db", "--theme", "light", "--config", "c.toml"])
    assert (args.db, args.theme, args.config, args.view, args.command) == ("x.db", "light", "c.toml", False, None)
    assert args.run_default.__module__ == "flowtui.cli.dashboard"


def test_sources_run_in_a_worker_process(tmp_path: Path) -> None:
    config_path = tmp_path / "flowtui.toml"
    config_path.write_text('[[sources]]\nstream = "flows"\nregion = "eu-west-1"\n')
    worker = _ingest_worker(Config.load(config_path), tmp_path / "flows.db")
    assert isinstance(worker, IngestWorker)
    assert worker.state == "new"
    job = worker.job
    assert isinstance(job, SourcesJob) and job.name == "sources"
    assert [s.name for s in job.sources] == ["kinesis:flows"]
    assert job.config_path == str(config_path)
    # It crosses into the spawned process by pickle.
    assert pickle.loads(pickle.dumps(job)) == job
    assert worker.log_path == tmp_path / "flows.sources.log"


def test_no_sources_no_worker(tmp_path: Path) -> None:
    assert _ingest_worker(Config(), tmp_path / "flows.db") is None


def test_a_bad_source_is_refused_before_the_dashboard(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'strem'"):
        _ingest_worker(Config({"sources": [{"strem": "flows"}]}), tmp_path / "flows.db")


def test_the_sources_job_reports_rows_per_source_only(moto_server: str, tmp_path: Path) -> None:  # noqa: F811
    import boto3

    kinesis = boto3.client("kinesis", endpoint_url=moto_server, region_name="us-east-1")
    kinesis.create_stream(StreamName="flows", ShardCount=1)
    producer = Producer(kinesis, "flows")
    producer.put(10)
    db = tmp_path / "flows.db"
    stop = threading.Event()
    job = SourcesJob([kinesis_spec("flows", moto_server)])
    runner = threading.Thread(target=run_job, args=(job, db, stop))
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not db.exists() or flow_count(db) < producer.flows):
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(30)
    assert flow_count(db) == producer.flows == 30
    with Store(db, readonly=True) as store:
        assert [s["source"] for s in store.statuses()] == ["kinesis:flows", "kinesis:flows/shardId-000000000000"]
