"""``a``: the firings, newest first; Enter opens a firing's flows, A acknowledges it, m mutes it.

The list follows the store live (the app's :class:`~flowtui.ui.alert_watch.AlertWatch`
says when it changed). Acknowledging and muting are written from a thread
worker through the UI's one writable connection, and are what ``flowtui alerts
ack`` and ``flowtui alerts mute`` would write: the CLI sees them at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from flowtui.alerts.firings import Firing
from flowtui.alerts.rules import load_rules
from flowtui.config import Config
from flowtui.errors import ConfigError, FlowtuiError
from flowtui.query.window import TimeWindow
from flowtui.ui import alert_data
from flowtui.ui.alert_columns import (
    DETAIL_SEP,
    alert_columns,
    alert_room,
    fit_group,
    fit_state,
    flow_parts,
    group_parts,
    state_forms,
)
from flowtui.ui.alert_data import AlertList, AlertState
from flowtui.ui.alert_watch import alert_watch
from flowtui.ui.formatting import clean, clock_time, fit, format_time, human_bytes
from flowtui.ui.screens.mute import MuteRequest, MuteScreen
from flowtui.ui.screens.results import ResultsScreen
from flowtui.ui.widgets.flow_table import FlowTable
from flowtui.ui.widgets.key_footer import FooterKeys, KeyFooter
from flowtui.ui.widgets.status_bar import StatusBar

COLUMNS: tuple[tuple[str, str], ...] = (
    ("fired", "FIRED"),
    ("rule", "RULE"),
    ("group", "GROUP"),
    ("measured", "CONDITION"),
    ("flows", "FLOWS"),
    ("state", "STATE"),
)
DETAIL_LINES = 2  # the firing's facts under the table; Enter's query has a line of its own
NO_RULES = (
    "No alert rules: add [[alerts]] tables to the config file (config.example.toml has examples),"
    " and flowtui tail evaluates them as flows arrive."
)


def open_alerts(app: App[Any], config: Config | None) -> None:
    """Show the alerts screen: the one already open (closing what is above it), or a new one."""
    for screen in app.screen_stack:
        if isinstance(screen, AlertsScreen):
            while app.screen is not screen:
                app.pop_screen()
            return
    app.push_screen(AlertsScreen(rule_names(config)))


def rule_names(config: Config | None) -> list[str]:
    """The config's enabled rules (a broken config has none here: ``flowtui tail`` says what is wrong)."""
    if config is None:
        return []
    try:
        return [rule.name for rule in load_rules(config)]
    except ConfigError:
        return []


class AlertsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding: the table's own Enter would hide it from the footer.
        Binding("enter", "open_flows", "Flows", id="alerts.open", priority=True),
        Binding("A", "acknowledge", "Acknowledge", id="alerts.acknowledge"),
        Binding("ctrl+a", "acknowledge_listed", "Acknowledge every listed firing", show=False, id="alerts.acknowledge_listed"),
        Binding("m", "mute", "Mute", id="alerts.mute"),
        Binding("u", "toggle_unacknowledged", "Unacked only", id="alerts.unacknowledged"),
        Binding("escape", "back", "Back", id="alerts.back"),
    ]
    # u's footer label says what pressing it does now, as a k9s toggle does (its binding's own
    # description, 'Unacked only', is what it does with every firing listed).
    EVERY_FIRING = "Every firing"

    @property
    def FOOTER_KEYS(self) -> FooterKeys:  # read by KeyFooter
        """At 80 columns: back, the keys that act on firings, help and quit."""
        toggle = self.EVERY_FIRING if self.unacknowledged_only else ""
        return (
            ("back", ""), ("open_flows", ""), ("acknowledge", ""), ("mute", ""), ("toggle_unacknowledged", toggle),
            ("help", ""), ("quit", ""), ("acknowledge_listed", "Ack all"), ("copy_cell", ""),
        )

    class Loaded(Message):
        def __init__(self, alerts: AlertList | None, error: str | None = None) -> None:
            super().__init__()
            self.alerts = alerts
            self.error = error

    class Written(Message):
        """An acknowledgement or mute is in the store (or the store refused it): say so, and show it."""

        def __init__(self, text: str, error: bool = False) -> None:
            super().__init__()
            self.text = text
            self.error = error

    class Counted(Message):
        """How many flows a firing's drill-down finds now (flows keep arriving for its window)."""

        def __init__(self, firing_id: int, flows: int) -> None:
            super().__init__()
            self.firing_id = firing_id
            self.flows = flows

    def __init__(self, rules: Sequence[str] = ()) -> None:
        super().__init__(classes="alerts-screen")
        self.rules = tuple(rules)
        self.alerts: AlertList | None = None
        self.unacknowledged_only = False
        self.loads = 0  # lists shown so far (for tests and the curious)
        self.flows_now: dict[int, int] = {}  # firing id: the flows Enter opens, as last counted

    def compose(self) -> ComposeResult:
        yield Static("", id="alerts-summary")
        yield FlowTable(id="alerts-table", cursor_type="row")
        yield Static("", id="alerts-empty")
        yield Static("", id="alerts-detail")
        yield StatusBar(id="status-bar")
        yield KeyFooter(compact=True)

    @property
    def table(self) -> FlowTable:
        return self.query_one("#alerts-table", FlowTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.query_one("#alerts-empty").display = False
        alert_watch(self.app).changed.subscribe(self, self._store_changed)
        self._summary()
        self.load()

    def _store_changed(self, _: AlertState) -> None:
        self.load()

    # --- loading -------------------------------------------------------------------
    def load(self) -> None:
        self._fetch(self.unacknowledged_only)

    @work(thread=True, exclusive=True, group="alerts-list", exit_on_error=False)
    def _fetch(self, unacknowledged_only: bool) -> None:
        app: Any = self.app
        try:
            alerts = alert_data.alert_list(app.data, unacknowledged_only, app.now())
        except FlowtuiError as exc:
            self.post_message(self.Loaded(None, str(exc)))
            return
        self.post_message(self.Loaded(alerts))

    def on_alerts_screen_loaded(self, message: Loaded) -> None:
        alerts = message.alerts
        if alerts is not None and alerts.unacknowledged_only != self.unacknowledged_only:
            return  # the filter changed while this list was read; its own list is on the way
        self.alerts = alerts
        self.loads += 1
        self._show(message.error)

    def on_resize(self) -> None:
        if self.alerts is not None:
            self._show()

    # --- showing -------------------------------------------------------------------------
    def _show(self, error: str | None = None) -> None:
        table = self.table
        alerts = self.alerts
        firings = alerts.firings if alerts is not None else []
        keep = self.cursor_firing()
        row = table.cursor_coordinate.row
        now = self.app.now()  # type: ignore[attr-defined]
        texts = [self._cells(f, alerts, now) for f in firings] if alerts is not None else []
        states = [self._states(f, alerts, now) for f in firings] if alerts is not None else []
        names = [name for name, _ in COLUMNS]
        minutes = [clock_time(f.fired_at, now) for f in firings]
        room = alert_room(firings, texts, dict(COLUMNS), states, minutes)
        # The screen's width, not the table's: a toast over the table must not narrow it.
        shown, caps = alert_columns(room, (self.size.width or self.app.size.width) - 2)
        with self.app.batch_update():
            table.clear(columns=True)
            for name, label in COLUMNS:
                if name in shown:
                    # Widths from this list's own cells, set here: DataTable's own measuring runs
                    # later, when idle, and can keep the headers' widths after a quick reload.
                    table.add_column(Text(label, justify="right" if name == "flows" else "left"), key=name, width=caps[name])
            for firing, cells, forms, minute in zip(firings, texts, states, minutes):
                if len(cells[0]) > caps["fired"]:  # no room for the seconds: '11-26 10:00'
                    cells = [minute, *cells[1:]]
                table.add_row(*self._styled(firing, cells, forms, shown, caps, names), key=str(firing.id))
            if firings:
                ids = [f.id for f in firings]
                if keep is not None and keep.id in ids:
                    row = ids.index(keep.id)
                table.move_cursor(row=min(row, len(firings) - 1), animate=False)
        table.display = bool(firings)
        empty = self.query_one("#alerts-empty", Static)
        empty.display = not firings
        if not firings:
            empty.update(Text(clean(error) if error else self._empty_text(), style="bold" if error else ""))
        self._summary()
        self._detail()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The keys that act on a firing are shown dimmed while there is none under the cursor."""
        if action in ("open_flows", "acknowledge", "mute") and self.is_mounted and self.cursor_firing() is None:
            return None
        return True

    def _cells(self, f: Firing, alerts: AlertList | None, now: float) -> list[str]:
        parts, sep = group_parts(f)
        return [clock_time(f.fired_at, now, seconds=True), f.rule, sep.join(parts) or "all flows", f.measured(), f"{f.flows:,}", self._states(f, alerts, now)[0]]

    def _states(self, f: Firing, alerts: AlertList | None, now: float) -> list[str]:
        """The state as ``flowtui alerts list`` says it, the mute's end in hh:mm (its date too
        when not today), then shorter forms."""
        until = alerts.muted_until(f) if alerts is not None else None
        return state_forms(f, until, clock_time(until, now) if until is not None else "")

    def _styled(
        self, f: Firing, cells: list[str], states: list[str], shown: list[str], caps: dict[str, int], names: list[str]
    ) -> list[Text]:
        vars_ = self.app.theme_variables
        pending = not f.acknowledged and f.muted_until is None
        out = []
        for name in shown:
            if name == "group":
                text = fit_group(f, caps[name])
            elif name == "state":
                text = fit_state(states, caps[name])
            else:
                text = fit(clean(cells[names.index(name)]), caps[name], middle=False)
            style = ""
            if f.acknowledged:
                style = "dim"
            elif name == "state" and pending:
                style = f"bold {vars_.get('alarm', 'red')}"
            elif name == "rule":
                style = "bold"
            out.append(Text(text, style=style, justify="right" if name == "flows" else "left"))
        return out

    def _empty_text(self) -> str:
        alerts = self.alerts
        if alerts is None:
            return "reading alerts…"
        if alerts.unacknowledged_only and alerts.exists:
            return f"Nothing left to acknowledge: {self.bound_key('toggle_unacknowledged')} shows every firing."
        if self.rules:
            names = ", ".join(self.rules[:5]) + (", …" if len(self.rules) > 5 else "")
            return f"No firings yet from the config's {len(self.rules)} rule{'s' if len(self.rules) != 1 else ''} ({names})."
        if not alerts.exists:
            return NO_RULES
        return "No firings yet. Rules are [[alerts]] tables in the config file (config.example.toml has examples)."

    def _summary(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("Alerts", style="bold")
        alerts = self.alerts
        if alerts is None:
            line.append(" · reading…", style="dim")
        elif alerts.exists:
            state = alert_watch(self.app).state  # the badge's count: counted once per change, by the watch
            if state is not None and state.pending:
                line.append(" · ")
                line.append(f"{state.pending:,} unacknowledged", style=f"bold {self.app.theme_variables.get('alarm', 'red')}")
            elif state is not None:
                line.append(" · none to acknowledge")
            shown = len(alerts.firings)
            what = "unacknowledged" if alerts.unacknowledged_only else "firing" + ("s" if shown != 1 else "")
            newest = "newest " if shown >= alerts.limit else ""
            line.append(f" · {newest}{shown:,} {what} listed")
            if alerts.mutes:
                line.append(f" · {len(alerts.mutes)} mute{'s' if len(alerts.mutes) != 1 else ''} in force")
            line.append(f" · {self.bound_key('toggle_unacknowledged')}: " + ("every firing" if alerts.unacknowledged_only else "unacked only"), style="dim")
        self.query_one("#alerts-summary", Static).update(line)

    def bound_key(self, action: str) -> str:
        """The key ``action`` is bound to as the footer and help show it: ``[ui.keys]`` can rebind it."""
        for active in self.active_bindings.values():
            if active.binding.action == action and active.node is self:
                return self.app.get_key_display(active.binding)
        default = next(b for b in self.BINDINGS if isinstance(b, Binding) and b.action == action)
        return self.app.get_key_display(default)  # the screen is not up yet: its bindings are not

    def _detail(self, counted: bool = False) -> None:
        box = self.query_one("#alerts-detail", Static)
        f = self.cursor_firing()
        if f is None:
            box.update("")
            box.display = False
            return
        box.display = True
        now = self.app.now()  # type: ignore[attr-defined]
        window = f"{clock_time(f.window_start, now, seconds=True)}–{format_time(f.window_end)}"
        text = Text(no_wrap=True, overflow="ellipsis")
        width = (self.size.width or self.app.size.width) - 2
        facts = self._facts(f, window, now, width)
        lines = flow_parts([forms for forms, _ in facts], width, DETAIL_LINES)
        for n, line in enumerate(lines):
            for k, (i, shown) in enumerate(line):
                text.append(DETAIL_SEP if k else "\n" if n else "", style="dim")
                style = facts[i][1]
                if i == 0:  # '#19 threat-match'
                    number, _, rule = shown.partition(" ")
                    text.append(number + " ", style="dim")
                    text.append(rule, style=style)
                else:
                    text.append(shown, style=style)
        # Enter's count is of now: flows for the window may have arrived after it fired.
        counted_now = self.flows_now.get(f.id) if f.id is not None else None
        head = "\nEnter opens the " + (
            f"{counted_now:,} flow{'s' if counted_now != 1 else ''} of " if counted_now is not None else "flows of "
        )
        query = clean(f.query.strip() or "*") if not f.group else clean(f.drilldown_query())
        # The query first: a narrow line drops the window (the line above says it), then the
        # count when it fired, before it cuts the query.
        width -= len(head.lstrip())
        for tail in (f" in {window} · {f.flows:,} when it fired", f" · {f.flows:,} when it fired", ""):
            room = width - len(tail)
            if room >= min(len(query), 24):
                break
        text.append(head, style="dim")
        text.append(fit(query, max(room, 12)))
        text.append(tail, style="dim")
        box.styles.height = len(lines) + 1
        box.update(text)
        if f.id is not None and not counted:
            self._count(f)

    def _facts(self, f: Firing, window: str, now: float, width: int) -> list[tuple[list[str], str]]:
        """What the lines under the table say of the firing under the cursor, most needed first
        (at 80 columns they take two lines, and the last give way before these are cut): its rule,
        the condition with the value it measured, its state with a mute's end, when it fired (and
        fired again), then its group whole, its flows and its window. Each fact is its forms,
        longest first, and its style."""
        alerts = self.alerts
        until = alerts.muted_until(f) if alerts is not None else None
        state = state_forms(f, until, clock_time(until, now) if until is not None else "")[0]
        if f.group and alerts is not None and alerts.whole_rule_muted(f):  # not only this group
            state += " (whole rule)"
        pending = not f.acknowledged and f.muted_until is None
        fired = f"fired {clock_time(f.fired_at, now, seconds=True)}"
        again = alerts.fired_again(f) if alerts is not None else None
        if again is not None:
            fired += f", again {clock_time(again.fired_at, now, seconds=True)}"
        parts, sep = group_parts(f)
        group = [clean(f.group_text)] if not f.group else [clean(f.group_text), sep.join(parts), fit_group(f, width)]
        flows = f"{f.flows:,} flow{'s' if f.flows != 1 else ''}, {human_bytes(f.bytes)}"
        alarm = f"bold {self.app.theme_variables.get('alarm', 'red')}"
        return [
            ([f"#{f.id} {clean(f.rule)}"], "bold"),
            ([clean(f.measured())], ""),
            ([state], alarm if pending else ""),
            ([fired], ""),
            (group, ""),
            ([flows], ""),
            ([window], ""),
        ]

    @work(thread=True, exclusive=True, group="alerts-count", exit_on_error=False)
    def _count(self, f: Firing) -> None:
        try:
            flows = alert_data.flows_now(self.app.data, f)  # type: ignore[attr-defined]
        except FlowtuiError:
            return  # the line keeps saying "the flows"; Enter's results say what is wrong
        if f.id is not None:
            self.post_message(self.Counted(f.id, flows))

    def on_alerts_screen_counted(self, message: Counted) -> None:
        self.flows_now[message.firing_id] = message.flows
        current = self.cursor_firing()
        if current is not None and current.id == message.firing_id:
            self._detail(counted=True)

    @on(DataTable.RowHighlighted, "#alerts-table")
    def _highlighted(self) -> None:
        self._detail()

    def cursor_firing(self) -> Firing | None:
        table = self.table
        alerts = self.alerts
        if alerts is None or not alerts.firings or not table.row_count:
            return None
        row = table.cursor_coordinate.row
        return alerts.firings[row] if 0 <= row < len(alerts.firings) else None

    # --- actions -----------------------------------------------------------------------
    @on(DataTable.RowSelected, "#alerts-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_flows()

    def action_open_flows(self) -> None:
        """The firing's flows: the rule's query narrowed to its group, over its window."""
        f = self.cursor_firing()
        if f is not None:
            self.app.push_screen(ResultsScreen(f.drilldown_query(), TimeWindow(f.window_start, f.window_end)))

    def action_acknowledge(self) -> None:
        f = self.cursor_firing()
        if f is None or f.id is None:
            return
        if f.acknowledged:
            self.notify(f"#{f.id} is acknowledged already", timeout=2)
            return
        self._acknowledge([f.id], f"#{f.id} {f.rule}")

    def action_acknowledge_listed(self) -> None:
        """After a storm: every firing the list shows that nobody has acknowledged yet."""
        ids = [f.id for f in (self.alerts.firings if self.alerts else []) if f.id is not None and not f.acknowledged]
        if not ids:
            self.notify("Nothing listed to acknowledge", timeout=2)
            return
        self._acknowledge(ids, f"{len(ids)} firing{'s' if len(ids) != 1 else ''}")

    @work(thread=True, group="alerts-write", exit_on_error=False)
    def _acknowledge(self, ids: list[int], what: str) -> None:
        app: Any = self.app
        try:
            alert_data.acknowledge(app.data, ids, app.now())
        except FlowtuiError as exc:
            self.post_message(self.Written(str(exc), error=True))
            return
        self.post_message(self.Written(f"Acknowledged {what}"))

    def action_mute(self) -> None:
        f = self.cursor_firing()
        if f is None:
            return

        def chosen(request: object) -> None:
            if isinstance(request, MuteRequest):
                self._mute(request)

        until = self.alerts.muted_until(f) if self.alerts is not None else None
        self.app.push_screen(MuteScreen(f, until), chosen)

    @work(thread=True, group="alerts-write", exit_on_error=False)
    def _mute(self, request: MuteRequest) -> None:
        app: Any = self.app
        try:
            if request.seconds is None:
                lifted = alert_data.unmute(app.data, request.rule, request.group)
                done = f"Unmuted {request.describe()}" if lifted else f"{request.describe()} was not muted"
            else:
                until = app.now() + request.seconds
                alert_data.mute(app.data, request.rule, request.group, until)
                done = f"Muted {request.describe()} until {clock_time(until, app.now())}"  # as its row will say
        except FlowtuiError as exc:
            self.post_message(self.Written(str(exc), error=True))
            return
        self.post_message(self.Written(done))

    def on_alerts_screen_written(self, message: Written) -> None:
        if message.error:
            self.notify(clean(message.text), markup=False, severity="error", timeout=8)
            return
        self.notify(clean(message.text), markup=False, timeout=3)
        self.load()
        alert_watch(self.app).poll()

    def action_toggle_unacknowledged(self) -> None:
        self.unacknowledged_only = not self.unacknowledged_only
        self._summary()
        self.refresh_bindings()  # the footer's u: 'Every firing' ⇄ 'Unacked only'
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()
