"""One CloudTrail event: who called what from where, the record itself, and the flows of its source address.

The flows are those of the source address from five minutes before the call
to five minutes after it: what the caller's machine was talking to around
then, oldest first, the cursor on the first one at or after the call. A busy
address has more than the page lists: then it lists the ones nearest the
call (half before, half after) and its subtitle says so; ``f`` opens them all.
Enter on a flow drills into an address as everywhere else.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from flowtui.errors import FlowtuiError
from flowtui.query.window import format_duration
from flowtui.ui.flow_list import fill_flows, flow_target
from flowtui.ui.formatting import MISSING, MISSING_STYLE, clean, format_time, safe_text
from flowtui.ui.terms import quote
from flowtui.ui.trail_data import TrailEvent
from flowtui.ui.widgets.flow_table import FlowTable
from flowtui.ui.widgets.key_footer import FooterKeys, KeyFooter
from flowtui.ui.widgets.status_bar import StatusBar
from flowtui.words import counted

# The card: (label, field) pairs, two per line.
_FACTS = (
    ("service", "eventSource", "region", "awsRegion"),
    ("user", "user", "type", "userIdentity.type"),
    ("arn", "userIdentity.arn", "account", "userIdentity.accountId"),
    ("source", "sourceIPAddress", "access key", "userIdentity.accessKeyId"),
    ("error", "errorCode", "read only", "readOnly"),
    ("agent", "userAgent", "event type", "eventType"),
    ("resource", "resources.ARN", "event id", "eventID"),
)


def flows_subtitle(page: TrailEvent, span: str) -> str:
    """'12 flows in 10m around 11:54:00', or for a busy address which of them the page lists:
    '200 of 5,602 flows in 10m: the 100 before 11:54:00 and 100 from it'."""
    at = format_time(page.event["eventTime"])
    shown = len(page.flows)
    if shown >= page.total:
        return f"{counted(shown, 'flow')} in {span} around {at}"
    before, after = page.first_after, shown - page.first_after
    return f"{shown:,} of {page.total:,} flows in {span}: the {before:,} before {at} and {after:,} from it"


class TrailEventScreen(Screen[None]):
    DEFAULT_CSS = """
    #trail-body { height: 1fr; scrollbar-size-vertical: 1; }
    #trail-card { height: auto; border: round $primary; border-title-style: bold; padding: 0 1; }
    #trail-flows-box { height: 1fr; min-height: 6; }
    #trail-record-box { height: 1fr; min-height: 6; }
    .trail-box { border: round $primary 40%; border-title-color: $text; border-title-style: bold; }
    .trail-box:focus-within { border: round $primary; }
    #trail-record { height: auto; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy_record", "Copy record", id="trail.copy"),
        Binding("f", "flows", "Flows of the source", id="trail.flows"),
        Binding("escape", "back", "Back", id="trail.back"),
    ]
    # At 80 columns: back, the event's own keys, Enter (the address at the other end of a
    # flow), help and quit.
    FOOTER_KEYS: ClassVar[FooterKeys] = (
        ("back", ""), ("flows", ""), ("copy_record", ""), ("select_cursor", "Open"), ("help", ""), ("quit", ""),
        ("copy_cell", ""),
    )

    class Loaded(Message):
        def __init__(self, page: TrailEvent | None) -> None:
            super().__init__()
            self.page = page

    class Failed(Message):
        def __init__(self, error: FlowtuiError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, event_id: str) -> None:
        super().__init__(classes="trail-event-screen")
        self.event_id = event_id
        self.page: TrailEvent | None = None

    def compose(self) -> ComposeResult:
        # One scrolling page above a fixed status bar and footer: a narrow terminal wraps the
        # card's long values onto more lines, and the flows and the record stay reachable.
        with VerticalScroll(id="trail-body"):
            with Vertical(id="trail-card"):
                yield Static(Text("loading…", style="dim"), id="trail-title")
                yield Static("", id="trail-facts")
            with Vertical(classes="trail-box", id="trail-flows-box"):
                yield FlowTable(id="trail-flows")
            with VerticalScroll(classes="trail-box", id="trail-record-box"):
                yield Static("", id="trail-record")
        yield StatusBar(id="status-bar")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#trail-card").border_title = Text("CloudTrail event")
        self.query_one("#trail-flows-box").border_title = Text("Flows of the source address")
        self.query_one("#trail-record-box").border_title = Text("Record")
        self.query_one("#trail-flows", FlowTable).focus()
        self._fetch(self.event_id)

    @work(thread=True, exclusive=True, group="trail-event", exit_on_error=False)
    def _fetch(self, event_id: str) -> None:
        try:
            page = self.app.data.trail_event(event_id)  # type: ignore[attr-defined]
        except FlowtuiError as exc:
            self.post_message(self.Failed(exc))
            return
        self.post_message(self.Loaded(page))

    def on_trail_event_screen_failed(self, message: Failed) -> None:
        self.query_one("#trail-title", Static).update(Text(f"✗ {clean(str(message.error))}", style="bold"))

    def on_trail_event_screen_loaded(self, message: Loaded) -> None:
        page = message.page
        if page is None:
            self.query_one("#trail-title", Static).update(Text(f"✗ no CloudTrail event {self.event_id}", style="bold"))
            return
        self.page = page
        with self.app.batch_update():
            self.query_one("#trail-title", Static).update(self._title(page.event))
            self.query_one("#trail-facts", Static).update(self._facts(page))
            self.query_one("#trail-record", Static).update(Text(json.dumps(page.event["record"], indent=2, ensure_ascii=False)))
            self._fill_flows(page)

    # --- rendering ---------------------------------------------------------------------
    def _title(self, event: dict[str, Any]) -> Text:
        title = Text()
        title.append(format_time(event["eventTime"], with_date=True), style="bold")
        title.append("  ")
        title.append(clean(str(event["eventName"])), style="bold")
        if event.get("errorCode"):
            title.append("  ")
            title.append(f" {clean(str(event['errorCode']))} ", style=f"bold reverse {self.app.theme_variables.get('reject', 'red')}")
        return title

    def _facts(self, page: TrailEvent) -> Group:
        """The card's facts, two to a line with their labels; long values (an ARN, an
        eventID, the user agent) and the error message wrap instead of being cut."""
        event = page.event
        grid = Table.grid(padding=(0, 2), expand=True)
        # Left values (an ARN, the agent, the source and who it is) run longer than right ones.
        for style, ratio in (("dim", None), ("", 3), ("dim", None), ("", 2)):
            grid.add_column(style=style, no_wrap=ratio is None, ratio=ratio, overflow="fold")

        def show(name: str) -> Text:
            value = event.get(name)
            if isinstance(value, list):
                value = ", ".join(map(str, value))
            if isinstance(value, bool):
                value = "yes" if value else "no"
            return safe_text(value) if value not in (None, "") else Text(MISSING, style=MISSING_STYLE)

        for left, left_name, right, right_name in _FACTS:
            value = show(left_name)
            if left_name == "sourceIPAddress" and page.label:
                value.append("  ")
                value.append(clean(page.label), style="italic")  # who it is, as the panes say it
            grid.add_row(left, value, right, show(right_name))
        if not event.get("errorMessage"):
            return Group(grid)
        message = Table.grid(padding=(0, 2), expand=True)
        message.add_column(style="dim", no_wrap=True, min_width=max(len(f[0]) for f in _FACTS))
        message.add_column(ratio=1, overflow="fold")
        message.add_row("message", safe_text(event["errorMessage"]))
        return Group(grid, message)

    def _fill_flows(self, page: TrailEvent) -> None:
        box = self.query_one("#trail-flows-box")
        span = format_duration((page.around.end or 0) - (page.around.start or 0) - 1)
        if page.address is None:
            box.border_title = Text("Flows of the source address")
            box.border_subtitle = Text(f"{page.event.get('sourceIPAddress') or 'no source'} is not an address: no flows")
        else:
            box.border_title = Text(f"Flows of {clean(page.address)} around the call")
            box.border_subtitle = Text(flows_subtitle(page, span))
        table = self.query_one("#trail-flows", FlowTable)
        fill_flows(table, page.flows, page.address, with_date=False)  # ten minutes around the call
        if page.flows:
            table.move_cursor(row=min(page.first_after, len(page.flows) - 1), animate=False, scroll=True)

    def on_resize(self) -> None:
        if self.page is not None and self.is_mounted:
            self._fill_flows(self.page)

    # --- actions -------------------------------------------------------------------------
    @on(DataTable.CellSelected, "#trail-flows")
    def _flow(self, event: DataTable.CellSelected) -> None:
        event.stop()
        if self.page is None:
            return
        target = flow_target(self.page.flows[event.coordinate.row], str(event.cell_key.column_key.value), self.page.address)
        if target:
            self.app.open_address(target)  # type: ignore[attr-defined]

    def action_flows(self) -> None:
        """All the source address's flows in the results view (the app's window)."""
        if self.page is not None and self.page.address:
            q = quote(self.page.address)
            self.app.run_query(f"src_addr:{q} OR dst_addr:{q}")  # type: ignore[attr-defined]

    def action_copy_record(self) -> None:
        if self.page is not None:
            self.app.copy_to_clipboard(json.dumps(self.page.event["record"], ensure_ascii=False))
            self.notify("Copied the record", markup=False, timeout=2)

    def action_back(self) -> None:
        self.app.pop_screen()
