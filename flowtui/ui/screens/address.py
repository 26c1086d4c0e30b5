"""One address: who it is, where it is, what it talks to, and its recent flows."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Sparkline, Static

from flowtui.errors import FlowtuiError
from flowtui.query.window import TimeWindow
from flowtui.ui.columns import FLOW_FIELDS, needs_date, plan_columns, widest
from flowtui.ui.data import AddressInfo
from flowtui.ui.flow_list import fill_flows, flow_target
from flowtui.ui.formatting import (
    MISSING,
    MISSING_STYLE,
    SortableText,
    clean,
    fit,
    format_time,
    format_value,
    human_bytes,
    human_count,
    peak_text,
    safe_text,
    value_style,
    window_text,
)
from flowtui.ui.screens.trail_event import TrailEventScreen
from flowtui.ui.terms import quote
from flowtui.ui.who import entity_parts
from flowtui.ui.widgets.flow_table import FlowTable
from flowtui.ui.widgets.key_footer import FooterKeys, KeyFooter
from flowtui.ui.widgets.status_bar import StatusBar

CALL_FIELDS = ("time", "eventSource", "eventName", "user", "errorCode")
# The CloudTrail field each column shows: its type says how it gives way to a narrow box.
CALL_AS = {"time": "eventTime", "eventSource": "eventSource", "eventName": "eventName",
           "user": "userIdentity.userName", "errorCode": "errorCode"}


class AddressScreen(Screen[None]):
    # The sections scroll as one page inside #address-body, so at any terminal size Tab
    # reaches every table (focus scrolls it into view) and the status bar and footer stay put.
    DEFAULT_CSS = """
    #address-body { height: 1fr; scrollbar-size-vertical: 1; }
    #address-calls-box { height: auto; min-height: 7; max-height: 12; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "flows_from", "Flows from", id="address.flows_from"),
        Binding("t", "flows_to", "Flows to", id="address.flows_to"),
        Binding("c", "copy_address", "Copy address", id="address.copy"),
        Binding("escape", "back", "Back", id="address.back"),
    ]
    # At 80 columns: the page's own keys, help, and Enter (a peer's page, a port's flows,
    # the address at the other end of a flow, a CloudTrail call).
    FOOTER_KEYS: ClassVar[FooterKeys] = (
        ("back", ""), ("flows_from", ""), ("flows_to", ""), ("copy_address", ""), ("help", ""),
        ("select_cursor", "Open"), ("quit", ""), ("copy_cell", ""), ("focus_query", ""), ("window", ""),
    )

    class Loaded(Message):
        def __init__(self, info: AddressInfo, calls: list[dict[str, Any]] | None = None) -> None:
            super().__init__()
            self.info = info
            self.calls = calls or []

    class Failed(Message):
        def __init__(self, error: FlowtuiError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, address: str, window: TimeWindow) -> None:
        super().__init__(classes="address-screen")
        self.address = address
        self.window = window
        self.info: AddressInfo | None = None
        self.calls: list[dict[str, Any]] = []  # CloudTrail calls made from the address, newest first

    def compose(self) -> ComposeResult:
        # Which address this is stays on screen while the page scrolls (at 80×24 the flows below
        # take the focus, and the page scrolled to them showed no address at all).
        yield Static(Text(clean(self.address), style="bold"), id="address-title")
        with VerticalScroll(id="address-body"):
            with Vertical(id="address-card"):
                yield Static(Text("loading…", style="dim"), id="address-facts")
                with Horizontal(id="address-rate"):
                    yield Static("bytes/s", classes="address-rate-label")
                    yield Sparkline([], summary_function=max, id="address-sparkline")
            with Horizontal(id="address-tops"):
                with Vertical(classes="address-box", id="address-peers-box"):
                    yield FlowTable(id="address-peers")
                with Vertical(classes="address-box", id="address-ports-box"):
                    yield FlowTable(id="address-ports")
            with Vertical(classes="address-box", id="address-flows-box"):
                yield FlowTable(id="address-flows")
            with Vertical(classes="address-box", id="address-calls-box"):
                yield FlowTable(id="address-calls")
        yield StatusBar(id="status-bar")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#address-card").border_title = Text(f"Address {clean(self.address)}")
        self.query_one("#address-peers-box").border_title = Text("Top peers")
        self.query_one("#address-ports-box").border_title = Text("Top ports")
        self.query_one("#address-flows-box").border_title = Text("Recent flows")
        calls_box = self.query_one("#address-calls-box")
        calls_box.border_title = Text("CloudTrail calls from this address")
        calls_box.display = False  # shown when there are some
        peers = self.query_one("#address-peers", FlowTable)
        for key, label in (("direction", ""), ("peer", "peer"), ("bytes", "bytes"), ("flows", "flows")):
            peers.add_column(Text(label, justify="right" if key in ("bytes", "flows") else "left"), key=key)
        ports = self.query_one("#address-ports", FlowTable)
        for key, label in (("direction", ""), ("dst_port", "port"), ("protocol", "proto"), ("flows", "flows"), ("bytes", "bytes")):
            ports.add_column(Text(label, justify="right" if key in ("bytes", "flows", "dst_port") else "left"), key=key)
        self.query_one("#address-flows", FlowTable).focus()
        self.load()

    def load(self) -> None:
        self._fetch(self.address, self.window)

    @work(thread=True, exclusive=True, group="address", exit_on_error=False)
    def _fetch(self, address: str, window: TimeWindow) -> None:
        try:
            info = self.app.data.address(address, window, list(FLOW_FIELDS))  # type: ignore[attr-defined]
            calls = self.app.data.trail_calls(address, window)  # type: ignore[attr-defined]
        except FlowtuiError as exc:
            self.post_message(self.Failed(exc))
            return
        self.post_message(self.Loaded(info, calls))

    def on_address_screen_failed(self, message: Failed) -> None:
        self.query_one("#address-facts", Static).update(Text(f"✗ {clean(str(message.error))}", style="bold"))

    def on_address_screen_loaded(self, message: Loaded) -> None:
        info = message.info
        self.info = info
        with self.app.batch_update():
            self.query_one("#address-title", Static).update(self._title(info))
            self.query_one("#address-facts", Static).update(self._facts(info))
            self.query_one("#address-sparkline", Sparkline).data = info.rate
            peak = max(info.rate, default=0.0)
            # In the unit the dashboard's panes say a peak in (one bucket's width decides it).
            self.query_one(".address-rate-label", Static).update(Text(peak_text(peak, info.bucket_seconds or 1, "bytes"), style="dim"))
            self._fill_peers(info)
            self._fill_ports(info)
            self._fill_flows(info)
            self._fill_calls(message.calls)

    # --- rendering ------------------------------------------------------------------
    def _title(self, info: AddressInfo) -> Text:
        p = info.profile
        vars_ = self.app.theme_variables
        title = Text()
        title.append(clean(info.address), style="bold")
        # Who it is as the panes say it ('ALB front-alb', 'RDS orders-db'); a Name tag after its type.
        entity, description = p.get("entity"), p.get("entity_description")
        word, name = entity_parts(str(entity) if entity else None, str(description) if description else None)
        kind = word or p.get("entity_aws_type")
        if kind:
            title.append("  ")
            title.append(clean(str(kind)), style="bold")
        if name:
            title.append(" " if word else "  ")
            title.append(clean(name), style="italic")
        internal = p.get("internal")
        if internal is not None:
            title.append("  ")
            if internal:
                title.append("internal", style=vars_.get("internal", ""))
            else:
                title.append("external", style=vars_.get("external", ""))
        if p.get("threat_indicated"):
            title.append("  ")
            title.append(" THREAT ", style=f"bold reverse {vars_.get('threat', 'magenta')}")
        return title

    def _facts(self, info: AddressInfo) -> Table:
        p = info.profile
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()

        def show(value: Any) -> Text:
            return safe_text(value) if value not in (None, "") else Text(MISSING, style=MISSING_STYLE)

        asn = p.get("as_number")
        org = p.get("as_organization")
        as_text = Text()
        if asn is not None:
            as_text.append(f"AS{asn}")
        if org:
            as_text.append(" " if asn is not None else "")
            as_text.append(clean(str(org)))
        threat = p.get("threat_indicated_by")
        threat_text = safe_text(threat, style=f"bold {self.app.theme_variables.get('threat', 'magenta')}") if threat else Text("none", style="dim")
        grid.add_row("entity", show(p.get("entity")), "country", show(p.get("country_code")))
        grid.add_row("name", show(p.get("entity_description")), "city", show(p.get("city_name")))
        grid.add_row("type", show(p.get("entity_aws_type")), "ASN", as_text if as_text.plain else Text(MISSING, style=MISSING_STYLE))
        internal = p.get("internal")
        grid.add_row(
            "internal",
            Text(MISSING, style=MISSING_STYLE) if internal is None else Text("yes" if internal else "no"),
            "threat lists",
            threat_text,
        )
        if not info.seen:
            grid.add_row("", Text(f"no flows in {window_text(self.window)}", style="bold"), "", "")
        return grid

    def _fill_peers(self, info: AddressInfo) -> None:
        table = self.query_one("#address-peers", FlowTable)
        table.clear()
        for i, r in enumerate(info.peers):
            table.add_row(
                Text(r["direction"]),
                SortableText(format_value("peer", r["peer"]), r["peer"], style=value_style(r["peer"])),
                SortableText(human_bytes(r["bytes"]), r["bytes"], justify="right"),
                SortableText(human_count(r["flows"]), r["flows"], justify="right"),
                key=f"peer-{i}",
            )

    def _fill_ports(self, info: AddressInfo) -> None:
        table = self.query_one("#address-ports", FlowTable)
        table.clear()
        for i, r in enumerate(info.ports):
            table.add_row(
                Text(r["direction"]),
                SortableText(format_value("dst_port", r["dst_port"]), r["dst_port"], style=value_style(r["dst_port"]), justify="right"),
                safe_text(r["protocol"]),
                SortableText(human_count(r["flows"]), r["flows"], justify="right"),
                SortableText(human_bytes(r["bytes"]), r["bytes"], justify="right"),
                key=f"port-{i}",
            )

    def _fill_flows(self, info: AddressInfo) -> None:
        """The recent flows, in the columns that fit (the same rules as the results view)."""
        table = self.query_one("#address-flows", FlowTable)
        fill_flows(table, info.flows, info.address, with_date=needs_date(self.window, self.app.now()))  # type: ignore[attr-defined]

    def _fill_calls(self, calls: list[dict[str, Any]]) -> None:
        self.calls = calls
        box = self.query_one("#address-calls-box")
        box.display = bool(calls)
        box.border_subtitle = Text(f"{len(calls)} in {window_text(self.window)}") if calls else ""
        table = self.query_one("#address-calls", FlowTable)
        dated = needs_date(self.window, self.app.now())  # type: ignore[attr-defined]
        reject = self.app.theme_variables.get("reject", "red")
        texts = [
            [format_time(c["time"], with_date=dated), *(clean(str(c[k] or "")) for k in ("event_source", "event_name", "user", "error_code"))]
            for c in calls
        ]
        # Fitted as a results table is (their CloudTrail names say which give way): a cut value
        # ends in '…', where the table used to run past the box and lose its end and border.
        names = [CALL_AS[k] for k in CALL_FIELDS]
        width = (self.query_one("#address-calls-box").size.width or self.size.width) - 3  # borders, scrollbar
        shown, caps = plan_columns(names, widest(names, texts, list(CALL_FIELDS)), width)
        styles = {"eventName": "bold", "errorCode": f"bold {reject}"}
        with self.app.batch_update():
            table.clear(columns=True)
            for key, name in zip(CALL_FIELDS, names):
                if name in shown:
                    table.add_column(Text(key), key=key)
            for i, (call, row) in enumerate(zip(calls, texts)):
                cells: list[Text] = [SortableText(fit(row[0], caps[names[0]]), call["time"])] if names[0] in shown else []
                cells += [
                    Text(fit(t, caps[n], middle=False), style=styles.get(n, ""))
                    for n, t in zip(names[1:], row[1:])
                    if n in shown
                ]
                table.add_row(*cells, key=f"call-{i}")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """A focused table brings its whole box into view, title and all (focus alone shows the table)."""
        box = event.widget.parent
        if isinstance(box, Widget) and box.has_class("address-box"):
            self.query_one("#address-body", VerticalScroll).scroll_to_widget(box, animate=False, immediate=True)

    def on_resize(self) -> None:
        if self.info is not None and self.is_mounted:
            self._fill_flows(self.info)
            self._fill_calls(self.calls)

    # --- actions -----------------------------------------------------------------------
    def action_flows_from(self) -> None:
        self.app.run_query(f"src_addr:{quote(self.address)}")  # type: ignore[attr-defined]

    def action_flows_to(self) -> None:
        self.app.run_query(f"dst_addr:{quote(self.address)}")  # type: ignore[attr-defined]

    def action_copy_address(self) -> None:
        self.app.copy_to_clipboard(self.address)
        self.notify(f"Copied {clean(self.address)}", markup=False, timeout=2)

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(DataTable.CellSelected, "#address-peers")
    def _peer(self, event: DataTable.CellSelected) -> None:
        event.stop()
        if self.info is None:
            return
        row = self.info.peers[event.coordinate.row]
        if row["peer"]:
            self.app.open_address(str(row["peer"]))  # type: ignore[attr-defined]

    @on(DataTable.CellSelected, "#address-ports")
    def _port(self, event: DataTable.CellSelected) -> None:
        event.stop()
        if self.info is None:
            return
        row = self.info.ports[event.coordinate.row]
        side = "src_addr" if row["direction"] == "→" else "dst_addr"
        query = f"{side}:{quote(self.address)}"
        if row["dst_port"] is not None:
            query += f" AND dst_port:{row['dst_port']}"
        self.app.run_query(query)  # type: ignore[attr-defined]

    @on(DataTable.CellSelected, "#address-calls")
    def _call(self, event: DataTable.CellSelected) -> None:
        event.stop()
        if event.coordinate.row < len(self.calls):
            self.app.push_screen(TrailEventScreen(self.calls[event.coordinate.row]["event_id"]))

    @on(DataTable.CellSelected, "#address-flows")
    def _flow(self, event: DataTable.CellSelected) -> None:
        event.stop()
        if self.info is None:
            return
        target = flow_target(self.info.flows[event.coordinate.row], str(event.cell_key.column_key.value), self.address)
        if target and target != self.address:
            self.app.open_address(target)  # type: ignore[attr-defined]

    def set_window(self, window: TimeWindow) -> None:
        self.window = window
        self.load()
