"""Benchmark of flowtui tail: drain throughput from a local 4-shard stream, and lag under a steady producer.

The stream is served by kinesalite (node, its own process) or by moto's server
(``python -m moto.server``, its own process), so the server does not compete
with flowtui for the GIL. Records are CloudWatch Logs subscription payloads of
``--events`` flow-log lines each, as a subscription filter delivers them. The
store is a fresh SQLite file; enrichment is off (bench_enrich measures it).

    python tests/benchmarks/bench_tail.py [--backend kinesalite|moto] [--records N] [--events N]
                                          [--rate PAYLOADS_PER_S] [--seconds S]

Not collected by pytest: timings on a shared machine are too noisy to assert on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import boto3

from flowtui.sources import tail_sources
from flowtui.store import Store
from tests.tail_helpers import flow_line, kinesis_spec, payload

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(backend: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    if backend == "kinesalite":
        where = os.environ.get("FLOWTUI_KINESALITE_DIR") or str(REPO)
        if shutil.which("node") is None or not (Path(where) / "node_modules" / "kinesalite").is_dir():
            sys.exit("kinesalite is not installed: npm install --no-save kinesalite (in the repository root)")
        script = (
            "require('kinesalite')({createStreamMs: 0, shardLimit: 100}).listen(Number(process.argv[1]), '127.0.0.1')"
        )
        proc = subprocess.Popen(["node", "-e", script, str(port)], cwd=where)
    else:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"{backend} did not start")


class Producer:
    def __init__(self, endpoint: str, stream: str, events: int) -> None:
        self.client = boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION)
        self.stream = stream
        self.events = events
        self.n = 0
        self.flows = 0

    def put(self, count: int) -> None:
        entries = []
        for _ in range(count):
            self.n += 1
            lines = [flow_line(self.n * self.events + j) for j in range(self.events)]
            entries.append({"Data": payload(lines, first_id=self.n * self.events), "PartitionKey": str(self.n)})
        for i in range(0, len(entries), 500):
            chunk = entries[i : i + 500]
            while chunk:
                result = self.client.put_records(StreamName=self.stream, Records=chunk)
                chunk = [e for e, r in zip(chunk, result["Records"]) if "ErrorCode" in r]
        self.flows += count * self.events


def drain(endpoint: str, records: int, events: int, db: Path) -> None:
    producer = Producer(endpoint, "drain", events)
    producer.client.create_stream(StreamName="drain", ShardCount=4)
    time.sleep(0.5)
    t = time.perf_counter()
    producer.put(records)
    put_s = time.perf_counter() - t
    spec = kinesis_spec("drain", endpoint, max_calls_per_s=5.0, poll_interval=0.2, status_interval=1.0)
    t = time.perf_counter()
    stats = asyncio.run(tail_sources([spec], db, None, True))["kinesis:drain"]
    elapsed = time.perf_counter() - t
    assert stats.stored == producer.flows, (stats.stored, producer.flows)
    print(
        f"drain: {records:,} records x {events} events = {producer.flows:,} flows from 4 shards (put in {put_s:.1f} s)"
    )
    print(f"  {elapsed:.2f} s: {records / elapsed:,.0f} records/s, {producer.flows / elapsed:,.0f} flows/s")


def steady(endpoint: str, rate: float, seconds: float, events: int, db: Path) -> None:
    producer = Producer(endpoint, "steady", events)
    producer.client.create_stream(StreamName="steady", ShardCount=4)
    time.sleep(0.5)
    Store(db).close()  # create the file before two connections race to
    stop = threading.Event()
    spec = kinesis_spec("steady", endpoint, max_calls_per_s=5.0, poll_interval=0.2, status_interval=1.0)
    runner = threading.Thread(target=lambda: asyncio.run(tail_sources([spec], db, stop, False)))
    runner.start()
    produced: list[tuple[float, int]] = []
    stored: list[tuple[float, int]] = []
    reader = Store(db)
    t0 = time.monotonic()
    tick = 0.1
    next_put = t0
    while time.monotonic() - t0 < seconds:
        now = time.monotonic()
        if now >= next_put:
            producer.put(max(1, round(rate * tick)))
            produced.append((time.monotonic(), producer.flows))
            next_put += tick
        stored.append((time.monotonic(), reader.flow_count()))
        time.sleep(0.02)
    deadline = time.monotonic() + 30
    while reader.flow_count() < producer.flows and time.monotonic() < deadline:
        stored.append((time.monotonic(), reader.flow_count()))
        time.sleep(0.02)
    stop.set()
    runner.join()
    reader.close()
    lags = []
    for t, count in stored:
        # the time since the newest flow now stored was put
        put_at = next((pt for pt, pc in produced if pc >= count), None)
        if put_at is not None and count > 0:
            lags.append(t - put_at)
    lags = [x for x in lags if x >= 0]
    print(f"steady: {rate:g} payloads/s ({rate * events:,.0f} flows/s) for {seconds:g} s, 4 shards")
    if lags:
        q = statistics.quantiles(lags, n=20)
        print(
            f"  lag (put -> stored): median {statistics.median(lags):.2f} s, p95 {q[-1]:.2f} s, max {max(lags):.2f} s"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("kinesalite", "moto"), default="kinesalite")
    ap.add_argument("--records", type=int, default=4000)
    ap.add_argument("--events", type=int, default=25)
    ap.add_argument("--rate", type=float, default=100.0, help="payloads per second in the steady phase")
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    proc, endpoint = start_server(args.backend)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            drain(endpoint, args.records, args.events, Path(tmp) / "drain.db")
            steady(endpoint, args.rate, args.seconds, args.events, Path(tmp) / "steady.db")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
