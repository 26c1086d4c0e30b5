"""Reading a rule's matching flows out of the store: new rows by id, or a window by time.

Only the columns a rule needs are read (id, start, bytes, packets and its
group and distinct fields), and group values are decoded the way queries
show them: an address as its text, an enrichment attribute of the ``addrs``
row the flow points to, a string instead of its interned id. One address has
one ``addrs`` row per enrichment profile, so grouping happens on the decoded
values, never on the stored ids.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flowtui import catalog, protocols, schema
from flowtui.alerts.lookups import Lookups
from flowtui.alerts.rules import Rule
from flowtui.alerts.window import FlowRow, GroupKey
from flowtui.query import functions
from flowtui.query.compiler import compile_query
from flowtui.store import Store

_ATTR_INDEX = {a: i for i, a in enumerate(schema.ADDR_ATTRS)}
_ORIGIN_INDEX = {a: i for i, a in enumerate(schema.ORIGIN_ATTRS)}
_KEY_CACHE = 100_000  # decoded group keys remembered per rule (ids never change meaning)

Decode = Callable[[Any], Any]


class RuleReader:
    """The SQL of one rule over one store; rebuilt when the store gains custom-format columns."""

    def __init__(self, store: Store, rule: Rule, lookups: Lookups | None = None) -> None:
        self.store = store
        self.rule = rule
        self.lookups = lookups  # None: lookups run as subqueries each time
        self._columns: tuple[str, ...] | None = None
        self._select = ""
        self._where = "1"
        self._params: tuple[Any, ...] = ()
        self._decoders: list[Decode] = []
        self._keys: dict[tuple[Any, ...], GroupKey] = {}
        self._generation = store.generation
        functions.register(store.conn, store)

    def _plan(self) -> None:
        """The rule's SQL for the store's columns; called inside a read (after the store's re-check)."""
        if self._generation != self.store.generation:  # opened again: a new connection, ids read anew
            self._generation = self.store.generation
            functions.register(self.store.conn, self.store)
            self._columns = None
        columns = tuple(c for c in schema.RECORD_COLUMNS if self.store.has_column(c))
        if columns == self._columns:
            return
        self._columns = columns
        compiled = compile_query(self.rule.query, columns)
        if compiled.match_all:
            self._where, self._params = "1", ()
        elif self.lookups is not None:
            self._where, self._params = self.lookups.render(compiled.cond)
        else:
            self._where, self._params = compiled.where, compiled.params
        exprs, self._decoders = [], []
        for name in self.rule.fields:
            expr, decode = self._field(name)
            exprs.append(expr)
            self._decoders.append(decode)
        self._select = ", ".join(['f.id', 'f."start"', 'f."bytes"', 'f."packets"', *exprs])
        self._keys.clear()

    def _field(self, name: str) -> tuple[str, Decode]:
        """The flows expression of a field and how to turn its stored value into the shown one."""
        s = schema.STORAGE[name]
        present = s.core or self.store.has_column(s.column)
        col = f'f."{s.column}"' if present else "NULL"
        store = self.store
        if s.kind == "end":
            return '(f."start" + f."duration")', _same
        if s.kind == "int":
            return col, _same
        if s.kind == "protocol":
            return col, protocols.protocol_name
        if s.kind == "string":
            return col, store.string
        if s.kind == "address":
            return col, lambda aid: None if (row := store.address(aid)) is None else row[0]
        if s.kind == "enrich":
            i = _ATTR_INDEX[s.attr or ""]
            as_bool = catalog.BY_NAME[name].type == "bool"

            def enrich(aid: Any) -> Any:
                row = store.address(aid)
                if row is None:
                    return None
                v = row[1][i]
                return bool(v) if as_bool and v is not None else v

            return col, enrich
        if s.kind == "origin":
            j = _ORIGIN_INDEX[s.attr or ""]
            return 'f."origin"', lambda oid: None if (row := store.origin(oid)) is None else row[j]
        raise ValueError(f"{name} cannot be grouped by")  # message: refused when rules load

    # --- reading ---------------------------------------------------------------------------

    def between(self, first_id: int, last_id: int) -> list[FlowRow]:
        """The rule's matching flows among ids ``first_id``..``last_id`` (the rows just written)."""
        sql = "SELECT {select} FROM flows f WHERE f.id BETWEEN ? AND ? AND ({where})"
        return self._read(sql, (first_id, last_id))

    def in_window(self, start: int, end: int, max_id: int | None = None) -> list[FlowRow]:
        """The rule's matching flows with ``start <= f.start < end`` (and id <= ``max_id``)."""
        sql = 'SELECT {select} FROM flows f WHERE f."start" >= ? AND f."start" < ?'
        params: tuple[Any, ...] = (start, end)
        if max_id is not None:
            sql += " AND f.id <= ?"
            params += (max_id,)
        return self._read(sql + " AND ({where})", params)

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[FlowRow]:
        """``sql`` (its ``{select}`` and ``{where}`` filled in) in one read, which the store re-checks first."""
        with self.store.reading():
            self._plan()
            if self.lookups is not None:
                self.lookups.refresh()
            return self._rows(sql.format(select=self._select, where=self._where), (*params, *self._params))

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[FlowRow]:
        rule = self.rule
        ngroup = len(rule.group_by)
        distinct_at = rule.fields.index(rule.condition.field) if rule.condition.metric == "distinct" else None
        decoders = self._decoders
        keys = self._keys
        out: list[FlowRow] = []
        for row in self.store.conn.execute(sql, params):
            raw = row[4:]
            key = keys.get(raw[:ngroup])
            if key is None:
                if len(keys) >= _KEY_CACHE:
                    keys.clear()
                key = keys[raw[:ngroup]] = tuple(d(v) for d, v in zip(decoders, raw[:ngroup]))
            value: Hashable = None
            if distinct_at is not None:
                value = decoders[distinct_at](raw[distinct_at])
            out.append((row[0], row[1], key, value, row[2], row[3]))
        return out


def _same(v: Any) -> Any:
    return v
