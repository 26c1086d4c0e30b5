"""The dashboard application: the refresh loop, the shared state, navigation.

The loop: a timer fires, one thread worker reads the status and (when the
dashboard is visible, not paused, and the store changed) runs the panes'
queries, posts one message with everything, and only when that worker has
finished is the next timer armed. Ticks never pile up, and an idle store costs
two index probes (the smallest and the largest flow id) per tick. The dashboard
shows a refresh one pane per frame, so keys are handled between panes.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from flowtui.config import Config, did_you_mean, query_timeout
from flowtui.errors import ConfigError, FlowtuiError
from flowtui.query.window import TimeWindow
from flowtui.ui.commands import FlowtuiCommands
from flowtui.ui.data import DataSource, PaneResult, StatusInfo
from flowtui.ui.formatting import clean, use_time_zone, window_text
from flowtui.ui.frames import end_overdue
from flowtui.ui.messages import HistoryLoaded, Refreshed
from flowtui.ui.panes import PaneSpec, panes_from_config
from flowtui.ui.quiet_gc import QuietCollector
from flowtui.ui.screens.address import AddressScreen
from flowtui.ui.screens.alerts import AlertsScreen, open_alerts
from flowtui.ui.screens.dashboard import DashboardScreen
from flowtui.ui.screens.dialogs import SavedQueriesScreen, SaveQueryScreen, WindowScreen
from flowtui.ui.screens.help import HelpScreen, binding_rows
from flowtui.ui.screens.results import ResultsScreen
from flowtui.ui.settings import DEFAULT_INTERVAL, DEFAULT_WINDOW, UiSettings, window_label
from flowtui.ui.themes import DEFAULT_THEME, VARIABLE_DEFAULTS, load_themes, resolve_theme_name
from flowtui.ui.widgets.flow_table import FlowTable
from flowtui.ui.widgets.key_footer import KeyFooter
from flowtui.ui.widgets.query_bar import QueryBar, QueryInput
from flowtui.ui.widgets.status_bar import source_feed

Now = Callable[[], float]
INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
SLIDE_FRACTION = 30  # a live window with no new flows still refreshes every span/30 (old flows slide out)
KEY_PAINT_LOOK = 0.01  # seconds between looks whether a key's change is painted (garbage collection waits for it)
KEY_PAINT_LOOKS = 30  # looks at most (a widget that keeps posting itself messages)
KEY_YIELD_AT_MOST = 0.1  # seconds the refresh worker waits, before a pane's query, for a key's paint


class FlowtuiApp(App[int]):
    """``flowtui``: live panes over the store, a query bar, drill-down."""

    CSS_PATH = "flowtui.tcss"
    TITLE = "flowtui"
    COMMANDS = App.COMMANDS | {FlowtuiCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 - Textual declares it so
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        # A priority binding, so the keys typed right after '/' land in the bar (see check_action).
        Binding("slash", "focus_query", "Query", id="app.query", priority=True),
        Binding("colon,ctrl+p", "command_palette", "Commands", show=False, id="app.commands"),
        # One key, two bindings: the footer says what space will do (only one is enabled at a time).
        Binding("space", "pause", "Pause", id="app.pause"),
        Binding("space", "resume", "Resume", id="app.pause"),
        # Priority too, and the dialog is mounted before the next key is read: 'w24h⏎' in one burst sets 24h.
        Binding("w", "window", "Window", id="app.window", priority=True),
        Binding("a", "alerts", "Alerts", id="app.alerts"),
        Binding("left_square_bracket", "earlier", "Earlier", show=False, id="app.earlier"),
        Binding("right_square_bracket", "later", "Later", show=False, id="app.later"),
        Binding("plus,equals_sign", "faster", "Refresh faster", show=False, id="app.faster"),
        Binding("minus", "slower", "Refresh slower", show=False, id="app.slower"),
        Binding("ctrl+s", "save_query", "Save query", show=False, id="app.save_query"),
        Binding("ctrl+o", "saved_queries", "Saved queries", show=False, id="app.saved_queries"),
        Binding("escape", "back_out", "Back", show=False, id="app.back"),
        Binding("ctrl+c", "interrupt", show=False, priority=True, id="app.interrupt"),
    ]

    # No repaint: an App reactive that repaints redraws the whole screen (a pause was a full
    # redraw); the query bar and the status bar watch these and redraw their one line.
    window: reactive[TimeWindow] = reactive(DEFAULT_WINDOW, init=False, repaint=False)
    paused: reactive[bool] = reactive(False, init=False, repaint=False)
    interval: reactive[float] = reactive(DEFAULT_INTERVAL, init=False, repaint=False)
    status: reactive[StatusInfo | None] = reactive(None, init=False, always_update=True, repaint=False)

    def __init__(
        self,
        db_path: str | Path,
        config: Config | None = None,
        *,
        worker: Any = None,
        theme: str | None = None,
        now: Now | None = None,
        panes: tuple[PaneSpec, ...] | None = None,
    ) -> None:
        super().__init__()
        config = config or Config()
        self.config = config
        self.db_path = Path(db_path)
        self.now: Now = now or time.time
        self.settings = UiSettings.from_config(config)
        use_time_zone(self.settings.timezone)  # every time on screen, from here on
        self.panes = panes if panes is not None else panes_from_config(config)
        self.worker = worker
        self.data = DataSource(self.db_path, self.now, query_timeout(config))
        self._themes = load_themes()
        for t in self._themes.values():
            self.register_theme(t)
        self._theme_name = resolve_theme_name(theme or self.settings.theme or DEFAULT_THEME, self.available_themes)
        self.keymap = dict(self.settings.keys or {})
        ids = all_binding_ids()
        unknown = sorted(set(self.keymap) - set(ids))
        if unknown:
            hint = did_you_mean(unknown[0], ids, otherwise="; see the help screen (?) for ids")
            raise ConfigError(f"[ui.keys]: no binding {unknown[0]!r}{hint}")
        self.set_reactive(FlowtuiApp.window, self.settings.window)
        self.set_reactive(FlowtuiApp.interval, self.settings.refresh)
        self.saved_queries: list[tuple[str, str]] = []
        self.query_history: list[str] = []  # oldest first
        self._history_warned = False
        self._timer: Any = None
        self._tick_soon = False
        self._again = False
        self._refresh_worker: Worker[None] | None = None
        self._marker: Any = None
        self._panes_at: float = 0.0
        self._panes_window: TimeWindow | None = None
        self._force = True
        self.dashboard = DashboardScreen(self.panes)
        self.refresh_count = 0  # pane refreshes shown in full (for tests and the curious)
        self.collector = QuietCollector()
        self.last_key_at = 0.0  # time.monotonic() of the last key (a refresh waits for its paint)
        self._watching_paint = False  # garbage collection waits for a key's paint
        self.key_painted = threading.Event()  # clear from a key's arrival until its change is painted
        self.key_painted.set()
        self.pane_results: list[PaneResult] = []  # the newest, for a dashboard mounted after they came

    # --- set-up ------------------------------------------------------------------
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    @property
    def flowtui_themes(self) -> list[str]:
        return sorted(self._themes)

    def get_default_screen(self) -> DashboardScreen:
        return self.dashboard

    def on_mount(self) -> None:
        self.theme = self._theme_name
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.keymap:
            self.set_keymap(self.keymap)
        self._update_window_labels()
        self._load_saved()
        self._tick()

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, events.Key):
            await super().on_event(event)
            return
        back = event.is_forwarded  # (forwarding it marks it so)
        if not back:
            end_overdue(self)  # a paint held past its time (its end lost) is not held for this key too
            self.key_painted.clear()
            self.collector.key_pressed()
            self.last_key_at = time.monotonic()
        try:
            await super().on_event(event)
        except BaseException:
            if not back:  # no paint to wait for: the young collections run again now, not at the next refresh
                self.collector.release()
                self.key_painted.set()
            raise
        if not back and not self._watching_paint:
            self._watching_paint = True
            self._collect_once_painted(KEY_PAINT_LOOKS)

    def _collect_once_painted(self, looks: int) -> None:
        """The garbage collection a key held back (the young generations, and the full one
        if it is due), once the key's change is on the screen, so that it does not delay what
        the key shows: no message queued on the app or the screen's widgets (the key's own
        included), nothing left to lay out or paint. Looked at every 10 ms, KEY_PAINT_LOOKS
        times at most."""
        if not self.screen_stack:  # the app is closing (on_unmount let the collector go)
            self._watching_paint = False
            self.key_painted.set()
            return
        screen = self.screen
        end_overdue(self)
        pending = (
            self._batch_count
            or screen._layout_required
            or screen._repaint_required
            or screen._dirty_widgets
            or screen._recompose_required
            or screen._callbacks  # (what waits for the paint: the key's work goes on after it)
            or not self._message_queue.empty()
            or any(not node._message_queue.empty() for node in screen.walk_children(with_self=True))
        )
        if pending and looks > 1:
            self.set_timer(KEY_PAINT_LOOK, partial(self._collect_once_painted, looks - 1))
            return
        self._watching_paint = False
        self.key_painted.set()
        self.collector.key_painted()

    def on_unmount(self) -> None:
        self.key_painted.set()
        self.collector.stop()
        if self._timer is not None:
            self._timer.stop()
        self.data.close()

    def _theme_changed(self, _: object) -> None:
        """Colours inside cells and labels come from the theme's variables: paint them again."""
        if self.dashboard.is_mounted:
            self.dashboard.restyle()
            self._update_window_labels()

    # --- the refresh loop ----------------------------------------------------------
    def _dashboard_visible(self) -> bool:
        stack = self.screen_stack
        return bool(stack) and stack[-1] is self.dashboard

    def _tick(self) -> None:
        self._timer = None
        self._tick_soon = False
        if self._refresh_worker is not None and not self._refresh_worker.is_finished:
            self._again = True  # never two ticks at once: go again when this one ends
            return
        run_panes = not self.paused and self._dashboard_visible()
        now = self.now()
        window = self.window
        due = self._force or self._panes_window != window
        if window.live and not due and self._panes_at:
            span = window.span(now) or 900
            due = now - self._panes_at >= max(self.interval, span / SLIDE_FRACTION)
        if not window.live and not due:
            run_panes = False  # a past window does not change: nothing to re-run
        rooms = self.dashboard.rooms() if run_panes else {}
        if run_panes and not rooms and any(spec.limit is None for spec in self.panes):
            run_panes = False  # not laid out yet: the panes' first resize asks again, knowing their height
        if run_panes:
            self._force = False
        self._refresh_worker = self._refresh(window, run_panes, due, rooms)

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def _refresh(self, window: TimeWindow, run_panes: bool, due: bool, rooms: dict[str, int]) -> None:
        """One tick, off the UI thread. Ticks never overlap, so the pane state it keeps is its own."""
        status = self.data.status()
        panes = None
        if run_panes and status.error is None:
            marker = self.data.marker()
            if due or marker != self._marker:
                panes = []
                for spec in self.panes:
                    # A key just pressed has the GIL to itself until it is painted: a pane's rows made
                    # into Python objects here meanwhile take it from the UI thread every 5 ms (the
                    # interpreter's switch interval), and the ingest process has the other core.
                    self.key_painted.wait(KEY_YIELD_AT_MOST)
                    panes.append(self.data.pane(spec, window, rooms.get(spec.key)))
                self._marker = marker
        elif run_panes and status.error is not None and due:
            panes = [PaneResult(spec, [], [], 0.0, window_text(window), error=status.error) for spec in self.panes]
        if panes is not None:
            self._panes_window = window
            self._panes_at = self.now()
        self.post_message(Refreshed(status, panes, window))

    def on_refreshed(self, message: Refreshed) -> None:
        self.collector.maybe_collect()  # before the panes change: nothing of theirs to walk twice
        end_overdue(self)
        self.status = message.status
        if message.panes is not None:
            self.pane_results = list(message.panes)
            if self.dashboard.is_mounted:
                self.dashboard.show_results(message.panes, done=self._refresh_shown)
            else:
                self._refresh_shown()

    def _refresh_shown(self) -> None:
        self.refresh_count += 1
        if self.refresh_count == 1:
            self.collector.start()  # the first panes are made: freeze them, then collect at quiet moments

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR:
            if worker.group == "refresh":
                self._force = True
            self._worker_failed(worker)
        if worker.group == "refresh" and worker is self._refresh_worker and worker.is_finished:
            again, self._again = self._again, False
            self._schedule(0 if again else None)

    def _schedule(self, delay: float | None = None) -> None:
        """Arm the one timer for the next tick (replacing any armed one)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        delay = self.interval if delay is None else delay
        if delay > 0:
            self._timer = self.set_timer(delay, self._tick)
        elif not self._tick_soon:
            self._tick_soon = True
            self.call_next(self._tick)

    def request_refresh(self, force: bool = True) -> None:
        """Refresh now (after a window change, on coming back to the dashboard)."""
        if force:
            self._force = True
        if self._refresh_worker is not None and not self._refresh_worker.is_finished:
            self._again = True  # the running tick re-arms the timer: make it at once
            return
        self._schedule(0)

    def _worker_failed(self, worker: Worker[Any]) -> None:
        """Every worker's failure ends here: a user's error as one sentence, a bug with its type."""
        error = worker.error
        if isinstance(error, FlowtuiError):
            self.notify(clean(str(error)), markup=False, severity="error", timeout=8)
        else:
            self.notify(f"{type(error).__name__}: {clean(str(error))}", markup=False, title="flowtui bug", severity="error", timeout=15)
            self.log.error(worker.error)

    # --- state changes -----------------------------------------------------------------
    def watch_window(self, window: TimeWindow) -> None:
        self._update_window_labels()
        for screen in self.screen_stack:
            if isinstance(screen, (ResultsScreen, AddressScreen)):
                screen.set_window(window)
        self.request_refresh()

    def watch_paused(self, paused: bool) -> None:
        self._update_window_labels()
        if not paused:
            self.request_refresh(force=False)

    def window_label(self) -> Text:
        colours = self.theme_variables
        feed = source_feed(self.status, self.now())  # '● live' only while a source reads
        viewer = not self.worker  # no source of its own: '○ viewer' until another process's source says it reads
        return window_label(self.window, self.paused, colours.get("success", "green"), feed, colours, viewer)

    def watch_status(self) -> None:
        if self.window_label() != getattr(self, "_label", None):  # sources started, failed or stopped
            self._update_window_labels()

    def _update_window_labels(self) -> None:
        label = self._label = self.window_label()
        for screen in self.screen_stack:
            for bar in screen.query(QueryBar):
                if bar.is_mounted:  # (one being mounted asks for the label itself)
                    bar.set_window_label(label)

    def set_window(self, window: TimeWindow) -> None:
        self.window = window

    # --- actions ------------------------------------------------------------------------
    def action_interrupt(self) -> None:
        """Ctrl-C quits with 130 from any screen, dialogs and the query bar too, as the CLI's does.

        Textual's own Ctrl-C only says "press ctrl+q", and its inputs copy with it; an
        input selects all its text when focused, so a copy binding would swallow the
        Ctrl-C of an on-call engineer leaving the dashboard. The terminal copies
        (shift-drag, ctrl+shift+c); the tables' y copies a value.
        """
        self.exit(130)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        from flowtui.ui.screens.dialogs import SavedQueriesScreen as _Saved

        groups: list[tuple[str, list[BindingType]]] = [
            ("everywhere", [b for b in self.BINDINGS if not (isinstance(b, Binding) and b.action == "resume")]),
            ("query bar", [Binding("enter", "run", "Run the query"), *QueryInput.BINDINGS]),
            ("dashboard", list(DashboardScreen.BINDINGS)),
            ("tables", [Binding("enter", "select", "Open the address / value"), *FlowTable.BINDINGS]),
            ("results", list(ResultsScreen.BINDINGS)),
            ("address", list(AddressScreen.BINDINGS)),
            ("alerts", list(AlertsScreen.BINDINGS)),
            ("saved queries", list(_Saved.BINDINGS)),
        ]
        return [(title, binding_rows(self, bindings, self.keymap)) for title, bindings in groups]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """'/' is a priority key (it takes effect before the next key arrives) but types a '/'
        into any text field (regexes, CIDR blocks, paths). Space pauses or resumes: the other is hidden.
        'a' is hidden on the alerts screen: the footer lists no key for the screen you are on."""
        if action in ("pause", "resume"):
            return self.paused == (action == "resume")
        if action == "alerts" and isinstance(self.screen, AlertsScreen):
            return False
        return not (action in ("focus_query", "window") and isinstance(self.focused, Input))

    def action_focus_query(self) -> None:
        bars = self.screen.query(QueryBar)
        if bars:
            bars.first().focus_input()
        else:
            self.switch_to_dashboard()
            self.dashboard.query_bar.focus_input()

    def switch_to_dashboard(self) -> None:
        while len(self.screen_stack) > 1 and self.screen is not self.dashboard:
            self.pop_screen()

    def action_pause(self) -> None:
        self.action_toggle_pause()

    def action_resume(self) -> None:
        self.action_toggle_pause()

    def action_toggle_pause(self) -> None:
        """The query bar, the status bar and the footer say which: no notification (a toast
        lays the screen out when it comes and when it goes, ~20 ms each under load)."""
        self.paused = not self.paused
        self.refresh_bindings()
        for footer in self.screen.query(KeyFooter):  # Pause ⇄ Resume now, with the labels (a Signal waits a turn)
            footer.bindings_changed(self.screen)

    def action_slower(self) -> None:
        bigger = [i for i in INTERVALS if i > self.interval]
        self.interval = bigger[0] if bigger else self.interval
        self._schedule()

    def action_faster(self) -> None:
        smaller = [i for i in INTERVALS if i < self.interval]
        self.interval = smaller[-1] if smaller else self.interval
        self._schedule()

    def action_earlier(self) -> None:
        self.window = self.window.shift(backward=True, now=self.now())

    def action_later(self) -> None:
        self.window = self.window.shift(backward=False, now=self.now())

    async def action_window(self) -> None:
        if self.screen.is_modal:  # as before it was a priority key: no dialog over a dialog or the help
            return
        def chosen(window: object) -> None:
            if isinstance(window, TimeWindow):
                self.window = window

        # Awaited: the keys typed right after 'w' wait in the app's queue until the dialog's field has the focus.
        await self.push_screen(WindowScreen(self.window), chosen)

    def action_alerts(self) -> None:
        open_alerts(self, self.config)

    def action_back_out(self) -> None:
        """Escape: close what is on top of the dashboard, never the dashboard itself."""
        if self.screen is not self.dashboard and len(self.screen_stack) > 1:
            self.pop_screen()

    # --- queries -------------------------------------------------------------------------
    def run_query(self, query: str) -> None:
        """Show ``query``'s flows: in the results view already open, or a new one."""
        screen = self.screen
        if isinstance(screen, ResultsScreen):
            screen.run(query)
        else:
            self.push_screen(ResultsScreen(query, self.window))

    def open_address(self, address: str) -> None:
        self.push_screen(AddressScreen(address, self.window))

    def remember_query(self, query: str) -> None:
        if query in self.query_history:
            self.query_history.remove(query)
        self.query_history.append(query)
        for screen in self.screen_stack:
            for bar in screen.query(QueryBar):
                bar.remember(query)
        self._keep(self.data.add_history, query)

    @work(thread=True, group="history", exit_on_error=False)
    def _keep(self, write: Callable[..., None], *args: str) -> None:
        """A write to the history/saved queries (it may wait for the ingest process's lock).

        A store that cannot take it (read-only file system, no store yet) is said once;
        the queries still work, the history just lives as long as the dashboard.
        """
        try:
            write(*args)
        except FlowtuiError as exc:
            if not self._history_warned:
                self._history_warned = True
                self.call_from_thread(
                    self.notify, f"Query history is not saved: {clean(str(exc))}", markup=False, severity="warning"
                )
            return
        self._load_saved_now()

    def on_flow_table_copied(self, message: FlowTable.Copied) -> None:
        shown = message.text if len(message.text) <= 60 else message.text[:59] + "…"
        self.notify(f"Copied {clean(shown)}", markup=False, timeout=2)

    def on_query_bar_submitted(self, message: QueryBar.Submitted) -> None:
        self.remember_query(message.query)
        self.run_query(message.query)

    def _current_query(self) -> str:
        bars = self.screen.query(QueryBar)
        return bars.first().value.strip() if bars else ""

    def action_save_query(self) -> None:
        query = self._current_query()
        if not query:
            self.notify("Type a query first, then ctrl+s saves it.", timeout=3)
            return

        def named(name: object) -> None:
            if isinstance(name, str) and name:
                self._keep(self.data.save, name, query)
                self.notify(f"Saved as {clean(name)}", markup=False, timeout=2)

        self.push_screen(SaveQueryScreen(query), named)

    def action_saved_queries(self) -> None:
        def picked(query: object) -> None:
            if isinstance(query, str):  # the results screen's bar shows it; this screen's keeps its own
                self.remember_query(query)
                self.run_query(query)

        self.push_screen(SavedQueriesScreen(list(self.saved_queries)), picked)

    def delete_saved_query(self, name: str) -> None:
        self.saved_queries = [(n, q) for n, q in self.saved_queries if n != name]
        self._keep(self.data.delete_saved, name)

    @work(thread=True, group="history", exit_on_error=False)
    def _load_saved(self) -> None:
        self._load_saved_now()

    def _load_saved_now(self) -> None:
        """In a worker: read the saved queries and the history, hand them to the UI."""
        try:
            saved, history = self.data.saved(), self.data.history()
        except FlowtuiError:
            return  # no store yet (a demo starting): the next save or run will create them
        self.post_message(HistoryLoaded(saved, history))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self.saved_queries = message.saved
        self.query_history = list(message.history)
        for screen in self.screen_stack:
            for bar in screen.query(QueryBar):
                bar.load_history(message.history)


def all_binding_ids() -> list[str]:
    from flowtui.ui.screens.dialogs import SavedQueriesScreen as _Saved
    from flowtui.ui.screens.dialogs import _Dialog

    ids: list[str] = []
    for owner in (
        FlowtuiApp, DashboardScreen, ResultsScreen, AddressScreen, AlertsScreen, FlowTable, QueryInput, HelpScreen, _Saved, _Dialog,
    ):
        for b in owner.BINDINGS:
            if isinstance(b, Binding) and b.id:
                ids.append(b.id)
    return ids


def run_app(
    db_path: str | Path,
    config: Config | None = None,
    *,
    worker: Any = None,
    theme: str | None = None,
    now: Now | None = None,
) -> int:
    """Run the dashboard on ``db_path`` until the user quits; start and stop ``worker`` around it.

    ``worker`` is a :class:`flowtui.worker.IngestWorker` (or a list of them)
    filling the store from another process; without one the dashboard is a
    viewer of a store someone else fills. Config and theme errors are raised
    (as ConfigError) before the terminal is taken over.
    """
    workers = [] if worker is None else list(worker) if isinstance(worker, (list, tuple)) else [worker]
    app = FlowtuiApp(db_path, config, worker=workers, theme=theme, now=now)
    _trust_the_terminal_size()
    started = []
    try:
        for w in workers:
            if getattr(w, "state", "new") == "new":
                w.start()
                started.append(w)
        result = app.run()
    finally:
        for w in started:
            w.stop()
    if app.return_code:  # Textual has printed the traceback of what stopped it: a bug, not a quit
        print(f"flowtui: the dashboard stopped on an internal error (above); exit {app.return_code}", file=sys.stderr)
        return app.return_code
    return int(result or 0)


def _trust_the_terminal_size() -> None:
    """Forget COLUMNS/LINES when the terminal can say its size.

    Textual asks ``shutil.get_terminal_size()``, which prefers those variables; a
    shell that exported them when the window was another size (tmux panes start
    at 80x24) would pin the dashboard to that size, through every resize.
    """
    stream = sys.__stdout__
    if stream is not None and stream.isatty():
        for name in ("COLUMNS", "LINES"):
            os.environ.pop(name, None)


def run_dashboard(
    db_path: str | Path,
    config: Config | None = None,
    *,
    jobs: Sequence[Any] = (),
    theme: str | None = None,
    now: Now | None = None,
) -> int:
    """:func:`run_app` with each ingest job (``flowtui.worker.IngestJob``) in its own worker process."""
    from flowtui.worker import IngestWorker

    log_dir = Path(db_path).parent
    workers = [IngestWorker(job, db_path, log_path=log_dir / f"{Path(db_path).stem}.{job.name}.log") for job in jobs]
    return run_app(db_path, config, worker=workers, theme=theme, now=now)
