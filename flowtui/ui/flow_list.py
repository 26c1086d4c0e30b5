"""A short list of one address's flows in a table: the address page's latest, a CloudTrail call's neighbours.

Both pages show the same columns by the same rules as the results view (the
columns that fit, long addresses cut in the middle), the address itself in
bold and rejects in the theme's reject colour; Enter on a flow opens the
address under the cursor, or the other side of the flow. One rule more: two
rows never read the same when their records differ. A flow between two of the
account's interfaces is logged at both, so when the interface (or a port, the
protocol, the packets) is what tells two listed flows apart it is kept, and
others give way (at 80 columns the list read as each row twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from rich.text import Text

from flowtui.ui.columns import (
    DROP_ORDER,
    FLOW_FIELDS,
    PADDING,
    apart_width,
    cut_in_middle,
    is_numeric,
    plan_columns,
    widest,
)
from flowtui.ui.formatting import SortableText, fit, format_value, value_style
from flowtui.ui.widgets.flow_table import FlowTable

SHORT_HEADER = "eni"  # interface_id's header where its values are cut to tell rows apart
ENI_PREFIX = "eni-"  # every interface's, left out of the shortest form ('0a…' under 'eni')
# Headers wider than their values give way to these when rows need a column to tell them apart
# (the address page's ports say 'port' for dst_port; its CloudTrail calls say 'time').
SHORT_HEADERS = {"timestamp": "time", "dst_port": "port"}
FRAME = 5  # cells the table does not get of the terminal's width: its box's border, its scrollbar and the page's
# The dropped columns that may tell two rows apart, in the order they are brought back: the
# interface first (one conversation between two instances is a record at each ENI).
TELLING: tuple[str, ...] = ("interface_id", "src_port", "protocol", "packets")
# What gives way, last of all, to a column that tells rows apart: the action (a reject's row
# then takes the reject colour in every cell).
LAST_TO_GO: tuple[str, ...] = ("action",)
# What a list tries, in turn, to show a column that tells rows apart: (columns that go, short
# headers, the interface's form: whole, its fewest telling cells 'eni-0a…', or those without 'eni-').
_TRIES: tuple[tuple[tuple[str, ...], bool, str], ...] = (
    ((), False, "whole"), ((), False, "prefix"), ((), False, "bare"), ((), True, "bare"),
    (LAST_TO_GO, False, "prefix"), (LAST_TO_GO, False, "bare"), (LAST_TO_GO, True, "bare"),
)


@dataclass(frozen=True, slots=True)
class FlowListPlan:
    """The columns a flow list shows, how wide each may be, and the headers over them."""

    shown: list[str]
    caps: dict[str, int]
    headers: dict[str, str]
    eni_prefix: bool = True  # False: interfaces are shown without 'eni-' ('0a…')

    def text(self, name: str, text: str) -> str:
        """``text`` as the ``name`` column shows it."""
        if name == "interface_id" and not self.eni_prefix:
            text = text.removeprefix(ENI_PREFIX)
        return fit(text, self.caps[name], middle=cut_in_middle(name))


def plan_flow_list(
    fields: Sequence[str],
    texts: Sequence[Sequence[str]],
    width: int,
    *,
    keep: Sequence[str] = (),
    natural: dict[str, int] | None = None,
    cut_headers: bool = False,
) -> FlowListPlan:
    """The columns of a list of flows (``texts``: each row's text per field) ``width`` cells wide.

    The columns that fit, by the results view's rules; then, if two rows would read the same
    though their records differ (a conversation between two of the account's interfaces is a
    record at each), the dropped columns that tell them apart come back (TELLING), and others
    give way (_TRIES): the interface takes the fewest cells that tell the interfaces apart
    ('eni-0a…', then '0a…', under 'eni') and then whatever room the row leaves ('0a3c5e…'), headers wider than their values shorten ('time',
    'port'), and at last the action goes. Numbers are never cut: if even then a number would
    be past the box's edge, the rows stay as the columns that fit show them.

    The results view lists flows by the same rule: ``keep`` (the fields its query names) are
    never dropped, ``natural`` widens a header (its sort arrow), and ``cut_headers`` lets a
    long header give way over short values as its columns do.
    """
    values = widest(fields, texts)
    natural = natural if natural is not None else widest(fields, texts, fields)
    shown, caps = plan_columns(fields, natural, width, keep=keep, values=values if cut_headers else None)
    plan = FlowListPlan(shown, caps, {name: name for name in fields})
    index = {name: i for i, name in enumerate(fields)}
    needed = _telling(texts, shown, index)
    if not needed:
        return plan
    widened = {name: natural[name] - max(len(name), values[name]) for name in fields}  # a sort arrow's cells
    interfaces = [row[index["interface_id"]] for row in texts] if "interface_id" in index else []
    forms = {
        "whole": values.get("interface_id", 0),
        "prefix": apart_width(interfaces),
        "bare": apart_width(v.removeprefix(ENI_PREFIX) for v in interfaces),
    }
    for drop, short, form in _TRIES:
        if form != "whole" and "interface_id" in keep:  # the query is about the interface: shown whole
            continue
        shorter = {n: h for n, h in SHORT_HEADERS.items() if short and n not in keep and not (n == "dst_port" and "src_port" in needed)}
        headers = {name: shorter.get(name, name) for name in fields}
        room = {name: max(len(headers[name]) + widened[name], values[name]) for name in fields}
        if "interface_id" in index and form != "whole":
            headers["interface_id"] = SHORT_HEADER
            room["interface_id"] = max(forms[form], len(SHORT_HEADER))
        kept, kept_caps = plan_columns(
            [n for n in fields if n not in drop or n in keep], room, width, keep=[*keep, *needed], values=values if cut_headers else None
        )
        fits = sum(kept_caps[c] + PADDING for c in kept) <= width
        # None of the first plan's columns lost but those that give way anyway (the port a reject was refused on stays).
        kept_all = all(name in kept for name in needed) and all(c in kept or c in drop or c in DROP_ORDER for c in shown)
        if fits and kept_all and not (headers["dst_port"] == "port" and "src_port" in kept):
            if "interface_id" in kept and form != "whole":  # the room left goes to the interface: '0e1f2a3b…', not '0e…'
                spare = width - sum(kept_caps[c] + PADDING for c in kept)
                whole = values["interface_id"] - (len(ENI_PREFIX) if form == "bare" else 0)
                kept_caps["interface_id"] += max(0, min(spare, whole - kept_caps["interface_id"]))
            return FlowListPlan(kept, kept_caps, headers, eni_prefix=form != "bare")
    return plan


def _telling(texts: Sequence[Sequence[str]], shown: Sequence[str], index: dict[str, int]) -> list[str]:
    """The fewest TELLING columns, in that order, that with ``shown`` leave no two rows reading
    the same whose records differ; [] when none do (or none of them would tell them apart)."""
    missing = [name for name in TELLING if name in index and name not in shown]
    distinct = len({tuple(row) for row in texts})
    if len(_readings(texts, shown, index)) == distinct:
        return []
    for count in range(1, len(missing) + 1):
        for extra in (list(choice) for choice in combinations(missing, count)):
            if len(_readings(texts, [*shown, *extra], index)) == distinct:
                return extra
    return []


def _readings(texts: Sequence[Sequence[str]], columns: Sequence[str], index: dict[str, int]) -> set[tuple[str, ...]]:
    """The distinct rows as ``columns`` read them."""
    return {tuple(row[index[name]] for name in columns) for row in texts}


def fill_flows(
    table: FlowTable, flows: Sequence[dict[str, Any]], address: str | None, *, with_date: bool, fields: Sequence[str] = FLOW_FIELDS
) -> None:
    """Fill ``table`` with ``flows`` in the ``fields`` that fit the terminal (its rows keyed ``flow-N``)."""
    app = table.app
    width = (app.size.width or table.size.width) - FRAME
    reject_style = f"bold {app.theme_variables.get('reject', 'red')}"
    texts = [[format_value(name, row.get(name), with_date=with_date) for name in fields] for row in flows]
    plan = plan_flow_list(fields, texts, width)
    index = {name: i for i, name in enumerate(fields)}
    table.clear(columns=True)
    for name in plan.shown:
        table.add_column(Text(plan.headers[name], justify="right" if is_numeric(name) else "left"), key=name)
    for i, (row, row_texts) in enumerate(zip(flows, texts)):
        # Without its action column a reject says so in every cell.
        rejected = row.get("action") == "REJECT"
        row_style = reject_style if rejected and "action" not in plan.shown else ""
        cells = []
        for name in plan.shown:
            value = row.get(name)
            style = reject_style if name == "action" and rejected else row_style
            if name in ("src_addr", "dst_addr") and value == address:
                style = style or "bold"
            text = plan.text(name, row_texts[index[name]])
            cells.append(SortableText(text, value, style=value_style(value, style), justify="right" if is_numeric(name) else None))
        table.add_row(*cells, key=f"flow-{i}")


def flow_target(row: dict[str, Any], column: str, address: str | None) -> str | None:
    """The address Enter opens on ``row``'s ``column``: the one in that cell, or else the
    flow's other side (the one that is not ``address``)."""
    value = row.get(column) if column in ("src_addr", "dst_addr") else None
    if value is None:
        value = row.get("dst_addr") if row.get("src_addr") == address else row.get("src_addr")
    return str(value) if value else None
