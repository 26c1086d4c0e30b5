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

import heapq
import json
import sqlite3
import time
from collections.abc import Mapping
from operator import itemgetter
from typing import Any

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
    for table in (*(r.table for r in schema.ROLLUPS), schema.TOPS_TABLE, schema.SEALS_TABLE):
        deleted += conn.execute(f'DELETE FROM {table} WHERE "start" < ?', (bound,)).rowcount
    _raise(conn, "rollup_from", bound)
    return deleted


Seal = tuple[int, int, int]
_SEAL_COLS = ("count(*)", "coalesce(sum(flows), 0)", "coalesce(max(last_id), 0)")  # a bucket's seal, from its minutes
_SEAL = f'SELECT {", ".join(_SEAL_COLS)} FROM {schema.ROLLUPS[0].table} WHERE "start" >= ? AND "start" < ?'
TOPS_GRACE = 60  # a bucket is closed once flows this much newer than its end are stored
TOPS_LOOKBACK = 3600  # buckets this much older than the newest flow are left as they are
TOPS_CLOCK_SLACK = 120  # flows dated further past the writer's clock do not close buckets
TOPS_MIN_ROWS = 16_384  # rollup rows a bucket needs for its biggest to be kept (fewer are sorted in ~2 ms)
TOPS_MAX_SHARE = 0.5  # kept rows, at most, per row of the bucket (small groups are kept whole, once per metric)


def seal(conn: sqlite3.Connection, start: int, seconds: int) -> Seal:
    """What changes whenever a flow is added to the bucket ``[start, start + seconds)`` or it is pruned.

    Its minutes in the minutes rollup: how many, their flows, their last flow id.
    """
    return tuple(conn.execute(_SEAL, (start, start + seconds)).fetchone())  # type: ignore[return-value]


def stale_tops(conn: sqlite3.Connection, now: float | None = None) -> list[tuple[int, Seal, bool]]:
    """(bucket, seal, kept before) of the recent closed buckets whose biggest rows are not kept as they are now.

    Closed: flows at least :data:`TOPS_GRACE` seconds newer than the bucket's end are
    stored, "newest" going no further than :data:`TOPS_CLOCK_SLACK` past ``now`` (the
    writer's clock), so one flow dated ahead closes no bucket early. Flows arriving
    later still change it (its seal then differs, and readers sort the bucket again
    until the writer keeps it anew).
    """
    unit = schema.TOPS_OF.seconds
    newest = conn.execute(f'SELECT max("start") FROM {schema.ROLLUPS[0].table}').fetchone()[0]
    if newest is None:
        return []
    newest = min(int(newest), int(time.time() if now is None else now) + TOPS_CLOCK_SLACK)
    hi = floor(newest - TOPS_GRACE, unit)  # a bucket before it ends TOPS_GRACE or more before newest
    lo = floor(newest - TOPS_LOOKBACK, unit)
    sql = (
        f'SELECT m.b, m.n, m.f, m.l, s."start" IS NOT NULL FROM (SELECT "start" - "start" % {unit} AS b, '
        + ", ".join(f"{e} AS {a}" for e, a in zip(_SEAL_COLS, "nfl"))
        + f" FROM {schema.ROLLUPS[0].table} WHERE \"start\" >= ? AND \"start\" < ? GROUP BY b) m "
        f'LEFT JOIN {schema.SEALS_TABLE} s ON s."start" = m.b '
        # A small bucket's seal is kept with its flows as -1 - flows: as it was, and nothing kept (see keep_tops).
        "WHERE s.\"start\" IS NULL OR ((s.minutes, s.flows, s.last_id) <> (m.n, m.f, m.l) "
        "AND (s.minutes, -1 - s.flows, s.last_id) <> (m.n, m.f, m.l)) ORDER BY m.b"
    )
    return [(b, (n, f, last), bool(was)) for b, n, f, last, was in conn.execute(sql, (lo, hi))]


def keep_tops(
    conn: sqlite3.Connection,
    bucket: int,
    sealed: Seal,
    keep: int = schema.TOPS_KEEP,
    min_rows: int | None = None,
    max_share: float | None = None,
) -> None:
    """Keep the biggest rows of ``bucket`` (see :data:`schema.TOPS_TABLE`), as of ``sealed`` (inside the writing transaction).

    Grouped and ranked here rather than by SQLite's window functions: twice as fast
    (~0.2 s for 80,000 rows), and most groups are too small to need ranking.
    """
    r = schema.TOPS_OF
    cols = ", ".join(f'"{c}"' for c in r.dims)
    metrics = ", ".join(schema.TOPS_METRICS)
    rows = conn.execute(f'SELECT {cols}, {metrics} FROM {r.table} WHERE "start" = ?', (bucket,)).fetchall()
    conn.execute(f'DELETE FROM {schema.TOPS_TABLE} WHERE "start" = ?', (bucket,))
    if len(rows) < (TOPS_MIN_ROWS if min_rows is None else min_rows):  # read whole in a few ms: keeping its rows would cost more room than it saves time
        _keep_nothing(conn, bucket, sealed)
        return
    n = len(r.dims)
    assert [schema.STORAGE_BY_COLUMN.get(c) for c in r.dims[:2]] == ["address", "address"], "the pair leads the key"
    ids = sorted({row[0] for row in rows} | {row[1] for row in rows})
    profile = dict(conn.execute("SELECT id, profile FROM addrs WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)))
    of = profile.get
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        key = (of(row[0], 0), of(row[1], 0), *row[2:n])
        group = groups.get(key)
        if group is None:
            groups[key] = [row]
        else:
            group.append(row)
    out: list[tuple[Any, ...]] = []
    for m in range(len(schema.TOPS_METRICS)):
        for group in groups.values():
            ranked = group if len(group) <= keep else heapq.nlargest(keep + 1, group, key=itemgetter(n + m))
            out += [(bucket, m, 0, row[n + m], *row[:n]) for row in ranked[:keep]]
            if len(ranked) > keep:  # the biggest left out
                out.append((bucket, m, 1, ranked[keep][n + m], *ranked[keep][:n]))
    if len(out) > (TOPS_MAX_SHARE if max_share is None else max_share) * len(rows):  # mostly small groups: room, little time saved
        _keep_nothing(conn, bucket, sealed)
        return
    out.sort(key=lambda t: (t[1], t[2], -t[3], t[4:]))  # the table's key order: appended, not spread over its pages
    conn.executemany(f"INSERT INTO {schema.TOPS_TABLE} VALUES ({', '.join('?' * (n + 4))})", out)
    conn.execute(f"INSERT OR REPLACE INTO {schema.SEALS_TABLE} VALUES (?, ?, ?, ?)", (bucket, *sealed))


def _keep_nothing(conn: sqlite3.Connection, bucket: int, sealed: Seal) -> None:
    """Seal ``bucket`` as kept with no rows: readers sort it themselves, and :func:`stale_tops` leaves it alone."""
    minutes, flows, last_id = sealed  # a seal no reader matches, that stale_tops knows as this one
    conn.execute(f"INSERT OR REPLACE INTO {schema.SEALS_TABLE} VALUES (?, ?, ?, ?)", (bucket, minutes, -1 - flows, last_id))


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
