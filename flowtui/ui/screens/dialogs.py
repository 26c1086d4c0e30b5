"""Small modal questions: export where, save as what, which saved query, which window."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from flowtui.errors import FlowtuiError
from flowtui.query.window import TimeWindow, format_duration, parse_duration
from flowtui.ui.formatting import clean, read_time, zone_name
from flowtui.ui.widgets.key_footer import FooterKeys, KeyFooter

WINDOW_PRESETS: tuple[tuple[str, int], ...] = (("5m", 300), ("15m", 900), ("1h", 3600), ("6h", 21600), ("24h", 86400))


@dataclass(frozen=True, slots=True)
class ExportRequest:
    path: Path
    format: str  # csv or json


class _Dialog(ModalScreen[object]):
    """A dialog has a footer of its own: the one behind it listed the keys of the screen behind."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _error(self, message: str) -> None:
        box = self.query_one(".dialog-error", Static)
        box.update(Text(clean(message)))
        box.display = True


class ExportScreen(_Dialog):
    """Asks for a path and a format (a folder: the default file name in it); the results screen does the writing."""

    FOOTER_KEYS: ClassVar[FooterKeys] = (("submit", "Export"), ("cancel", ""))

    def __init__(self, default_path: str, what: str = "") -> None:
        super().__init__(classes="dialog")
        self.default_path = default_path
        self.what = what  # what will be written: '6 flows · last 15m · snapshot 10:00:00'

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box") as box:
            box.border_title = "Export results"
            if self.what:
                yield Static(Text(clean(self.what)), classes="dialog-query")
            yield Label("File")
            yield Input(self.default_path, id="export-path")
            with RadioSet(id="export-format"):
                yield RadioButton("CSV", value=True, id="format-csv")
                yield RadioButton("JSON", id="format-json")
                yield RadioButton("JSONL", id="format-jsonl")
            yield Static("", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="export-ok")
                yield Button("Cancel", id="export-cancel")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one(".dialog-error").display = False
        self.query_one("#export-path", Input).focus()

    def _format(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return (pressed.id or "").removeprefix("format-") if pressed is not None else "csv"

    @on(RadioSet.Changed)
    def _format_changed(self) -> None:
        """Keep the file's extension in step with the format."""
        path_input = self.query_one("#export-path", Input)
        p = Path(path_input.value)
        if p.suffix.lower() in (".csv", ".json", ".jsonl"):
            path_input.value = str(p.with_suffix("." + self._format()))

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-ok")
    def _ok(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            self._error("Give a file to write.")
            return
        path = Path(text).expanduser()
        if path.is_dir():
            path = path / Path(self.default_path).with_suffix("." + self._format()).name
        if not path.parent.is_dir():
            self._error(f"No folder {path.parent}")
            return
        self.dismiss(ExportRequest(path, self._format()))

    @on(Button.Pressed, "#export-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class SaveQueryScreen(_Dialog):
    FOOTER_KEYS: ClassVar[FooterKeys] = (("submit", "Save"), ("cancel", ""))

    def __init__(self, query: str, name: str = "") -> None:
        super().__init__(classes="dialog")
        self.query_text = query
        self.name_text = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box") as box:
            box.border_title = "Save query"
            yield Static(Text(clean(self.query_text)), classes="dialog-query")
            yield Label("Name")
            yield Input(self.name_text, placeholder="e.g. ssh from outside", id="save-name")
            yield Static("", classes="dialog-error")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one(".dialog-error").display = False
        self.query_one("#save-name", Input).focus()

    @on(Input.Submitted, "#save-name")
    def _ok(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if not name:
            self._error("A saved query needs a name.")
            return
        self.dismiss(name)


class SavedQueriesScreen(_Dialog):
    """Pick a saved query; Enter runs it, d deletes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="saved.cancel"),
        Binding("d,delete", "delete", "Delete", id="saved.delete"),
    ]
    FOOTER_KEYS: ClassVar[FooterKeys] = (("select", "Run"), ("delete", ""), ("cancel", ""))

    def __init__(self, saved: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog")
        self.saved = list(saved)
        self.deleted: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box") as box:
            box.border_title = "Saved queries — Enter runs, d deletes"
            yield OptionList(*self._options(), id="saved-list")
            yield Static(Text("No saved queries yet: ctrl+s in the query bar saves one.", style="dim"), classes="dialog-empty")
        yield KeyFooter(compact=True)

    def _options(self) -> list[Option]:
        return [
            Option(Text.assemble((clean(name), "bold"), "  ", (clean(query), "dim")), id=name)
            for name, query in self.saved
        ]

    def on_mount(self) -> None:
        self.query_one(".dialog-empty").display = not self.saved
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#saved-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        name = event.option.id
        for saved_name, query in self.saved:
            if saved_name == name:
                self.dismiss(query)
                return

    def action_delete(self) -> None:
        box = self.query_one(OptionList)
        if box.highlighted is None or not self.saved:
            return
        name, _ = self.saved.pop(box.highlighted)
        self.app.delete_saved_query(name)  # type: ignore[attr-defined]
        box.clear_options()
        box.add_options(self._options())
        self.query_one(".dialog-empty").display = not self.saved


def parse_window(text: str, *, local: bool | None = None) -> TimeWindow:
    """'15m' (the last 15 minutes), 'all', or 'FROM to TO' / 'FROM..TO' (unix seconds or ISO 8601,
    read in the zone on screen; ``local``: in that zone, for a config read before it is in force)."""
    t = text.strip()
    if t.lower() in ("all", "all time"):
        return TimeWindow.all()
    for sep in (" to ", "..", " → "):
        if sep in t:
            a, b = (p.strip() for p in t.split(sep, 1))
            start = read_time(a, "from", local=local)[0]
            end = read_time(b, "to", local=local)[1] + 1 if b.lower() != "now" else None
            if end is not None and end <= start:
                raise FlowtuiError(f"{b} is not after {a}")
            return TimeWindow(start, end)
    return TimeWindow.last(parse_duration(t.removeprefix("last ").strip(), "window"))


class WindowScreen(_Dialog):
    """Window presets, or a typed duration or range."""

    FOOTER_KEYS: ClassVar[FooterKeys] = (("submit", "Apply"), ("cancel", ""))
    AUTO_FOCUS = "#window-input"  # the keys typed right after 'w' go to the field, never to the first preset

    def __init__(self, current: TimeWindow) -> None:
        super().__init__(classes="dialog")
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box") as box:
            box.border_title = "Time window"
            with Horizontal(classes="dialog-buttons"):
                for label, seconds in WINDOW_PRESETS:
                    yield Button(label, id=f"window-{label}", variant="primary" if self.current.since == seconds else "default")
            yield Label(f"or type: 30m · 2026-11-27T10:00 to 2026-11-27T11:00 ({zone_name()}) · all")
            yield Label("'to' includes its whole minute: to 11:00 ends at 11:00:59", classes="dialog-hint")
            value = format_duration(self.current.since) if self.current.since else ""
            yield Input(value, id="window-input")
            yield Static("", classes="dialog-error")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one(".dialog-error").display = False
        self.query_one("#window-input", Input).focus()

    @on(Button.Pressed)
    def _preset(self, event: Button.Pressed) -> None:
        label = (event.button.id or "").removeprefix("window-")
        for name, seconds in WINDOW_PRESETS:
            if name == label:
                self.dismiss(TimeWindow.last(seconds))

    @on(Input.Submitted, "#window-input")
    def _typed(self, event: Input.Submitted) -> None:
        try:
            self.dismiss(parse_window(event.value))
        except FlowtuiError as exc:
            self._error(str(exc))
