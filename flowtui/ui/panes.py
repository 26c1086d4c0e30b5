"""What the dashboard shows: one :class:`PaneSpec` per pane, from ``[[panes]]`` or the defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowtui import catalog
from flowtui.config import Config
from flowtui.errors import ConfigError
from flowtui.query.compiler import unknown_field

METRICS = ("bytes", "packets", "flows")


@dataclass(frozen=True, slots=True)
class PaneSpec:
    title: str
    query: str
    by: tuple[str, ...]
    metric: str = "bytes"
    # Rows before "(other)"; None (no `limit` in the config): as many as the pane has room for.
    limit: int | None = None

    @property
    def key(self) -> str:
        """A stable id for widgets and workers (the title, made id-safe)."""
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "pane"


DEFAULT_PANES: tuple[PaneSpec, ...] = (
    PaneSpec("Top talkers", "*", ("src_addr", "dst_addr"), "bytes"),
    PaneSpec("Rejects", "action:REJECT", ("src_addr", "dst_port"), "flows"),
    PaneSpec(
        "External → EC2",
        "dst_addr_entity_aws_type:EC2 AND src_addr_internal:false",
        ("src_addr", "dst_addr"),
        "flows",
    ),
    PaneSpec(
        "Threat matches",
        "src_addr_threat_indicated:true OR dst_addr_threat_indicated:true",
        ("src_addr", "dst_addr"),
        "flows",
    ),
)


def panes_from_config(config: Config) -> tuple[PaneSpec, ...]:
    """The ``[[panes]]`` of the config, checked; the four defaults when there are none."""
    tables = config.tables("panes")
    if not tables:
        return DEFAULT_PANES
    where = str(config.path) if config.path else "config"
    specs: list[PaneSpec] = []
    for n, table in enumerate(tables, 1):
        title = table.get("title") or f"Pane {n}"
        query = table.get("query", "*")
        by = table.get("by", ["src_addr", "dst_addr"])
        metric = table.get("metric", "bytes")
        limit = table.get("limit")
        if isinstance(by, str):
            by = [b.strip() for b in by.split(",") if b.strip()]
        if not isinstance(title, str) or not isinstance(query, str):
            raise ConfigError(f"{where}: [[panes]] #{n}: title and query must be strings")
        if not isinstance(by, list) or not by or not all(isinstance(b, str) for b in by):
            raise ConfigError(f"{where}: [[panes]] {title!r}: by must be a field name or a list of them")
        for name in by:
            if name not in catalog.BY_NAME:
                raise ConfigError(f"{where}: [[panes]] {title!r}: by: {unknown_field(name)}")
        if metric not in METRICS:
            raise ConfigError(f"{where}: [[panes]] {title!r}: metric must be one of {', '.join(METRICS)}")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 500):
            raise ConfigError(f"{where}: [[panes]] {title!r}: limit must be a whole number from 1 to 500")
        spec = PaneSpec(title, query, tuple(by), metric, limit)
        twin = next((other for other in specs if other.key == spec.key), None)
        if twin is not None:  # one widget id for two panes: Textual would refuse to mount the dashboard
            raise ConfigError(
                f"{where}: [[panes]] {title!r}: another pane, {twin.title!r}, has a title of the same letters and digits; rename one"
            )
        specs.append(spec)
    return tuple(specs)
