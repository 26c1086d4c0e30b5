"""A query's flows (or, with ``@cloudtrail``, CloudTrail events): a paged table, sortable by any column.

Only one page (PAGE_SIZE rows) is ever in the table; moving past its last row
fetches the next page with an offset, as ``n``/``p`` do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from flowtui.errors import FlowtuiError, QueryError
from flowtui.query.engine import QueryCancelled
from flowtui.query.window import TimeWindow
from flowtui.ui.columns import is_ip, is_numeric, needs_date, order_columns, widest
from flowtui.ui.data import PAGE_SIZE, Page
from flowtui.ui.export import cancelled_text, default_export_path, export_columns, write_export, written_text
from flowtui.ui.flow_list import plan_flow_list
from flowtui.ui.formatting import SortableText, clean, fit, format_time, format_value, value_style, window_text
from flowtui.ui.screens.dialogs import ExportRequest, ExportScreen
from flowtui.ui.screens.trail_event import TrailEventScreen
from flowtui.ui.trail_data import is_address, is_trail_query
from flowtui.ui.widgets.flow_table import FlowTable
from flowtui.ui.widgets.key_footer import FooterKeys, KeyFooter
from flowtui.ui.widgets.query_bar import QueryBar
from flowtui.ui.widgets.status_bar import StatusBar

DEFAULT_ORDER = ("timestamp", True)
TRAIL_ORDER = ("eventTime", True)


def _default_order(query: str) -> tuple[str, bool]:
    return TRAIL_ORDER if is_trail_query(query) else DEFAULT_ORDER


class ResultsScreen(Screen[None]):
    DEFAULT_CSS = """
    ResultsScreen FlowTable.-stale { text-opacity: 50%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_page", "Next page", id="results.next_page"),
        Binding("p", "previous_page", "Prev page", id="results.previous_page"),
        Binding("s", "sort", "Sort", id="results.sort"),
        Binding("e", "export", "Export", id="results.export"),
        Binding("x", "cancel_export", "Cancel export", id="results.cancel_export"),  # shown while one runs
        Binding("r", "rerun", "Re-run", id="results.rerun"),
        Binding("escape", "back", "Back", id="results.back"),
    ]
    # The footer's keys, most important first: at 80 columns the screen's own keys, help and
    # quit (r re-runs is said beside the snapshot's time too). The query bar names its own.
    FOOTER_KEYS: ClassVar[FooterKeys] = (
        ("back", ""), ("cancel_export", ""), ("next_page", ""), ("previous_page", ""), ("sort", ""),
        ("export", ""), ("help", ""), ("quit", ""), ("rerun", ""), ("copy_cell", ""), ("focus_query", ""),
        ("window", ""),
    )

    class PageLoaded(Message):
        def __init__(self, page: Page) -> None:
            super().__init__()
            self.page = page

    class Failed(Message):
        def __init__(self, query: str, error: FlowtuiError) -> None:
            super().__init__()
            self.query = query
            self.error = error

    class ExportProgress(Message):
        """Rows written so far by the export under way (from its thread, every few thousand rows)."""

        bubble = False  # for this screen only

        def __init__(self, written: int) -> None:
            super().__init__()
            self.written = written

    def __init__(self, query: str, window: TimeWindow) -> None:
        super().__init__(classes="results-screen")
        self.query_text = query
        self.window = window
        self.order: tuple[str, bool] = _default_order(query)
        self.page: Page | None = None
        self._pending_cursor: str | None = None  # "top" or "bottom" after a page turn
        self._loading = False
        self._focus_column: str | None = None  # after a sort: the cursor goes to the sorted column
        self._sorted_from: tuple[str, bool] | None = None  # the order before a sort in flight
        self.taken_at: float | None = None  # when the rows shown were read: results are a snapshot
        self._asked_at: float | None = None  # when a fresh run (not a page turn) was asked for
        self._stale = False  # a query typed after these rows failed: they are the one before's
        self.snapshot: Page | None = None  # the counted page: its pinned window and newest flow id are the snapshot's
        self.exporting: Export | None = None  # the export under way, and how far it is

    def compose(self) -> ComposeResult:
        yield QueryBar(self.query_text, id="query-bar")
        yield Static("", id="results-summary")
        yield FlowTable(id="results-table", cursor_type="cell")
        yield StatusBar(id="status-bar")
        yield KeyFooter(compact=True)

    @property
    def table(self) -> FlowTable:
        return self.query_one(FlowTable)

    @property
    def query_bar(self) -> QueryBar:
        return self.query_one(QueryBar)

    def on_mount(self) -> None:
        self.table.focus()
        self.load(0, total=None)

    @property
    def shown_window(self) -> TimeWindow:
        """The window these rows are from (a firing's own, not the dashboard's): the status bar says it."""
        return self.window

    def snapshot_label(self) -> Text:
        """What the rows are: read once (at ``taken_at``), not following the live panes."""
        text = Text(no_wrap=True)
        text.append("■ snapshot ", style="bold")
        text.append(format_time(self.taken_at) if self.taken_at is not None else "…")
        text.append(" · r re-runs", style="dim")
        return text

    def _show_snapshot(self) -> None:
        self.query_bar.set_window_label(self.snapshot_label(), own=True)
        self.query_one(StatusBar).refresh_status()

    # --- loading -------------------------------------------------------------------
    def load(self, offset: int, total: int | None, cursor: str | None = None) -> None:
        self._pending_cursor = cursor
        if total is None:
            self._asked_at = self.app.now()  # type: ignore[attr-defined]
        self._loading = True
        self._summary(loading=True)
        # A page turn or a sort reads the snapshot's pinned window up to its newest flow,
        # so its rows are those counted: flows stored since shift no page.
        snap = self.snapshot if total is not None and self.snapshot and self.snapshot.window else None
        window = snap.window if snap is not None and snap.window is not None else self.window
        self._fetch(self.query_text, window, self.order, offset, total, snap.upto_id if snap is not None else None)

    @work(thread=True, exclusive=True, group="results", exit_on_error=False)
    def _fetch(
        self, query: str, window: TimeWindow, order: tuple[str, bool], offset: int, total: int | None, upto_id: int | None
    ) -> None:
        try:
            data = self.app.data  # type: ignore[attr-defined]
            fetch = data.trail_page if is_trail_query(query) else data.page
            page = fetch(query, window, order, offset, total, upto_id)
        except FlowtuiError as exc:
            self.post_message(self.Failed(query, exc))
            return
        self.post_message(self.PageLoaded(page))

    def on_results_screen_failed(self, message: Failed) -> None:
        self._loading = False
        if self._sorted_from is not None and self.page is not None and not isinstance(message.error, QueryError):
            # The sort was refused (a text column): keep the rows and the order they had.
            self.order, self._sorted_from = self._sorted_from, None
            self._focus_column = None
            self.notify(clean(str(message.error)), markup=False, severity="warning", timeout=4)
            self._summary()
            return
        if isinstance(message.error, QueryError):
            self.query_bar.focus_input()
            self.query_bar._check(message.query)
        line = Text(f"✗ {clean(str(message.error))}", style="bold", no_wrap=True, overflow="ellipsis")
        if self.table.row_count:
            self._set_stale(True)
            line.append(" · the rows below are the previous query's", style="dim")
        self.query_one("#results-summary", Static).update(line)

    def _set_stale(self, stale: bool) -> None:
        self._stale = stale
        self.table.set_class(stale, "-stale")

    @on(QueryBar.Refused)
    def _refused(self, event: QueryBar.Refused) -> None:
        event.stop()
        if self.page is not None:
            self._set_stale(True)
            self._summary()

    def on_results_screen_page_loaded(self, message: PageLoaded) -> None:
        page = message.page
        if page.query != self.query_text:
            return
        self._loading = False
        self._sorted_from = None
        self.page = page
        if self._asked_at is not None:  # a fresh run, counted: the new snapshot
            self.snapshot = page
        self._set_stale(False)
        keep = self._focus_column or self.table.cursor_column_name()
        self._focus_column = None
        row = (len(page.rows) - 1) if self._pending_cursor == "bottom" else 0
        self._render_page(row, keep)
        self._summary()
        if self._asked_at is not None:
            self.taken_at, self._asked_at = self._asked_at, None
        self._show_snapshot()

    def on_resize(self) -> None:
        if self.page is not None and self.is_mounted and self.table.row_count:
            self._render_page(self.table.cursor_coordinate.row, self.table.cursor_column_name())

    def _render_page(self, cursor_row: int, cursor_column: str | None) -> None:
        """Fill the table with the page: the columns that fit, each value as text."""
        page = self.page
        if page is None:
            return
        table = self.table
        dated = needs_date(self.window, self.app.now())  # type: ignore[attr-defined]
        columns = order_columns(page.columns, page.named)
        texts = [[_format(name, row.get(name), dated) for name in columns] for row in page.rows]
        if dated:
            _this_year(texts, columns, format_time(self.app.now(), with_date=True)[:5])  # type: ignore[attr-defined]
        values = widest(columns, texts)
        natural = {name: max(len(name) + (2 if name == self.order[0] else 0), values[name]) for name in columns}
        width = (self.app.size.width or table.size.width) - 2  # the table is as wide as the terminal, less a scrollbar
        # The flow lists' rule: two rows never read the same when their records differ.
        plan = plan_flow_list(columns, texts, width, keep=page.named, natural=natural, cut_headers=True)
        whole_row = "action" in columns and "action" not in plan.shown  # a reject's cells all say so
        with self.app.batch_update():
            table.clear(columns=True)
            for name in plan.shown:
                arrow = ""
                if name == self.order[0]:
                    arrow = " ▼" if self.order[1] else " ▲"
                justify = "right" if is_numeric(name) else "left"
                label = fit(plan.headers[name] + arrow, max(plan.caps[name], len(arrow) + 2), middle=False)
                table.add_column(Text(label, justify=justify), key=name)  # type: ignore[arg-type]
            index = {name: i for i, name in enumerate(columns)}
            for i, (row, row_texts) in enumerate(zip(page.rows, texts)):
                cells = [self._styled_cell(name, row, plan.text(name, row_texts[index[name]]), whole_row) for name in plan.shown]
                table.add_row(*cells, key=str(page.offset + i))
            if page.rows:
                column = plan.shown.index(cursor_column) if cursor_column in plan.shown else 0
                table.move_cursor(row=min(cursor_row, len(page.rows) - 1), column=column, animate=False)

    def _styled_cell(self, name: str, row: dict[str, Any], text: str, whole_row: bool = False) -> Text:
        """``whole_row``: the action column gave way, and a reject takes the reject colour in every cell."""
        vars_ = self.app.theme_variables
        value = row.get(name)
        style = ""
        if (name == "action" or whole_row) and row.get("action") == "REJECT":
            style = f"bold {vars_.get('reject', 'red')}"
        elif (name.endswith("_threat_indicated") and value) or row.get(f"{name}_threat_indicated"):
            style = f"bold {vars_.get('threat', 'magenta')}"
        return SortableText(text, value, style=value_style(value, style), justify="right" if is_numeric(name) else None)

    def _summary(self, loading: bool = False) -> None:
        box = self.query_one("#results-summary", Static)
        page = self.page
        line = Text(no_wrap=True, overflow="ellipsis")
        if self._stale:  # a query typed since did not run: say whose rows these are
            line.append("previous query's results", style="bold")
            line.append(" · ")
        if page is None:
            line.append("running query…", style="dim")
            box.update(line)
            return
        noun = "CloudTrail events" if is_trail_query(page.query) else "flows"
        if page.total == 0:
            line.append(f"No {noun} match in {window_text(self.window)}", style="bold")
            box.update(line)
            return
        first = page.offset + 1
        last = page.offset + len(page.rows)
        pages = (page.total + PAGE_SIZE - 1) // PAGE_SIZE
        line.append(f"{page.total:,} {noun}", style="bold")
        line.append(f" · {window_text(self.window)}")
        line.append(f" · rows {first:,}–{last:,} (page {page.offset // PAGE_SIZE + 1:,} of {pages:,})")
        line.append(f" · sorted by {self.order[0]} {'↓' if self.order[1] else '↑'}", style="dim")
        if loading:
            line.append(" · loading…", style="dim")
        if self.exporting is not None:
            line.append(f" · {self.exporting.describe()}", style="bold")
        box.update(line)

    # --- paging ---------------------------------------------------------------------
    def action_next_page(self) -> None:
        page = self.page
        if page is None or self._loading or page.offset + PAGE_SIZE >= page.total:
            return
        self.load(page.offset + PAGE_SIZE, page.total, cursor="top")

    def action_previous_page(self) -> None:
        page = self.page
        if page is None or self._loading or page.offset == 0:
            return
        self.load(max(0, page.offset - PAGE_SIZE), page.total, cursor="bottom")

    def on_key(self, event: Any) -> None:
        """Moving past the last row of a page turns the page (and before the first, back)."""
        table = self.table
        if self.focused is not table or not table.row_count:
            return
        row = table.cursor_coordinate.row
        if event.key in ("down", "j") and row == table.row_count - 1 and self._has_next():
            event.stop()
            self.action_next_page()
        elif event.key in ("up", "k") and row == 0 and self.page is not None and self.page.offset > 0:
            event.stop()
            self.action_previous_page()

    def _has_next(self) -> bool:
        return self.page is not None and self.page.offset + PAGE_SIZE < self.page.total

    # --- sorting --------------------------------------------------------------------
    def sort_by(self, name: str) -> None:
        self._sorted_from = self.order
        if name == self.order[0]:
            self.order = (name, not self.order[1])
        else:
            self.order = (name, is_numeric(name) or name == "timestamp")
        self._focus_column = name
        total = self.page.total if self.page else None
        self.load(0, total)

    def action_sort(self) -> None:
        name = self.table.cursor_column_name()
        if name:
            self.sort_by(name)

    @on(DataTable.HeaderSelected, "#results-table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    # --- drilling in and out ----------------------------------------------------------
    @on(DataTable.CellSelected, "#results-table")
    def _cell(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.drill()

    def drill(self) -> None:
        table = self.table
        page = self.page
        if page is None or not table.row_count:
            return
        row = page.rows[table.cursor_coordinate.row]
        column = table.cursor_column_name() or ""
        if "_event_id" in row:  # a CloudTrail event: its page, or its source address
            source = row.get(column) if column == "sourceIPAddress" else None
            if source and is_address(str(source)):
                self.app.open_address(str(source))  # type: ignore[attr-defined]
            else:
                self.app.push_screen(TrailEventScreen(str(row["_event_id"])))
            return
        if is_ip(column) and row.get(column):
            self.app.open_address(str(row[column]))  # type: ignore[attr-defined]
            return
        for name in ("src_addr", "dst_addr"):
            if row.get(name):
                self.app.open_address(str(row[name]))  # type: ignore[attr-defined]
                return

    def action_rerun(self) -> None:
        self.load(0, None)

    def action_export(self) -> None:
        """Ask where, then write the snapshot's rows (the ones the summary counts) from a thread."""
        if is_trail_query(self.query_text):
            self.notify(
                "CloudTrail results export from the command line: flowtui query --source cloudtrail --format csv",
                markup=False,
                timeout=6,
            )
            return
        page, snapshot = self.page, self.snapshot
        if self.exporting is not None:
            key = self.app.keymap.get("results.cancel_export", "x").split(",")[0].strip()  # type: ignore[attr-defined]
            self.notify(f"Already {self.exporting.describe()} · {key} cancels it", markup=False, timeout=3)
            return
        if page is None or snapshot is None or snapshot.query != page.query or snapshot.window is None:
            self.notify("The results are still loading", markup=False, timeout=3)
            return
        taken_at = self.taken_at if self.taken_at is not None else self.app.now()  # type: ignore[attr-defined]
        what = f"{snapshot.total:,} flows · {window_text(self.window)} · snapshot {format_time(taken_at)}"

        def chosen(request: object) -> None:
            if isinstance(request, ExportRequest):
                self._start_export(Export(request, snapshot, page.order))

        self.app.push_screen(ExportScreen(default_export_path(taken_at), what), chosen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """x (cancel export) is in the footer only while an export runs."""
        if action == "cancel_export":
            return self.exporting is not None
        return True

    def action_cancel_export(self) -> None:
        """Stop the export under way: its thread ends within a row, the partial file is removed."""
        if self.exporting is not None:
            self.exporting.stop.set()

    def _start_export(self, job: Export) -> None:
        self.exporting = job
        self.refresh_bindings()
        self._summary()
        # The app's worker, not the screen's: leaving the results does not stop the export.
        self.app.run_worker(partial(self._export, job), name="export", group="export", thread=True, exit_on_error=False)

    def _export(self, job: Export) -> None:
        """In a thread: stream the snapshot's rows into the file; the UI hears progress and the end."""
        app: Any = self.app
        snap = job.snapshot
        error: str | None = None
        try:
            columns = export_columns(job.request.format, snap.columns)  # JSON: every field, as the CLI's
            rows = app.data.export_rows(snap.query, snap.window, columns, job.order, snap.upto_id, job.stop)
            job.written = write_export(
                job.request.path, job.request.format, columns, rows, progress=partial(self._progress, job)
            )
        except QueryCancelled:
            job.cancelled = True  # _exported says so
        except FlowtuiError as exc:
            error = str(exc)
        try:
            app.call_from_thread(self._exported, job, error)
        except RuntimeError:
            pass  # the app is closing

    def _progress(self, job: Export, written: int) -> None:
        """In the export's thread: the count so far, for the toast of a cancel, and for the summary line."""
        job.written = written
        self.post_message(self.ExportProgress(written))

    def on_results_screen_export_progress(self, message: ExportProgress) -> None:
        if self.exporting is not None:
            self.exporting.written = message.written
            self._summary(loading=self._loading)

    def _exported(self, job: Export, error: str | None) -> None:
        self.exporting = None
        if self.is_mounted:
            self.refresh_bindings()
            self._summary(loading=self._loading)
        if job.cancelled:
            path = job.request.path
            self.app.notify(
                cancelled_text(job.written, job.snapshot.total, path, path.exists()),
                markup=False,
                severity="warning",
                timeout=8,
            )
            return
        if error is not None:
            self.app.notify(clean(error), title="Export failed", markup=False, severity="error", timeout=8)
            return
        self.app.notify(written_text(job.written, job.request.path), markup=False, timeout=8)

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(QueryBar.Submitted)
    def _new_query(self, event: QueryBar.Submitted) -> None:
        event.stop()
        self.app.remember_query(event.query)  # type: ignore[attr-defined]
        self.run(event.query)

    def run(self, query: str, window: TimeWindow | None = None) -> None:
        if is_trail_query(query) != is_trail_query(self.query_text):
            self.order = _default_order(query)  # another kind of record: its own columns and order
        self.query_text = query
        if window is not None:
            self.window = window
        self.page = None
        self.query_bar.show_query(query)
        self.table.focus()
        self.load(0, None)

    @on(QueryBar.Left)
    def _left_bar(self) -> None:
        self.table.focus()
        if self._stale and self.page is not None:  # the bar has the rows' query again
            self._set_stale(False)
            self._summary()

    def set_window(self, window: TimeWindow) -> None:
        self.window = window
        self.load(0, None)


@dataclass(slots=True)
class Export:
    """An export under way: where to, which snapshot, and how many rows are written so far."""

    request: ExportRequest
    snapshot: Page  # the counted page: query, columns, pinned window, newest flow id, total
    order: tuple[str, bool]
    written: int = 0
    stop: threading.Event = field(default_factory=threading.Event)  # set by x: the export's thread ends
    cancelled: bool = False  # the export stopped on x before its file was complete (an x after that is too late)

    def describe(self) -> str:
        return f"exporting {self.written:,} of {self.snapshot.total:,} to {self.request.path.name}…"


def _this_year(texts: list[list[str]], columns: list[str], year: str) -> None:
    """Times of the current year without it ('11-28 23:07:55', as alerts and mutes say a date),
    when every row's is: five cells that at 80 columns kept the bytes from being cut."""
    for i, name in enumerate(columns):
        if name in ("timestamp", "eventTime") and texts and all(row[i].startswith(year) for row in texts):
            for row in texts:
                row[i] = row[i][len(year):]


def _format(name: str, value: Any, dated: bool) -> str:
    if name == "eventTime" and isinstance(value, int):
        return format_time(value, with_date=dated)
    return format_value(name, value, with_date=dated)
