"""Searching CloudTrail events: the query language's cloudtrail scope, and the correlation with flows.

Queries compile with the flows' compiler over the CloudTrail field catalog
(:data:`flowtui.cloudtrail.fields.SCOPE`) and run under the same time limit
as flow queries. Rows come back keyed by the documented field names, with
``eventTime`` in unix seconds, ``readOnly`` a bool and ``resources.ARN`` a
list. A store that has never seen a CloudTrail event has no table: every
answer is then empty, never an error.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, Final, Unpack

import orjson

from flowtui.cloudtrail import fields, table
from flowtui.cloudtrail.records import user_label
from flowtui.errors import QueryError, UsageError
from flowtui.query import plan
from flowtui.query.compiler import CompiledQuery, compile_query, unknown_field
from flowtui.query.engine import DEFAULT_TIMEOUT, Page, QueryEngine, stream
from flowtui.query.window import TimeWindow
from flowtui.store import Store

Row = dict[str, Any]
AROUND_SECONDS: Final[int] = 300  # an event page shows its address's flows this long before and after
SCOPE_PREFIX: Final[str] = "@cloudtrail"  # the query bar's scope: the rest of the text searches CloudTrail
_TIME_NAMES: Final[frozenset[str]] = frozenset({"eventTime", "event_time", "timestamp", "start"})



def split_scope(text: str) -> tuple[str, str, int]:
    """(scope, query, offset of the query in text): ``@cloudtrail eventName:Delete*`` searches CloudTrail."""
    stripped = text.lstrip()
    if stripped.startswith(SCOPE_PREFIX):
        rest = stripped[len(SCOPE_PREFIX) :]
        if not rest or rest[0].isspace():
            offset = len(text) - len(rest)
            return "cloudtrail", rest, offset
    return "flows", text, 0


def check_fields(names: Sequence[str]) -> list[str]:
    """Documented names for ``--fields``; an unknown one is a UsageError with a suggestion."""
    out = []
    for name in names:
        canonical = fields.canonical(name)
        if canonical is None:
            raise UsageError(unknown_field(name, fields.SCOPE))
        out.append(canonical)
    return out


def columns_for(query: str) -> list[str]:
    """The table's columns for ``query``: the defaults plus the fields it names, after the time."""
    try:
        named = compile_trail(query).fields
    except QueryError:  # reported when it runs
        named = ()
    extra = [n for n in named if n in fields.BY_NAME and n not in fields.DEFAULT_COLUMNS]
    return [fields.DEFAULT_COLUMNS[0], *extra, *fields.DEFAULT_COLUMNS[1:]]


def compile_trail(query: str) -> CompiledQuery:
    return compile_query(query, None, fields.SCOPE)


def _order(order: str) -> str:
    name = order.lstrip("+-")
    if name not in _TIME_NAMES:
        raise UsageError(f"cannot sort CloudTrail events by {name!r}: sort by eventTime (or -eventTime)")
    direction = "DESC" if order.startswith("-") else "ASC"
    return f"f.time {direction}, f.id {direction}"


class TrailSearch:
    """CloudTrail queries over one store (not shared between threads, like the store)."""

    def __init__(self, store: Store, timeout: float = DEFAULT_TIMEOUT, engine: QueryEngine | None = None) -> None:
        self.store = store
        self.engine = engine or QueryEngine(store, timeout=timeout)  # its functions and its time limit

    def available(self) -> bool:
        """Whether the store holds CloudTrail events yet (a writer may add the table later)."""
        with self.store.reading() as conn:
            return table.exists(conn)

    def _where(self, query: str, window: TimeWindow | None, now: float | None = None) -> tuple[str, list[Any]]:
        return plan.where(compile_trail(query), "f.time", *(window or TimeWindow()).bounds(now))

    def search(
        self, query: str, window: TimeWindow | None = None, names: Sequence[str] | None = None, **page: Unpack[Page]
    ) -> list[Row]:
        """Matching events, as :meth:`iter_search` yields them, in one list."""
        return list(self.iter_search(query, window, names, **page))

    def iter_search(
        self,
        query: str,
        window: TimeWindow | None = None,
        names: Sequence[str] | None = None,
        limit: int | None = 100,
        order: str = "-eventTime",
        with_id: bool = False,
        offset: int = 0,
    ) -> Generator[Row, None, None]:
        """Matching events, newest first by default; ``limit`` None or 0 means all.

        Streaming, as flow searches do: the time limit applies to each wait for rows.
        """
        wanted = check_fields(list(names)) if names is not None else [f.name for f in fields.FIELDS]
        order_sql = _order(order)
        where, params = self._where(query, window)  # a bad query is an error even with no table
        sql = f"SELECT f.* FROM cloudtrail f WHERE {where} ORDER BY {order_sql} LIMIT ? OFFSET ?"
        with self.engine._session() as restart:
            if not self.available():
                return
            cur = self.store.conn.execute(sql, [*params, limit if limit else -1, max(0, offset)])
            columns = [d[0] for d in cur.description]
            yield from stream(cur, restart, lambda r: decode(dict(zip(columns, r)), wanted, with_id))

    def count(self, query: str, window: TimeWindow | None = None) -> int:
        where, params = self._where(query, window)
        with self.engine._session():
            if not self.available():
                return 0
            return int(self.store.conn.execute(f"SELECT count(*) FROM cloudtrail f WHERE {where}", params).fetchone()[0])

    def from_address(self, ip: str, window: TimeWindow | None = None, limit: int = 200) -> list[Row]:
        """The calls made from ``ip`` in ``window``, newest first (the address page's section)."""
        conds, params = plan.bounds("f.time", *(window or TimeWindow()).bounds())
        sql = f"SELECT * FROM cloudtrail f WHERE {' AND '.join([*conds, 'f.source_ip = ?'])} ORDER BY time DESC, id DESC LIMIT ?"
        with self.engine._session():  # the same time limit as every other search
            if not self.available():
                return []
            cur = self.store.conn.execute(sql, [*params, ip, limit])
            columns = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [summary(dict(zip(columns, r))) for r in rows]

    def event(self, event_id: str) -> Row | None:
        """One event with every field and its whole record (``record``, a dict), or None."""
        with self.engine._session():
            if not self.available():
                return None
            cur = self.store.conn.execute("SELECT * FROM cloudtrail WHERE event_id = ?", (event_id,))
            row = cur.fetchone()
            if row is None:
                return None
            raw = dict(zip([d[0] for d in cur.description], row))
        out = decode(raw, [f.name for f in fields.FIELDS])
        out["user"] = summary(raw)["user"]
        out["record"] = orjson.loads(raw["record"])
        return out


def decode(raw: dict[str, Any], names: Sequence[str], with_id: bool = False) -> Row:
    """A stored row as output: documented names, lists as lists, readOnly as a bool."""
    out: Row = {}
    if with_id:
        out["_event_id"] = raw["event_id"]
    for name in names:
        f = fields.BY_NAME[name]
        value = raw.get(f.column)
        if f.each and value is not None:
            value = orjson.loads(value)
        elif f.type == "bool" and value is not None:
            value = bool(value)
        out[name] = value
    return out


def summary(raw: dict[str, Any]) -> Row:
    """What a list of calls shows: time, service, action, who, error (and the id to open it)."""
    return {
        "event_id": raw["event_id"],
        "time": raw["time"],
        "source": raw["source_ip"],
        "event_source": raw["event_source"],
        "event_name": raw["event_name"],
        "user": user_label(raw["user_name"], raw["user_type"], raw["invoked_by"], raw["user_arn"]),
        "error_code": raw["error_code"],
        "region": raw["aws_region"],
    }


def recent_values(store: Store, name: str, recent: int = 2000) -> list[str]:
    """The values a field took in the newest ``recent`` events, most frequent first (for completion)."""
    f = fields.BY_NAME.get(name)
    if f is None or f.type == "time":
        return []
    if f.type == "bool":
        return ["true", "false"]
    newest = f"SELECT * FROM cloudtrail ORDER BY id DESC LIMIT {int(recent)}"
    if f.each:
        sql = f'SELECT j.value, count(*) AS n FROM ({newest}) c, json_each(c."{f.column}") j GROUP BY 1'
    else:
        sql = f'SELECT "{f.column}", count(*) AS n FROM ({newest}) GROUP BY 1'
    with store.reading() as conn:
        if not table.exists(conn):
            return []
        rows = [(v, n) for v, n in conn.execute(f"{sql} ORDER BY n DESC, 1 LIMIT 200") if v is not None]
    return [str(v) for v, _ in rows]
