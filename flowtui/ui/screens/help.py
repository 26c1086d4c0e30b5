"""``?``: every key, read from the bindings themselves (remaps included), and the query syntax."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from flowtui import catalog

QUERY_HELP: tuple[tuple[str, str], ...] = (
    ("action:REJECT", "field:value"),
    ('src_addr:"10.0.0.0/8"', "CIDR block (address fields)"),
    ("dst_port:(22 OR 3389)", "any of several values"),
    ("bytes:>1000000", "comparison: > >= < <="),
    ("dst_port:[1 TO 1023]", "range, inclusive ([ ]) or not ({ })"),
    ("AND  OR  NOT  ( )", "also && || ! + -; no operator means OR"),
    ("dst_addr_entity_description:web*", "wildcards * and ?"),
    ("interface_id:/eni-0a.*/", "regular expression"),
    ("_exists_:reject_reason", "the field has a value"),
    ("src_addr_threat_indicated:true", "booleans; *_threat_indicated_<list>:true"),
    ("*", "every flow"),
    ("@cloudtrail eventName:Delete*", "CloudTrail events instead (^t toggles)"),
)


def binding_rows(app: App[Any], bindings: Iterable[BindingType], keymap: dict[str, str]) -> list[tuple[str, str, str]]:
    """(keys as the user presses them, what they do, the id [ui.keys] remaps it by) for each described binding.

    A run of numbered bindings ('Pane 1' … 'Pane 9') is one row: '1-9  Pane 1-9  dashboard.pane1-9'.
    A binding with no id (Enter in a table) cannot be remapped: its id is ''.
    """
    rows: list[tuple[str, str, str]] = []
    numbered: list[tuple[str, str, str]] = []
    for b in bindings:
        if not isinstance(b, Binding) or not b.description:
            continue
        if b.description[-1:].isdigit() and b.key.isdigit() and (not b.id or b.id not in keymap):
            numbered.append((b.key, b.description, b.id or ""))
            if b.key == "9" or len(numbered) == 9:
                stem = numbered[0][1].rstrip("0123456789").rstrip()
                span = f"{numbered[0][0]}-{numbered[-1][0]}"
                id_stem = numbered[0][2].rstrip("0123456789")
                rows.append((span, f"{stem} {span}", f"{id_stem}{span}" if id_stem else ""))
                numbered = []
            continue
        keys = keymap.get(b.id, b.key) if b.id else b.key
        shown = ", ".join(app.get_key_display(dataclasses.replace(b, key=k.strip(), key_display=None)) for k in keys.split(","))
        if b.key_display and (not b.id or b.id not in keymap):
            shown = b.key_display
        rows.append((shown, b.description, b.id or ""))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str, str]]]]) -> None:
        super().__init__(id="help")
        self.sections = sections

    def compose(self) -> ComposeResult:
        # Two columns of about equal length, sections kept whole.
        total = sum(len(rows) for _, rows in self.sections)
        half, count = len(self.sections), 0
        for i, (_, rows) in enumerate(self.sections):
            count += len(rows)
            if count >= total / 2:
                half = i + 1
                break
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Keys — Escape closes"
            body.border_subtitle = "dim: the id [ui.keys] remaps"
            with Horizontal(id="help-columns"):
                yield Static(self._keys(self.sections[:half]), id="help-keys")
                yield Static(self._keys(self.sections[half:]), id="help-keys-2")
            yield Static(self._syntax(), id="help-syntax")
            yield Static(self._fields(), id="help-fields")

    def _keys(self, sections: list[tuple[str, list[tuple[str, str, str]]]]) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(style="bold", no_wrap=True, min_width=6)
        grid.add_column()
        for title, rows in sections:
            first = True
            for key, description, binding_id in rows:
                # The id beside what it does, dim, in the same cell: a narrow column wraps it
                # under the description rather than squeezing the description.
                what = Text(description)
                if binding_id:
                    what.append(f"  {binding_id}", style="dim")
                grid.add_row(Text(title if first else "", style="dim"), Text(key), what)
                first = False
        return grid

    def _syntax(self) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.title = "Query syntax (Graylog's)"
        grid.title_justify = "left"
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for example, meaning in QUERY_HELP:
            grid.add_row(Text(example), Text(meaning))
        return grid

    def _fields(self) -> Text:
        text = Text()
        text.append("Fields: ", style="bold")
        text.append(", ".join(f.name for f in catalog.FIELDS))
        text.append("\n`flowtui fields` describes each.", style="dim")
        return text

    def action_scroll_down(self) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_up()

    def action_scroll_top(self) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_home(animate=False)

    def action_scroll_bottom(self) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_end(animate=False)
