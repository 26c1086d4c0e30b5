"""The dashboard's compositor draws only the widgets under a change, and the terminal ends up
showing exactly what a whole redraw of the screen shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.segment import Segment
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.strip import Strip
from textual.widget import Widget

from flowtui.ui.confined import ConfinedCompositor
from flowtui.ui.widgets.pane import Pane
from tests.ui_data import make_app, refreshed, write_flows

Cell = tuple[str, Any]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


def _cells(strip: Strip | list[Segment]) -> list[Cell]:
    cells: list[Cell] = []
    for segment in strip:
        if segment.control:
            continue
        for char in segment.text:
            cells.append((char, segment.style))
    return cells


class Terminal:
    """What a terminal shows after the app's updates: a full one replaces every line, a
    partial one (ChopsUpdate) writes its chops over the spans as Textual writes them out."""

    def __init__(self, width: int, height: int) -> None:
        self.lines: list[list[Cell]] = [[(" ", None)] * width for _ in range(height)]
        self.partial = 0

    def apply(self, update: object) -> None:
        if isinstance(update, LayoutUpdate):
            for y, strips in enumerate(update.strips):
                self.lines[y] = _cells(Strip.join(strips))
        elif isinstance(update, ChopsUpdate):
            self.partial += 1
            for y, x1, x2 in update.spans:
                for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items()):
                    if strip is None or x > x2 or end <= x1:
                        continue
                    cells = _cells(strip.crop(0, min(end, x2) - x))
                    self.lines[y][x : x + len(cells)] = cells

    def matches(self, strips: list[Strip]) -> list[int]:
        """The lines that differ from ``strips`` (none: the same screen)."""
        return [y for y, strip in enumerate(strips) if _cells(strip) != self.lines[y]]


def watch(app: Any) -> Terminal:
    """A terminal showing the dashboard as it is now, then each update the app writes out."""
    compositor = app.dashboard._compositor
    terminal = Terminal(*compositor.size)
    terminal.apply(LayoutUpdate([[s] for s in compositor.render_strips()], compositor.size.region))
    display = app._display

    def shown(screen: Any, update: Any) -> None:
        display(screen, update)
        if screen is app.dashboard and update is not None and not app._batch_count:
            terminal.apply(update)

    app._display = shown
    return terminal


async def test_what_a_key_paints_is_what_a_whole_redraw_shows(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.dashboard._compositor, ConfinedCompositor)
        await refreshed(pilot)
        await pilot.pause(0.3)
        compositor = app.dashboard._compositor
        terminal = watch(app)
        for key in ("space", "j", "tab", "j", "slash", "escape", "space", "tab", "k", "tab", "tab"):
            await pilot.press(key)
            await pilot.pause(0.2)
            assert terminal.matches(compositor.render_strips()) == [], key
        assert terminal.partial >= 11


async def test_space_draws_the_lines_it_changes_not_the_panes_between(db: Path) -> None:
    """Space changes the query bar's label, the status bar and the footer: the panes' tables
    and borders are not drawn (Textual's own compositor drew everything between the top
    line and the bottom one)."""
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.pause(0.3)
        drawn: list[str] = []
        real = Widget.render_lines

        def render_lines(widget: Widget, crop: Any) -> list[Strip]:
            drawn.append(type(widget).__name__)
            return real(widget, crop)

        Widget.render_lines = render_lines  # type: ignore[method-assign]
        try:
            await pilot.press("space")
            await pilot.pause(0.2)
        finally:
            Widget.render_lines = real  # type: ignore[method-assign]
        assert app.paused
        assert drawn and not {"Pane", "PaneTable", "VerticalScroll"} & set(drawn)
        assert {"StatusBar", "FooterKey"} <= set(drawn)


async def test_after_a_layout_the_map_is_whole_and_not_built_again(db: Path) -> None:
    """'/' and Escape show and hide footer keys (a layout): the map the reflow made is the
    whole screen's, and looking a widget up does not arrange the screen a second time."""
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        compositor = app.dashboard._compositor
        arranged: list[bool] = []
        real = compositor._arrange_root

        def arrange(root: Any, size: Any, visible_only: bool = True) -> Any:
            arranged.append(visible_only)
            return real(root, size, visible_only)

        compositor._arrange_root = arrange  # type: ignore[method-assign]
        for key in ("slash", "escape"):
            arranged.clear()
            await pilot.press(key)
            await pilot.pause(0.2)
            assert arranged == [False], key  # the reflow's, once
            assert not compositor._full_map_invalidated
            assert compositor.full_map == real(app.dashboard, compositor.size, visible_only=False)[0]


async def test_a_stylesheet_that_tints_the_focused_table_repaints_it_whole(db: Path) -> None:
    """Whether a focus change changes more than a table's cursor is looked at once per
    stylesheet and theme: a tint added later is seen, and every Tab paints what a whole
    redraw shows."""
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.pause(0.3)
        compositor = app.dashboard._compositor
        for key in ("tab", "tab"):  # without a tint: the answers are kept
            await pilot.press(key)
            await pilot.pause(0.2)
        app.stylesheet.add_source(".pane-table:focus { background-tint: $foreground 20%; }", read_from=("test", ""))
        app.refresh_css()
        await pilot.pause(0.3)
        terminal = watch(app)

        def tinted(key: str) -> bool:
            """A row of the pane's table, not the cursor's, as the terminal shows it: tinted?"""
            table = app.dashboard.pane(key).table
            y = table.region.y + 2  # (the header, the cursor's row)
            x = table.region.x + 1
            cell = terminal.lines[y][x][1]
            return cell.bgcolor.get_truecolor() != table.background_colors[0].rich_color.get_truecolor()

        panes = [pane.spec.key for pane in app.dashboard.query(Pane)]
        for key, lit in (("2", 1), ("1", 0), ("slash", None), ("escape", 0), ("tab", 1), ("3", 2)):
            await pilot.press(key)
            await pilot.pause(0.2)
            assert terminal.matches(compositor.render_strips()) == [], key
            assert [k for k in panes if tinted(k)] == ([panes[lit]] if lit is not None else []), key
