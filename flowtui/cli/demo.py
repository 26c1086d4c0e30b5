"""``flowtui demo``: the whole pipeline on a synthetic AWS environment, no AWS account needed."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from flowtui.cli.common import load_config
from flowtui.config import Config, default_demo_db_path, parse_duration
from flowtui.errors import ConfigError, FlowtuiError, UsageError
from flowtui.store import Store
from flowtui.words import counted

if TYPE_CHECKING:
    from flowtui.demo import DemoSource


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo",
        help="run the dashboard on a synthetic AWS environment (no AWS account needed)",
        description=(
            "Generate VPC flow logs for a made-up AWS account (web servers behind a load balancer, a database,"
            " a NAT gateway, scanners, beacons to fake Tor exits and Spamhaus-listed blocks) and push them"
            " through the real pipeline: CloudWatch payloads, parsing, enrichment, the store. It first fills"
            " the last 15 minutes (15 × 60 × --rate flows: 5–30 s at the default 500/s; the dashboard shows them"
            " filling), then goes on live. The same --seed gives the same traffic."
        ),
    )
    p.add_argument(
        "--db",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help=f"the store to fill (default: {default_demo_db_path()}, emptied at start)",
    )
    p.add_argument(
        "--config", metavar="PATH", default=argparse.SUPPRESS,
        help="TOML config file (its UI settings apply; enrichment is the demo's)",
    )
    p.add_argument(
        "--theme", metavar="NAME", default=argparse.SUPPRESS, help="dark (default), light, 256, or a Textual theme name"
    )
    p.add_argument("--no-ui", action="store_true", help="no dashboard: ingest, print a summary line, exit")
    p.add_argument("--duration", metavar="S", help="stop after S seconds of live traffic, counted once the 15 minutes before are filled (e.g. 30, 90s, 5m)")
    p.add_argument("--rate", metavar="N", type=float, default=500.0, help="flow records per second (default 500)")
    p.add_argument("--seed", metavar="N", type=int, default=1, help="random seed (default 1)")
    # A fixed simulated start (unix seconds): no waiting for the clock; for tests.
    p.add_argument("--start-at", metavar="T", type=int, help=argparse.SUPPRESS)
    p.set_defaults(run=run)


# The meta key that marks a store the demo made: only such a store (or an empty one) is emptied and filled.
DEMO_MARK = "demo_store"
# Tables whose rows are data someone kept (flows, positions, firings, saved queries …).
_DATA_TABLES = ("flows", "checkpoints", "dead_letters", "alerts", "alert_mutes", "cloudtrail", "queries")


def _prepare_db(args: argparse.Namespace) -> Path:
    """The store to fill, emptied and marked as the demo's; a store holding data it did not make is refused."""
    given = getattr(args, "db", None)
    path = Path(given) if given else default_demo_db_path()
    if given and not _demo_may_empty(path):
        raise UsageError(
            f"{path} holds data the demo did not make, and the demo adds to no such store: give --db a new file,"
            f" or leave --db out to use {default_demo_db_path()}"
        )
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise FlowtuiError(f"cannot empty the demo store {path}{suffix}: {exc.strerror}") from None
    with Store(path) as store, store.transaction():
        store.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, 1)", (DEMO_MARK,))
    return path


def _demo_may_empty(path: Path) -> bool:
    """Whether ``path`` is missing, empty, or a store the demo marked; anything else it cannot read is not."""
    try:
        if not path.exists() or path.stat().st_size == 0:
            return True
        with Store(path, readonly=True) as store:
            ex = store.conn.execute
            if ex("SELECT 1 FROM meta WHERE key = ?", (DEMO_MARK,)).fetchone():
                return True
            tables = set(store.db.table_names())
            return not any(ex(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in _DATA_TABLES if t in tables)
    except (FlowtuiError, OSError, sqlite3.Error):
        return False


def run(args: argparse.Namespace) -> int:
    from flowtui.demo import DemoSource

    if not args.rate > 0:
        raise UsageError(f"--rate must be a positive number of records per second, not {args.rate:g}")
    try:
        duration = parse_duration(args.duration, "--duration") if args.duration is not None else None
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if duration is not None and duration < 0:
        raise UsageError("--duration must not be negative")
    if not args.no_ui and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the dashboard needs a terminal; use --no-ui to run the demo without one")
    config = load_config(args)
    db = _prepare_db(args)
    job = DemoSource(seed=args.seed, rate=args.rate, duration=duration, start_at=args.start_at)
    print(f"demo store: {db}", file=sys.stderr if not args.no_ui else sys.stdout, flush=True)
    if args.no_ui:
        return _run_headless(job, db)
    return _run_dashboard(job, db, config, getattr(args, "theme", None))


def _run_headless(job: DemoSource, db: Path) -> int:
    from flowtui.worker import run_job

    started = time.monotonic()
    interrupted = False
    try:
        run_job(job, db)
    except KeyboardInterrupt:
        interrupted = True
    elapsed = time.monotonic() - started
    print(
        f"{job.name}: {counted(job.stored, 'flow')} stored, {job.reject_flows:,} of them REJECT,"
        f" {job.dead_letters:,} rejected to dead letters, {elapsed:.1f} s elapsed"
        + (" (interrupted)" if interrupted else "")
    )
    return 130 if interrupted else 0  # Ctrl-C, as every command exits on it


def _run_dashboard(job: DemoSource, db: Path, config: Config, theme: str | None = None) -> int:
    from flowtui.demo import demo_config

    # _prepare_db has created the store: the dashboard opens it read-only, maybe before the worker writes.
    try:
        from flowtui.ui.app import run_dashboard
    except ImportError:
        raise FlowtuiError("the dashboard is not available in this build; use flowtui demo --no-ui") from None
    return int(run_dashboard(db_path=db, config=demo_config(config), jobs=[job], theme=theme) or 0)
