"""The header's window and state: keys typed while the window dialog opens, a viewer, a pause."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events

from flowtui.ui.widgets.query_bar import QueryBar
from tests.ui_data import make_app, refreshed, until, write_flows


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


def header(app) -> str:  # type: ignore[no-untyped-def]
    return app.window_label().plain


async def test_keys_typed_as_the_window_dialog_opens_reach_its_field(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await refreshed(pilot)
        for key, char in (("w", "w"), ("2", "2"), ("4", "4"), ("h", "h"), ("enter", "\r")):  # one burst, as tmux sends it
            app.post_message(events.Key(key, char))
        await until(pilot, lambda: app.screen is app.dashboard)
        assert header(app).endswith("last 1d UTC")
        assert str(app.screen.query_one(QueryBar).query_one(".query-window").render()).endswith("last 1d UTC")


async def test_w_types_into_a_field_and_opens_no_dialog_over_a_dialog(db: Path) -> None:
    from flowtui.ui.screens.dialogs import WindowScreen

    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash", "w")
        assert app.screen.query_one(QueryBar).input.value.endswith("w")
        await pilot.press("escape", "escape")  # the suggestions, then the bar
        await until(pilot, lambda: app.focused is not app.screen.query_one(QueryBar).input)
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WindowScreen))
        await pilot.press("tab", "w")  # the field to the next preset: 'w' again opens no second dialog
        assert [type(s) for s in app.screen_stack].count(WindowScreen) == 1


async def test_a_typed_window_is_shown_to_the_end_typed(db: Path) -> None:
    """QA: '2026-11-28T15:00 to 2026-11-28T15:05' read '■ fixed 2026-11-28 15:00:00 → 2026-11-28 15:06:00 UTC'."""
    from flowtui.ui.screens.dialogs import WindowScreen

    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await refreshed(pilot)
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WindowScreen))
        hint = str(app.screen.query_one(".dialog-hint").render())
        assert hint == "'to' includes its whole minute: to 11:00 ends at 11:00:59"
        await pilot.press(*"2026-11-28T15:00 to 2026-11-28T15:05", "enter")
        await until(pilot, lambda: app.screen is app.dashboard)
        assert header(app) == "■ fixed 2026-11-28 15:00:00 → 15:05:59 UTC"
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WindowScreen))
        await pilot.press(*"2026-11-28T23:00 to 2026-11-29T00:30", "enter")  # over midnight: both dates
        await until(pilot, lambda: app.screen is app.dashboard)
        assert header(app) == "■ fixed 2026-11-28 23:00:00 → 2026-11-29 00:30:59 UTC"


async def test_results_at_80_columns_keep_the_query_and_the_page_count(db: Path) -> None:
    """QA, 80×24, a fixed window: '/ dst_addr_entity_aws_t' and 25 blank cells before '■ snapshot …',
    and the summary cut at 'rows 1–200 (page 1'."""
    from flowtui.query.window import TimeWindow
    from flowtui.ui.screens.results import ResultsScreen
    from tests.ui_data import NOW, enter_query

    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        app.window = TimeWindow(NOW - 300, NOW - 60)
        await enter_query(pilot, "dst_addr_entity_aws_type:EC2 AND src_addr_internal:false")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None and not app.screen._loading)
        await pilot.pause()
        label = app.screen.query_bar.query_one(".query-window")
        assert str(label.render()).startswith("■ snapshot ")
        assert label.size.width <= len(str(label.render())) + 2  # no blank cells left by the app's wider label
        summary = app.screen.query_one("#results-summary")
        text = str(summary.render())
        shown = text[: summary.content_size.width]
        assert shown.startswith("7 flows · 2026-11-27 09:55:00 → 09:58:59 · rows 1–7 (page 1 of 1)")
