"""The first page of a search for rare matches, found through the rollups.

Walking the time index from the newest flow costs one row per flow until a
page of matches is found: nothing when matches are common, the whole window
when they are rare. A rollup that holds every field of the query knows, per
minute, how many flows match and the stretch of flows ids they lie in, so
the page can be read from just those stretches, newest minute first, until
enough matches are in hand. The engine asks :func:`guided_page` first and
walks the index when it answers None (when the walk is the cheaper of the two).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flowtui import schema
from flowtui.query import plan

_WALK_COST = 3.0  # a flow reached through the time index costs this many read in id order
_MAX_MINUTES = 20_000  # rollup minutes looked at before giving the walk the job
_STRETCHES = 400  # id stretches read by one statement


def guided_page(
    conn: sqlite3.Connection,
    rollup: plan.Family | None,
    where: str,
    params: list[Any],
    start: int | None,
    end: int | None,
    limit: int,
    descending: bool,
) -> tuple[list[tuple[Any, ...]], list[str]] | None:
    """Rows (``SELECT f.*``) and their column names: the first ``limit`` matches by start; None to walk instead.

    ``where`` is the query's resolved condition (not "0"); must run inside the
    caller's read transaction.
    """
    pieces = plan.spans(conn, rollup, start, end)
    span = next((p for p in pieces if p.rollup is not None), None)
    if span is None:
        return None
    seconds = span.rollup.seconds  # type: ignore[union-attr]  # the bucket length (a minute, or five)
    raw = [p for p in pieces if p.rollup is None]
    newer = [p for p in raw if p.start is not None and span.start is not None and p.start >= span.start]
    older = [p for p in raw if p not in newer]
    first_raw, last_raw = (newer, older) if descending else (older, newer)
    direction = "DESC" if descending else "ASC"
    order = f'f."start" {direction}, f.id {direction}'
    cond = "" if where == "1" else f" AND ({where})"
    cond_params = [] if where == "1" else params

    # Minutes with matches, in page order, until they hold a page.
    bounds, bparams = plan.bounds_sql(span)
    sql = (
        f'SELECT f."start", f.flows, f.first_id, f.last_id FROM {span.source} '
        f'WHERE {" AND ".join(bounds) or "1"}{cond} ORDER BY f."start" {direction}'
    )
    minutes: list[tuple[int, int, list[tuple[int, int]]]] = []
    found = 0
    for minute, flows, first_id, last_id in conn.execute(sql, [*bparams, *cond_params]):
        if minutes and minutes[-1][0] == minute:
            minutes[-1][2].append((first_id, last_id))
            minutes[-1] = (minute, minutes[-1][1] + flows, minutes[-1][2])
        else:
            if found >= limit:
                break
            if len(minutes) >= _MAX_MINUTES:
                return None  # matches spread thin over a long window: the walk has its own plan for that
            minutes.append((minute, flows, [(first_id, last_id)]))
        found += flows
    if not minutes:
        return _read_raw(conn, first_raw + last_raw, cond, cond_params, order, limit)
    stretches = [(m, _merge(ids)) for m, _, ids in minutes]
    guided = sum(hi - lo + 1 for _, merged in stretches for lo, hi in merged)
    if found >= limit and not first_raw:
        # Walking instead would read every flow of these minutes up to the page's last match.
        lo_m = min(m for m, _, _ in minutes)
        hi_m = max(m for m, _, _ in minutes) + seconds
        total = conn.execute(
            f"SELECT coalesce(sum(flows), 0) FROM {schema.ROLLUPS[0].table} WHERE start >= ? AND start < ?",
            (lo_m, hi_m),
        ).fetchone()[0]
        walk = total * limit / max(found, 1)
        if walk * _WALK_COST <= guided:
            return None
    rows, columns = _read_raw(conn, first_raw, cond, cond_params, order, limit)
    if len(rows) < limit:
        # Every match of the chosen minutes, in one statement per few hundred stretches (the
        # condition's lookups are set up once per statement, not once per stretch).
        ranges = [(lo, hi, m, m + seconds) for m, merged in stretches for lo, hi in merged]
        for i in range(0, len(ranges), _STRETCHES):
            part = ranges[i : i + _STRETCHES]
            values = ", ".join("(?, ?, ?, ?)" for _ in part)
            # The condition first: it is what rules out nearly every flow of a stretch, from
            # columns near the front of the row; the time is far along it (half the cost).
            got = conn.execute(
                f"WITH r(lo, hi, m0, m1) AS (VALUES {values}) SELECT f.* FROM r JOIN flows f NOT INDEXED "
                f'ON f.id BETWEEN r.lo AND r.hi WHERE {where} AND f."start" >= r.m0 AND f."start" < r.m1',
                [*(v for r in part for v in r), *cond_params],
            )
            columns = columns or [d[0] for d in got.description]
            rows += got.fetchall()
    if len(rows) < limit:
        more, cols = _read_raw(conn, last_raw, cond, cond_params, order, limit - len(rows))
        rows += more
        columns = columns or cols
    if not columns:
        columns = [d[0] for d in conn.execute("SELECT f.* FROM flows f LIMIT 0").description]
    at_start, at_id = columns.index("start"), columns.index("id")
    rows.sort(key=lambda r: (r[at_start], r[at_id]), reverse=descending)
    return rows[:limit], columns


def _read_raw(
    conn: sqlite3.Connection, spans: list[plan.Span], cond: str, params: list[Any], order: str, limit: int
) -> tuple[list[tuple[Any, ...]], list[str]]:
    rows: list[tuple[Any, ...]] = []
    columns: list[str] = []
    for span in spans:
        if len(rows) >= limit:
            break
        bounds, bparams = plan.bounds_sql(span)
        cur = conn.execute(
            f"SELECT f.* FROM flows f WHERE {' AND '.join(bounds) or '1'}{cond} ORDER BY {order} LIMIT ?",
            [*bparams, *params, limit - len(rows)],
        )
        columns = [d[0] for d in cur.description]
        rows += cur.fetchall()
    return rows, columns


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping id stretches as one."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out

