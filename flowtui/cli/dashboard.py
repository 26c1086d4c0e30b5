"""``flowtui [--config PATH] [--db PATH] [--theme NAME]``: the dashboard, when no command is given.

With ``[[sources]]`` in the config, ingestion runs beside the dashboard in a
separate process (so typing stays instant); without, or with ``--view``, the
dashboard only reads a store another process fills.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowtui.cli.common import db_path, load_config
from flowtui.config import Config


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    root.add_argument("--db", metavar="PATH", help="the SQLite store (default: [store] path, or ~/.local/share/flowtui/flows.db)")
    root.add_argument("--config", metavar="PATH", help="TOML config file (default: ~/.config/flowtui/config.toml)")
    root.add_argument("--theme", metavar="NAME", help="dark (default), light, 256, or a Textual theme name")
    root.add_argument("--view", action="store_true", help="only show the store; do not run the config's [[sources]]")
    root.set_defaults(run_default=run)


@dataclass
class SourcesJob:
    """The config's ``[[sources]]`` as one ingest job (plain values: it is pickled into the worker)."""

    sources: list[Any] = field(default_factory=list)  # SourceSpec, checked before the dashboard starts
    config_path: str | None = None
    # Status rows per source (kinesis:flows and its shards), as `flowtui tail` writes; no "sources" row beside them.
    reports_own_status: bool = True

    @property
    def name(self) -> str:
        return "sources"

    def run(self, ctx: Any) -> None:
        from flowtui.sources import run_sources

        run_sources(self.sources, ctx.db_path, ctx.stop_event, config_path=self.config_path)


def _ingest_worker(config: Config, path: Path) -> Any:
    """The worker for the config's [[sources]], or None when there are none."""
    if not config.tables("sources"):
        return None
    from flowtui.sources.spec import sources_from_config
    from flowtui.worker import IngestWorker

    job = SourcesJob(sources_from_config(config), str(config.path) if config.path else None)
    return IngestWorker(job, path, log_path=path.with_name(f"{path.stem}.sources.log"))


def run(args: argparse.Namespace) -> int:
    from flowtui.ui.app import run_app

    config = load_config(args)
    path = db_path(args, config)
    worker = None if args.view else _ingest_worker(config, path)
    return run_app(path, config, worker=worker, theme=args.theme)
