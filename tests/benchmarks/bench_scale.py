"""Scale: the dashboard's panes, the guide's queries, `flowtui top`, disk and open time on a big store.

    python tests/benchmarks/bigstore.py --flows 10000000 --minutes 15 --db /tmp/flowtui-bench/10m.db
    python tests/benchmarks/bench_scale.py --db /tmp/flowtui-bench/10m.db [--repeat 5] [--only panes,guide,top,disk,open]

Targets (issue 4), on the 2-core development machine:

* the four default panes over the last 15 minutes (10 million flows): all four
  computed in <= 100 ms together — each pane is one ``top()`` with the labels
  the dashboard adds and one ``histogram()``, exactly as ``flowtui.ui.data``'s
  ``DataSource.pane`` asks (the window on whole minutes, minute buckets), on a
  fresh engine (the first paint) and again on the same one (a refresh);
* the Graylog guide's five queries, first page of 100 rows, <= 300 ms each;
  ``flowtui top`` over the whole store <= 1 s (the command, start to end);
* <= 80 bytes per stored flow, everything included (``dbstat``);
* a store opens in < 1 s (nothing proportional to the flows is read at open).

Each figure is the median and range of ``--repeat`` runs, each on a fresh
engine (a cold Python-side cache; SQLite's page cache is the OS's), because
the machine is shared. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui import catalog
from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Store

PANES = (  # flowtui.ui.panes.DEFAULT_PANES (not imported: the UI package pulls in Textual)
    ("Top talkers", "*", ("src_addr", "dst_addr"), "bytes"),
    ("Rejects", "action:REJECT", ("src_addr", "dst_port"), "flows"),
    ("External → EC2", "dst_addr_entity_aws_type:EC2 AND src_addr_internal:false", ("src_addr", "dst_addr"), "flows"),
    ("Threat matches", "src_addr_threat_indicated:true OR dst_addr_threat_indicated:true", ("src_addr", "dst_addr"), "flows"),
)
LABELS = ("threat_indicated", "threat_indicated_by", "internal", "entity", "entity_description", "country_code",
          "as_organization")  # fmt: skip  # flowtui.ui.data._LABEL_SUFFIXES
RATE_BUCKETS = 60  # flowtui.ui.data.RATE_BUCKETS
DASHBOARD_WINDOW = TimeWindow.last(900)  # flowtui.ui.settings.DEFAULT_WINDOW
GUIDE = (
    "dst_addr_entity_aws_type:EC2 AND src_addr_internal:false AND (dst_port:80 OR dst_port:443)",
    "src_addr_entity_aws_type:RDS AND dst_addr_internal:false",
    "dst_addr_threat_indicated:true",
    "src_addr_entity_aws_type:ELB",
    'src_addr_entity:"ec2:i-42e0d1ca" AND dst_addr_entity_aws_type:ELB',
)
RARE = (
    "src_addr_threat_indicated_tor:true",
    "dst_addr_country_code:SC",
    "action:REJECT AND dst_port:2375",
    "dst_port:3389 AND protocol:udp",  # valid, matches nothing
)


def _runs(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _fmt(ms: list[float]) -> str:
    return f"{statistics.median(ms):7.1f} ms  ({min(ms):.1f}–{max(ms):.1f})"


def bench_panes(db: Path, repeat: int) -> None:
    store = Store(db, readonly=True)
    bounds = store.time_bounds()
    assert bounds is not None
    now = bounds[1] + 1  # the clock stands just after the newest flow
    store.close()
    flags = {p[0]: [f"{n}_{s}" for n in p[2] if catalog.BY_NAME[n].type == "ip" for s in LABELS] for p in PANES}
    # What DataSource.pane asks: the last 15 minutes widened to whole minutes (from the start of
    # the minute 15 minutes ago to the end of this one), minute buckets, both pinned at one `now`.
    window, buckets = DASHBOARD_WINDOW.on_minutes(now, RATE_BUCKETS)
    print(f"\nfour default panes, as the dashboard asks ({DASHBOARD_WINDOW.describe()} on whole minutes, "
          f"{buckets} buckets of {(window.span() or 0) // buckets} s):")
    per: dict[str, list[float]] = {p[0]: [] for p in PANES}
    totals: list[float] = []
    again: list[float] = []
    cpu: dict[int, list[float]] = {id(totals): [], id(again): []}  # this thread's CPU: what a busy machine adds is left out
    for _ in range(repeat):
        store = Store(db, readonly=True)
        engine = QueryEngine(store, timeout=120)
        for run in (totals, again):  # a fresh engine (the first paint), then its next refresh
            c_all = time.thread_time()
            t_all = time.perf_counter()
            for title, query, by, metric in PANES:
                t = time.perf_counter()
                engine.top(query, window, [*by, *flags[title]], metric, 10)  # type: ignore[arg-type]
                engine.histogram(query, window, buckets, now=now)
                if run is totals:
                    per[title].append((time.perf_counter() - t) * 1000)
            run.append((time.perf_counter() - t_all) * 1000)
            cpu[id(run)].append((time.thread_time() - c_all) * 1000)
        store.close()
    for title, ms in per.items():
        print(f"  {title:18} {_fmt(ms)}")
    print(f"  {'all four':18} {_fmt(totals)}  CPU {_fmt(cpu[id(totals)])}")
    print(f"  {'again (refresh)':18} {_fmt(again)}  CPU {_fmt(cpu[id(again)])}  the same engine, nothing new: "
          "closed buckets are not read again")


def bench_guide(db: Path, repeat: int) -> None:
    print("\nfirst page (100 rows, newest first, all time):")
    for q in (*GUIDE, *RARE):
        ms: list[float] = []
        rows: list[Any] = []
        for _ in range(repeat):
            store = Store(db, readonly=True)
            engine = QueryEngine(store, timeout=120)
            t = time.perf_counter()
            rows = engine.search(q, limit=100)
            ms.append((time.perf_counter() - t) * 1000)
            store.close()
        print(f"  {_fmt(ms)}  {len(rows):3} rows  {q}")


def bench_top(db: Path, repeat: int) -> None:
    print("\n`flowtui top` over the whole store (the command, start to end, including Python's start):")
    for by in ("src_addr,dst_addr", "dst_addr_country_code", "dst_port"):
        cmd = [sys.executable, "-m", "flowtui", "top", "--db", str(db), "--by", by]
        ms = _runs(lambda cmd=cmd: subprocess.run(cmd, check=True, capture_output=True), repeat)
        print(f"  {_fmt(ms)}  flowtui top --by {by}")
    start = [sys.executable, "-c", "import flowtui.cli"]
    print(f"  {_fmt(_runs(lambda: subprocess.run(start, check=True), repeat))}  (of which: python -c 'import flowtui.cli')")


def bench_disk(db: Path) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    n = conn.execute("SELECT count(*) FROM flows").fetchone()[0]
    rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    total = sum(size for _, size in rows)
    groups: dict[str, int] = {}
    for name, size in rows:
        key = "seen_* (event hashes)" if name.startswith("seen") else name
        groups[key] = groups.get(key, 0) + size
    print(f"\ndisk: {n:,} flows, {total / 1e6:,.0f} MB in use, {os.path.getsize(db) / 1e6:,.0f} MB file")
    for name, size in sorted(groups.items(), key=lambda kv: -kv[1]):
        if size / n >= 0.01:
            print(f"  {name:28} {size / n:6.2f} bytes/flow")
    print(f"  {'total':28} {total / n:6.2f} bytes/flow")


def bench_open(db: Path, repeat: int) -> None:
    print("\nopening the store:")
    for readonly in (True, False):
        def once(readonly: bool = readonly) -> None:
            Store(db, readonly=readonly).close()

        label = "read-only (the dashboard)" if readonly else "read-write (ingest)"
        print(f"  {_fmt(_runs(once, repeat))}  Store({db.name}, {label})")
    cmd = [sys.executable, "-m", "flowtui", "query", "--db", str(db), "--limit", "1", "--since", "1m", "*"]
    print(f"  {_fmt(_runs(lambda: subprocess.run(cmd, check=True, capture_output=True), repeat))}  "
          "flowtui query --since 1m --limit 1 (start to end)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/flowtui-bench/10m.db"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="panes,guide,top,disk,open")
    args = ap.parse_args()
    if not args.db.exists():
        sys.exit(f"no store at {args.db}: build one with tests/benchmarks/bigstore.py")
    only = set(args.only.split(","))
    store = Store(args.db, readonly=True)
    print(f"{args.db}: {store.flow_count():,} flows")
    store.close()
    if "panes" in only:
        bench_panes(args.db, args.repeat)
    if "guide" in only:
        bench_guide(args.db, args.repeat)
    if "top" in only:
        bench_top(args.db, args.repeat)
    if "disk" in only:
        bench_disk(args.db)
    if "open" in only:
        bench_open(args.db, args.repeat)


if __name__ == "__main__":
    main()
