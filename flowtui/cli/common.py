"""What every command shares: --db and --config, and opening the store."""

from __future__ import annotations

import argparse
from pathlib import Path

from flowtui.config import Config, default_db_path, default_demo_db_path
from flowtui.store import Retention, Store, StoreError


def add_store_args(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a command that is not given --db keeps the one given before it
    # (`flowtui --db x.db query …`); argparse would otherwise reset it to None.
    parser.add_argument(
        "--db", metavar="PATH", default=argparse.SUPPRESS,
        help="the SQLite store (default: [store] path, or ~/.local/share/flowtui/flows.db)",
    )
    parser.add_argument(
        "--config", metavar="PATH", default=argparse.SUPPRESS,
        help="TOML config file (default: ~/.config/flowtui/config.toml)",
    )


def load_config(args: argparse.Namespace) -> Config:
    return Config.load(getattr(args, "config", None))


def db_path(args: argparse.Namespace, config: Config) -> Path:
    """--db beats [store] path beats the default."""
    if getattr(args, "db", None):
        return Path(args.db)
    configured = config.get("store", "path", None, str)
    return config.resolve_path(configured) if configured else default_db_path()


def open_store(args: argparse.Namespace, config: Config | None = None, readonly: bool = False) -> Store:
    config = config if config is not None else load_config(args)
    path = db_path(args, config)
    demo = default_demo_db_path()
    if readonly and not path.exists() and path == default_db_path() and demo.exists():
        raise StoreError(f"no store at {path}: ingest something first (flowtui ingest or tail), or read the demo's with --db {demo}")
    return Store(path, readonly=readonly, retention=Retention.from_config(config))
