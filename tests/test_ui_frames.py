"""A key's changes reach the screen in one paint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui_data import make_app, refreshed, write_flows


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


async def test_escape_out_of_the_bar_is_one_paint_whatever_the_cursor_blink(db: Path) -> None:
    """A key typed in the bar shows its cursor again (Input restarts the blink: a repaint of
    the bar before the key's work reaches the screen); Escape's paint is held until the focus
    is back in the table, so the bar, the tables, the panes and the footer change together."""
    from textual.screen import Screen

    from flowtui.ui.widgets.query_bar import QueryInput

    paints: list[set[str]] = []
    real = Screen._on_timer_update

    def counted(screen: Screen[object]) -> None:
        if screen._dirty_widgets or screen._layout_required:
            paints.append({type(w).__name__ for w in screen._dirty_widgets})
        real(screen)

    Screen._on_timer_update = counted  # type: ignore[method-assign]  # before the screen's frame timer is made
    try:
        app = make_app(db)
        async with app.run_test(size=(120, 40)) as pilot:
            await refreshed(pilot)
            for _ in range(2):
                await pilot.press("slash")
                await pilot.pause(0.3)
                bar = app.dashboard.query_one(QueryInput)
                assert app.focused is bar
                bar._cursor_visible = False  # the blink's off phase: the next key shows it
                await pilot.pause(0.05)
                paints.clear()
                await pilot.press("escape")
                await pilot.pause(0.3)
                assert app.focused is app.dashboard.pane("top-talkers").table
                assert len(paints) == 1, paints
                assert {"QueryInput", "PaneTable", "Pane"} <= paints[0]
            assert app._batch_count == 0
    finally:
        Screen._on_timer_update = real  # type: ignore[method-assign]
