"""One zone on screen: every time the dashboard shows or reads is UTC, whatever TZ says.

The CLI prints UTC (with a Z) and flow logs and CloudTrail are read in UTC;
a dashboard under TZ=Asia/Tokyo showed its rows and snapshot in local time
(nine hours on) beside a window it read and showed in UTC.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from flowtui.query.window import TimeWindow
from flowtui.ui.screens.results import ResultsScreen
from flowtui.ui.screens.trail_event import TrailEventScreen
from tests.cloudtrail_data import write_trail
from tests.test_ui_address import plain
from tests.ui_data import NOW, enter_query, make_app, refreshed, table_rows, until, write_flows


@pytest.fixture
def tokyo() -> Iterator[None]:
    """TZ=Asia/Tokyo (UTC+9) for the test, UTC again after it."""
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        yield
    finally:
        os.environ["TZ"] = "UTC"
        time.tzset()


async def test_under_another_tz_rows_window_and_calls_are_all_utc(tmp_path: Path, tokyo: None) -> None:
    db = write_flows(tmp_path / "flows.db")
    write_trail(db, NOW)
    app = make_app(db)  # make_app sets TZ=UTC: Tokyo again for the app's whole run
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    assert time.localtime(NOW).tm_hour == 19  # 10:00 UTC is 19:00 in Tokyo
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        # A window typed in the dialog is read as UTC and shown as typed.
        await pilot.press("w")
        app.screen.query_one("#window-input").value = "2026-11-27T09:55 to 2026-11-27T09:58"
        await pilot.press("enter")
        assert app.window == TimeWindow(NOW - 300, NOW - 60)  # to 09:58 takes in the whole minute
        await enter_query(pilot, "action:REJECT")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None and not app.screen._loading)
        screen = app.screen
        # The rows of that window, at the times the window names (not 18:5x).
        assert [r[0] for r in table_rows(screen.table)] == ["09:58:30", "09:57:30", "09:56:30", "09:55:30", "09:55:00"]
        summary = str(screen.query_one("#results-summary").render())
        assert summary.startswith("5 flows · 2026-11-27 09:55:00 → 2026-11-27 09:59:00 ·")
        # The zone, said once: in the status bar, after the window.
        status = str(screen.query_one("#status-bar").render())
        assert "│ 2026-11-27 09:55:00 → 2026-11-27 09:59:00 UTC │ snapshot 10:00:00" in status
        assert status.count("UTC") == 1
        # A CloudTrail call's page: its time and the flows around it, UTC too.
        app.push_screen(TrailEventScreen("ev-delete-sg"))
        await until(pilot, lambda: isinstance(app.screen, TrailEventScreen) and app.screen.page is not None)
        event = app.screen
        assert plain(event.query_one("#trail-title", Static)).startswith("2026-11-27 09:56:40  DeleteSecurityGroup")
        assert str(event.query_one("#trail-flows-box").border_subtitle) == "5 flows in 10m around 09:56:40"
