"""Searches, counts, top-N and histograms over a store, for the CLI and the dashboard.

Rows come back keyed by catalog names with their values decoded: interned
ids become text, an address brings the enrichment of its own ``addrs`` row
(the profile that held at the flow's time), derived fields are computed, and
booleans are Python bools. Every statement runs under a time limit enforced
through SQLite's progress handler, so a runaway query ends with a sentence
instead of a hung terminal.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from flowtui import catalog, protocols, schema
from flowtui.errors import FlowtuiError, QueryError, UsageError
from flowtui.formats import flow_message
from flowtui.query import functions
from flowtui.query.compiler import CompiledQuery, compile_query, unknown_field
from flowtui.query.window import TimeWindow
from flowtui.store import Store

Metric = Literal["bytes", "packets", "flows"]
Row = dict[str, Any]

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
DEFAULT_TIMEOUT = 10.0
_PROGRESS_STEPS = 20_000  # SQLite VM instructions between two looks at the clock
_ATTR_INDEX = {a: i for i, a in enumerate(schema.ADDR_ATTRS)}
_ORIGIN_INDEX = {a: i for i, a in enumerate(schema.ORIGIN_ATTRS)}
_MESSAGE_ARGS = ("interface_id", "action", "protocol_number", "src_addr", "src_port", "dst_addr", "dst_port", "log_status")


class QueryTimeout(FlowtuiError):
    """A statement ran past the [query] timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"query took longer than {_seconds(seconds)}; narrow it down or raise [query] timeout"
        )
        self.seconds = seconds


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

    def __init__(self, store: Store, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.store = store
        self.timeout = timeout
        functions.register(store.conn, store)

    # --- compiling ----------------------------------------------------------------------

    def compile(self, query: str) -> CompiledQuery:
        self.store.sync()
        present = [c for c in schema.RECORD_COLUMNS if self.store.has_column(c)]
        return compile_query(query, present)

    def _where(self, query: str, window: TimeWindow | None, now: float | None = None) -> tuple[str, list[Any]]:
        compiled = self.compile(query)
        conds: list[str] = []
        params: list[Any] = []
        start, end = (window or TimeWindow()).bounds(now)
        if start is not None:
            conds.append('f."start" >= ?')
            params.append(start)
        if end is not None:
            conds.append('f."start" < ?')
            params.append(end)
        if not compiled.match_all:
            conds.append(compiled.where)
            params.extend(compiled.params)
        return (" AND ".join(conds) if conds else "1"), params

    # --- running, under the time limit ---------------------------------------------------------

    @contextmanager
    def _limited(self) -> Iterator[Callable[[], None]]:
        """Install the time limit; the yielded function restarts the clock (rows are arriving)."""
        deadline = [time.monotonic() + self.timeout]

        def expired() -> int:
            return 1 if time.monotonic() > deadline[0] else 0

        def restart() -> None:
            deadline[0] = time.monotonic() + self.timeout

        conn = self.store.conn
        conn.set_progress_handler(expired, _PROGRESS_STEPS)
        try:
            yield restart
        except sqlite3.OperationalError as exc:
            if "interrupt" in str(exc):
                raise QueryTimeout(self.timeout) from None
            raise
        finally:
            conn.set_progress_handler(None, 0)

    def _fetchall(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._limited():
            return self.store.conn.execute(sql, params).fetchall()

    # --- searching ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        window: TimeWindow | None = None,
        fields: Sequence[str] | None = None,
        limit: int | None = 100,
        offset: int = 0,
        order: str = "-timestamp",
        with_id: bool = False,
    ) -> list[Row]:
        """Matching flows, newest first by default; ``limit`` None or 0 means all."""
        return list(self.iter_search(query, window, fields, limit, offset, order, with_id))

    def iter_search(
        self,
        query: str,
        window: TimeWindow | None = None,
        fields: Sequence[str] | None = None,
        limit: int | None = 100,
        offset: int = 0,
        order: str = "-timestamp",
        with_id: bool = False,
    ) -> Iterator[Row]:
        """Like :meth:`search`, streaming: the time limit applies to each wait for rows."""
        where, params = self._where(query, window)
        names = list(fields) if fields is not None else list(ALL_FIELDS)
        check_fields(names)
        sql = f"SELECT f.* FROM flows f WHERE {where} ORDER BY {_order_sql(order)} LIMIT ? OFFSET ?"
        params += [limit if limit else -1, max(0, offset)]
        with self._limited() as restart:
            cur = self.store.conn.execute(sql, params)
            decode = self._decoder(names, [d[0] for d in cur.description], with_id)
            while True:
                batch = cur.fetchmany(500)
                if not batch:
                    return
                restart()
                for row in batch:
                    yield decode(row)

    def count(self, query: str, window: TimeWindow | None = None) -> int:
        where, params = self._where(query, window)
        return int(self._fetchall(f"SELECT count(*) FROM flows f WHERE {where}", params)[0][0])

    def ids(self, query: str, window: TimeWindow | None = None) -> list[int]:
        """Row ids of every match, oldest first (tests and row keys)."""
        where, params = self._where(query, window)
        return [r[0] for r in self._fetchall(f"SELECT f.id FROM flows f WHERE {where} ORDER BY f.id", params)]

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
        is left out when nothing remains). Grouping runs on the stored ids and
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
            expr, get = self.group_key(name)
            if expr not in keys:
                keys.append(expr)
            getters.append((keys.index(expr), get))
        where, params = self._where(query, window)
        key_sql = ", ".join(keys)
        sql = (
            f"SELECT {key_sql}, count(*), coalesce(sum(f.\"bytes\"), 0), coalesce(sum(f.\"packets\"), 0) "
            f"FROM flows f WHERE {where} GROUP BY {key_sql}"
        )
        groups: dict[tuple[Any, ...], list[int]] = {}
        n = len(keys)
        for got in self._fetchall(sql, params):
            value = tuple(get(got[i]) for i, get in getters)
            acc = groups.get(value)
            if acc is None:
                groups[value] = [got[n], got[n + 1], got[n + 2]]
            else:
                acc[0] += got[n]
                acc[1] += got[n + 1]
                acc[2] += got[n + 2]
        index = {"flows": 0, "bytes": 1, "packets": 2}[metric]
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1][index], -kv[1][0], _sort_key(kv[0])))
        out: list[Row] = []
        for value, (flows, bytes_, packets) in ordered[: max(0, limit)]:
            row = dict(zip(by, value))
            row.update(flows=flows, bytes=bytes_, packets=packets, other=False)
            out.append(row)
        rest = ordered[max(0, limit) :]
        if rest:
            row = dict.fromkeys(by)
            row.update(
                flows=sum(v[0] for _, v in rest),
                bytes=sum(v[1] for _, v in rest),
                packets=sum(v[2] for _, v in rest),
                other=True,
            )
            out.append(row)
        return out

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
            bounds = self.store.time_bounds()
            if bounds is None:
                return []
            if start is None:
                start = bounds[0]
            if end is None:
                end = int(t) + 1 if window.since is not None else bounds[1] + 1
        buckets = max(1, buckets)
        width = max(1, math.ceil((end - start) / buckets))
        where, params = self._where(query, TimeWindow(start, end))
        sql = (
            f"SELECT (f.\"start\" - ?) / ?, count(*), coalesce(sum(f.\"bytes\"), 0), coalesce(sum(f.\"packets\"), 0) "
            f"FROM flows f WHERE {where} GROUP BY 1"
        )
        counts = {b: (c, by, p) for b, c, by, p in self._fetchall(sql, [start, width, *params])}
        out = []
        for i in range(buckets):
            c, by, p = counts.get(i, (0, 0, 0))
            out.append({"start": start + i * width, "end": start + (i + 1) * width, "flows": c, "bytes": by, "packets": p})
        return out

    def group_key(self, name: str) -> tuple[str, Callable[[Any], Any]]:
        """The flows expression to group ``name`` by, and how to decode one of its values."""
        s = schema.STORAGE[name]
        present = s.core or self.store.has_column(s.column)
        col = f'f."{s.column}"' if present else "NULL"
        field = catalog.BY_NAME[name]
        if s.kind == "message":
            raise UsageError("message cannot be grouped by; pick its parts (interface_id, action, …)")
        if s.kind == "end":
            return '(f."start" + f."duration")', _same
        if s.kind == "int":
            return col, _same
        if s.kind == "protocol":
            return col, protocols.protocol_name
        if s.kind == "string":
            return col, self.store.string
        if s.kind == "address":
            return col, self._ip
        if s.kind == "enrich":
            return col, self._enrich_getter(s.attr or "", field.type)
        return 'f."origin"', self._origin_getter(s.attr or "")

    # --- decoding ---------------------------------------------------------------------------

    def _ip(self, aid: int | None) -> str | None:
        row = self.store.address(aid)
        return None if row is None else row[0]

    def _enrich_getter(self, attr: str, type_: str) -> Callable[[Any], Any]:
        i = _ATTR_INDEX[attr]
        address = self.store.address

        def get(aid: int | None) -> Any:
            row = address(aid)
            if row is None:
                return None
            v = row[1][i]
            return bool(v) if type_ == "bool" and v is not None else v

        return get

    def _origin_getter(self, attr: str) -> Callable[[Any], Any]:
        i = _ORIGIN_INDEX[attr]
        origin = self.store.origin

        def get(oid: int | None) -> Any:
            row = origin(oid)
            return None if row is None else row[i]

        return get

    def _decoder(self, names: Sequence[str], columns: Sequence[str], with_id: bool) -> Callable[[tuple[Any, ...]], Row]:
        at = {c: i for i, c in enumerate(columns)}

        def col(column: str) -> Callable[[tuple[Any, ...]], Any]:
            i = at.get(column)
            if i is None:
                return lambda row: None
            return lambda row: row[i]

        plan: list[tuple[str, Callable[[tuple[Any, ...]], Any]]] = []
        for name in names:
            s = schema.STORAGE[name]
            get = col(s.column) if s.kind != "message" else None
            if s.kind == "int":
                fn = get
            elif s.kind == "end":
                start, dur = col("start"), col("duration")
                fn = lambda row, a=start, d=dur: None if d(row) is None else a(row) + d(row)
            elif s.kind == "message":
                fn = self._message_getter(col)
            else:
                decode = self.group_key(name)[1]
                fn = lambda row, g=get, dec=decode: dec(g(row))
            assert fn is not None
            plan.append((name, fn))
        id_at = at.get("id")

        def decode_row(row: tuple[Any, ...]) -> Row:
            out = {name: fn(row) for name, fn in plan}
            if with_id and id_at is not None:
                out["_id"] = row[id_at]
            return out

        return decode_row

    def _message_getter(self, col: Callable[[str], Callable[[tuple[Any, ...]], Any]]) -> Callable[[tuple[Any, ...]], str]:
        getters = [col(schema.STORAGE[n].column) for n in _MESSAGE_ARGS]
        string, ip = self.store.string, self._ip
        g_iface, g_action, g_proto, g_src, g_sport, g_dst, g_dport, g_status = getters

        def message(row: tuple[Any, ...]) -> str:
            return flow_message(
                string(g_iface(row)),
                string(g_action(row)),
                g_proto(row),
                ip(g_src(row)),
                g_sport(row),
                ip(g_dst(row)),
                g_dport(row),
                string(g_status(row)),
            )

        return message


def _order_sql(order: str) -> str:
    desc = order.startswith("-")
    name = order.lstrip("+-")
    s = schema.STORAGE.get(name)
    if s is None:
        raise UsageError(f"cannot sort by {name!r}: " + unknown_field(name))
    direction = "DESC" if desc else "ASC"
    if s.kind == "end":
        expr = '(f."start" + f."duration")'
    elif s.kind in ("int", "protocol") and s.core:
        expr = f'f."{s.column}"'
    else:
        raise UsageError(f"cannot sort by {name}: sort by a number or time field (e.g. -timestamp, -bytes)")
    if expr == 'f."start"':
        return f'f."start" {direction}, f.id {direction}'
    return f'{expr} {direction}, f."start" DESC, f.id DESC'


def _same(v: Any) -> Any:
    return v


def _sort_key(value: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, str(v)) for v in value)


def _seconds(s: float) -> str:
    return f"{s:g} s"
