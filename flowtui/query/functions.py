"""The SQL functions compiled queries call, registered on a store's connection.

``x REGEXP p`` is a whole-value match (Lucene anchors regular expressions);
patterns are compiled once and cached. ``flowtui_message`` rebuilds the
summary line from a flow's columns through the store's interned values, so a
phrase search needs no stored message text.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from flowtui.formats import flow_message
from flowtui.query.values import compiled
from flowtui.store import Store


def _regexp(pattern: str, value: Any) -> int | None:
    if value is None or pattern is None:
        return None
    return 1 if compiled(pattern).fullmatch(value if isinstance(value, str) else str(value)) else 0


def _search(pattern: str, value: Any) -> int | None:
    if value is None or pattern is None:
        return None
    return 1 if compiled(pattern).search(value) else 0


def _list_match(pattern: str, value: Any) -> int:
    """Whether any item of a comma-joined list (threat_indicated_by) matches ``pattern`` whole."""
    if not value:
        return 0
    rx = compiled(pattern)
    return 1 if any(rx.fullmatch(item) for item in str(value).split(",")) else 0


def register(conn: sqlite3.Connection, store: Store) -> None:
    """Make ``conn`` able to run what :func:`compile_query` produces for ``store``."""
    string, address = store.string, store.address

    def ip(aid: int | None) -> str | None:
        row = address(aid)
        return None if row is None else row[0]

    def message(
        iface: int | None,
        action: int | None,
        proto: int | None,
        src: int | None,
        sport: int | None,
        dst: int | None,
        dport: int | None,
        status: int | None,
    ) -> str:
        return flow_message(string(iface), string(action), proto, ip(src), sport, ip(dst), dport, string(status))

    det = {"deterministic": True}
    conn.create_function("regexp", 2, _regexp, **det)
    conn.create_function("flowtui_search", 2, _search, **det)
    conn.create_function("flowtui_list_match", 2, _list_match, **det)
    conn.create_function("flowtui_message", 8, message)


def check_pattern(pattern: str) -> re.Pattern[str]:
    return compiled(pattern)
