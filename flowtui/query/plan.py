"""Where a query's answer comes from: whole minutes from a rollup, the rest from flows.

Counts, histograms and top-N are sums, so a window can be cut in pieces and
the pieces added up. The minutes a rollup holds complete sums for are read
from the rollup (its view has the flows column names, so a query compiled for
``flows f`` runs on it unchanged); what is left at the window's edges, and
anything a rollup cannot answer, is read from flows. The pieces are read in
one snapshot, and a rollup is only ever used where it agrees with the rows
(see :mod:`flowtui.rollups` for the horizons that say where that is).

A partial bucket at an edge is read from the rollup too when that is exact:
when the part of the bucket outside the window holds no flows (the minute
now running, under a live window, is the common case). A family whose
finest buckets are five minutes long (ports) leaves up to five minutes at
each edge to the flows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from flowtui import catalog, rollups, schema
from flowtui.query.compiler import CompiledQuery
from flowtui.query.conditions import TRUE, Cond, Resolver, rebuild


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open piece ``[start, end)`` of a window (None: open) and the rollup that answers it (None: flows)."""

    start: int | None
    end: int | None
    rollup: schema.Rollup | None = None

    @property
    def source(self) -> str:
        return "flows f" if self.rollup is None else f"{self.rollup.view} f"


Family = tuple[schema.Rollup, ...]  # one family's rollups, longest buckets first

_FAMILIES: dict[object, list[schema.Rollup]] = {}
for _r in schema.ROLLUPS:
    _FAMILIES.setdefault(_r.family, []).append(_r)
FAMILIES: tuple[Family, ...] = tuple(tuple(sorted(rs, key=lambda r: -r.seconds)) for rs in _FAMILIES.values())


def rollup_for(compiled: CompiledQuery, by: Iterable[str] = (), profiles: bool = True) -> Family | None:
    """The first rollup family (in :data:`schema.ROLLUPS` order) that holds every field the query names and in ``by``.

    A family keyed by profiles answers only what depends on the enrichment of
    the addresses, never on the addresses themselves, and groups by no address
    (``profiles`` False: never, for what needs the rows' own ids).
    """
    columns: set[str] = set()
    address_fields = False
    for name in compiled.fields:
        if name not in catalog.BY_NAME or schema.STORAGE[name].kind == "message":
            return None
        columns.add(schema.STORAGE[name].column)
        address_fields |= schema.STORAGE[name].kind == "address"
    grouped: set[str] = set()
    for name in by:
        if name not in catalog.BY_NAME or schema.STORAGE[name].kind == "message":
            return None
        grouped.add(schema.STORAGE[name].column)
    for family in FAMILIES:
        r = family[0]
        if not (columns | grouped) <= set(r.dims):
            continue
        if r.by_profile:
            addresses = {c for c in r.dims if schema.STORAGE_BY_COLUMN.get(c) == "address"}
            if not profiles or address_fields or grouped & addresses:
                continue
        if r.only is not None and not _implies(compiled.cond, *r.only):
            continue
        return family
    return None


def on_rollup(cond: Cond, rollup: schema.Rollup) -> Cond:
    """``cond`` for ``rollup``'s view: id lookups may test its stored key columns, which its primary key seeks.

    A rollup keyed by profiles looks addresses up in profiles (same columns),
    and a rollup of only some flows (only REJECTs) needs no test that says so.
    """
    if rollup.only is not None and cond.op == "in" and _implies(cond, *rollup.only):
        return TRUE
    if cond.op == "in":
        column = cond.column.removeprefix('f."').removesuffix('"')
        out = replace(cond, raw=f'f."_{column}"') if column in rollup.dims else cond
        return replace(out, table="profiles") if rollup.by_profile and cond.table == "addrs" else out
    return rebuild(cond, lambda c: on_rollup(c, rollup))


def finest(family: Family | None) -> Family | None:
    """The family's one-minute rollup alone (for what needs minutes: the first pages)."""
    return None if family is None else (family[-1],)


def dividing(family: Family | None, start: int, width: int) -> Family | None:
    """The rollups of ``family`` whose buckets each fall in one histogram bucket; None if the finest does not."""
    if family is None:
        return None
    kept = tuple(r for r in family if start % r.seconds == 0 and width % r.seconds == 0)
    return kept if kept and kept[-1] is family[-1] else None


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
    conds, params = bounds('"start"', start, end)
    sql = f"SELECT 1 FROM flows WHERE {' AND '.join(conds) or '1'} LIMIT 1"
    return conn.execute(sql, params).fetchone() is not None


def spans(conn: sqlite3.Connection, family: Family | None, start: int | None, end: int | None) -> list[Span]:
    """The pieces of ``[start, end)`` to read: rollup spans for whole buckets, flows spans around them.

    Longer buckets cover what they can; shorter ones the rest; flows the
    partial buckets (of the finest length) at the edges. Flows spans that hold
    no flows are left out. Must run inside the read transaction the pieces are
    read in.
    """
    if not family:
        return [Span(start, end)]
    unit = family[-1].seconds
    raw_from, rollup_from = rollups.horizons(conn, family[-1])
    lo = rollups.ceil(start, unit) if start is not None else 0
    lo = max(lo, rollups.ceil(rollup_from, unit))
    hi = rollups.floor(end, unit) if end is not None else None
    if hi is not None and lo >= hi:
        return [Span(start, end)] if has_flows(conn, start, end) else []
    # A partial bucket at an edge: the rollup's bucket is exact when the rest of it is empty.
    if start is not None and start % unit and lo == rollups.ceil(start, unit):
        m = lo - unit
        if m >= rollup_from and m >= raw_from and not has_flows(conn, m, start):
            lo = m
    if (
        end is not None
        and end % unit
        and hi is not None
        and hi >= rollup_from
        and hi >= raw_from
        and not has_flows(conn, end, hi + unit)
    ):
        hi += unit
    out: list[Span] = []
    if (start is None or start < lo) and has_flows(conn, start, lo):
        out.append(Span(start, lo))
    out += _tile(lo, hi, family)
    if hi is not None and end is not None and hi < end and has_flows(conn, hi, end):
        out.append(Span(hi, end))
    return out


def _tile(lo: int, hi: int | None, levels: Family) -> list[Span]:
    """``[lo, hi)`` (whole buckets of the last level) in the longest buckets that fit."""
    r = levels[0]
    if len(levels) == 1:
        return [Span(lo, hi, r)]
    a = rollups.ceil(lo, r.seconds)
    b = None if hi is None else rollups.floor(hi, r.seconds)
    if b is not None and a >= b:
        return _tile(lo, hi, levels[1:])
    out = _tile(lo, a, levels[1:]) if lo < a else []
    out.append(Span(a, b, r))
    if b is not None and hi is not None and b < hi:
        out += _tile(b, hi, levels[1:])
    return out


@dataclass(frozen=True, slots=True)
class Piece:
    """A span with the query's condition on it: ``where`` (bounds and condition) or ``cond`` alone ("1": none)."""

    span: Span
    where: str
    params: list[Any]
    cond: str
    cond_params: list[Any]

    def __iter__(self) -> Iterator[Any]:  # (span, where, params), as the loops over pieces take them
        return iter((self.span, self.where, self.params))


def where(
    compiled: CompiledQuery, column: str, start: int | None, end: int | None, resolve: Resolver | None = None
) -> tuple[str, list[Any]]:
    """The WHERE clause of ``compiled`` in ``[start, end)`` of the time ``column`` ("0": nothing can match).

    With ``resolve``, lookups in interned tables become ids (or a constant) first.
    """
    conds, params = bounds(column, start, end)
    cond, more = compiled.render(resolve)
    if cond == "0":
        return "0", []
    out: list[Any] = list(params)
    if cond != "1":
        conds.append(cond)
        out.extend(more)
    return " AND ".join(conds) or "1", out


def sums(span: Span, names: tuple[str, str, str] | None = None) -> str:
    """flows, bytes and packets of a group (``names``: their aliases): counted in flows, added up in a rollup."""
    if span.rollup is None:
        exprs = ("count(*)", 'coalesce(sum(f."bytes"), 0)', 'coalesce(sum(f."packets"), 0)')
    else:
        exprs = ("sum(f.flows)", "sum(f.bytes)", "sum(f.packets)")
    if names is None:
        return ", ".join(exprs)
    return ", ".join(f"{e} AS {n}" for e, n in zip(exprs, names))


def bounds_sql(span: Span) -> tuple[list[str], list[int]]:
    """The conditions (on ``f."start"``) that keep a span's rows."""
    return bounds('f."start"', span.start, span.end)


def bounds(column: str, start: int | None, end: int | None) -> tuple[list[str], list[int]]:
    """``column >= start`` and ``column < end`` (each only when given), and their parameters."""
    conds: list[str] = []
    params: list[int] = []
    if start is not None:
        conds.append(f"{column} >= ?")
        params.append(start)
    if end is not None:
        conds.append(f"{column} < ?")
        params.append(end)
    return conds, params
