"""Searches, counts, top-N and histograms over a store, for the CLI and the dashboard.

Rows come back keyed by catalog names with their values decoded: interned
ids become text, an address brings the enrichment of its own ``addrs`` row
(the profile that held at the flow's time), derived fields are computed, and
booleans are Python bools. Every statement runs under a time limit enforced
through SQLite's progress handler, so a runaway query ends with a sentence
instead of a hung terminal, and inside one read transaction, so the ids looked
up first and the flows read after agree.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypedDict, Unpack

from flowtui import catalog, schema
from flowtui.config import DEFAULT_QUERY_TIMEOUT
from flowtui.errors import FlowtuiError, QueryError, UsageError
from flowtui.query import aggregate, functions, pages, plan
from flowtui.query.compiler import CompiledQuery, compile_query, unknown_field
from flowtui.query.conditions import Resolver, render
from flowtui.query.decode import END_SQL, Decoder, Row
from flowtui.query.window import TimeWindow
from flowtui.store import Store

Metric = Literal["bytes", "packets", "flows"]

# What a table shows when the query names nothing else; columns_for adds the rest.
DEFAULT_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "interface_id",
    "src_addr",
    "src_port",
    "dst_addr",
    "dst_port",
    "protocol",
    "action",
    "packets",
    "bytes",
)
ALL_FIELDS: tuple[str, ...] = tuple(f.name for f in catalog.FIELDS)
DEFAULT_TIMEOUT = DEFAULT_QUERY_TIMEOUT
_PROGRESS_STEPS = 20_000  # SQLite VM instructions between two looks at the clock
_LITERAL_IDS = 500  # a lookup finding at most this many ids binds them instead of a subquery
_LITERAL_BUDGET = 5_000  # … and at most this many for a whole query
_LOOKUPS_KEPT = 256  # lookups an engine remembers (a dashboard asks a few dozen)
_COMPLEMENT_ROWS = 100_000  # a lookup finding many ids may look for the few it misses in a table this big
_BATCH = 500  # rows fetched at a time while streaming
_PAGE = 1_000  # pages up to this size may fall back from the time-index walk to a table scan
_WALK_MIN, _WALK_MAX, _WALK_PER_ROW = 0.05, 0.3, 2.5e-8  # the walk's budget: seconds, and per stored flow


class Page(TypedDict, total=False):
    """What :meth:`QueryEngine.iter_search` takes after the query, window and fields (see it for the defaults)."""

    limit: int | None
    offset: int
    order: str
    with_id: bool


class FlowPage(Page, total=False):
    """A flow search's page also takes a snapshot's newest id and a stop event (CloudTrail's does not)."""

    upto_id: int | None
    stop: threading.Event | None


class _OverBudget(Exception):
    """The time-index walk ran past its budget (not an error: another plan follows)."""


class QueryTimeout(FlowtuiError):
    """A statement ran past the [query] timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"query took longer than {_seconds(seconds)}; narrow it down or raise [query] timeout"
        )
        self.seconds = seconds


class QueryCancelled(FlowtuiError):
    """The caller's stop event was set while the search ran (an export the user cancelled)."""

    def __init__(self) -> None:
        super().__init__("the search was cancelled")


def columns_for(query: str) -> list[str]:
    """The columns that matter for ``query``: the defaults plus every field it names.

    Named fields come right after the time, so a narrow table drops defaults first.
    """
    try:
        named = compile_query(query).fields
    except QueryError:
        named = ()
    extra = [n for n in named if n in catalog.BY_NAME and n not in DEFAULT_COLUMNS and n != "message"]
    return [DEFAULT_COLUMNS[0], *extra, *DEFAULT_COLUMNS[1:]]


def check_fields(names: Sequence[str]) -> list[str]:
    """Catalog names for --fields; an unknown one is a UsageError with a suggestion."""
    out = []
    for name in names:
        if name not in catalog.BY_NAME:
            raise UsageError(unknown_field(name))
        out.append(name)
    return out


class QueryEngine:
    """Queries over one store. Not shared between threads (neither is the store)."""

    def __init__(self, store: Store, timeout: float | None = DEFAULT_TIMEOUT, rollups: bool = True) -> None:
        self.store = store
        self.timeout = timeout  # None: no limit (an export, which the user can cancel instead)
        self.use_rollups = rollups  # False: every answer from the raw flows (tests compare the two)
        self.decoder = Decoder(store)
        self._shared = aggregate.SharedAddresses(store)
        self._tops = aggregate.BucketTops()  # a live pane's closed buckets, read once
        self._lookups: dict[tuple[str, str, tuple[Any, ...]], tuple[int, list[int]]] = {}  # see _lookup
        functions.register(store.conn, store)
        store.on_connect.append(self._reopened)

    def _reopened(self, conn: sqlite3.Connection) -> None:
        """The store was opened again (a writer changed it): what was read from the old file goes."""
        functions.register(conn, self.store)
        self._lookups.clear()
        self._shared = aggregate.SharedAddresses(self.store)
        self._tops = aggregate.BucketTops()

    # --- compiling ----------------------------------------------------------------------

    def compile(self, query: str) -> CompiledQuery:
        self.store.sync()
        present = [c for c in schema.RECORD_COLUMNS if self.store.has_column(c)]
        return compile_query(query, present)

    def _where(self, query: str, window: TimeWindow | None, now: float | None = None) -> tuple[str, list[Any]]:
        """The WHERE clause of ``query`` in ``window``; lookups in interned tables are done here."""
        return plan.where(self.compile(query), 'f."start"', *(window or TimeWindow()).bounds(now), self._resolver())

    def _spans_where(
        self, compiled: CompiledQuery, rollup: plan.Family | None, window: TimeWindow | None, now: float | None = None
    ) -> list[plan.Piece]:
        """Each piece of ``window`` to read, with its WHERE clause (lookups done once, for all pieces)."""
        resolver = self._resolver()
        rendered: dict[str, tuple[str, tuple[Any, ...]]] = {}  # per source, rendered when first read

        def where_on(r: schema.Rollup | None) -> tuple[str, tuple[Any, ...]]:
            key = "flows" if r is None else r.table
            if key not in rendered:
                rendered[key] = render(compiled.cond if r is None else plan.on_rollup(compiled.cond, r), resolver)
            return rendered[key]

        start, end = (window or TimeWindow()).bounds(now)
        out = []
        for span in plan.spans(self.store.conn, rollup if self.use_rollups else None, start, end):
            conds, params = plan.bounds_sql(span)
            w, m = where_on(span.rollup)
            if w == "0":
                continue
            if w != "1":
                conds.append(w)
            cond_params = list(m) if w != "1" else []
            out.append(plan.Piece(span, " AND ".join(conds) or "1", [*params, *cond_params], w, cond_params))
        return out

    def _totals(self, compiled: CompiledQuery, start: int | None, end: int | None) -> list[int] | None:
        """flows, bytes and packets matching in ``[start, end)`` when a small rollup knows them; None otherwise."""
        family = plan.rollup_for(compiled)
        if family is None or (family[0].dims and not family[0].by_profile):
            return None
        out = [0, 0, 0]
        for piece in self._spans_where(compiled, family, TimeWindow(start, end)):
            got = self.store.conn.execute(f"SELECT {plan.sums(piece.span)} FROM {piece.span.source} WHERE {piece.where}", piece.params)
            row = got.fetchone()
            out = [a + (b or 0) for a, b in zip(out, row)]
        return out

    def _resolver(self) -> Resolver:
        """Looks ids up in the small interned tables; a short list is bound as literals."""
        memo: dict[tuple[str, str, tuple[Any, ...]], list[int] | None] = {}
        budget = [_LITERAL_BUDGET]
        tops: dict[str, int] = {}  # each table's highest id, read once in this query

        def resolve(table: str, pred: str, params: tuple[Any, ...], complement: bool) -> list[int] | None:
            key = (table, pred, params)
            if key not in memo:
                if table not in tops:
                    tops[table] = _rows(self.store.conn, table)
                if complement and tops[table] > _COMPLEMENT_ROWS:
                    memo[key] = None  # finding the few ids a lookup misses would read the whole table
                    return None
                ids = self._lookup(key, tops[table])
                if not ids:
                    memo[key] = []
                elif len(ids) <= min(_LITERAL_IDS, budget[0]):
                    budget[0] -= len(ids)
                    memo[key] = ids
                else:
                    memo[key] = None  # many: the subquery stays
            return memo[key]

        return resolve

    def _lookup(self, key: tuple[str, str, tuple[Any, ...]], top: int) -> list[int]:
        """The first ids (up to one past the literal limit) a lookup finds, kept while its table gains no row.

        Interned rows never change once written, so a lookup's answer holds
        until the table grows; a dashboard asks the same few every refresh,
        and a lookup an index cannot answer reads the whole table.
        """
        hit = self._lookups.get(key)
        if hit is not None and hit[0] == top:
            return hit[1]
        table, pred, params = key
        sql = f"SELECT id FROM {table} WHERE {pred} LIMIT {_LITERAL_IDS + 1}"
        ids = [r[0] for r in self.store.conn.execute(sql, params)]
        if len(self._lookups) >= _LOOKUPS_KEPT:
            self._lookups.clear()
        self._lookups[key] = (top, ids)
        return ids

    # --- running: one read snapshot, under the time limit -----------------------------------------

    @contextmanager
    def _session(
        self, budget: float | None = None, stop: threading.Event | None = None
    ) -> Iterator[Callable[[], None]]:
        """A read transaction under the time limit; the yielded function restarts the clock.

        With ``budget`` (seconds), running past it raises _OverBudget instead:
        the caller has a cheaper plan for that case. Setting ``stop`` (from
        another thread) ends a running statement with QueryCancelled.
        """
        clock = time.monotonic
        limit = self.timeout if self.timeout is not None else math.inf
        deadline = [clock() + limit]
        budget_at = clock() + budget if budget is not None else None
        over = [False]

        def progress() -> int:
            if stop is not None and stop.is_set():
                return 1
            now = clock()
            if budget_at is not None and now > budget_at:
                over[0] = True
                return 1
            return 1 if now > deadline[0] else 0

        def restart() -> None:
            deadline[0] = clock() + limit

        with self.store.reading() as conn:  # opened again first if a writer changed a store read without locks
            conn.set_progress_handler(progress, _PROGRESS_STEPS)
            try:
                yield restart
            except sqlite3.OperationalError as exc:
                if "interrupt" not in str(exc):
                    raise
                if over[0]:
                    raise _OverBudget from None
                if stop is not None and stop.is_set():
                    raise QueryCancelled from None
                raise QueryTimeout(limit) from None
            finally:
                conn.set_progress_handler(None, 0)

    def _fetchall(self, query: str, window: TimeWindow | None, sql: str, extra: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` with ``{where}`` filled in for ``query`` and ``window``; ``extra`` params go first."""
        with self._session():
            where, params = self._where(query, window)
            return self.store.conn.execute(sql.format(where=where), [*extra, *params]).fetchall()

    # --- searching ------------------------------------------------------------------------

    def search(
        self, query: str, window: TimeWindow | None = None, fields: Sequence[str] | None = None, **page: Unpack[FlowPage]
    ) -> list[Row]:
        """Matching flows, as :meth:`iter_search` yields them, in one list."""
        return list(self.iter_search(query, window, fields, **page))

    def iter_search(
        self,
        query: str,
        window: TimeWindow | None = None,
        fields: Sequence[str] | None = None,
        limit: int | None = 100,
        offset: int = 0,
        order: str = "-timestamp",
        with_id: bool = False,
        upto_id: int | None = None,
        stop: threading.Event | None = None,
    ) -> Generator[Row, None, None]:
        """Matching flows, newest first by default; ``limit`` None or 0 means all.

        ``upto_id`` leaves out flows stored after the one with that id: the pages
        of a results snapshot (and its export) keep the rows it counted however
        many flows arrive in its window meanwhile. Setting ``stop`` from another
        thread ends the search with QueryCancelled.

        Streaming: the time limit applies to each wait for rows.
        """
        names = check_fields(list(fields) if fields is not None else list(ALL_FIELDS))
        order_sql = _order_sql(order)
        if limit and limit <= _PAGE and offset == 0 and order.lstrip("+-") in ("timestamp", "start"):
            yield from self._first_page(query, window, names, limit, order_sql, with_id, upto_id)
            return
        sql = f"SELECT f.* FROM flows f WHERE {{where}} ORDER BY {order_sql} LIMIT ? OFFSET ?"
        with self._session(stop=stop) as restart:
            where, params = _upto(*self._where(query, window), upto_id)
            cur = self.store.conn.execute(sql.format(where=where), [*params, limit if limit else -1, max(0, offset)])
            yield from stream(cur, restart, self.decoder.rows(names, [d[0] for d in cur.description], with_id), stop)

    def _first_page(
        self,
        query: str,
        window: TimeWindow | None,
        names: list[str],
        limit: int,
        order_sql: str,
        with_id: bool,
        upto_id: int | None = None,
    ) -> list[Row]:
        """A page of the newest (or oldest) matches.

        Walking the time index stops after ``limit`` matches, which is quick
        unless matches are rare; then reading the whole table once and sorting
        what matches costs about a third as much per flow. The walk gets a
        budget; past it, and when the window spans most of the store, the table
        is read instead.
        """
        if self.use_rollups:
            guided = self._guided_page(query, window, names, limit, "DESC" in order_sql, with_id, upto_id)
            if guided is not None:
                return guided
        budget = self._walk_budget(window)
        sql = "SELECT f.* FROM flows f {hint} WHERE {where} ORDER BY {order} LIMIT ?"
        for hint in ("", "NOT INDEXED"):
            try:
                with self._session(budget if not hint else None):
                    where, params = _upto(*self._where(query, window), upto_id)
                    cur = self.store.conn.execute(
                        sql.format(hint=hint, where=where, order=order_sql), [*params, limit]
                    )
                    rows = cur.fetchall()
                    decode = self.decoder.rows(names, [d[0] for d in cur.description], with_id)
                    return [decode(r) for r in rows]
            except _OverBudget:
                continue
        raise AssertionError("unreachable")  # pragma: no cover

    def _guided_page(
        self,
        query: str,
        window: TimeWindow | None,
        names: list[str],
        limit: int,
        descending: bool,
        with_id: bool,
        upto_id: int | None = None,
    ) -> list[Row] | None:
        """The page through the rollup's minutes (see :mod:`flowtui.query.pages`); None: walk the index.

        The rollups count every stored flow, so with ``upto_id`` the guide reads
        the first matches of all flows and those stored after the bound are
        dropped: what is left are the first matches of the bounded set. Where
        that leaves fewer than ``limit`` (flows arrived in the page's minutes),
        the guide reads twice as many, up to _PAGE rows, then leaves it to the walk.
        """
        compiled = self.compile(query)
        if compiled.match_all:
            return None  # every flow matches: the walk stops after ``limit`` rows
        rollup = plan.rollup_for(compiled, profiles=False)
        if rollup is None:
            return None
        with self._session():
            where, params = compiled.render(self._resolver())
            if where == "0":
                return []
            start, end = (window or TimeWindow()).bounds()
            want = limit
            while True:
                got = pages.guided_page(self.store.conn, plan.finest(rollup), where, list(params), start, end, want, descending)
                if got is None:
                    return None
                rows, columns = got
                if upto_id is not None:
                    at = columns.index("id")
                    kept = [r for r in rows if r[at] <= upto_id]
                    if len(kept) < limit and len(rows) == want:
                        if want >= _PAGE:
                            return None  # mostly newer flows here: the walk bounds the id as it reads
                        want = min(_PAGE, max(2 * want, want + limit - len(kept)))
                        continue
                    rows = kept[:limit]
                decode = self.decoder.rows(names, columns, with_id)
                return [decode(r) for r in rows]

    def _time_bounds(self) -> tuple[int, int] | None:
        """First and last start, from the ends of the time index (min and max in one SELECT scan it)."""
        with self.store.reading() as conn:
            row = conn.execute('SELECT (SELECT min("start") FROM flows), (SELECT max("start") FROM flows)').fetchone()
        return None if row[0] is None else (int(row[0]), int(row[1]))

    def _walk_budget(self, window: TimeWindow | None) -> float | None:
        """Seconds the time-index walk may take before a table scan is cheaper; None: no fallback."""
        bounds = self._time_bounds()
        if bounds is None:
            return None
        lo, hi = bounds[0], bounds[1] + 1
        start, end = (window or TimeWindow()).bounds()
        covered = min(hi, end if end is not None else hi) - max(lo, start if start is not None else lo)
        if covered < 0.5 * (hi - lo):
            return None
        with self.store.reading() as conn:
            rows = conn.execute("SELECT max(id) FROM flows").fetchone()[0] or 0
        return min(_WALK_MAX, max(_WALK_MIN, rows * _WALK_PER_ROW))

    def count(self, query: str, window: TimeWindow | None = None) -> int:
        compiled = self.compile(query)
        rollup = plan.rollup_for(compiled)
        total = 0
        with self._session():
            for span, where, params in self._spans_where(compiled, rollup, window):
                what = "count(*)" if span.rollup is None else "sum(f.flows)"
                got = self.store.conn.execute(f"SELECT {what} FROM {span.source} WHERE {where}", params).fetchone()
                total += int(got[0] or 0)
        return total

    def ids(self, query: str, window: TimeWindow | None = None) -> list[int]:
        """Row ids of every match, oldest first (tests and row keys)."""
        return [r[0] for r in self._fetchall(query, window, "SELECT f.id FROM flows f WHERE {where} ORDER BY f.id")]

    # --- aggregations -------------------------------------------------------------------

    def top(
        self,
        query: str,
        window: TimeWindow | None,
        by: Sequence[str],
        metric: Metric = "bytes",
        limit: int = 10,
    ) -> list[Row]:
        """The ``limit`` biggest groups by ``metric``, then one ``other`` row for the rest.

        Rows hold the group's values under the ``by`` names plus ``flows``,
        ``bytes``, ``packets`` and ``other`` (True only for the last row, which
        is left out when nothing remains). A ``by`` name that is also a metric's
        (``bytes``, ``packets``) holds the metric there: ``group`` maps every
        ``by`` name to the group's value, so no name can hide another. Grouping runs on the stored ids and
        is merged after decoding: one address has one row per enrichment profile.
        """
        if metric not in ("bytes", "packets", "flows"):
            raise UsageError(f"--metric {metric!r}: use bytes, packets or flows")
        if not by:
            raise UsageError("--by needs at least one field")
        check_fields(by)
        keys: list[str] = []
        getters = []
        for name in by:
            expr, get = self.decoder.value(name)
            if expr not in keys:
                keys.append(expr)
            getters.append((keys.index(expr), get))
        compiled = self.compile(query)
        family = plan.rollup_for(compiled, by)
        with self._session():
            pieces = self._spans_where(compiled, family, window)
            return aggregate.top(
                self.store.conn, self.store, pieces, by, keys, getters, metric, limit, self._shared,
                lambda lo, hi: self._totals(compiled, lo, hi), self._tops,
            )

    def histogram(
        self, query: str, window: TimeWindow | None = None, buckets: int = 60, now: float | None = None
    ) -> list[Row]:
        """Per-bucket ``flows``/``bytes``/``packets`` over the window, oldest first, for sparklines.

        An open side of the window is closed by the data (or by now, for a live window).
        """
        window = window or TimeWindow()
        t = time.time() if now is None else now
        start, end = window.bounds(t)
        if start is None or end is None:
            bounds = self._time_bounds()
            if bounds is None:
                return []
            if start is None:
                start = bounds[0]
            if end is None:
                end = int(t) + 1 if window.since is not None else bounds[1] + 1
        buckets = max(1, buckets)
        width = max(1, math.ceil((end - start) / buckets))
        compiled = self.compile(query)
        # A rollup minute must fall in one bucket: buckets that start on a minute and last whole minutes.
        rollup = plan.dividing(plan.rollup_for(compiled), start, width)
        counts: dict[int, list[int]] = {}
        with self._session():
            for span, where, params in self._spans_where(compiled, rollup, TimeWindow(start, end)):
                if span.rollup is None:
                    sql = f'SELECT (f."start" - ?) / ?, {plan.sums(span)} FROM flows f WHERE {where} GROUP BY 1'
                    rows = self.store.conn.execute(sql, [start, width, *params]).fetchall()
                else:  # per minute, in the rollup's own order (no sort), folded into buckets here
                    sql = f'SELECT f."start", {plan.sums(span)} FROM {span.source} WHERE {where} GROUP BY f."start"'
                    rows = [((m - start) // width, c, by, p) for m, c, by, p in self.store.conn.execute(sql, params)]
                for b, c, by, p in rows:
                    acc = counts.setdefault(b, [0, 0, 0])
                    acc[0] += c
                    acc[1] += by
                    acc[2] += p
        out = []
        for i in range(buckets):
            c, by, p = counts.get(i, (0, 0, 0))
            out.append({"start": start + i * width, "end": start + (i + 1) * width, "flows": c, "bytes": by, "packets": p})
        return out


def stream(
    cur: sqlite3.Cursor,
    restart: Callable[[], None],
    decode: Callable[[tuple[Any, ...]], Row],
    stop: threading.Event | None = None,
) -> Iterator[Row]:
    """The cursor's rows decoded, a batch at a time; the session's clock restarts for each batch.

    ``stop`` is looked at before each row too: a consumer that writes slowly
    (an export to a network folder) hears a cancel within one row.
    """
    while batch := cur.fetchmany(_BATCH):
        restart()
        for row in batch:
            if stop is not None and stop.is_set():
                raise QueryCancelled
            yield decode(row)


def _upto(where: str, params: list[Any], upto_id: int | None) -> tuple[str, list[Any]]:
    """``where`` that also leaves out flows stored after ``upto_id`` (None: no bound)."""
    if upto_id is None or where == "0":
        return where, params
    return f"({where}) AND f.id <= ?", [*params, upto_id]


def _rows(conn: sqlite3.Connection, table: str) -> int:
    """About how many rows an interned table holds (its ids only grow)."""
    return int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])


def _order_sql(order: str) -> str:
    desc = order.startswith("-")
    name = order.lstrip("+-")
    s = schema.STORAGE.get(name)
    if s is None:
        raise UsageError(f"cannot sort by {name!r}: " + unknown_field(name))
    direction = "DESC" if desc else "ASC"
    if s.kind == "end":
        expr = END_SQL
    elif s.kind in ("int", "protocol") and s.core:
        expr = f'f."{s.column}"'
    else:
        raise UsageError(f"cannot sort by {name}: sort by a number or time field (e.g. -timestamp, -bytes)")
    if expr == 'f."start"':
        return f'f."start" {direction}, f.id {direction}'
    # Rows with no value come last either way, as a reader of a sorted column expects (SQLite
    # puts NULL first in ascending order).
    return f'{expr} {direction} NULLS LAST, f."start" DESC, f.id DESC'


def _seconds(s: float) -> str:
    return f"{s:g} s"
