"""Values written into query text: a quoted term, a sort order.

Its own small module so that both :mod:`flowtui.ui.data` and
:mod:`flowtui.ui.trail_data` (which ``data`` imports) can use the one
definition without importing each other.
"""

from __future__ import annotations


def quote(value: str) -> str:
    """A value as a quoted query term (backslashes and quotes escaped: a value is never syntax)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def order_text(order: tuple[str, bool]) -> str:
    """(field, descending) as the engine takes it: '-bytes'."""
    return ("-" if order[1] else "") + order[0]
