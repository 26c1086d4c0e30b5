"""Faults at the client layer (and in the store): every one is retried the way it deserves, and counts stay exact."""

from __future__ import annotations

import base64
import itertools
import logging
import sqlite3
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions as bx
import pytest

from flowtui.errors import SourceError
from flowtui.ingest import Pipeline
from flowtui.sources.aws import ClientHolder
from flowtui.store import Store
from tests.aws_server import fake_aws_env, moto_server  # noqa: F401 - the fixture
from tests.tail_helpers import REGION, Faults, Producer, client_error, distinct_flow_count, kinesis_spec, tail


@pytest.fixture
def stream(moto_server: str) -> tuple[str, Producer]:  # noqa: F811 - the imported fixture
    kinesis = boto3.client("kinesis", endpoint_url=moto_server, region_name=REGION)
    kinesis.create_stream(StreamName="flows", ShardCount=2)
    producer = Producer(kinesis, "flows")
    producer.put(120)
    return moto_server, producer


def shard_errors(db: Path) -> int:
    with Store(db) as store:
        return sum(s["errors"] for s in store.statuses() if s["source"].startswith("kinesis:flows/"))


def assert_exact(db: Path, stats: Any, producer: Producer) -> None:
    assert (stats.stored, stats.duplicates, stats.rejected) == (producer.flows, 0, 0)
    assert distinct_flow_count(db) == producer.flows
    with Store(db) as store:
        assert store.flow_count() == producer.flows
        assert store.checkpoints("kinesis:flows/") == {f"kinesis:flows/{s}": q for s, q in producer.last_seq.items()}


def test_throughput_exceeded_backs_off_and_retries(stream: tuple[str, Producer], tmp_path: Path) -> None:
    endpoint, producer = stream
    throttled = client_error("ProvisionedThroughputExceededException", "Rate exceeded for shard", 400)
    faults = Faults(get_records=lambda n, kw: throttled if n in (1, 2, 3, 5, 8) else None)

    stats = tail([kinesis_spec("flows", endpoint, limit=50)], tmp_path / "f.db", client_wrapper=faults.wrap)

    assert_exact(tmp_path / "f.db", stats["kinesis:flows"], producer)
    assert [r for r in faults.raised if r[0] == "get_records"] == [
        ("get_records", n, "ClientError") for n in (1, 2, 3, 5, 8)
    ]
    assert shard_errors(tmp_path / "f.db") == 5


def test_expired_iterators_are_renewed_from_the_position(stream: tuple[str, Producer], tmp_path: Path) -> None:
    endpoint, producer = stream
    expired = client_error("ExpiredIteratorException", "Iterator expired", 400)
    faults = Faults(get_records=lambda n, kw: expired if n % 3 == 0 else None)

    stats = tail([kinesis_spec("flows", endpoint, limit=10)], tmp_path / "f.db", client_wrapper=faults.wrap)

    assert_exact(tmp_path / "f.db", stats["kinesis:flows"], producer)
    renewals = len([r for r in faults.raised if r[0] == "get_records"])
    assert renewals >= 3
    assert faults.calls["get_shard_iterator"] == 2 + renewals  # one per shard, one per expired iterator
    after = [kw for _, kw in faults.times["get_shard_iterator"][2:]]
    assert all(kw["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER" for kw in after)


def test_connection_resets_before_and_after_calls_are_retried(stream: tuple[str, Producer], tmp_path: Path) -> None:
    endpoint, producer = stream

    def reset(n: int, kw: dict[str, Any]) -> Any:
        err = bx.ConnectionClosedError(endpoint_url=endpoint)
        if n % 4 == 0:
            return err  # the request never arrived
        if n % 5 == 0:
            return (err, True)  # the server answered; the answer was lost
        return None

    faults = Faults(
        get_records=reset,
        get_shard_iterator=lambda n, kw: bx.EndpointConnectionError(endpoint_url=endpoint) if n == 1 else None,
        list_shards=lambda n, kw: bx.ReadTimeoutError(endpoint_url=endpoint) if n == 2 else None,
        describe_stream_summary=lambda n, kw: bx.EndpointConnectionError(endpoint_url=endpoint) if n < 3 else None,
    )

    stats = tail(
        [kinesis_spec("flows", endpoint, limit=30, discover_interval=0.05)],
        tmp_path / "f.db",
        client_wrapper=faults.wrap,
    )

    assert_exact(tmp_path / "f.db", stats["kinesis:flows"], producer)
    kinds = {(name, kind) for name, _, kind in faults.raised}
    assert ("get_records", "ConnectionClosedError after the call") in kinds
    assert ("get_records", "ConnectionClosedError") in kinds
    assert ("list_shards", "ReadTimeoutError") in kinds
    assert faults.calls["describe_stream_summary"] == 3


def test_access_denied_while_running_is_reported_and_retried_slowly(
    stream: tuple[str, Producer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint, producer = stream
    denied = client_error("AccessDeniedException", "not authorized to perform: kinesis:GetRecords", 400)
    shard = "shardId-000000000000"
    calls: list[int] = []

    def deny_shard_0(n: int, kw: dict[str, Any]) -> Any:
        if shard_of(kw) != shard:
            return None
        calls.append(n)
        return denied if 2 <= len(calls) <= 4 else None

    faults = Faults(get_records=deny_shard_0)
    caplog.set_level(logging.INFO, logger="flowtui.sources")

    spec = kinesis_spec("flows", endpoint, denied_retry=0.3, limit=1000)
    stats = tail([spec], tmp_path / "f.db", client_wrapper=faults.wrap)

    assert_exact(tmp_path / "f.db", stats["kinesis:flows"], producer)
    times = [t for t, kw in faults.times["get_records"] if shard_of(kw) == shard]
    gaps = [b - a for a, b in itertools.pairwise(times[1:5])]
    assert len(gaps) == 3 and all(gap >= 0.25 for gap in gaps), gaps  # the slow retry (0.3 s ± 10 %), no hot loop
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # reported once, not at every retry
    assert f"kinesis:flows/{shard}: access denied" in errors[0] and "kinesis:GetRecords" in errors[0]


def test_expired_credentials_rebuild_the_client_and_continue(
    stream: tuple[str, Producer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, producer = stream
    monkeypatch.setattr(ClientHolder, "RENEW_AT_MOST_EVERY", 0.0)
    expired = client_error("ExpiredTokenException", "The security token included in the request is expired", 400)
    faults = Faults(get_records=lambda n, kw: expired if n == 2 else None)

    stats = tail([kinesis_spec("flows", endpoint, limit=50)], tmp_path / "f.db", client_wrapper=faults.wrap)

    assert_exact(tmp_path / "f.db", stats["kinesis:flows"], producer)
    assert faults.clients == 2  # a fresh session, so fresh credentials


def test_access_denied_that_persists_ends_an_until_caught_up_run(stream: tuple[str, Producer], tmp_path: Path) -> None:
    endpoint, _ = stream
    denied = client_error("AccessDeniedException", "not authorized to perform: kinesis:GetRecords", 400)
    faults = Faults(get_records=lambda n, kw: denied)
    with pytest.raises(SourceError, match="access denied to Kinesis stream 'flows' in us-east-1"):
        tail([kinesis_spec("flows", endpoint, denied_retry=0.01)], tmp_path / "f.db", client_wrapper=faults.wrap)
    with Store(tmp_path / "f.db") as store:
        assert {s["source"]: s["state"] for s in store.statuses()}["kinesis:flows"] == "error"


def test_unreachable_endpoint_at_start_is_a_source_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in fake_aws_env().items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SourceError, match=r"cannot reach http://127\.0\.0\.1:9 for Kinesis stream 'flows'"):
        tail([kinesis_spec("flows", "http://127.0.0.1:9")], tmp_path / "f.db", timeout=20)


def test_a_failed_store_write_is_read_again_and_nothing_behind_it_is_stored_first(
    stream: tuple[str, Producer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, producer = stream
    real = Pipeline.ingest_payloads
    calls = {"n": 0}

    def flaky(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] in (2, 5):
            raise sqlite3.OperationalError("database is locked")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "ingest_payloads", flaky)
    stats = tail([kinesis_spec("flows", endpoint, limit=7)], tmp_path / "f.db")

    assert_exact(tmp_path / "f.db", stats["kinesis:flows"], producer)
    assert shard_errors(tmp_path / "f.db") == 2


def test_get_records_keeps_to_five_calls_and_the_byte_budget_per_shard(moto_server: str, tmp_path: Path) -> None:  # noqa: F811
    kinesis = boto3.client("kinesis", endpoint_url=moto_server, region_name=REGION)
    kinesis.create_stream(StreamName="flows", ShardCount=1)
    producer = Producer(kinesis, "flows")
    producer.put(60)
    faults = Faults()

    spec = kinesis_spec("flows", moto_server, limit=15, poll_interval=0.0, max_calls_per_s=5.0)
    tail([spec], tmp_path / "calls.db", client_wrapper=faults.wrap)
    times = [t for t, _ in faults.times["get_records"]]
    assert len(times) >= 5
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.19  # 5 per second

    size = sum(len(r["Data"]) for r in _all_records(kinesis))
    faults = Faults()
    spec = kinesis_spec("flows", moto_server, limit=30, poll_interval=0.0, max_bytes_per_s=size, max_calls_per_s=100)
    tail([spec], tmp_path / "bytes.db", client_wrapper=faults.wrap)
    times = [t for t, _ in faults.times["get_records"]]
    assert times[-1] - times[0] >= 0.9  # all of it is one second's budget


def shard_of(kwargs: dict[str, Any]) -> str:
    """The shard of a moto shard iterator (base64 of 'stream:shard:sequence')."""
    return base64.b64decode(kwargs["ShardIterator"]).decode().split(":")[1]


def _all_records(kinesis: Any) -> list[dict[str, Any]]:
    shard = kinesis.list_shards(StreamName="flows")["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="flows", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]


def test_a_position_past_retention_is_reported_and_read_from_trim_horizon(
    stream: tuple[str, Producer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint, producer = stream
    db = tmp_path / "f.db"
    tail([kinesis_spec("flows", endpoint)], db)
    producer.put(20)
    shard = "shardId-000000000000"
    expired = client_error("InvalidArgumentException", "StartingSequenceNumber is outside the shard's retention")

    def refuse_old_position(n: int, kw: dict[str, Any]) -> Any:
        after = kw.get("ShardIteratorType") == "AFTER_SEQUENCE_NUMBER"
        return expired if after and kw["ShardId"] == shard else None

    faults = Faults(get_shard_iterator=refuse_old_position)
    caplog.set_level(logging.WARNING, logger="flowtui.sources")
    stats = tail([kinesis_spec("flows", endpoint)], db, client_wrapper=faults.wrap)["kinesis:flows"]

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"kinesis:flows/{shard}: stored position" in w and "reading from the oldest record" in w for w in warnings
    )
    assert [kw["ShardIteratorType"] for _, kw in faults.times["get_shard_iterator"] if kw["ShardId"] == shard] == [
        "AFTER_SEQUENCE_NUMBER",
        "TRIM_HORIZON",
    ]
    # Shard 0 was read again from its oldest record: what it held before comes back as duplicates.
    assert stats.duplicates > 0 and stats.stored == 60
    assert distinct_flow_count(db) == producer.flows
    with Store(db) as store:
        assert store.flow_count() == producer.flows
