"""``flowtui threat update|list``: download the url threat lists, and show what is loaded."""

from __future__ import annotations

import argparse
import sys
import time

from flowtui.cli.common import load_config
from flowtui.enrich.threat import ThreatSettings, load_list
from flowtui.enrich.threat_update import update_all
from flowtui.errors import UsageError


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "threat",
        help="download and list the threat lists",
        description="Download the threat lists configured in [[threat.lists]], or list them.",
    )
    actions = p.add_subparsers(dest="threat_action", metavar="ACTION")
    update = actions.add_parser(
        "update",
        help="fetch every url list into the cache (old copies are kept on any failure)",
        description="Fetch the url lists of [[threat.lists]] into [threat] cache_dir. A list is replaced only by a "
        "complete download that parses to at least one entry; the exit status is 1 when any list failed.",
    )
    update.add_argument("ids", nargs="*", metavar="ID", help="only these lists (default: all)")
    update.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="TOML config file (default: ~/.config/flowtui/config.toml)")
    update.set_defaults(run=run_update)
    listing = actions.add_parser("list", help="show each list: id, format, entries, age, path")
    listing.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="TOML config file (default: ~/.config/flowtui/config.toml)")
    listing.set_defaults(run=run_list)
    p.set_defaults(run=_needs_action)


def _needs_action(args: argparse.Namespace) -> int:
    raise UsageError("threat needs an action: 'flowtui threat update' or 'flowtui threat list'")


def _settings(args: argparse.Namespace) -> ThreatSettings | None:
    config = load_config(args)
    settings = ThreatSettings.from_config(config)
    if not settings.lists:
        where = config.path or "the config file"
        print(f"no threat lists configured: add [[threat.lists]] tables to {where}", file=sys.stderr)
        return None
    return settings


def run_update(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings is None:
        return 0
    known = {s.id for s in settings.lists}
    unknown = [i for i in args.ids if i not in known]
    if unknown:
        raise UsageError(f"no threat list with the id {', '.join(unknown)} (configured: {', '.join(sorted(known))})")
    results = update_all(settings, tuple(args.ids))
    for result in results:
        print(result.line(), flush=True)
    return 0 if all(r.ok for r in results) else 1


def format_age(seconds: float) -> str:
    """Compact age as k9s shows it: 45s, 12m, 5h, 3d."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{int(seconds)}s"
    if seconds < 120 * 60:
        return f"{int(seconds // 60)}m"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def run_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings is None:
        return 0
    now = time.time()
    rows = [("ID", "FORMAT", "ENTRIES", "AGE", "PATH")]
    for spec in settings.lists:
        loaded = load_list(spec, strict=False)
        try:
            age = format_age(now - spec.path.stat().st_mtime)
        except OSError:
            age = "-"
        path = str(spec.path) + (f"  ({loaded.problem})" if loaded.problem else "")
        rows.append((spec.id, loaded.format, str(loaded.entries), age, path))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}  {r[4]}".rstrip())
    return 0
