"""``flowtui top``: the biggest talkers (or any grouping) by bytes, packets or flows."""

from __future__ import annotations

import argparse
import json
import sys

from flowtui.cli import common
from flowtui.cli.query import (
    _quiet_pipe,
    _split,
    add_window_args,
    engine_for,
    print_table,
    query_text,
    report_query_error,
    window_from_args,
)
from flowtui.errors import QueryError, UsageError
from flowtui.query.engine import check_fields

_EPILOG = """\
The last row, (other), sums every group below the first N.
Without a time flag the whole store is aggregated (see `flowtui query --help`).

examples:
  flowtui top --by src_addr,dst_addr --since 1h
  flowtui top --by dst_port --metric flows 'action:REJECT'
  flowtui top --by dst_addr_country_code --format json 'src_addr_internal:true'
"""


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "top",
        help="top talkers: flows grouped by fields, biggest first",
        description="Group the matching flows by one or more fields and print the biggest groups.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_store_args(p)
    p.add_argument("--by", required=True, metavar="FIELD[,FIELD]", help="the fields to group by, e.g. src_addr,dst_port")
    p.add_argument("--metric", choices=("bytes", "packets", "flows"), default="bytes", help="what to rank by (default bytes)")
    p.add_argument("--limit", type=int, default=10, metavar="N", help="groups to show before (other) (default 10)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")
    add_window_args(p)
    p.add_argument("query", nargs="*", metavar="QUERY", help="which flows to count (default: every flow)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    by = check_fields(_split(args.by))
    if not by:
        raise UsageError("--by needs at least one field")
    if args.limit < 0:
        raise UsageError(f"--limit {args.limit} must be 0 or more")
    window = window_from_args(args)
    text = query_text(args)
    engine = engine_for(args)
    try:
        rows = engine.top(text, window, by, metric=args.metric, limit=args.limit)
    except QueryError as exc:
        return report_query_error(exc)
    finally:
        engine.store.close()
    with _quiet_pipe():
        if args.format == "json":
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        total = sum(r[args.metric] for r in rows) or 1
        shown = []
        for r in rows:
            row = dict(r)
            if r["other"]:
                row[by[0]] = "(other)"
            row["share"] = f"{100 * r[args.metric] / total:.1f}%"
            shown.append(row)
        print_table([*by, "flows", "bytes", "packets", "share"], shown, sys.stdout)
    return 0
