"""Ingest throughput: payloads → decode → parse → (enrich) → SQLite, against a bare baseline.

    python tests/benchmarks/bench_ingest.py [--records N] [--repeat N]

Prints records/s for decode+parse alone, for the whole ingest without and with
enrichment (the demo environment: inventory, two threat lists, GeoIP City and
ASN), for a bare gunzip + json + split + executemany pipeline on the same
payloads, and the bytes each stored flow takes on disk.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui.demo.environment import demo_config
from flowtui.demo.traffic import generate_payloads
from flowtui.enrich import Enricher
from flowtui.formats import LogFormat
from flowtui.ingest import Pipeline
from flowtui.payloads import decode_payload
from flowtui.store import Store

BATCH = 50  # payloads per transaction (~5,000 records), as a Kinesis GetRecords batch


def baseline(payloads: list[bytes], path: str) -> float:
    """gunzip + json + split + executemany into a plain table: the floor for any pipeline."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE f (a, b, c, d, e, f, g, h, i, j, k, l, m, n)")
    t0 = time.perf_counter()
    for i in range(0, len(payloads), BATCH):
        rows = []
        for p in payloads[i : i + BATCH]:
            doc = json.loads(gzip.decompress(p))
            rows.extend(e["message"].split() for e in doc["logEvents"])
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO f VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def decode_parse(payloads: list[bytes]) -> float:
    fmt = LogFormat.default()
    t0 = time.perf_counter()
    for p in payloads:
        fmt.parse_lines([e[2] for e in decode_payload(p).events])
    return time.perf_counter() - t0


def full(payloads: list[bytes], path: str, enrich: bool) -> tuple[float, int]:
    store = Store(path)
    profile = Enricher.from_config(demo_config(), background=False).profile if enrich else None
    pipeline = Pipeline(store, profile)
    t0 = time.perf_counter()
    for i in range(0, len(payloads), BATCH):
        chunk = [(p, f"bench:{i + j}") for j, p in enumerate(payloads[i : i + BATCH])]
        pipeline.ingest_payloads(chunk, "bench:0", checkpoint=("bench:0", str(i)))
    elapsed = time.perf_counter() - t0
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = store.flow_count()
    store.close()
    return elapsed, stored


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs (the machine is shared: median and range)")
    args = parser.parse_args()
    now = int(time.time())
    payloads = list(generate_payloads(args.records, 1, now - 900, now))
    n = args.records
    runs: dict[str, list[float]] = {k: [] for k in ("base", "dp", "bare", "enr", "ratio")}
    size = stored = stored_e = 0
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            base = baseline(payloads, os.path.join(tmp, "base.db"))
            dp = decode_parse(payloads)
            bare, stored = full(payloads, os.path.join(tmp, "bare.db"), enrich=False)
            enriched_path = os.path.join(tmp, "enriched.db")
            enr, stored_e = full(payloads, enriched_path, enrich=True)
            size = os.path.getsize(enriched_path)
        for key, value in (("base", n / base), ("dp", n / dp), ("bare", n / bare), ("enr", n / enr), ("ratio", enr / base)):
            runs[key].append(value)

    def fmt(key: str, unit: str = "records/s") -> str:
        v = runs[key]
        if key == "ratio":
            return f"{statistics.median(v):>12.2f} x  ({min(v):.2f}–{max(v):.2f})"
        return f"{statistics.median(v):>12,.0f} {unit}  ({min(v):,.0f}–{max(v):,.0f})"

    print(f"records                         {n:>12,}  ({len(payloads):,} payloads, {args.repeat} runs: median (range))")
    print(f"baseline gunzip+json+split+SQL  {fmt('base')}")
    print(f"decode + parse                  {fmt('dp')}")
    print(f"ingest, no enrichment           {fmt('bare')}  ({stored:,} stored)")
    print(f"ingest, full enrichment         {fmt('enr')}  ({stored_e:,} stored)")
    print(f"enriched ingest / baseline      {fmt('ratio')}")
    print(f"bytes per stored flow           {size / max(stored_e, 1):>12.1f}  (file; rollups and event hashes included)")


if __name__ == "__main__":
    main()
