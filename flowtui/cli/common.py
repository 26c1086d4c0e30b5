"""What every command shares: --db and --config, and opening the store."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from flowtui.config import Config, default_db_path, default_demo_db_path
from flowtui.store import Retention, Store, StoreError, WriteResult, no_store
from flowtui.words import counted


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
    """The config file, checked whole (:mod:`flowtui.cli.config_check`): a bad value stops any command."""
    from flowtui.cli.config_check import check_config

    config = Config.load(getattr(args, "config", None))
    check_config(config)
    return config


def db_path(args: argparse.Namespace, config: Config) -> Path:
    """--db beats [store] path beats the default."""
    if getattr(args, "db", None):
        return Path(args.db)
    configured = config.get("store", "path", None, str)
    return config.resolve_path(configured) if configured else default_db_path()


def open_store(
    args: argparse.Namespace, config: Config | None = None, readonly: bool = False, must_exist: bool = False
) -> Store:
    """The command's store; ``must_exist``: a writer that must not make a new one under a mistyped name."""
    config = config if config is not None else load_config(args)
    path = db_path(args, config)
    if (readonly or must_exist) and not path.exists():
        demo = default_demo_db_path()
        if path == default_db_path() and demo.exists():
            raise StoreError(f"no store at {path}: ingest something first (flowtui ingest or tail), or read the demo's with --db {demo}")
        raise no_store(path)
    store = Store(path, readonly=readonly, retention=Retention.from_config(config))
    store.on_write.append(written.add)
    return store


@dataclass
class Written:
    """What the stores this command opened took: the line an interrupted ``flowtui ingest`` ends with."""

    stored: int = 0
    duplicates: int = 0
    dead: int = 0

    def add(self, result: WriteResult) -> None:
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.dead += result.dead

    def summary(self) -> str:
        """As ``flowtui ingest`` sums up its files: '1,200 flows stored, 3 already stored, 0 rejected to dead letters'."""
        again = f", {self.duplicates:,} already stored" if self.duplicates else ""
        return f"{counted(self.stored, 'flow')} stored{again}, {self.dead:,} rejected to dead letters"


written = Written()
