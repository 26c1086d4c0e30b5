"""Two `flowtui tail` processes reading one Kinesis stream into one store (its file reached by two
paths, so the sources lock, kept beside each path, does not stop the second): each record stored once,
and never written twice, since a batch is stored only after the position it was read from."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3

from flowtui.store import Store
from tests.aws_server import moto_server  # noqa: F401 - the fixture
from tests.tail_helpers import PYTHON, REGION, REPO, Producer, distinct_flow_count, flow_count, subprocess_env


def _tail(db: Path, config: Path, endpoint: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-m", "flowtui", "tail", "--stream", "flows", "--endpoint-url", endpoint, "--region", REGION,
         "--db", str(db), "--config", str(config), "--no-ui", "--until-caught-up"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(), cwd=REPO,
    )


def test_two_tails_of_one_stream_into_one_store_write_each_record_once(moto_server: str, tmp_path: Path) -> None:  # noqa: F811
    kinesis = boto3.client("kinesis", endpoint_url=moto_server, region_name=REGION)
    kinesis.create_stream(StreamName="flows", ShardCount=2)
    producer = Producer(kinesis, "flows")
    producer.put(1200)
    db = tmp_path / "flows.db"
    Store(db).close()
    other = tmp_path / "same.db"
    other.symlink_to(db)
    config = tmp_path / "config.toml"
    config.write_text(
        '[[sources]]\ntype = "kinesis"\nstream = "flows"\npoll_interval = 0.02\ndiscover_interval = 0.3\n'
        "status_interval = 0.1\nretry_base = 0.01\nretry_max = 0.05\nlimit = 20\n"
    )
    procs = [_tail(db, config, moto_server), _tail(other, config, moto_server)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert flow_count(db) == distinct_flow_count(db) == producer.flows
    for out, _ in outs:
        assert "already stored" not in out  # neither wrote a batch the other had stored
    with Store(db) as store:
        assert store.checkpoints("kinesis:flows/") == {f"kinesis:flows/{shard}": seq for shard, seq in producer.last_seq.items()}
