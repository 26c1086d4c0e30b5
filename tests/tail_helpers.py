"""What the tail tests share: flow-log lines, subscription payloads, producers, fast source specs."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import botocore.exceptions as bx

from flowtui.sources.spec import AwsTarget, KinesisSpec, LogGroupSpec
from flowtui.store import Store

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
_serial = itertools.count(1)

# Every timing knob shortened so that a test runs in about a second.
FAST: dict[str, Any] = {
    "poll_interval": 0.02,
    "discover_interval": 0.3,
    "status_interval": 0.1,
    "retry_base": 0.01,
    "retry_max": 0.05,
    "denied_retry": 0.1,
    "max_calls_per_s": 50.0,  # the pacing test restores Kinesis's 5
}


def flow_line(n: int, start: int = 1_700_000_000) -> str:
    """A unique v2 flow-log line (its ports and byte count carry ``n``)."""
    return (
        f"2 123456789012 eni-0a1b2c3d4e5f60718 10.0.{n % 250}.{n % 200 + 1} 203.0.113.{n % 250} "
        f"{1024 + n % 60000} {n % 65000 + 1} 6 {n % 97 + 1} {n} {start} {start + 60} "
        f"{'REJECT' if n % 7 == 0 else 'ACCEPT'} OK"
    )


def payload(
    lines: Iterable[str],
    group: str = "vpc-flow-logs",
    stream: str = "eni-0a1b2c3d4e5f60718-all",
    first_id: int = 0,
    timestamp_ms: int = 1_700_000_000_000,
) -> bytes:
    events = [{"id": str(first_id + i), "timestamp": timestamp_ms, "message": line} for i, line in enumerate(lines)]
    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": ["flowtui"],
        "logEvents": events,
    }
    return gzip.compress(json.dumps(doc).encode())


def control_payload() -> bytes:
    doc = {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [
            {
                "id": "",
                "timestamp": 1_700_000_000_000,
                "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.",
            }
        ],
    }
    return gzip.compress(json.dumps(doc).encode())


class Producer:
    """Puts payloads of ``per_record`` unique flow lines into a stream and counts the flows it put."""

    def __init__(self, kinesis: Any, stream: str, per_record: int = 3) -> None:
        self.kinesis = kinesis
        self.stream = stream
        self.per_record = per_record
        self.flows = 0
        self.records = 0
        self.last_seq: dict[str, str] = {}

    def put(self, count: int, batch: int = 100) -> None:
        for start in range(0, count, batch):
            entries = []
            for _ in range(min(batch, count - start)):
                n = next(_serial)
                lines = [flow_line(n * 10 + j) for j in range(self.per_record)]
                entries.append({"Data": payload(lines, first_id=0), "PartitionKey": f"pk-{n}"})
            self._put_records(entries)
            self.flows += len(entries) * self.per_record
            self.records += len(entries)

    def put_control(self, count: int) -> None:
        self._put_records([{"Data": control_payload(), "PartitionKey": f"ctl-{i}"} for i in range(count)])

    def _put_records(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        while pending:
            result = self.kinesis.put_records(StreamName=self.stream, Records=pending)
            retry = []
            for entry, outcome in zip(pending, result["Records"]):
                if "ErrorCode" in outcome:
                    retry.append(entry)
                else:
                    shard, seq = outcome["ShardId"], outcome["SequenceNumber"]
                    if int(seq) > int(self.last_seq.get(shard, "0")):
                        self.last_seq[shard] = seq
            pending = retry


def kinesis_spec(stream: str, endpoint: str, **overrides: Any) -> KinesisSpec:
    values: dict[str, Any] = {**FAST, **overrides}
    return KinesisSpec(stream, AwsTarget(REGION, None, endpoint), **values)


def log_group_spec(group: str, endpoint: str, **overrides: Any) -> LogGroupSpec:
    fast = {k: v for k, v in FAST.items() if k != "discover_interval"}
    values: dict[str, Any] = {**fast, "sweep_interval": 3600.0, **overrides}
    return LogGroupSpec(group, AwsTarget(REGION, None, endpoint), **values)


def tail(
    specs: list[Any],
    db: Path,
    until_caught_up: bool = True,
    timeout: float = 30.0,
    stop: threading.Event | None = None,
    **kwargs: Any,
) -> Any:
    """Run the sources in this process (no enricher) and return their IngestStats by source."""
    from flowtui.sources import tail_sources

    async def main() -> Any:
        return await asyncio.wait_for(tail_sources(specs, db, stop, until_caught_up, **kwargs), timeout)

    return asyncio.run(main())


def flow_count(db: Path) -> int:
    with Store(db) as store:
        return store.flow_count()


def distinct_flow_count(db: Path) -> int:
    """Flows counted by their unique bytes value (every test line has its own)."""
    with Store(db) as store:
        return int(store.conn.execute("SELECT count(DISTINCT bytes) FROM flows").fetchone()[0])


def client_error(code: str, message: str = "injected", status: int = 400) -> bx.ClientError:
    return bx.ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Injected"
    )


class Faults:
    """Faults injected at the client layer: ``faults[method](call_number, kwargs)`` may return an exception.

    ``wrap`` is the ``client_wrapper`` of tail_sources; the counters survive a
    client being rebuilt (after a credentials error). A fault returned as
    ``(exc, True)`` is raised after the real call ran (the response was lost,
    as when a connection resets on the way back).
    """

    def __init__(self, **faults: Callable[[int, dict[str, Any]], Any]) -> None:
        self.faults = faults
        self.calls: dict[str, int] = {}
        self.times: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.raised: list[tuple[str, int, str]] = []
        self.results: dict[str, list[tuple[float, dict[str, Any], Any]]] = {}
        self.clients = 0

    def wrap(self, client: Any) -> Any:
        self.clients += 1
        return _FaultyClient(client, self)


class _FaultyClient:
    def __init__(self, client: Any, faults: Faults) -> None:
        self._client = client
        self._faults = faults

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not name.islower() or name.startswith("_") or not callable(attr):
            return attr
        faults = self._faults

        async def call(**kwargs: Any) -> Any:
            n = faults.calls[name] = faults.calls.get(name, 0) + 1
            faults.times.setdefault(name, []).append((time.monotonic(), kwargs))
            fault = faults.faults.get(name)
            outcome = fault(n, kwargs) if fault is not None else None
            after = False
            if isinstance(outcome, tuple):
                outcome, after = outcome
            if outcome is not None and not after:
                faults.raised.append((name, n, type(outcome).__name__))
                raise outcome
            result = await attr(**kwargs)
            faults.results.setdefault(name, []).append((time.monotonic(), kwargs, result))
            if outcome is not None:
                faults.raised.append((name, n, type(outcome).__name__ + " after the call"))
                raise outcome
            return result

        return call


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable
