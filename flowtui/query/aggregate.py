"""Top-N groups: SQLite groups on stored ids and picks the top rows; Python decodes only those.

A group is keyed by the values the user sees, but SQLite holds ids: an address
has one ``addrs`` id per enrichment profile, so two ids can stand for the same
value. When every grouped column maps ids to values one to one — an address
column grouped by the address itself, strings, numbers — the only ids that
share a value are the profiles of one address, and those are few: they are
mapped to one id inside the SQL (``CASE``), SQLite sorts the groups and hands
back just the top rows and the totals. Otherwise (grouping by an attribute of
an address, such as its country) every group is fetched, decoded once per id,
and merged here.

Ties are broken by the decoded values, exactly as a full sort would: enough
rows are fetched to hold every group tied with the last one shown.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from flowtui import rollups, schema
from flowtui.query import plan
from flowtui.store import Store

Row = dict[str, Any]
Piece = plan.Piece
Totals = Callable[[int | None, int | None], list[int] | None]
METRIC_INDEX = {"flows": 0, "bytes": 1, "packets": 2}
_SLACK = 64  # rows fetched past the limit, for ties
_MAX_ALIASES = 300  # ids mapped inside the SQL; more, and groups are merged in Python
_CLOSE = 4  # a threshold top tries a second round when its bound is within this factor of the last row shown


class SharedAddresses:
    """Addresses with more than one ``addrs`` row (a new owner, a new threat list…), kept up to date cheaply."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen_max = -1
        self.ids: dict[str, list[int]] = {}  # ip -> its addrs ids, for ips with more than one

    def refresh(self) -> dict[str, list[int]]:
        conn = self.store.conn
        top = conn.execute("SELECT coalesce(max(id), 0) FROM addrs").fetchone()[0]
        if top == self.seen_max:
            return self.ids
        if self.seen_max < 0 or top - self.seen_max > 5_000:
            self.ids = {}
            for ip, aid in conn.execute(
                "SELECT ip, id FROM addrs WHERE ip IN (SELECT ip FROM addrs GROUP BY ip HAVING count(*) > 1) ORDER BY id"
            ):
                self.ids.setdefault(ip, []).append(aid)
        else:
            for aid, ip in conn.execute("SELECT id, ip FROM addrs WHERE id > ? ORDER BY id", (self.seen_max,)).fetchall():
                if ip in self.ids:
                    self.ids[ip].append(aid)
                    continue
                others = [r[0] for r in conn.execute("SELECT id FROM addrs WHERE ip = ? ORDER BY id", (ip,))]
                if len(others) > 1:
                    self.ids[ip] = others
        self.seen_max = top
        return self.ids


def top(
    conn: sqlite3.Connection,
    store: Store,
    pieces: Sequence[Piece],
    by: Sequence[str],
    keys: Sequence[str],
    getters: Sequence[tuple[int, Callable[[Any], Any]]],
    metric: str,
    limit: int,
    shared: SharedAddresses,
    totals: Totals | None,
    kept: BucketTops,
) -> list[Row]:
    """The ``limit`` biggest groups of ``by`` over ``pieces`` (see QueryEngine.top for the rows).

    ``totals(start, end)``: the query's sums over a span when a small rollup
    knows them (then the top can be found without grouping every key, see
    :func:`_threshold_top`), or None. ``kept``: buckets read by earlier calls.
    """
    if not pieces:
        return []
    index = METRIC_INDEX[metric]
    limit = max(0, limit)
    aliases = _aliases(store, by, keys, getters, shared)
    if totals is not None and limit and aliases is not None and not any(aliases):
        found = _threshold_top(conn, pieces, keys, index, limit, totals, kept)
        if found is not None:
            candidates, window_sums = found
            _preload(store, keys, [k for k, _ in candidates])
            items = [(tuple(get(k[i]) for i, get in getters), v) for k, v in candidates]
            first = _first(items, index, limit)
            return _rows(by, first, window_sums, window_sums[0] > sum(v[0] for _, v in first))
    union, params = _union(pieces, keys, aliases)
    n = len(keys)
    cols = ", ".join(f"k{i}" for i in range(n))
    grouped = f"SELECT {cols}, sum(c) AS c, sum(b) AS b, sum(p) AS p FROM ({union}) GROUP BY {cols}"
    if aliases is None:
        fetched = conn.execute(grouped, params).fetchall()
        _preload(store, keys, [r[:n] for r in fetched])
        groups: dict[tuple[Any, ...], list[int]] = {}
        memo: list[dict[Any, Any]] = [{} for _ in getters]
        for got in fetched:
            value = tuple(_memo_get(memo[j], get, got[i]) for j, (i, get) in enumerate(getters))
            acc = groups.get(value)
            if acc is None:
                groups[value] = [got[n], got[n + 1], got[n + 2]]
            else:
                acc[0] += got[n]
                acc[1] += got[n + 1]
                acc[2] += got[n + 2]
        items = list(groups.items())
        sums = [sum(v[0] for _, v in items), sum(v[1] for _, v in items), sum(v[2] for _, v in items)]
        return _rows(by, _first(items, index, limit), sums, len(items) > limit)
    order = ("c", "b", "p")[index]
    if all(p.span.rollup is not None for p in pieces):
        # Rollup rows: the top rows alone (a window over every group sorts them all), the
        # window's totals from a small rollup or summed without grouping when more were left.
        sql = f"SELECT {cols}, c, b, p FROM ({grouped}) ORDER BY {order} DESC, c DESC LIMIT ?"
        fetched = conn.execute(sql, [*params, limit + _SLACK + 1]).fetchall()
        if not fetched:
            return []
        complete = len(fetched) <= limit + _SLACK
        fetched = fetched[: limit + _SLACK]
        count = len(fetched) if complete else len(fetched) + 1  # past the limit, all that matters is "more"
        sums = [sum(r[n + i] for r in fetched) for i in range(3)] if complete else _totals(conn, pieces, union, params, totals)
    else:  # flows: one pass over them, the totals alongside
        sql = (
            f"SELECT {cols}, c, b, p, count(*) OVER (), sum(c) OVER (), sum(b) OVER (), sum(p) OVER () "
            f"FROM ({grouped}) ORDER BY {order} DESC, c DESC LIMIT ?"
        )
        fetched = conn.execute(sql, [*params, limit + _SLACK]).fetchall()
        if not fetched:
            return []
        count, sums = int(fetched[0][n + 3]), [int(v) for v in fetched[0][n + 4 : n + 7]]
        fetched = [r[: n + 3] for r in fetched]
        complete = len(fetched) >= count
    last = fetched[min(limit, len(fetched)) - 1] if limit else None
    if last is not None and not complete and (fetched[-1][n + index], fetched[-1][n]) == (
        last[n + index],
        last[n],
    ):
        # The fetched rows end inside a run of ties with the last row shown: take them all.
        sql = f"SELECT {cols}, c, b, p FROM ({grouped}) WHERE {order} = ? AND c = ?"
        tied = conn.execute(sql, [*params, last[n + index], last[n]]).fetchall()
        fetched = [r for r in fetched if (r[n + index], r[n]) != (last[n + index], last[n])] + [
            tuple(r) for r in tied
        ]
    _preload(store, keys, [r[:n] for r in fetched])
    items = [(tuple(get(r[i]) for i, get in getters), [r[n], r[n + 1], r[n + 2]]) for r in fetched]
    return _rows(by, _first(items, index, limit), sums, count > limit)


def _totals(
    conn: sqlite3.Connection, pieces: Sequence[Piece], union: str, params: list[Any], totals: Totals | None
) -> list[int]:
    """flows, bytes and packets of the whole union (rollup pieces): from a small rollup when it knows them."""
    got = totals(pieces[0].span.start, pieces[-1].span.end) if totals is not None else None
    if got is None:
        row = conn.execute(f"SELECT sum(c), sum(b), sum(p) FROM ({union})", params).fetchone()
        got = [int(v or 0) for v in row]
    return got


def _threshold_top(
    conn: sqlite3.Connection,
    pieces: Sequence[Piece],
    keys: Sequence[str],
    index: int,
    limit: int,
    totals: Totals,
    kept: BucketTops,
) -> tuple[list[tuple[tuple[Any, ...], list[int]]], list[int]] | None:
    """Candidates holding the top ``limit`` groups, with exact sums, and the window's totals; None: group everything.

    The pieces are rollups: each bucket's ``k`` biggest groups are read (a
    bucket's rows come in key order, so SQLite groups them without sorting),
    their exact sums over the window looked up by key, and a group seen in no
    bucket's top ``k`` is at most the sum of each bucket's k-th value. When the
    candidates' ``limit``-th is above that bound, they hold the answer;
    otherwise ``k`` grows. Traffic is skewed (a few pairs carry most bytes, a
    few scanners most rejects), so a few dozen rows per bucket settle it,
    instead of sorting every key of the window. The "other" row needs the
    window's totals, which a small rollup (per minute, per profile) gives.

    A small rollup knows the totals only of a query that depends on nothing but
    its keys (enrichment profiles, protocol, action), which is what lets a
    closed bucket's biggest rows come from the writer's table of them
    (:data:`schema.TOPS_TABLE`) instead of a sort of the whole bucket.
    """
    rollup = pieces[0].span.rollup if pieces else None
    if rollup is None or any(p.span.rollup is None or p.span.rollup.family != rollup.family for p in pieces):
        return None
    columns = [k.removeprefix('f."').removesuffix('"') for k in keys]
    if any(f'f."{c}"' != k or c not in rollup.dims for c, k in zip(columns, keys)):
        return None
    window_totals = totals(pieces[0].span.start, pieces[-1].span.end)
    if window_totals is None:
        return None
    minutes = schema.ROLLUPS[0].table
    buckets: list[tuple[Piece, int]] = []
    per_piece: list[tuple[Piece, list[int]]] = []
    for piece in pieces:
        seconds = seconds_of(piece)
        conds, params = plan.bounds_sql(piece.span)
        where = " AND ".join(c.replace('f."start"', '"start"') for c in conds) or "1"
        starts = sorted({m - m % seconds for (m,) in conn.execute(f'SELECT "start" FROM {minutes} WHERE {where}', params)})
        buckets += [(piece, b) for b in starts]
        per_piece.append((piece, starts))
    if len(buckets) > 64:
        return None
    seals = {(seconds_of(p), b): rollups.seal(conn, b, seconds_of(p)) for p, b in buckets}
    metric = ("flows", "bytes", "packets")[index]
    raw = ", ".join(f'f."_{c}"' for c in columns)
    rows_per_group = _rows_per_group(conn, rollup, columns, per_piece)
    k = limit + 16 if rows_per_group is None else 4 * (limit + 16)  # a group's rows may share the top few: take more
    kept_tops = _kept_tops(conn, buckets, seals) if rows_per_group is not None and metric in schema.TOPS_METRICS else set()
    for round_ in range(2):  # each round reads every row of the buckets: a second one only when nearly settled
        seen: dict[tuple[Any, ...], int] = {}  # what the rows read add up to: at most each candidate's sum
        bound = 0
        for piece, b in buckets:
            cond = "" if piece.cond == "1" else f" AND {piece.cond}"
            from_tops = round_ == 0 and piece.span.rollup is schema.TOPS_OF and b in kept_tops
            if rows_per_group is None:
                sql = (f'SELECT {raw}, sum(f.{metric}) FROM {piece.span.source} WHERE f."start" = ?{cond} '
                       f"GROUP BY {raw} ORDER BY {len(columns) + 1} DESC LIMIT ?")  # fmt: skip
            elif from_tops:  # the writer's biggest rows (edge 0), and the biggest it left out (edge 1): in key order
                one = f'SELECT {raw}, f.value, f.edge FROM {schema.TOPS_VIEW} f WHERE f."start" = ? AND f.metric = ? AND f.edge = ?{cond} ORDER BY f.value DESC LIMIT ?'
                sql = f"SELECT * FROM ({one}) UNION ALL SELECT * FROM ({one})"
            else:  # the biggest rows, not groups: no grouping, and a group has at most `most` of them
                sql = f'SELECT {raw}, f.{metric} FROM {piece.span.source} WHERE f."start" = ?{cond} ORDER BY {len(columns) + 1} DESC LIMIT ?'
            if from_tops:
                m = schema.TOPS_METRICS.index(metric)
                params = [b, m, 0, *piece.cond_params, k, b, m, 1, *piece.cond_params, 1]
            else:
                params = [b, *piece.cond_params, k]
            rows = kept.rows(conn, sql, params, seals[seconds_of(piece), b])
            left_out = 0  # no row of the bucket that was not read is bigger than this
            if from_tops:
                left_out = max((r[-2] for r in rows if r[-1]), default=0)
                rows = [r[:-1] for r in rows if not r[-1]]
            for row in rows:
                key = tuple(row[:-1])
                seen[key] = seen.get(key, 0) + row[-1]
            if len(rows) == k:
                left_out = max(left_out, rows[-1][-1])
            if left_out:
                most = 1 if rows_per_group is None else rows_per_group.get(b, 1 << 40)
                bound += most * left_out
        lows = sorted(seen.values(), reverse=True)
        if bound and len(lows) >= limit and lows[limit - 1] * _CLOSE < bound:
            return None  # far from settled (many groups of like size): grouping everything is cheaper
        sums: dict[tuple[Any, ...], list[int]] = {}
        if seen:
            cand = list(seen)
            values = ", ".join("(" + ", ".join("?" * len(columns)) + ")" for _ in cand)
            names = ", ".join(f"k{i}" for i in range(len(columns)))
            join = " AND ".join(f'f."_{c}" = cand.k{i}' for i, c in enumerate(columns))
            flat = [v for key in cand for v in key]
            for piece, starts in per_piece:
                if not starts:
                    continue
                cond = "" if piece.cond == "1" else f" WHERE {piece.cond}"
                sql = (
                    f"WITH cand({names}) AS (VALUES {values}) SELECT {names}, {plan.sums(piece.span)} "
                    f'FROM cand JOIN {piece.span.source} ON f."start" IN ({", ".join("?" * len(starts))}) AND {join}'
                    f"{cond} GROUP BY {names}"
                )
                for row in conn.execute(sql, [*flat, *starts, *piece.cond_params]):
                    acc = sums.setdefault(tuple(row[: len(columns)]), [0, 0, 0])
                    acc[0] += row[-3]
                    acc[1] += row[-2]
                    acc[2] += row[-1]
        ranked = sorted(sums.values(), key=lambda v: -v[index])
        shown = ranked[limit - 1][index] if len(ranked) >= limit else 0
        if bound == 0 or shown > bound:
            nulls = [schema.rollup_null(c) for c in columns]
            out = [(tuple(None if v == n else v for v, n in zip(key, nulls)), v) for key, v in sums.items()]
            return out, window_totals
        if shown * _CLOSE < bound:
            return None  # far from settled (many groups of like size): grouping everything is cheaper
        k *= 16
    return None


def seconds_of(piece: Piece) -> int:
    return piece.span.rollup.seconds  # type: ignore[union-attr]


def _kept_tops(conn: sqlite3.Connection, buckets: Sequence[tuple[Piece, int]], seals: dict[tuple[int, int], rollups.Seal]) -> set[int]:
    """The buckets whose biggest rows the writer kept and that are still as they were then."""
    unit = schema.TOPS_OF.seconds
    starts = [b for p, b in buckets if p.span.rollup is schema.TOPS_OF]
    if not starts:
        return set()
    marks = ", ".join("?" * len(starts))
    sql = f'SELECT "start", minutes, flows, last_id FROM {schema.SEALS_TABLE} WHERE "start" IN ({marks})'
    return {b for b, *sealed in conn.execute(sql, starts) if tuple(sealed) == seals.get((unit, b))}


class BucketTops:
    """The biggest rows of rollup buckets already read, kept while their minutes gain no flow.

    A live pane asks for the same few buckets on every refresh, and only the
    newest changes; the others are read once. A bucket's minutes in the
    minutes rollup (how many, their flows, their last flow id) change
    whenever a flow is added to it or the bucket is pruned, so an answer is
    used again only for a bucket that is as it was.
    """

    KEPT = 512  # answers kept (a dashboard needs a few dozen)

    def __init__(self) -> None:
        self.kept: dict[tuple[str, tuple[Any, ...]], tuple[tuple[Any, ...], list[Any]]] = {}

    def rows(self, conn: sqlite3.Connection, sql: str, params: list[Any], seal: rollups.Seal) -> list[Any]:
        """``sql``'s rows, read again only when the bucket they come from has changed (``seal``: :func:`rollups.seal`)."""
        key = (sql, tuple(params))
        hit = self.kept.get(key)
        if hit is not None and hit[0] == seal:
            return hit[1]
        rows = conn.execute(sql, params).fetchall()
        if len(self.kept) >= self.KEPT:
            self.kept.clear()
        self.kept[key] = (seal, rows)
        return rows



def _rows_per_group(
    conn: sqlite3.Connection, rollup: schema.Rollup, columns: Sequence[str], per_piece: Sequence[tuple[Piece, list[int]]]
) -> dict[int, int] | None:
    """Per bucket, how many rows one group can have, when the keys not grouped by are protocol and action; None otherwise.

    A group's rows differ only in the keys not grouped by; the per-profile rollup (a
    few hundred rows a minute) tells which of those a bucket holds. A group none of
    whose rows is among a bucket's ``k`` biggest then sums to at most that many
    times the ``k``-th: finding a bucket's biggest rows needs no grouping, a third
    of the cost of finding its biggest groups.
    """
    rest = [c for c in rollup.dims if c not in columns]
    if not rest:
        return {b: 1 for _, starts in per_piece for b in starts}
    if not set(rest) <= _PROFILE_KEYS:
        return None
    names = ", ".join(f'"{c}"' for c in rest)
    out: dict[int, int] = {}
    for piece, starts in per_piece:
        if not starts:
            continue
        seconds = seconds_of(piece)
        sql = (
            f'SELECT b, count(*) FROM (SELECT DISTINCT "start" - "start" % {seconds} AS b, {names} '
            f'FROM {_PROFILES} WHERE "start" >= ? AND "start" < ?) GROUP BY b'
        )
        out.update(conn.execute(sql, (starts[0], starts[-1] + seconds)).fetchall())
    return out


_PROFILES = next(r.table for r in schema.ROLLUPS if r.by_profile)
_PROFILE_KEYS = {c for r in schema.ROLLUPS if r.by_profile for c in r.dims if schema.STORAGE_BY_COLUMN.get(c) != "address"}


def _aliases(
    store: Store,
    by: Sequence[str],
    keys: Sequence[str],
    getters: Sequence[tuple[int, Callable[[Any], Any]]],
    shared: SharedAddresses,
) -> list[dict[int, int]] | None:
    """Per key, the ids to group under another id of the same value; None when ids and values are not one to one."""
    names: list[list[str]] = [[] for _ in keys]
    for name, (i, _) in zip(by, getters):
        names[i].append(name)
    out: list[dict[int, int]] = []
    shared_ids: dict[str, list[int]] | None = None
    total = 0
    for i, key_names in enumerate(names):
        kinds = {schema.STORAGE[n].kind for n in key_names}
        if kinds <= {"int", "string", "protocol", "end"}:
            out.append({})
            continue
        if "address" not in kinds or not kinds <= {"address", "enrich"}:
            return None  # an attribute without its address, or the envelope: many ids, one value
        if shared_ids is None:
            shared_ids = shared.refresh()
        column_getters = [get for j, (k, get) in enumerate(getters) if k == i]
        mapping: dict[int, int] = {}
        store.load_addresses(a for ids in shared_ids.values() for a in ids)
        for ids in shared_ids.values():
            first: dict[tuple[Any, ...], int] = {}
            for aid in ids:
                value = tuple(get(aid) for get in column_getters)
                canon = first.setdefault(value, aid)
                if canon != aid:
                    mapping[aid] = canon
        total += len(mapping)
        if total > _MAX_ALIASES:
            return None
        out.append(mapping)
    return out


def _union(pieces: Sequence[Piece], keys: Sequence[str], aliases: list[dict[int, int]] | None) -> tuple[str, list[Any]]:
    """One SELECT per piece, the keys (mapped) as k0…, the sums as c, b, p."""
    selects: list[str] = []
    params: list[Any] = []
    for span, where, piece_params in pieces:
        exprs: list[str] = []
        for i, key in enumerate(keys):
            mapping = aliases[i] if aliases is not None else {}
            if mapping:
                exprs.append(f"CASE {key} {' '.join('WHEN ? THEN ?' for _ in mapping)} ELSE {key} END AS k{i}")
                for a, canon in mapping.items():
                    params += [a, canon]
            else:
                exprs.append(f"{key} AS k{i}")
        if span.rollup is None:
            sums = plan.sums(span, ("c", "b", "p"))
            group = ", ".join(f"k{i}" for i in range(len(keys)))
            selects.append(f"SELECT {', '.join(exprs)}, {sums} FROM flows f WHERE {where} GROUP BY {group}")
        else:
            selects.append(f"SELECT {', '.join(exprs)}, f.flows AS c, f.bytes AS b, f.packets AS p FROM {span.source} WHERE {where}")
        params += piece_params
    return " UNION ALL ".join(selects), params


def _preload(store: Store, keys: Sequence[str], key_rows: list[tuple[Any, ...]]) -> None:
    """Read the addresses the rows name in a few statements, before decoding them one by one."""
    for i, key in enumerate(keys):
        column = key.removeprefix('f."').removesuffix('"')
        if schema.STORAGE_BY_COLUMN.get(column) == "address":
            store.load_addresses(r[i] for r in key_rows)


def _memo_get(memo: dict[Any, Any], get: Callable[[Any], Any], v: Any) -> Any:
    try:
        return memo[v]
    except KeyError:
        out = memo[v] = get(v)
        return out


def _first(items: list[tuple[tuple[Any, ...], list[int]]], index: int, limit: int) -> list[tuple[tuple[Any, ...], list[int]]]:
    """The first ``limit`` of ``items`` by metric, then flows, then the values (as a full sort would order them)."""
    if limit and len(items) > 4 * limit:
        cut = heapq.nlargest(limit, items, key=lambda kv: (kv[1][index], kv[1][0]))
        edge = (cut[-1][1][index], cut[-1][1][0])
        items = [kv for kv in items if (kv[1][index], kv[1][0]) >= edge]
    return sorted(items, key=lambda kv: (-kv[1][index], -kv[1][0], sort_key(kv[0])))[:limit]


def _rows(by: Sequence[str], first: list[tuple[tuple[Any, ...], list[int]]], totals: list[int], more: bool) -> list[Row]:
    out: list[Row] = []
    for value, (flows, bytes_, packets) in first:
        row = dict(zip(by, value))
        row.update(flows=flows, bytes=bytes_, packets=packets, other=False, group=dict(zip(by, value)))
        out.append(row)
    if more:
        row = dict.fromkeys(by)
        row.update(
            group=dict.fromkeys(by),
            flows=totals[0] - sum(v[0] for _, v in first),
            bytes=totals[1] - sum(v[1] for _, v in first),
            packets=totals[2] - sum(v[2] for _, v in first),
            other=True,
        )
        out.append(row)
    return out


def sort_key(value: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, str(v)) for v in value)
