"""``flowtui query``: search the store in Graylog's syntax, print table, JSON, JSONL or CSV."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any, TextIO

from flowtui import catalog
from flowtui.cli import common
from flowtui.config import query_timeout
from flowtui.errors import QueryError
from flowtui.query.engine import QueryEngine, check_fields, columns_for
from flowtui.query.output import WRITERS, is_time, iso_utc
from flowtui.query.threat_lists import check_threat_lists, known_threat_lists
from flowtui.query.window import TimeWindow
from flowtui.store import Store
from flowtui.words import counted

_EPILOG = """\
query syntax (Graylog's):
  field:value  field:"a phrase"  field:(a OR b)  AND OR NOT && || ! + -  ( )
  wildcards * ?   ranges bytes:[1000 TO *] dst_port:{0 TO 1024}   dst_port:>=1024
  _exists_:vpc_id   regular expressions interface_id:/eni-0a.*/
  CIDR blocks src_addr:10.0.0.0/8  dst_addr:2001:db8::/32   booleans true/false
  bare terms search the summary line (eni-… ACCEPT TCP 10.0.0.1:443 -> …)
  terms without an operator are OR-ed; * alone matches every flow
  a negated term is read as the query (-action:ACCEPT, -"a phrase", -(a OR b));
  a negated bare word goes after --: flowtui query -- '-ssh'
  `flowtui fields` lists the field names.

time window:
  without --since/--from/--all the whole store is searched: stores filled from
  files hold old timestamps, and a script should not silently see nothing.
  --since 15m (also 90s, 2h, 1d, 1w) is relative to now; --from/--to take unix
  seconds or ISO 8601 (2026-11-27T10:00:00Z, 2026-11-27), UTC unless a zone is
  given; --to includes the time it names.

exit status: 0 ok, 2 bad query or arguments (with a caret under the spot), 1 otherwise.

CloudTrail (--source cloudtrail): the same syntax over CloudTrail events, with the
  record's own names (eventName, userIdentity.arn, sourceIPAddress, resources.ARN)
  or Graylog-style aliases (event_name, user_arn, src_addr, resource_arn); bare
  terms search the whole record. `flowtui fields --source cloudtrail` lists them.

examples:
  flowtui query --since 1h 'action:REJECT AND dst_port:22'
  flowtui query --source cloudtrail 'eventName:Delete* AND NOT errorCode:*'
  flowtui query --format json 'dst_addr_threat_indicated:true'
  flowtui query --count 'src_addr:10.0.0.0/8 AND NOT dst_addr:10.0.0.0/8'
"""


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "query",
        help="search flows in Graylog's query syntax",
        description="Search the stored flows in Graylog's query syntax.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_store_args(p)
    add_window_args(p)
    p.add_argument("--limit", type=_count, default=100, metavar="N", help="at most N flows, newest first (default 100; 0: all)")
    p.add_argument(
        "--source", choices=("flows", "cloudtrail"), default="flows", help="what to search (default flows)"
    )
    p.add_argument("--count", action="store_true", help="print only the number of matching flows")
    p.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default="table", help="output format (default table; csv writes times in ISO 8601 UTC, json as unix seconds)")
    p.add_argument("--fields", metavar="a,b", help="fields to print (default: table - the usual columns plus the fields the query names; others - all)")
    p.add_argument("--sort", default="-timestamp", metavar="FIELD", help="sort by a number or time field, -FIELD for descending (default -timestamp); flows without the value come last")
    p.add_argument("query", nargs="*", metavar="QUERY", help="the query (several words are joined by spaces; none: every flow)")
    p.set_defaults(run=run)


def add_window_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("time window (default: all time)")
    g.add_argument("--since", metavar="DURATION", help="the last DURATION: 90s, 15m, 2h, 1d, 1w")
    g.add_argument("--from", dest="from_", metavar="TIME", help="from TIME (unix seconds or ISO 8601)")
    g.add_argument("--to", metavar="TIME", help="up to and including TIME")
    g.add_argument("--all", dest="all_", action="store_true", help="all time (the default)")


def window_from_args(args: argparse.Namespace) -> TimeWindow:
    return TimeWindow.parse(since=args.since, from_=args.from_, to=args.to, all_=args.all_)


def query_text(args: argparse.Namespace) -> str:
    text = " ".join(args.query).strip() if isinstance(args.query, list) else (args.query or "").strip()
    return text or "*"


def engine_for(args: argparse.Namespace, text: str | None = None) -> QueryEngine:
    """The engine on the store; with ``text``, that query's threat-list ids are checked first."""
    config = common.load_config(args)
    store = common.open_store(args, config, readonly=True)
    if text is not None:
        try:
            check_threat_lists(text, lambda: known_threat_lists(config, store))
        except BaseException:  # a bad query, or a bad [threat] in the config
            store.close()
            raise
    return QueryEngine(store, timeout=query_timeout(config))


def report_query_error(exc: QueryError) -> int:
    print(f"flowtui: bad query: {exc.message}", file=sys.stderr)
    print(_indent(exc.pointer()), file=sys.stderr)
    return exc.exit_code


def run(args: argparse.Namespace) -> int:
    window = window_from_args(args)
    text = query_text(args)
    if getattr(args, "source", "flows") == "cloudtrail":
        return _run_cloudtrail(args, window, text)
    fields = check_fields(_split(args.fields)) if args.fields else None
    try:
        engine = engine_for(args, text)
    except QueryError as exc:
        return report_query_error(exc)
    if fields is None:
        fields = columns_for(text) if args.format == "table" else [f.name for f in catalog.FIELDS]
    return _search(
        args,
        engine.store,
        lambda: engine.count(text, window),
        lambda: engine.iter_search(text, window, fields=fields, limit=args.limit, order=args.sort),
        fields,
        "flow",
    )


def _run_cloudtrail(args: argparse.Namespace, window: TimeWindow, text: str) -> int:
    from flowtui.cloudtrail import search as trail

    fields = trail.check_fields(_split(args.fields)) if args.fields else None
    order = "-eventTime" if args.sort == "-timestamp" else args.sort
    config = common.load_config(args)
    store = common.open_store(args, config, readonly=True)
    searcher = trail.TrailSearch(store, timeout=query_timeout(config))
    if fields is None:
        fields = trail.columns_for(text) if args.format == "table" else [f.name for f in trail.fields.FIELDS]
    return _search(
        args,
        store,
        lambda: searcher.count(text, window),
        lambda: searcher.iter_search(text, window, fields, limit=args.limit, order=order),
        fields,
        "event",
    )


def _search(
    args: argparse.Namespace,
    store: Store,
    count: Callable[[], int],
    stream: Callable[[], Generator[dict[str, Any], None, None]],
    fields: list[str],
    what: str,
) -> int:
    """Print the count or the rows as they stream in, then close the store; a bad query exits 2."""
    rows: Generator[dict[str, Any], None, None] | None = None
    try:
        if args.count:
            print(count())
            return 0
        rows = stream()
        with _quiet_pipe():
            _print_rows(args.format, fields, rows, what, args.limit)
    except QueryError as exc:
        return report_query_error(exc)
    finally:
        if rows is not None:
            rows.close()  # a reader that went away (| head) leaves it unfinished
        store.close()
    return 0


def _print_rows(fmt: str, fields: list[str], rows: Iterable[dict[str, Any]], what: str, limit: int) -> None:
    if fmt == "table":
        shown = print_table(fields, rows, sys.stdout)
        if limit and shown == limit and sys.stdout.isatty():
            print(f"(first {counted(shown, what)}; --limit N or --limit 0 for more)", file=sys.stderr)
    else:
        WRITERS[fmt](fields, rows, sys.stdout)


# Counts a table groups by thousands (8,876), as alert conditions and the dashboard write them;
# ports, protocol numbers and times are names more than amounts, and JSON/CSV stay raw.
COUNTS = frozenset(("bytes", "packets", "flows", "events"))


def cell(name: str, v: Any) -> str:
    """A value as a table shows it: '-' for missing, UTC times, true/false, counts grouped by thousands."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    if name in COUNTS and isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, list):
        return ",".join(map(str, v)) or "-"
    if is_time(name) and isinstance(v, int):
        return iso_utc(v)
    return str(v)


def print_table(
    headers: Sequence[str], rows: Iterable[dict[str, Any]], out: TextIO, labels: dict[str, str] | None = None
) -> int:
    """Aligned columns, numbers to the right, shrunk to the terminal's width; returns the row count."""
    cells = [[cell(h, row.get(h)) for h in headers] for row in rows]
    titles = [(labels or {}).get(h, h) for h in headers]
    # Numbers to the right; '-' (missing) goes with them, but a column of '-' alone is no number.
    right = [
        all(_numeric(r[i]) for r in cells) and any(r[i] != "-" for r in cells) for i in range(len(headers))
    ]
    widths = [max([len(titles[i])] + [len(r[i]) for r in cells]) for i in range(len(headers))]
    limit = terminal_width()
    keep = len(headers)
    if limit is not None:
        widths, keep = _fit(widths, titles, limit)
    lines = [_line(titles[:keep], widths, right)]
    lines += [_line(r[:keep], widths, right) for r in cells]
    out.write("\n".join(lines) + "\n")
    return len(cells)


_CAP = 24  # a column wider than this is cut (with …) when the table does not fit


def terminal_width() -> int | None:
    """COLUMNS, else the terminal's width; None (no limit) when output goes to a pipe or file."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _fit(widths: list[int], titles: list[str], limit: int) -> tuple[list[int], int]:
    """Cap long columns, then drop columns from the right (the least important) until the table fits."""
    widths = list(widths)

    def total(n: int) -> int:
        return sum(widths[:n]) + 2 * (n - 1)

    keep = len(widths)
    if total(keep) > limit:
        widths = [min(w, max(len(t), _CAP)) for w, t in zip(widths, titles)]
    while keep > 1 and total(keep) > limit:
        keep -= 1
    if total(keep) > limit:
        widths[0] = max(1, limit)
    return widths, keep


def _line(values: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> str:
    parts = []
    for v, w, r in zip(values, widths, right):
        if len(v) > w:
            v = v[: max(0, w - 1)] + "…"
        parts.append(v.rjust(w) if r else v.ljust(w))
    return "  ".join(parts).rstrip()


_NUMBER = re.compile(r"-?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?%?")


def _numeric(v: str) -> bool:
    """A number as tables print it (12, -3, 4.5, 50.0%, 5,602), or '-' for none."""
    return v == "-" or _NUMBER.fullmatch(v) is not None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return n


class _quiet_pipe:
    """A closed pipe (``| head``) ends the output quietly instead of with a traceback."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        if exc_type is BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return True
        return False
