"""A short list of one address's flows in a table: the address page's latest, a CloudTrail call's neighbours.

Both pages show the same columns by the same rules as the results view (the
columns that fit, long addresses cut in the middle), the address itself in
bold and rejects in the theme's reject colour; Enter on a flow opens the
address under the cursor, or the other side of the flow. One rule more: a
flow between two of the account's interfaces is logged at both, so when the
interface is the only thing that tells two listed flows apart it is kept, and
another column gives way (at 80 columns the list read as each row twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text

from flowtui.ui.columns import FLOW_FIELDS, PADDING, apart_width, cut_in_middle, is_numeric, plan_columns, widest
from flowtui.ui.formatting import SortableText, fit, format_value, value_style
from flowtui.ui.widgets.flow_table import FlowTable

SHORT_HEADER = "eni"  # interface_id's header where its values are cut to tell rows apart
FRAME = 5  # cells the table does not get of the terminal's width: its box's border, its scrollbar and the page's


def fill_flows(
    table: FlowTable, flows: Sequence[dict[str, Any]], address: str | None, *, with_date: bool, fields: Sequence[str] = FLOW_FIELDS
) -> None:
    """Fill ``table`` with ``flows`` in the ``fields`` that fit the terminal (its rows keyed ``flow-N``)."""
    app = table.app
    width = (app.size.width or table.size.width) - FRAME
    reject_style = f"bold {app.theme_variables.get('reject', 'red')}"
    texts = [[format_value(name, row.get(name), with_date=with_date) for name in fields] for row in flows]
    natural = widest(fields, texts, fields)
    shown, caps = plan_columns(fields, natural, width)
    index = {name: i for i, name in enumerate(fields)}
    headers = {name: name for name in fields}
    if "interface_id" in index and "interface_id" not in shown and _told_apart_by_interface(texts, shown, index):
        # Kept only to tell two rows apart, the interface gives way to the fewest cells that do
        # ('eni-0a…'), under a short header; if even then a number would be cut at the box's
        # edge ('ACCEPT   7' for 7.2 kB), it goes: the numbers keep their whole width.
        apart = apart_width(row[index["interface_id"]] for row in texts)
        for room in (natural, {**natural, "interface_id": max(apart, len(SHORT_HEADER))}):
            kept, kept_caps = plan_columns(fields, room, width, keep=("interface_id",))
            if sum(kept_caps[c] + PADDING for c in kept) <= width:
                shown, caps = kept, kept_caps
                if kept_caps["interface_id"] < len("interface_id"):
                    headers["interface_id"] = SHORT_HEADER
                break
    table.clear(columns=True)
    for name in shown:
        table.add_column(Text(headers[name], justify="right" if is_numeric(name) else "left"), key=name)
    for i, (row, row_texts) in enumerate(zip(flows, texts)):
        cells = []
        for name in shown:
            value = row.get(name)
            style = reject_style if name == "action" and value == "REJECT" else ""
            if name in ("src_addr", "dst_addr") and value == address:
                style = "bold"
            text = fit(row_texts[index[name]], caps[name], middle=cut_in_middle(name))
            cells.append(SortableText(text, value, style=value_style(value, style), justify="right" if is_numeric(name) else None))
        table.add_row(*cells, key=f"flow-{i}")


def _told_apart_by_interface(texts: Sequence[Sequence[str]], shown: Sequence[str], index: dict[str, int]) -> bool:
    """Whether two rows read the same in the ``shown`` columns but were logged at different interfaces."""
    seen: dict[tuple[str, ...], str] = {}
    at = index["interface_id"]
    for row in texts:
        key = tuple(row[index[name]] for name in shown)
        if seen.setdefault(key, row[at]) != row[at]:
            return True
    return False


def flow_target(row: dict[str, Any], column: str, address: str | None) -> str | None:
    """The address Enter opens on ``row``'s ``column``: the one in that cell, or else the
    flow's other side (the one that is not ``address``)."""
    value = row.get(column) if column in ("src_addr", "dst_addr") else None
    if value is None:
        value = row.get("dst_addr") if row.get("src_addr") == address else row.get("src_addr")
    return str(value) if value else None
