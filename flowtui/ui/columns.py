"""Which columns of a flow table fit the terminal, and how wide each may be.

A narrow terminal loses the columns an on-call engineer needs least first
(interface, source port, packets, protocol), never the ones the query names;
if that is not enough, long values (IPv6 addresses, names) give way in the
middle.
"""

from __future__ import annotations

from collections.abc import Sequence

from flowtui import catalog
from flowtui.query.window import TimeWindow

# Dropped first to last when the table is too wide.
DROP_ORDER: tuple[str, ...] = ("interface_id", "src_port", "packets", "protocol", "log_status")
SOFT_WIDTH = 24  # long values (IPv6 addresses, names) give way to this before a column is dropped
MIN_WIDTH = 12  # and to this when nothing else helps
PADDING = 2  # DataTable's cell padding, both sides


def plan_columns(
    columns: Sequence[str], natural: dict[str, int], width: int, keep: Sequence[str] = ()
) -> tuple[list[str], dict[str, int]]:
    """(the columns to show, the most each may take) for a table ``width`` cells wide.

    ``natural`` is each column's widest value (or header); ``keep`` names columns
    never dropped (the ones the query is about). Long values give way to
    SOFT_WIDTH first, then whole columns go (in DROP_ORDER, and come back if
    there turns out to be room), then long values give way to MIN_WIDTH.
    """
    caps = {c: natural.get(c, 0) for c in columns}

    def total(cols: Sequence[str]) -> int:
        return sum(caps[c] + PADDING for c in cols)

    _squeeze(columns, caps, total(columns) - width, SOFT_WIDTH)
    shown = list(columns)
    dropped: list[str] = []
    for name in DROP_ORDER:
        if total(shown) <= width:
            break
        if name in shown and name not in keep and len(shown) > 1:
            shown.remove(name)
            dropped.append(name)
    for name in reversed(dropped):  # a later drop may have made room for an earlier one
        candidate = [c for c in columns if c in shown or c == name]
        if total(candidate) <= width:
            shown = candidate
    _squeeze(shown, caps, total(shown) - width, MIN_WIDTH)
    return shown, {c: caps[c] for c in shown}


def _squeeze(columns: Sequence[str], caps: dict[str, int], excess: int, floor: int) -> None:
    """Take ``excess`` cells from the widest text columns, none below ``floor``."""
    texts = [c for c in columns if _is_text(c)]
    while excess > 0 and texts:
        widest = max(texts, key=lambda c: caps[c])
        if caps[widest] <= floor:
            return
        caps[widest] -= 1
        excess -= 1


def _is_text(name: str) -> bool:
    """Only text gives way: a number or a time cut short would mislead."""
    f = catalog.BY_NAME.get(name)
    return f is None or f.type in ("str", "ip")


def needs_date(window: TimeWindow, now: float) -> bool:
    """Whether times in a table need their date: not when the window spans a day or less."""
    span = window.span(now)
    return span is None or span > 86400
