"""Results pages of a snapshot: a search bounded by the snapshot's newest flow id, against none.

    python tests/benchmarks/bigstore.py --flows 2000000 --minutes 15 --db /tmp/flowtui-bench/2m.db
    python tests/benchmarks/bench_snapshot_pages.py --db /tmp/flowtui-bench/2m.db [--query Q] [--repeat 3]

A results view counts its query once and remembers the newest flow id it saw;
every later page (and the export) reads up to that id, so flows stored since
shift no page. Here the store stands still and the bound is put below its
newest id, as if ``--newer`` flows had arrived since the count: the first page
(the rollup guide or the time-index walk), page 2 and page 50 (LIMIT/OFFSET)
are timed with no bound and with it. Figures are the median and range of
``--repeat`` runs (the machine is shared). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui.query.engine import QueryEngine, columns_for
from flowtui.query.window import TimeWindow
from flowtui.store import Store

PAGES = (("first page", 0), ("page 2", 200), ("page 50", 9_800))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--query", default="dst_addr_threat_indicated:true")
    p.add_argument("--newer", default="10000,10%", help="flows stored after the snapshot: counts or percentages of the store")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with Store(args.db, readonly=True) as store:
        engine = QueryEngine(store, timeout=None)
        newest = int(store.conn.execute("SELECT coalesce(max(id), 0) FROM flows").fetchone()[0])
        bounds: list[tuple[str, int | None]] = [("no bound", None)]
        for part in args.newer.split(","):
            newer = int(newest * float(part[:-1]) / 100) if part.endswith("%") else int(part)
            bounds.append((f"{newer:,} newer", newest - newer))
        columns = list(columns_for(args.query))
        for label, upto in bounds:
            for page, offset in PAGES:
                times: list[float] = []
                rows = 0
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    rows = len(engine.search(args.query, TimeWindow.all(), columns, limit=200, offset=offset, upto_id=upto))
                    times.append(time.perf_counter() - start)
                med = statistics.median(times)
                print(
                    f"{label:16s} {page:11s} median {med * 1000:7.1f} ms  range {min(times) * 1000:.1f}–{max(times) * 1000:.1f} ms"
                    f"  ({rows} rows)"
                )


if __name__ == "__main__":
    main()
