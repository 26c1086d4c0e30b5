"""Ingest throughput: payloads → decode → parse → (enrich) → SQLite, against a bare baseline.

    python tests/benchmarks/bench_ingest.py [--records N] [--repeat N] [--stages] [--batch N] [--span SECONDS]

Prints records/s for decode+parse alone, for the whole ingest without and with
enrichment (the demo environment: inventory, two threat lists, GeoIP City and
ASN), for a bare gunzip + json + split + executemany pipeline on the same
payloads, and the bytes each stored flow takes on disk. The ratio to the
baseline is given in wall time and in the thread's CPU time: on a shared
machine the CPU time is the steadier of the two. The baseline parses JSON with
the standard library, as a bare pipeline would; flowtui uses orjson, so the
ratio to the same baseline with orjson (0.4-0.7 µs a record cheaper) is printed too.

``--stages`` also times each stage of the enriched ingest (CPU µs per record,
median over the runs): decoding, parsing, event keys, row building with
enrichment, each SQL statement by the table it writes, and the commit; and the
baseline's own parts (gunzip, JSON, split, executemany, commit), which say what
the enriched ingest may spend beyond them within a ratio.

``--span``: the seconds the records' times cover (default 900). A stream of
50,000 records/s is ``--records 1500000 --span 30``, as bench_dashboard.py
ingests it: each batch's flows then start over a minute holding ~3M others,
which is what the store's de-duplication and indexes pay for (see
:data:`flowtui.schema.RECENT_SEEN`); 200,000 records over 900 s do not show it.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui import ingest, store
from flowtui.demo.environment import demo_config
from flowtui.demo.traffic import generate_payloads
from flowtui.enrich import Enricher
from flowtui.formats import LogFormat
from flowtui.ingest import Pipeline
from flowtui.payloads import decode_payload
from flowtui.store import Store

BATCH = 50  # payloads per transaction (~5,000 records), as a Kinesis GetRecords batch


def baseline(
    payloads: list[bytes],
    path: str,
    clock: dict[str, float] | None = None,
    loads: Callable[[bytes], Any] = json.loads,
    batch: int = BATCH,
) -> float:
    """gunzip + json + split + executemany into a plain table: the floor for any pipeline (``loads``: the JSON parser).

    With "stages" in ``clock``, each part's CPU time too ("baseline: gunzip", …), which the
    enriched ingest's stages are set against.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE f (a, b, c, d, e, f, g, h, i, j, k, l, m, n)")
    staged = clock is not None and "stages" in clock
    parts = dict.fromkeys(("gunzip", "JSON", "split", "executemany", "commit"), 0.0)
    clocked = time.thread_time
    c0 = time.thread_time()
    t0 = time.perf_counter()
    for i in range(0, len(payloads), batch):
        rows: list[list[str]] = []
        for p in payloads[i : i + batch]:
            if staged:
                t1 = clocked()
                raw = gzip.decompress(p)
                t2 = clocked()
                doc = loads(raw)
                t3 = clocked()
                rows.extend(e["message"].split() for e in doc["logEvents"])
                parts["gunzip"] += t2 - t1
                parts["JSON"] += t3 - t2
                parts["split"] += clocked() - t3
                continue
            doc = loads(gzip.decompress(p))
            rows.extend(e["message"].split() for e in doc["logEvents"])
        t1 = clocked()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO f VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        t2 = clocked()
        conn.execute("COMMIT")
        parts["executemany"] += t2 - t1
        parts["commit"] += clocked() - t2
    elapsed = time.perf_counter() - t0
    if staged:
        clock.update({f"baseline: {name}": seconds for name, seconds in parts.items()})  # type: ignore[union-attr]
    if clock is not None:
        clock["cpu"] = time.thread_time() - c0
    conn.close()
    return elapsed


def decode_parse(payloads: list[bytes]) -> float:
    fmt = LogFormat.default()
    t0 = time.perf_counter()
    for p in payloads:
        fmt.parse_lines([e[2] for e in decode_payload(p).events])
    return time.perf_counter() - t0


def full(
    payloads: list[bytes], path: str, enrich: bool, clock: dict[str, float] | None = None, batch: int = BATCH
) -> tuple[float, int]:
    """The real pipeline; ``clock`` gets the CPU time ("cpu") and, when it holds "stages", each stage's."""
    st = Store(path)
    profile = Enricher.from_config(demo_config(), background=False).profile if enrich else None
    pipeline = Pipeline(st, profile)
    timers = _StageTimers(st) if clock is not None and "stages" in clock else None
    c0 = time.thread_time()
    t0 = time.perf_counter()
    for i in range(0, len(payloads), batch):
        chunk = [(p, f"bench:{i + j}") for j, p in enumerate(payloads[i : i + batch])]
        pipeline.ingest_payloads(chunk, "bench:0", checkpoint=("bench:0", str(i)))
    elapsed = time.perf_counter() - t0
    if clock is not None:
        clock["cpu"] = time.thread_time() - c0
    if timers is not None:
        clock.update(timers.stop())  # type: ignore[union-attr]
    st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = st.flow_count()
    st.close()
    return elapsed, stored


class _TimedConnection:
    """The store's connection, timing each statement (CPU) by what it writes."""

    def __init__(self, conn: sqlite3.Connection, totals: dict[str, float]) -> None:
        self.conn, self.totals = conn, totals

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)

    @staticmethod
    def _label(sql: str) -> str:
        words = sql.split()
        if words[0] == "INSERT":
            table = words[words.index("INTO") + 1].split("(")[0]
            table = "seen_<day>" if table.startswith("seen_") else table
            return f"sql: insert {table}"
        return f"sql: {words[0].lower()}"

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        return self._timed(self.conn.execute, sql, args)

    def executemany(self, sql: str, *args: object) -> sqlite3.Cursor:
        return self._timed(self.conn.executemany, sql, args)

    def _timed(self, run: Any, sql: str, args: tuple[object, ...]) -> sqlite3.Cursor:
        t = time.thread_time()
        try:
            return run(sql, *args)  # type: ignore[no-any-return]
        finally:
            self.totals[self._label(sql)] += time.thread_time() - t


class _StageTimers:
    """Times the stages of a store's writes (CPU) until stop(); measurement only, behaviour unchanged."""

    def __init__(self, st: Store) -> None:
        self.totals: dict[str, float] = collections.defaultdict(float)
        self.st = st
        st.conn = _TimedConnection(st.conn, self.totals)  # type: ignore[assignment]
        self.patched: list[tuple[object, str, object]] = []
        self._wrap(ingest, "decode_payload", "decode (gunzip + JSON)")
        self._wrap(LogFormat, "parse_columns", "parse (columns)")
        self._wrap(LogFormat, "parse_lines", "parse (lines)")
        self._wrap(ingest, "event_keys", "event keys (text)")
        self._wrap(store, "_key_hashes", "event keys (hash)")
        self._wrap(Store, "_build_part", "rows: enrich + intern + build")  # with its interning SQL
        self._wrap(Store, "_event_keys", "Σ de-dup keys: hashes + seen keys")
        self._wrap(Store, "_all_new", "Σ de-dup: seen insert")
        self._wrap(store.rollups, "add", "Σ rollups: batch + every upsert")

    def _wrap(self, owner: object, name: str, label: str) -> None:
        original = getattr(owner, name, None)
        if original is None:  # a stage this version of flowtui does not have
            return
        totals = self.totals

        def timed(*args: object, **kwargs: object) -> object:
            t = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] += time.thread_time() - t

        self.patched.append((owner, name, original))
        setattr(owner, name, timed)

    def stop(self) -> dict[str, float]:
        for owner, name, original in self.patched:
            setattr(owner, name, original)
        self.st.conn = self.st.conn.conn  # type: ignore[attr-defined]
        return dict(self.totals)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs (the machine is shared: median and range)")
    parser.add_argument("--stages", action="store_true", help="also time each stage of the enriched ingest")
    parser.add_argument("--batch", type=int, default=BATCH, help="payloads a transaction, both pipelines (file ingest: 200)")
    parser.add_argument("--span", type=int, default=900, help="seconds the records' times cover (a dense stream: 30)")
    args = parser.parse_args()
    now = int(time.time())
    payloads = list(generate_payloads(args.records, 1, now - args.span, now))
    n = args.records
    runs: dict[str, list[float]] = {k: [] for k in ("base", "dp", "bare", "enr", "ratio", "cpu_ratio", "cpu_oj_ratio")}
    stages: dict[str, list[float]] = collections.defaultdict(list)
    size = stored = stored_e = 0
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            base_clock: dict[str, float] = {}
            base = baseline(payloads, os.path.join(tmp, "base.db"), base_clock, batch=args.batch)
            dp = decode_parse(payloads)
            bare, stored = full(payloads, os.path.join(tmp, "bare.db"), enrich=False, batch=args.batch)
            enriched_path = os.path.join(tmp, "enriched.db")
            clock: dict[str, float] = {}
            enr, stored_e = full(payloads, enriched_path, enrich=True, clock=clock, batch=args.batch)
            size = os.path.getsize(enriched_path)
            if args.stages:
                staged: dict[str, float] = {"stages": 1.0}
                full(payloads, os.path.join(tmp, "staged.db"), enrich=True, clock=staged, batch=args.batch)
                staged.pop("stages")
                staged["baseline (CPU)"] = base_clock["cpu"]
                base_staged: dict[str, float] = {"stages": 1.0}
                baseline(payloads, os.path.join(tmp, "base_staged.db"), base_staged, batch=args.batch)
                base_staged.pop("stages")
                base_staged.pop("cpu")
                staged.update(base_staged)
                for name, seconds in staged.items():
                    stages[name].append(seconds / n * 1e6)
            oj_clock: dict[str, float] = {}  # last, so the runs above are timed as they were before it
            baseline(payloads, os.path.join(tmp, "base_orjson.db"), oj_clock, orjson.loads, args.batch)
        for key, value in (
            ("base", n / base),
            ("dp", n / dp),
            ("bare", n / bare),
            ("enr", n / enr),
            ("ratio", enr / base),
            ("cpu_ratio", clock["cpu"] / base_clock["cpu"]),
            ("cpu_oj_ratio", clock["cpu"] / oj_clock["cpu"]),
        ):
            runs[key].append(value)

    def fmt(key: str, unit: str = "records/s") -> str:
        v = runs[key]
        if key.endswith("ratio"):
            return f"{statistics.median(v):>12.2f} x  ({min(v):.2f}–{max(v):.2f})"
        return f"{statistics.median(v):>12,.0f} {unit}  ({min(v):,.0f}–{max(v):,.0f})"

    print(f"records                         {n:>12,}  ({len(payloads):,} payloads over {args.span} s, {args.batch} a transaction,"
          f" {args.repeat} runs: median (range))")
    print(f"baseline gunzip+json+split+SQL  {fmt('base')}")
    print(f"decode + parse                  {fmt('dp')}")
    print(f"ingest, no enrichment           {fmt('bare')}  ({stored:,} stored)")
    print(f"ingest, full enrichment         {fmt('enr')}  ({stored_e:,} stored)")
    print(f"enriched ingest / baseline      {fmt('ratio')}")
    print(f"  the same in CPU time          {fmt('cpu_ratio')}")
    print(f"  CPU, baseline with orjson     {fmt('cpu_oj_ratio')}")
    print(f"bytes per stored flow           {size / max(stored_e, 1):>12.1f}  (file; rollups and event hashes included)")
    if stages:
        total = stages.pop("cpu")
        base_cpu = stages.pop("baseline (CPU)")
        base_parts = {name: stages.pop(name) for name in [n for n in stages if n.startswith("baseline: ")]}
        print("\nstages of the enriched ingest, CPU µs per record: median (range); timers add a little;")
        print("Σ lines are the sums of the lines they name; row building includes its interning SQL (addrs …)")
        for name, v in sorted(stages.items(), key=lambda kv: -statistics.median(kv[1])):
            if statistics.median(v) >= 0.01:
                print(f"  {name:34s} {statistics.median(v):6.2f}  ({min(v):.2f}–{max(v):.2f})")
        sql = [sum(v[i] for name, v in stages.items() if name.startswith("sql: ")) for i in range(len(total))]
        print(f"  {'Σ every SQL statement':34s} {statistics.median(sql):6.2f}  ({min(sql):.2f}–{max(sql):.2f})")
        print(f"  {'whole enriched ingest (timed)':34s} {statistics.median(total):6.2f}  ({min(total):.2f}–{max(total):.2f})")
        print(f"  {'baseline, whole':34s} {statistics.median(base_cpu):6.2f}  ({min(base_cpu):.2f}–{max(base_cpu):.2f})")
        print("\nthe baseline's own parts, CPU µs per record (a run of its own, timed per payload):")
        for name, v in base_parts.items():
            print(f"  {name:34s} {statistics.median(v):6.2f}  ({min(v):.2f}–{max(v):.2f})")


if __name__ == "__main__":
    main()
