"""Where a query's answer comes from: whole minutes from a rollup, the rest from flows.

Counts, histograms and top-N are sums, so a window can be cut in pieces and
the pieces added up. The minutes a rollup holds complete sums for are read
from the rollup (its view has the flows column names, so a query compiled for
``flows f`` runs on it unchanged); what is left at the window's edges, and
anything a rollup cannot answer, is read from flows. The pieces are read in
one snapshot, and a rollup is only ever used where it agrees with the rows
(see :mod:`flowtui.rollups` for the horizons that say where that is).

A partial minute at an edge is read from the rollup too when that is exact:
when the part of the minute outside the window holds no flows (the minute
now running, under a live window, is the common case).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from flowtui import catalog, rollups, schema
from flowtui.query.compiler import CompiledQuery
from flowtui.query.conditions import Cond

MINUTE = schema.ROLLUP_SECONDS


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open piece ``[start, end)`` of a window (None: open) and the rollup that answers it (None: flows)."""

    start: int | None
    end: int | None
    rollup: schema.Rollup | None = None

    @property
    def source(self) -> str:
        return "flows f" if self.rollup is None else f"{self.rollup.view} f"


def rollup_for(compiled: CompiledQuery, by: Iterable[str] = ()) -> schema.Rollup | None:
    """The smallest rollup that holds every field the query names and every field in ``by``; None if none does."""
    names = [*compiled.fields, *by]
    columns = set()
    for name in names:
        if name not in catalog.BY_NAME:
            return None
        s = schema.STORAGE[name]
        if s.kind == "message":
            return None
        columns.add(s.column)
    best = None
    for r in schema.ROLLUPS:
        if not columns <= set(r.dims):
            continue
        if r.only is not None and not _implies(compiled.cond, *r.only):
            continue
        if best is None or _size_rank(r) < _size_rank(best):
            best = r
    return best


def _size_rank(r: schema.Rollup) -> tuple[int, int]:
    """Filtered rollups hold fewer rows; fewer keys, fewer rows too."""
    return (0 if r.only is not None else 1, len(r.dims))


def _implies(cond: Cond, column: str, value: str) -> bool:
    """Whether every flow ``cond`` matches has ``column`` = ``value`` (a conjunct says so)."""
    if cond.op == "in":
        return (
            cond.column == f'f."{column}"' and cond.table == "strings" and cond.sql == "value = ?" and cond.params == (value,)
        )
    if cond.op == "and":
        return any(_implies(c, column, value) for c in cond.items)
    return False


def has_flows(conn: sqlite3.Connection, start: int | None, end: int | None) -> bool:
    """Whether any flow starts in ``[start, end)`` (one probe of the time index)."""
    conds, params = _bounds('"start"', start, end)
    sql = f"SELECT 1 FROM flows WHERE {' AND '.join(conds) or '1'} LIMIT 1"
    return conn.execute(sql, params).fetchone() is not None


def spans(
    conn: sqlite3.Connection, rollup: schema.Rollup | None, start: int | None, end: int | None
) -> list[Span]:
    """The pieces of ``[start, end)`` to read: a rollup span for whole minutes, flows spans around it.

    Flows spans that hold no flows are left out. Must run inside the read
    transaction the pieces are read in.
    """
    if rollup is None:
        return [Span(start, end)]
    raw_from, rollup_from = rollups.horizons(conn)
    lo = _ceil(start) if start is not None else 0
    lo = max(lo, _ceil(rollup_from))
    hi = _floor(end) if end is not None else None
    if hi is not None and lo >= hi:
        return [Span(start, end)] if has_flows(conn, start, end) else []
    # A partial minute at an edge: the rollup's minute is exact when the rest of it is empty.
    if start is not None and start % MINUTE and lo == _ceil(start):
        m = lo - MINUTE
        if m >= rollup_from and m >= raw_from and not has_flows(conn, m, start):
            lo = m
    if (
        end is not None
        and end % MINUTE
        and hi is not None
        and hi >= rollup_from
        and hi >= raw_from
        and not has_flows(conn, end, hi + MINUTE)
    ):
        hi += MINUTE
    out: list[Span] = []
    if (start is None or start < lo) and has_flows(conn, start, lo):
        out.append(Span(start, lo))
    out.append(Span(lo, hi, rollup))
    if hi is not None and end is not None and hi < end and has_flows(conn, hi, end):
        out.append(Span(hi, end))
    return out


def bounds_sql(span: Span) -> tuple[list[str], list[int]]:
    """The conditions (on ``f."start"``) that keep a span's rows."""
    return _bounds('f."start"', span.start, span.end)


def _bounds(column: str, start: int | None, end: int | None) -> tuple[list[str], list[int]]:
    conds: list[str] = []
    params: list[int] = []
    if start is not None:
        conds.append(f"{column} >= ?")
        params.append(start)
    if end is not None:
        conds.append(f"{column} < ?")
        params.append(end)
    return conds, params


def _floor(t: int) -> int:
    return t - t % MINUTE


def _ceil(t: int) -> int:
    return -(-t // MINUTE) * MINUTE
