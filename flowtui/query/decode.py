"""From stored flows rows to values under catalog names.

Interned ids become text through the store's in-memory tables (a dict lookup
per value); an address brings the enrichment of its own ``addrs`` row, i.e.
the profile that held at the flow's time; derived fields are computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flowtui import catalog, protocols, schema
from flowtui.errors import UsageError
from flowtui.formats import flow_message
from flowtui.store import Store

Row = dict[str, Any]
Getter = Callable[[tuple[Any, ...]], Any]

_ATTR_INDEX = {a: i for i, a in enumerate(schema.ADDR_ATTRS)}
_ORIGIN_INDEX = {a: i for i, a in enumerate(schema.ORIGIN_ATTRS)}
_MESSAGE_ARGS = ("interface_id", "action", "protocol_number", "src_addr", "src_port", "dst_addr", "dst_port", "log_status")
END_SQL = '(f."start" + f."duration")'


class Decoder:
    def __init__(self, store: Store) -> None:
        self.store = store

    def value(self, name: str) -> tuple[str, Callable[[Any], Any]]:
        """The flows expression (alias ``f``) behind field ``name``, and how to decode one of its values.

        Grouping by the expression and decoding afterwards is how ``top`` and
        completion count values; several ids may decode to one value.
        """
        s = schema.STORAGE[name]
        present = s.core or self.store.has_column(s.column)
        col = f'f."{s.column}"' if present else "NULL"
        if s.kind == "message":
            raise UsageError("message cannot be grouped by; pick its parts (interface_id, action, …)")
        if s.kind == "end":
            return END_SQL, _same
        if s.kind == "int":
            return col, _same
        if s.kind == "protocol":
            return col, protocols.protocol_name
        if s.kind == "string":
            return col, self.store.string
        if s.kind == "address":
            return col, self.ip
        if s.kind == "enrich":
            return col, self._enrich(s.attr or "", catalog.BY_NAME[name].type)
        return 'f."origin"', self._origin(s.attr or "")

    def ip(self, aid: int | None) -> str | None:
        row = self.store.address(aid)
        return None if row is None else row[0]

    def _enrich(self, attr: str, type_: str) -> Callable[[Any], Any]:
        i = _ATTR_INDEX[attr]
        address = self.store.address

        def get(aid: int | None) -> Any:
            row = address(aid)
            if row is None:
                return None
            v = row[1][i]
            return bool(v) if type_ == "bool" and v is not None else v

        return get

    def _origin(self, attr: str) -> Callable[[Any], Any]:
        i = _ORIGIN_INDEX[attr]
        origin = self.store.origin

        def get(oid: int | None) -> Any:
            row = origin(oid)
            return None if row is None else row[i]

        return get

    def rows(self, names: Sequence[str], columns: Sequence[str], with_id: bool = False) -> Callable[[tuple[Any, ...]], Row]:
        """A function from a ``SELECT f.*`` row (with these ``columns``) to a dict of ``names``."""
        at = {c: i for i, c in enumerate(columns)}

        def col(column: str) -> Getter:
            i = at.get(column)
            if i is None:
                return lambda row: None
            return lambda row: row[i]

        plan: list[tuple[str, Getter]] = []
        for name in names:
            s = schema.STORAGE[name]
            fn: Getter
            if s.kind == "int":
                fn = col(s.column)
            elif s.kind == "end":
                fn = _end(col("start"), col("duration"))
            elif s.kind == "message":
                fn = self._message(col)
            else:
                fn = _decoded(col(s.column), self.value(name)[1])
            plan.append((name, fn))
        id_at = at.get("id")

        def decode_row(row: tuple[Any, ...]) -> Row:
            out = {name: fn(row) for name, fn in plan}
            if with_id and id_at is not None:
                out["_id"] = row[id_at]
            return out

        return decode_row

    def _message(self, col: Callable[[str], Getter]) -> Getter:
        g_iface, g_action, g_proto, g_src, g_sport, g_dst, g_dport, g_status = (
            col(schema.STORAGE[n].column) for n in _MESSAGE_ARGS
        )
        string, ip = self.store.string, self.ip

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


def _same(v: Any) -> Any:
    return v


def _end(start: Getter, duration: Getter) -> Getter:
    def end(row: tuple[Any, ...]) -> Any:
        d = duration(row)
        return None if d is None else start(row) + d

    return end


def _decoded(get: Getter, decode: Callable[[Any], Any]) -> Getter:
    return lambda row: decode(get(row))
