"""flowtui tail against kinesalite: real sequence numbers, and shards split and merged while data flows."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from flowtui.store import Store
from tests.kinesalite import kinesalite  # noqa: F401 - the fixture
from tests.tail_helpers import REGION, Faults, Producer, distinct_flow_count, flow_count, kinesis_spec, tail

_names = itertools.count(1)


@pytest.fixture
def kinesis(kinesalite: str) -> Any:  # noqa: F811 - the imported fixture
    return boto3.client("kinesis", endpoint_url=kinesalite, region_name=REGION)


def new_stream(kinesis: Any, shards: int) -> str:
    name = f"flows-{time.time_ns()}-{next(_names)}"
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    wait_active(kinesis, name)
    return name


def wait_active(kinesis: Any, name: str) -> None:
    deadline = time.monotonic() + 10
    while kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_drain_and_resume_with_real_sequence_numbers(kinesis: Any, kinesalite: str, tmp_path: Path) -> None:  # noqa: F811
    name = new_stream(kinesis, 3)
    producer = Producer(kinesis, name)
    producer.put(150)
    db = tmp_path / "flows.db"

    first = tail([kinesis_spec(name, kinesalite)], db)[f"kinesis:{name}"]
    producer.put(30)
    second = tail([kinesis_spec(name, kinesalite)], db)[f"kinesis:{name}"]

    assert (first.stored, second.stored, first.duplicates + second.duplicates) == (450, 90, 0)
    assert flow_count(db) == distinct_flow_count(db) == producer.flows
    with Store(db) as store:
        assert store.checkpoints(f"kinesis:{name}/") == {
            f"kinesis:{name}/{shard}": seq for shard, seq in producer.last_seq.items()
        }
        assert all(len(seq) > 40 for seq in producer.last_seq.values())  # real ones, not moto's 1, 2, 3


def test_split_and_merge_while_data_flows_every_record_exactly_once(
    kinesis: Any,
    kinesalite: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    name = new_stream(kinesis, 2)
    producer = Producer(kinesis, name)
    db = tmp_path / "flows.db"
    faults = Faults()
    stop = threading.Event()
    results: dict[str, Any] = {}
    spec = kinesis_spec(name, kinesalite, discover_interval=0.2, limit=50)

    def run_tail() -> None:
        results.update(tail([spec], db, until_caught_up=False, stop=stop, client_wrapper=faults.wrap, timeout=60))

    runner = threading.Thread(target=run_tail)
    runner.start()
    producing = threading.Event()
    feeder = threading.Thread(target=_feed, args=(producer, producing))
    feeder.start()
    try:
        time.sleep(0.4)
        shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=name)["Shards"]}
        first = min(shards)
        lo, hi = (int(shards[first]["HashKeyRange"][k]) for k in ("StartingHashKey", "EndingHashKey"))
        kinesis.split_shard(StreamName=name, ShardToSplit=first, NewStartingHashKey=str((lo + hi) // 2))
        wait_active(kinesis, name)
        time.sleep(0.4)
        children = sorted(
            s["ShardId"] for s in kinesis.list_shards(StreamName=name)["Shards"] if s.get("ParentShardId") == first
        )
        assert len(children) == 2
        kinesis.merge_shards(StreamName=name, ShardToMerge=children[0], AdjacentShardToMerge=children[1])
        wait_active(kinesis, name)
        time.sleep(0.4)
    finally:
        producing.set()
        feeder.join()
    try:
        deadline = time.monotonic() + 20
        while flow_count(db) < producer.flows and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # anything extra would arrive now
    finally:
        stop.set()
        runner.join(30)
    stats = results[f"kinesis:{name}"]
    assert (stats.stored, stats.duplicates, stats.rejected) == (producer.flows, 0, 0)
    assert flow_count(db) == distinct_flow_count(db) == producer.flows
    again = tail([kinesis_spec(name, kinesalite)], db)[f"kinesis:{name}"]
    assert again.stored == 0

    listing = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=name)["Shards"]}
    merged = next(s for s, info in listing.items() if info.get("AdjacentParentShardId"))
    assert {first, *children, merged} <= set(producer.last_seq)  # records went to parents and to children
    with Store(db) as store:
        positions = store.checkpoints(f"kinesis:{name}/")
    # Closed shards were read to their end and retired; every shard's position is its last record.
    for shard in [first, *children]:
        assert positions[f"kinesis:{name}/{shard}"].startswith("end:")
    for shard, seq in producer.last_seq.items():
        assert positions[f"kinesis:{name}/{shard}"] in (seq, f"end:{seq}")
    # Parents before children: a child's first iterator comes after its parents' last read.
    ended = _shards_ended(faults)
    started = {kw["ShardId"]: t for t, kw, _ in reversed(faults.results["get_shard_iterator"])}
    for child, parents in ((children[0], [first]), (children[1], [first]), (merged, children)):
        assert all(ended[p] <= started[child] for p in parents), (child, parents)


def _feed(producer: Producer, done: threading.Event) -> None:
    while not done.is_set():
        producer.put(5)
        time.sleep(0.02)


def _shards_ended(faults: Faults) -> dict[str, float]:
    """When each shard's GetRecords said it had no more (no next iterator)."""
    shard_of = {r["ShardIterator"]: kw["ShardId"] for _, kw, r in faults.results["get_shard_iterator"]}
    ended: dict[str, float] = {}
    for t, kw, r in faults.results["get_records"]:
        shard = shard_of.get(kw["ShardIterator"])
        if shard is None:
            continue
        if r.get("NextShardIterator"):
            shard_of[r["NextShardIterator"]] = shard
        else:
            ended[shard] = t
    return ended


def test_a_stream_created_while_another_is_read_is_read_once_active(
    kinesis: Any,
    kinesalite: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """kinesalite keeps a new stream CREATING for a while: the retried source waits for it, the other reads on."""
    good = new_stream(kinesis, 2)
    producer = Producer(kinesis, good)
    producer.put(100)
    late = f"late-{time.time_ns()}"
    db = tmp_path / "flows.db"
    stop = threading.Event()
    results: dict[str, Any] = {}
    specs = [kinesis_spec(good, kinesalite), kinesis_spec(late, kinesalite)]

    def run_tail() -> None:
        results.update(tail(specs, db, until_caught_up=False, stop=stop, timeout=60))

    runner = threading.Thread(target=run_tail)
    runner.start()
    try:
        _wait(lambda: _count(db) == 300)
        _wait(lambda: _states(db).get(f"kinesis:{late}") == "error")
        producer.put(50)
        kinesis.create_stream(StreamName=late, ShardCount=1)  # read as soon as it is ACTIVE
        wait_active(kinesis, late)
        later = Producer(kinesis, late)
        later.put(40)
        _wait(lambda: _count(db) == 300 + 150 + 120)
        _wait(lambda: _states(db).get(f"kinesis:{late}") in ("reading", "caught-up"))
    finally:
        stop.set()
        runner.join(30)
    assert (results[f"kinesis:{good}"].stored, results[f"kinesis:{late}"].stored) == (450, 120)
    assert distinct_flow_count(db) == 570


def _wait(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _count(db: Path) -> int:
    try:
        return flow_count(db) if db.exists() else 0
    except Exception:  # noqa: BLE001 - the file is being created
        return 0


def _states(db: Path) -> dict[str, str]:
    if not db.exists():
        return {}
    with Store(db) as store:
        return {s["source"]: s["state"] for s in store.statuses()}
