"""The compiled form of a query: a small boolean tree rendered to SQL at run time.

Leaves that test a flows column against an interned table (``f.src_addr IN
(SELECT id FROM addrs WHERE …)``) stay symbolic until the query runs, so the
engine can look the ids up first: a lookup that finds nothing turns its branch
into a constant (a typo then answers at once instead of after scanning every
flow), and a short list becomes literal parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# (table, predicate, params, complement) -> the ids, or None to keep the subquery (too many).
# ``complement``: the predicate is :func:`complement` of a lookup's, asked for the few ids it misses.
Resolver = Callable[[str, str, tuple[Any, ...], bool], Sequence[int] | None]


@dataclass(frozen=True, slots=True)
class Cond:
    op: str  # "true", "false", "sql", "in", "and", "or", "not"
    sql: str = ""  # "sql": the expression; "in": the predicate on the interned table
    params: tuple[Any, ...] = ()
    items: tuple[Cond, ...] = ()
    column: str = ""  # "in": the flows expression holding ids
    table: str = ""  # "in": strings, addrs or origins
    raw: str = ""  # "in", on a rollup: the stored key column (0 for none), which its primary key can seek


TRUE = Cond("true")
FALSE = Cond("false")


def sql(text: str, params: tuple[Any, ...] = ()) -> Cond:
    return Cond("sql", text, params)


def lookup(column: str, table: str, pred: str, params: tuple[Any, ...] = ()) -> Cond:
    """``column IN (SELECT id FROM table WHERE pred)``."""
    return Cond("in", pred, params, column=column, table=table)


def and_(items: Sequence[Cond]) -> Cond:
    kept = [c for c in items if c.op != "true"]
    if any(c.op == "false" for c in kept):
        return FALSE
    if not kept:
        return TRUE
    return kept[0] if len(kept) == 1 else Cond("and", items=tuple(kept))


def or_(items: Sequence[Cond]) -> Cond:
    kept = [c for c in items if c.op != "false"]
    if any(c.op == "true" for c in kept):
        return TRUE
    if not kept:
        return FALSE
    return kept[0] if len(kept) == 1 else Cond("or", items=tuple(kept))


def not_(item: Cond) -> Cond:
    if item.op == "true":
        return FALSE
    if item.op == "false":
        return TRUE
    return Cond("not", items=(item,))


def render(cond: Cond, resolve: Resolver | None = None) -> tuple[str, tuple[Any, ...]]:
    """SQL and parameters; ``"1"``/``"0"`` when the condition is constant."""
    folded = _fold(cond, resolve) if resolve is not None else cond
    out: list[str] = []
    params: list[Any] = []
    _emit(folded, out, params)
    return "".join(out), tuple(params)


def _fold(cond: Cond, resolve: Resolver) -> Cond:
    """Replace lookups by their ids (or a constant) and simplify."""
    if cond.op == "in":
        ids = resolve(cond.table, cond.sql, cond.params, False)
        if ids is None:
            return _complement(cond, resolve)
        if not ids:
            return FALSE
        # Ids are never 0, so the stored column (0 for none) tests alike, and an index can use it.
        column = cond.raw or cond.column
        if len(ids) == 1:
            return Cond("sql", f"{column} = ?", (ids[0],))
        return Cond("sql", f"{column} IN ({', '.join('?' * len(ids))})", tuple(ids))
    return rebuild(cond, lambda c: _fold(c, resolve))


def rebuild(cond: Cond, each: Callable[[Cond], Cond]) -> Cond:
    """``cond`` with ``each`` applied to its branches (simplified again), or ``cond`` itself for a leaf."""
    if cond.op == "and":
        return and_([each(c) for c in cond.items])
    if cond.op == "or":
        return or_([each(c) for c in cond.items])
    if cond.op == "not":
        return not_(each(cond.items[0]))
    return cond


def complement(pred: str) -> str:
    """The predicate true exactly where ``pred`` is not (false or NULL)."""
    return f"NOT coalesce(({pred}), 0)"


def _complement(cond: Cond, resolve: Resolver) -> Cond:
    """A lookup finding many ids as the few it does not find (``internal = 0``: every address but the VPC's).

    A column holds ids of its table or nothing, so being none of the others is
    being one of these; testing a short literal list costs a fraction of
    probing a subquery's thousands of ids on every row.
    """
    others = resolve(cond.table, complement(cond.sql), cond.params, True)
    if others is None:
        return cond
    if not others:
        return Cond("sql", f"{cond.column} IS NOT NULL")
    return Cond("sql", f"({cond.column} IS NOT NULL AND {cond.column} NOT IN ({', '.join('?' * len(others))}))", tuple(others))


def _emit(cond: Cond, out: list[str], params: list[Any]) -> None:
    op = cond.op
    if op == "true":
        out.append("1")
    elif op == "false":
        out.append("0")
    elif op == "sql":
        out.append(cond.sql)
        params.extend(cond.params)
    elif op == "in":
        out.append(f"{cond.column} IN (SELECT id FROM {cond.table} WHERE {cond.sql})")
        params.extend(cond.params)
    elif op == "not":
        # NULL-safe: a record without the field is "not x" too, as in Lucene.
        out.append("NOT coalesce(")
        _emit(cond.items[0], out, params)
        out.append(", 0)")
    else:
        joiner = " AND " if op == "and" else " OR "
        out.append("(")
        for i, c in enumerate(cond.items):
            if i:
                out.append(joiner)
            _emit(c, out, params)
        out.append(")")
