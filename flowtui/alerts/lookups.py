"""The interned-table lookups of alert queries, kept as id sets and topped up with new rows only.

A compiled query tests a flow's interned columns through lookups such as
``f.dst_addr IN (SELECT id FROM addrs WHERE "entity_aws_type" = ?)``. Run
after every write, that inner query would scan all of ``addrs`` (one row per
address and enrichment profile: hundreds of thousands) to check a few hundred
new flows. The interned tables only ever grow, so each lookup's answer is
kept in a temporary table of the writer's connection and extended with the
rows added since (``id > last``); the flows then probe it by rowid.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

from flowtui.query.conditions import Cond, render, sql
from flowtui.store import Store

_names = itertools.count(1)


@dataclass(slots=True)
class _Lookup:
    name: str  # the temp table
    table: str  # strings, addrs or origins
    pred: str
    params: tuple[Any, ...]
    last: int = 0  # the highest id of ``table`` already looked at


class Lookups:
    """Lookups shared by the rules of one store connection."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lookups: dict[tuple[str, str, tuple[Any, ...]], _Lookup] = {}
        self._generation = store.generation

    def _same_connection(self) -> None:
        """A store opened again (a reader without locks, after a writer) has none of the temp tables."""
        if self._generation != self.store.generation:
            self._generation = self.store.generation
            self._lookups.clear()

    def render(self, cond: Cond) -> tuple[str, tuple[Any, ...]]:
        """SQL and parameters of a condition tree, its lookups answered from the kept id sets."""
        self._same_connection()
        return render(self._swap(cond))

    def _swap(self, cond: Cond) -> Cond:
        if cond.op == "in":
            name = self._table(cond.table, cond.sql, cond.params)
            return sql(f"{cond.column} IN (SELECT id FROM temp.{name})")
        if cond.items:
            return replace(cond, items=tuple(self._swap(c) for c in cond.items))
        return cond

    def _table(self, table: str, pred: str, params: tuple[Any, ...]) -> str:
        key = (table, pred, params)
        found = self._lookups.get(key)
        if found is None:
            found = self._lookups[key] = _Lookup(f"flowtui_alert_lookup_{next(_names)}", table, pred, params)
            self.store.conn.execute(f"CREATE TEMP TABLE {found.name} (id INTEGER PRIMARY KEY)")
            self._top_up(found)
        return found.name

    def refresh(self) -> None:
        """Add the ids of interned rows that appeared since the last look."""
        self._same_connection()
        for lookup in self._lookups.values():
            self._top_up(lookup)

    def _top_up(self, lookup: _Lookup) -> None:
        conn = self.store.conn
        newest = conn.execute(f"SELECT coalesce(max(id), 0) FROM {lookup.table}").fetchone()[0]
        if newest <= lookup.last:
            return
        conn.execute(
            f"INSERT OR IGNORE INTO temp.{lookup.name} (id) SELECT id FROM {lookup.table}"
            f" WHERE id > ? AND id <= ? AND ({lookup.pred})",
            (lookup.last, newest, *lookup.params),
        )
        lookup.last = newest
