"""Per-minute rollups: summed at write time, pruned in steps, trusted where they are complete.

The tables are described in :mod:`flowtui.schema` (:data:`~flowtui.schema.ROLLUPS`).
The store calls :func:`add` inside the transaction that inserts the flows, with
the run of ids it just wrote: SQLite sums the new rows (still in its page
cache) and upserts one row per minute and key, so a failed transaction leaves
neither rows nor sums behind.

Two horizons, kept in the ``meta`` table, say where each side can be trusted:

* ``raw_from`` — every flow with ``start >= raw_from`` is still stored (retention
  deletes flows oldest second first, whole seconds at a time);
* ``rollup_from`` — every bucket from ``rollup_from`` on has complete sums
  (rollups are pruned whole buckets at a time, oldest first).

A query engine answers from the rollups for whole buckets at or after
``rollup_from`` and from the raw flows elsewhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from flowtui import schema

ALIGN = schema.ROLLUP_ALIGN
_UPSERTS = [(r, schema.rollup_upsert_sql(r)) for r in schema.ROLLUPS]
_CREATE_BATCH, _FILL_BATCH = schema.rollup_batch_sql()
_ONLY = {r.only for r in schema.ROLLUPS if r.only is not None}
assert len(_ONLY) <= 1, "the batch table keeps one filter's keys"


def add(conn: sqlite3.Connection, strings: Mapping[str, int], first_id: int, last_id: int) -> None:
    """Add the flows ``first_id``..``last_id`` to every rollup (inside the writing transaction)."""
    only_id = strings.get(next(iter(_ONLY))[1]) if _ONLY else None  # None: never stored, no flow has it
    conn.execute(_CREATE_BATCH)
    conn.execute(f"DELETE FROM {schema.BATCH_TABLE}")
    conn.execute(_FILL_BATCH, (first_id, last_id, -1 if only_id is None else only_id))
    for rollup, sql in _UPSERTS:
        if rollup.only is None:
            conn.execute(sql)
        elif only_id is not None:
            conn.execute(sql, (only_id,))


def prune(conn: sqlite3.Connection, cutoff: int | None, step_rows: int) -> int:
    """Delete about ``step_rows`` rows of the oldest whole buckets (those before ``cutoff``, when given).

    Buckets of every length go together, up to a multiple of the longest, so
    every rollup is complete from ``rollup_from`` on.
    """
    main = "rollup_pairs"  # per minute and pair of addresses: the biggest, its rows measure a step
    first = conn.execute(f'SELECT min("start") FROM {schema.ROLLUPS[0].table}').fetchone()[0]
    limit = None if cutoff is None else floor(cutoff, ALIGN)
    if first is None or (limit is not None and first >= limit):
        return 0
    row = conn.execute(f'SELECT "start" FROM {main} ORDER BY "start" LIMIT 1 OFFSET ?', (step_rows,)).fetchone()
    if row is not None:
        bound = int(row[0])
    else:
        bound = int(conn.execute(f'SELECT max("start") FROM {schema.ROLLUPS[0].table}').fetchone()[0]) + ALIGN
    if limit is not None:
        bound = min(bound, limit)
    bound = max(floor(bound, ALIGN), floor(first, ALIGN) + ALIGN)  # at least one bucket of each length
    deleted = 0
    for r in schema.ROLLUPS:
        deleted += conn.execute(f'DELETE FROM {r.table} WHERE "start" < ?', (bound,)).rowcount
    _raise(conn, "rollup_from", bound)
    return deleted


def set_raw_from(conn: sqlite3.Connection, bound: int) -> None:
    """Flows with start < ``bound`` may be gone from now on."""
    _raise(conn, "raw_from", bound)


def horizons(conn: sqlite3.Connection, rollup: schema.Rollup | None = None) -> tuple[int, int]:
    """(raw_from, rollup_from): where the raw flows and the rollups (``rollup`` in particular) are complete from."""
    keys = ("raw_from", "rollup_from", *(() if rollup is None else (_added_key(rollup),)))
    marks = ", ".join("?" * len(keys))
    got = dict(conn.execute(f"SELECT key, value FROM meta WHERE key IN ({marks})", keys).fetchall())
    rollup_from = int(got.get("rollup_from", 0))
    if rollup is not None:
        rollup_from = max(rollup_from, int(got.get(_added_key(rollup), 0)))
    return int(got.get("raw_from", 0)), rollup_from


def set_added_from(conn: sqlite3.Connection, rollup: schema.Rollup, bound: int) -> None:
    """``rollup`` came with an upgrade, after retention had deleted the flows before ``bound``: it is complete from there."""
    _raise(conn, _added_key(rollup), bound)


def _added_key(rollup: schema.Rollup) -> str:
    return f"rollup_from:{rollup.table}"


def _raise(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
        (key, value),
    )


def floor(t: int, unit: int) -> int:
    """The start of the bucket of length ``unit`` that holds ``t``."""
    return t - t % unit


def ceil(t: int, unit: int) -> int:
    """The first bucket start of length ``unit`` at or after ``t``."""
    return -(-t // unit) * unit
