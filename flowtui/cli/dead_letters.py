"""``flowtui dead-letters``: the lines ingest and tail rejected, and a second try at them."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from flowtui.cli.common import add_store_args, load_config, open_store
from flowtui.errors import UsageError
from flowtui.formats import LogFormat
from flowtui.words import counted


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "dead-letters",
        help="list the lines ingest rejected, or parse them again (--retry)",
        description=(
            "List the dead letters: lines and payloads ingest or tail could not store, newest first, each with"
            " where it came from (file:line, or stream and event), why, and the raw line. With --retry, parse the"
            " stored lines again and store those that now fit, removing them from the dead letters; each line that"
            " still does not fit keeps the reason this retry found, and the summary says the commonest. Payloads"
            " that could not be decoded, CloudTrail records and damaged parts of files are left as they were."
        ),
        epilog=(
            "Examples:\n"
            "  flowtui dead-letters --limit 20\n"
            "  flowtui dead-letters --retry --format '${version} ${account-id} ${interface-id} …'"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_store_args(p)
    p.add_argument("--limit", metavar="N", type=int, default=100, help="how many to list (default 100; 0: all, as for query and alerts)")
    p.add_argument(
        "--format",
        metavar="FMT",
        help="when listing: table (default), json or jsonl; with --retry: the flow-log format to parse with"
        " (default: [ingest] format, or the default v2 format)",
    )
    p.add_argument("--retry", action="store_true", help="parse the rejected lines again and store those that fit")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    if args.retry:
        from flowtui.cli.ingest import build_enrich
        from flowtui.ingest import retry_dead_letters

        spec = args.format or config.get("ingest", "format", None, str)
        log_format = LogFormat.from_spec(spec) if spec else None
        with open_store(args, config, must_exist=True) as store:  # a retry writes: never a new store
            stats = retry_dead_letters(store, build_enrich(config, []), log_format)
        print(stats.summary())
        return 0
    output = args.format or "table"
    if output not in ("table", "json", "jsonl"):
        raise UsageError(f"--format is table, json or jsonl when listing (a flow-log format goes with --retry), not {output!r}")
    if args.limit < 0:
        raise UsageError("--limit is a count: 0 lists every dead letter")
    with open_store(args, config, readonly=True) as store:
        rows = [_entry(row) for row in store.dead_letters(args.limit or -1)]
        total = store.dead_letter_count()
    if output == "json":
        print(json.dumps(rows, indent=2))
    elif output == "jsonl":
        for row in rows:
            print(json.dumps(row))
    else:
        _print_table(rows, total)
    return 0


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "received": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["received"])),
        "source": row["source"],
        "location": row["location"],
        "reason": row["reason"],
        "line": row["data"],
    }


def _print_table(rows: list[dict[str, Any]], total: int) -> None:
    if not rows:
        print("no dead letters")
        return
    for row in rows:
        print(_shown(f"#{row['id']}  {row['received']}  {row['source']}  {row['location'] or ''}".rstrip()))
        print(f"    {_shown(row['reason'])}")
        if row["line"] is not None:
            print(f"    {_shown(row['line'])}")
    more = f"; --limit {total} shows them all" if total > len(rows) else ""
    print(f"{len(rows):,} of {counted(total, 'dead letter')}, newest first{more}")


def _shown(text: str) -> str:
    """Text as it may reach a terminal: a rejected line is anyone's bytes, and an ESC sequence
    in it would drive the terminal; non-printable characters are shown escaped (\\x1b, \\n)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
