"""``flowtui top``: the biggest talkers (or any grouping) by bytes, packets or flows."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, cast

from flowtui.cli import common
from flowtui.cli.query import (
    _quiet_pipe,
    _split,
    add_window_args,
    cell,
    engine_for,
    print_table,
    query_text,
    query_timeout,
    report_query_error,
    window_from_args,
)
from flowtui.errors import QueryError, UsageError
from flowtui.query.engine import Metric, check_fields

_EPILOG = """\
The last row, (other), sums every group below the first N.
--format json: one object a group with flows, bytes, packets, other (true for the
  (other) row) and group, which maps each --by field to the group's value; each
  --by field not named bytes, packets, flows or other is also a key of its own.
Without a time flag the whole store is aggregated (see `flowtui query --help`).

CloudTrail (--source cloudtrail): groups of events, ranked by how many there are
  (--metric events, the only one), by the names `flowtui fields --source cloudtrail`
  lists; a list field (resources.ARN) groups by each of its items. Its JSON rows
  are shaped as the flows' are, with events in place of flows, bytes and packets.

examples:
  flowtui top --by src_addr,dst_addr --since 1h
  flowtui top --by dst_port --metric flows 'action:REJECT'
  flowtui top --by dst_addr_country_code --format json 'src_addr_internal:true'
  flowtui top --source cloudtrail --by userIdentity.arn,sourceIPAddress 'errorCode:AccessDenied'
"""


EVERY_GROUP = 1 << 40  # --limit 0, as query, dead-letters and alerts read it: all of them
_EVENTS = "events"  # CloudTrail's metric (flowtui.cloudtrail.top.METRIC; not imported: it is loaded only when asked for)


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "top",
        help="top talkers: flows grouped by fields, biggest first",
        description="Group the matching flows (or CloudTrail events) by one or more fields and print the biggest groups.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_store_args(p)
    p.add_argument("--by", required=True, metavar="FIELD[,FIELD]", help="the fields to group by, e.g. src_addr,dst_port")
    p.add_argument(
        "--metric",
        choices=("bytes", "packets", "flows", "events"),
        help="what to rank by (default bytes; CloudTrail: events)",
    )
    p.add_argument("--limit", type=int, default=10, metavar="N", help="groups to show before (other) (default 10; 0: every group, no (other) row)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")
    p.add_argument("--source", choices=("flows", "cloudtrail"), default="flows", help="what to count (default flows)")
    add_window_args(p)
    p.add_argument("query", nargs="*", metavar="QUERY", help="which flows (or events) to count (default: all)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise UsageError(f"--limit {args.limit} must be 0 or more")
    if getattr(args, "source", "flows") == "cloudtrail":
        return _run_cloudtrail(args)
    if args.metric == _EVENTS:
        raise UsageError("--metric events counts CloudTrail events (--source cloudtrail); rank flows by bytes, packets or flows")
    by = check_fields(_split(args.by))
    if not by:
        raise UsageError("--by needs at least one field")
    metric = cast(Metric, args.metric or "bytes")
    window = window_from_args(args)
    text = query_text(args)
    try:
        engine = engine_for(args, text)
    except QueryError as exc:
        return report_query_error(exc)
    try:
        rows = engine.top(text, window, by, metric=metric, limit=args.limit or EVERY_GROUP)
    except QueryError as exc:
        return report_query_error(exc)
    finally:
        engine.store.close()
    return _print(args.format, rows, by, metric, ["flows", "bytes", "packets"])


def _run_cloudtrail(args: argparse.Namespace) -> int:
    from flowtui.cloudtrail import search, top

    if args.metric not in (None, _EVENTS):
        raise UsageError(f"--metric {args.metric}: CloudTrail events have no bytes or packets; they are ranked by how many there are (events)")
    by = list(dict.fromkeys(search.check_fields(_split(args.by))))  # the output's columns; top.top refuses an empty --by
    window = window_from_args(args)
    text = query_text(args)
    config = common.load_config(args)
    store = common.open_store(args, config, readonly=True)
    try:
        rows = top.top(search.TrailSearch(store, timeout=query_timeout(config)), text, window, by, limit=args.limit or EVERY_GROUP)
    except QueryError as exc:
        return report_query_error(exc)
    finally:
        store.close()
    return _print(args.format, rows, by, _EVENTS, [_EVENTS])


def _print(fmt: str, rows: list[dict[str, Any]], by: list[str], metric: str, sums: list[str]) -> int:
    """JSON as the engine answers, or a table with each group's share of the metric, (other) last.

    The table's group columns have keys of their own: a group field named as a metric
    (``--by bytes``) shows the group's value beside the metric's sum, not the sum twice.
    """
    with _quiet_pipe():
        if fmt == "json":
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        total = sum(r[metric] for r in rows) or 1
        keys = [f"{i}\x1f{name}" for i, name in enumerate(by)]
        shown = []
        for r in rows:
            group = r.get("group", r)
            row: dict[str, Any] = {key: cell(name, group.get(name)) for key, name in zip(keys, by)}
            if r["other"]:
                row[keys[0]] = "(other)"
            row.update((name, r[name]) for name in sums)
            row["share"] = f"{100 * r[metric] / total:.1f}%"
            shown.append(row)
        print_table([*keys, *sums, "share"], shown, sys.stdout, labels=dict(zip(keys, by)))
    return 0
