"""Export: the results' ``e`` on a big result, streamed (this session's way) and paged by OFFSET (the way before).

    python tests/benchmarks/bigstore.py --flows 10000000 --minutes 15 --db /tmp/flowtui-bench/10m.db
    python tests/benchmarks/bench_export.py --db /tmp/flowtui-bench/10m.db [--query action:REJECT] [--repeat 3] [--format json]

Each run writes the query's rows over the whole store, newest first, to a
file in a temporary folder (``--format``: CSV in the results view's columns,
JSON or JSONL in every catalog field, as ``e`` writes them), and reports the
seconds and rows per second: ``stream`` is :meth:`DataSource.export_rows` into
:func:`write_export`, what ``e`` does; ``offset`` pages 5,000 rows at a time
with LIMIT/OFFSET on one engine, as the export before this one did. Figures are
the median and range of ``--repeat`` runs (the machine is shared). Not
collected by pytest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui.query.engine import QueryEngine, columns_for
from flowtui.query.window import TimeWindow
from flowtui.store import Store
from flowtui.ui.data import DataSource
from flowtui.ui.export import export_columns, write_export

ORDER = ("timestamp", True)


def offset_pages(db: Path, query: str, columns: list[str], chunk: int = 5000) -> Iterator[dict[str, Any]]:
    engine = QueryEngine(Store(db, readonly=True), timeout=600)
    offset = 0
    while True:
        rows = engine.search(query, TimeWindow.all(), fields=columns, limit=chunk, offset=offset, order="-timestamp")
        yield from rows
        if len(rows) < chunk:
            return
        offset += len(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--query", default="action:REJECT")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", default="stream,offset")
    p.add_argument("--format", default="csv", choices=("csv", "json", "jsonl"))
    args = p.parse_args()
    columns = export_columns(args.format, columns_for(args.query))
    for way in args.only.split(","):
        times: list[float] = []
        count = 0
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / f"export.{args.format}"
                start = time.perf_counter()
                if way == "stream":
                    data = DataSource(args.db, time.time)
                    rows = data.export_rows(args.query, TimeWindow.all(), columns, ORDER, None)
                    count = write_export(out, args.format, columns, rows)
                    data.close()
                else:
                    count = write_export(out, args.format, columns, offset_pages(args.db, args.query, columns))
                times.append(time.perf_counter() - start)
        med = statistics.median(times)
        print(
            f"{way:7s} {args.format:5s} {count:,} rows  median {med:.2f} s  range {min(times):.2f}–{max(times):.2f} s"
            f"  ({count / med:,.0f} rows/s)"
        )


if __name__ == "__main__":
    main()
