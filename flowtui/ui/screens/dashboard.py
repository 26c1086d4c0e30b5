"""The first screen: the query bar over the panes."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable

from flowtui import catalog
from flowtui.ui.confined import ConfinedCompositor
from flowtui.ui.data import PaneResult
from flowtui.ui.frames import hold_paint_for_focus
from flowtui.ui.panes import PaneSpec
from flowtui.ui.widgets.flow_table import FlowTable
from flowtui.ui.widgets.key_footer import KeyFooter
from flowtui.ui.widgets.pane import Pane
from flowtui.ui.widgets.query_bar import QueryBar
from flowtui.ui.widgets.status_bar import StatusBar

FRAME = 1 / 60  # seconds between showing one pane of a refresh and the next
KEY_FIRST = 0.15  # seconds a refresh's panes wait after a key, so the key's change is painted alone
KEY_WAIT_MAX = 1.0  # ... but no longer than this in all (someone typing on and on)
# Which pane gets which accent colour, by its query.
_ACCENTS = (("threat_indicated", "threat"), ("REJECT", "reject"))


def accent_for(spec: PaneSpec) -> str | None:
    for needle, accent in _ACCENTS:
        if needle in spec.query:
            return accent
    return None


class DashboardScreen(Screen[None]):
    """Four panes (or the config's), refreshed by the app's loop."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "drill", "Drill down", show=False, id="dashboard.drill"),
        Binding("o", "open_pane", "Pane as results", show=False, id="dashboard.open_pane"),
        # No description: not a dashboard key in help; pressed here, it says where export works.
        Binding("e", "export", "", show=False, id="dashboard.export"),
        *(
            Binding(str(n), f"focus_pane({n})", f"Go to pane {n}", show=False, id=f"dashboard.pane{n}")
            for n in range(1, 10)
        ),
    ]

    # Screen repaints itself whole on every focus change (~45 ms at 160x48); the widgets
    # whose look depends on focus restyle and repaint themselves anyway.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(self, panes: tuple[PaneSpec, ...]) -> None:
        super().__init__(id="dashboard")
        self._compositor = ConfinedCompositor()  # a key's change draws the widgets under it, not all between
        self.specs = panes
        self._to_show: dict[str, PaneResult] = {}  # pane key -> result not shown yet
        self._when_shown: list[Callable[[], None]] = []
        self._showing = False
        self._since = 0.0  # time.monotonic() the refresh being shown came

    def compose(self) -> ComposeResult:
        yield QueryBar(id="query-bar")
        with VerticalScroll(id="panes"):
            for spec in self.specs:
                yield Pane(spec, accent=accent_for(spec))
        yield StatusBar(id="status-bar")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one(FlowTable).focus()
        for result in getattr(self.app, "pane_results", []):  # the first frame: all at once
            self.pane(result.spec.key).show(result)

    def set_focus(self, widget: Widget | None, scroll_visible: bool = True, from_app_focus: bool = False) -> None:
        """Move the focus, and at once show where it went: the panes' borders and the footer's
        keys change in the frame the tables change in (Textual has the panes hear of it from
        their tables' focus events, the footer after the next paint: two or three frames,
        ~20 ms each)."""
        previous = self.focused
        super().set_focus(widget, scroll_visible, from_app_focus)
        if not self.is_attached:
            return
        focused = self.focused
        if focused is not previous:
            hold_paint_for_focus(self, focused)
        for pane in self.query(Pane):
            pane.show_focus(focused is not None and pane in focused.ancestors)
        if self.app.screen is self:
            self.query_one(KeyFooter).bindings_changed(self)  # now: a Signal would deliver it next turn

    def on_screen_resume(self) -> None:
        self.app.request_refresh(force=False)  # type: ignore[attr-defined]

    @property
    def query_bar(self) -> QueryBar:
        return self.query_one(QueryBar)

    def pane(self, key: str) -> Pane:
        return self.query_one(f"#pane-{key}", Pane)

    def rooms(self) -> dict[str, int]:
        """Rows each laid-out pane has room for (by pane key), read on the UI thread for the next refresh."""
        if not self.is_attached:
            return {}
        return {pane.spec.key: pane.room() for pane in self.query(Pane) if pane.size.height}

    def show_results(self, results: list[PaneResult], done: Callable[[], None] | None = None) -> None:
        """Show a refresh one pane per frame, then call ``done``.

        Painting a pane whose cells changed takes ~12 ms (DataTable renders every cell
        again); four in one frame held a key press up ~50 ms. Between frames keys are
        handled. A refresh that comes while one is being shown replaces what is left of it.
        """
        self._to_show = {result.spec.key: result for result in results}
        if done is not None:
            self._when_shown.append(done)
        if not self._showing:
            self._showing = True
            self._since = time.monotonic()
            self._show_next()

    def _show_next(self) -> None:
        if not self._to_show or not self.is_attached:
            self._showing = False
            done, self._when_shown = self._when_shown, []
            for callback in done:
                callback()
            return
        # A key just pressed goes first: its change (a focus, a label) is painted on its own,
        # not in the frame of a pane's new rows (~5–15 ms more, under load more still).
        now = time.monotonic()
        after_key = now - getattr(self.app, "last_key_at", 0.0)
        if after_key < KEY_FIRST and now - self._since < KEY_WAIT_MAX:
            self.set_timer(KEY_FIRST - after_key, self._show_next)
            return
        key = next(iter(self._to_show))
        self.pane(key).show(self._to_show.pop(key))
        # The pane's widgets tell the screen they changed when they are next idle, so wait
        # a frame for that, then for the paint (if it has not been) before the next pane.
        self.set_timer(FRAME, partial(self.call_after_refresh, self._show_next))

    def restyle(self) -> None:
        for pane in self.query(Pane):
            pane.refresh_styles()

    # --- drilling in ------------------------------------------------------------------
    def _focused_pane(self) -> Pane | None:
        focused = self.focused
        if isinstance(focused, FlowTable):
            return focused.query_ancestor(Pane)
        return None

    def action_drill(self) -> None:
        pane = self._focused_pane()
        if pane is not None:
            self._drill(pane, pane.table)

    @on(DataTable.CellSelected, ".pane-table")
    def _cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        table = event.data_table
        if isinstance(table, FlowTable):
            self._drill(table.query_ancestor(Pane), table)

    def _drill(self, pane: Pane, table: FlowTable) -> None:
        """Enter on an address opens it; on any other cell, the pane's flows with that value."""
        if not table.row_count:
            return
        row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        row = pane.row_for_key(row_key or "")
        if row is None:
            return
        column = (table.cursor_column_name() or "").removesuffix(".who")  # a label stands for its address
        by = pane.spec.by
        app = self.app
        if row.other:
            app.run_query(pane.spec.query)  # type: ignore[attr-defined]
            return
        addresses = [(n, v) for n, v in zip(by, row.values) if catalog.BY_NAME[n].type == "ip" and v]
        chosen = next(((n, v) for n, v in zip(by, row.values) if n == column), None)
        if chosen and chosen[0] in dict(addresses):
            app.open_address(str(chosen[1]))  # type: ignore[attr-defined]
        elif addresses and column not in by:
            app.open_address(str(addresses[0][1]))  # type: ignore[attr-defined]
        else:
            app.run_query(_narrow(pane.spec.query, zip(by, row.values)))  # type: ignore[attr-defined]

    def action_focus_pane(self, number: int) -> None:
        panes = list(self.query(Pane))
        if 1 <= number <= len(panes):
            pane = panes[number - 1]
            pane.table.focus()
            pane.scroll_visible(animate=False)

    def action_open_pane(self) -> None:
        pane = self._focused_pane() or self.query(Pane).first()
        self.app.run_query(pane.spec.query)  # type: ignore[attr-defined]

    def action_export(self) -> None:
        """Export writes a query's flows, from its results: say how to get there from a pane."""
        self.notify("Export works on results: o opens this pane's flows (or / a query), then e", markup=False, timeout=5)

    # --- query bar -------------------------------------------------------------------
    @on(QueryBar.Left)
    def _left_bar(self) -> None:
        # Now, not at the app's next turn (``focus()``): the screen would paint the bar's
        # change alone first, and the table's, the panes' and the footer's a frame or two later.
        self.set_focus(self.query_one(FlowTable))

    def set_window_label(self, label: Text) -> None:
        self.query_bar.set_window_label(label)


def _narrow(query: str, pairs: object) -> str:
    """``query`` AND each field:value of a row."""
    from flowtui.ui.data import quote

    terms = [f"{name}:{quote(str(value))}" for name, value in pairs if value is not None]  # type: ignore[attr-defined]
    base = query.strip()
    if not terms:
        return base
    if base in ("", "*"):
        return " AND ".join(terms)
    return f"({base}) AND " + " AND ".join(terms)
