"""One zone on screen: every time the dashboard shows or reads is in it, UTC unless
``[ui] timezone = "local"``, whatever TZ says; the header names it.

The CLI prints UTC (with a Z) and flow logs and CloudTrail are read in UTC;
a dashboard under TZ=Asia/Tokyo showed its rows and snapshot in local time
(nine hours on) beside a window it read and showed in UTC. Under "local", rows,
windows typed and shown, CloudTrail calls and firings are all in the machine's
zone, and the header says which ('IST', 'CET', 'UTC+03:00'); the CLI stays UTC.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from flowtui.query.window import TimeWindow
from flowtui.ui.formatting import format_time, read_time, use_time_zone, zone_name
from flowtui.ui.screens.address import AddressScreen
from flowtui.ui.screens.alerts import AlertsScreen
from flowtui.ui.screens.dialogs import parse_window
from flowtui.ui.screens.results import ResultsScreen
from flowtui.ui.screens.trail_event import TrailEventScreen
from tests.cloudtrail_data import write_trail
from tests.test_ui_address import plain
from tests.test_ui_alerts import PORT_SCAN, SCAN, THREAT, TOR, fire
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


async def typed_window_results(pilot: Any, typed: str, query: str) -> tuple[str, ResultsScreen]:
    """The window dialog's hint on the zone, then ``typed`` there as the window and ``query`` run."""
    app = pilot.app
    await pilot.press("w")
    hint = plain(app.screen.query_one(".dialog-box Label"))
    app.screen.query_one("#window-input").value = typed
    await pilot.press("enter")
    await enter_query(pilot, query)
    await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None and not app.screen._loading)
    return hint, app.screen


def results_times(screen: ResultsScreen) -> tuple[list[str], str, str]:
    """The rows' times, the summary line and the status bar."""
    rows = [r[0] for r in table_rows(screen.table)]
    return rows, str(screen.query_one("#results-summary").render()), str(screen.query_one("#status-bar").render())


async def call_page(pilot: Any, event_id: str) -> tuple[str, str]:
    """A CloudTrail call's page: its title, and what its flows' box says of them."""
    pilot.app.push_screen(TrailEventScreen(event_id))
    await until(pilot, lambda: isinstance(pilot.app.screen, TrailEventScreen) and pilot.app.screen.page is not None)
    event = pilot.app.screen
    return plain(event.query_one("#trail-title", Static)), str(event.query_one("#trail-flows-box").border_subtitle)


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
        hint, screen = await typed_window_results(pilot, "2026-11-27T09:55 to 2026-11-27T09:58", "action:REJECT")
        assert hint.endswith("2026-11-27T10:00 to 2026-11-27T11:00 (UTC) · all")
        assert app.window == TimeWindow(NOW - 300, NOW - 60)  # to 09:58 takes in the whole minute
        rows, summary, status = results_times(screen)
        # The rows of that window, at the times the window names (not 18:5x).
        assert rows == ["09:58:30", "09:57:30", "09:56:30", "09:55:30", "09:55:00"]
        assert summary.startswith("5 flows · 2026-11-27 09:55:00 → 09:58:59 ·")
        # The zone, said once: in the status bar, after the window.
        assert "│ 2026-11-27 09:55:00 → 09:58:59 UTC │ snapshot 10:00:00" in status
        assert status.count("UTC") == 1
        # A CloudTrail call's page: its time and the flows around it, UTC too.
        title, flows = await call_page(pilot, "ev-delete-sg")
        assert title.startswith("2026-11-27 09:56:40  DeleteSecurityGroup")
        assert flows == "5 flows in 10m around 09:56:40"


@pytest.fixture
def kolkata() -> Iterator[None]:
    """TZ=Asia/Kolkata (UTC+05:30, no daylight saving: 10:00 UTC is 15:30 IST) for the test;
    UTC again after it, and times on screen in UTC."""
    set_tz("Asia/Kolkata")
    try:
        yield
    finally:
        set_tz("UTC")
        use_time_zone("UTC")


def set_tz(name: str) -> None:
    os.environ["TZ"] = name
    time.tzset()


async def test_local_shows_and_reads_every_time_in_the_machines_zone(tmp_path: Path, kolkata: None) -> None:
    db = write_flows(tmp_path / "flows.db")
    write_trail(db, NOW)
    fire(db, [PORT_SCAN, THREAT], SCAN, TOR)
    app = make_app(db, timezone="local")  # make_app sets TZ=UTC: Kolkata again for the app's whole run
    set_tz("Asia/Kolkata")
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        assert app.window_label().plain == "○ viewer last 15m IST"  # the header names the zone
        # A window typed in the dialog is read in it (15:25 IST is 09:55 UTC) and shown so.
        hint, screen = await typed_window_results(
            pilot, "2026-11-27T15:25 to 2026-11-27T15:28", "action:REJECT AND NOT src_addr:203.0.113.9"  # not the scan's
        )
        assert hint.endswith("2026-11-27T10:00 to 2026-11-27T11:00 (IST) · all")
        assert app.window == TimeWindow(NOW - 300, NOW - 60)
        assert app.window_label().plain == "■ fixed 2026-11-27 15:25:00 → 15:28:59 IST"
        rows, summary, status = results_times(screen)
        assert rows == ["15:28:30", "15:27:30", "15:26:30", "15:25:30", "15:25:00"]
        assert summary.startswith("5 flows · 2026-11-27 15:25:00 → 15:28:59 ·")
        assert "│ 2026-11-27 15:25:00 → 15:28:59 IST │ snapshot 15:30:00" in status
        # An address's CloudTrail calls, and a call's page.
        await pilot.press("escape")
        app.open_address("198.51.100.7")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen.info is not None)
        assert [r[0] for r in table_rows(app.screen.query_one("#address-calls"))] == ["15:26:40"]  # 09:59:15 is past the window
        title, flows = await call_page(pilot, "ev-delete-sg")
        assert title.startswith("2026-11-27 15:26:40  DeleteSecurityGroup")
        assert flows == "5 flows in 10m around 15:26:40"
        # The firings: when each fired (09:59:30 UTC) and the window it counted.
        app.switch_to_dashboard()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen) and app.screen.loads >= 1)
        alerts = app.screen
        assert [r[0] for r in table_rows(alerts.table)] == ["15:29:30", "15:29:30"]
        detail = str(alerts.query_one("#alerts-detail").render())
        assert detail.startswith(
            "#2 threat-match · count 1 > 0 · new · fired 15:29:30 · src_addr=198.51.100.23 dst_port=443 · 1 flow, 100 B"
            " · 15:24:00–15:29:00\n"
        )


def test_the_header_names_the_zone_as_the_machine_does(kolkata: None) -> None:
    """Its abbreviation where it has one (daylight saving's at that moment); its offset where
    the zone's abbreviation is only numbers (Istanbul's '+03')."""
    assert zone_name(NOW) == "UTC"  # the default, whatever TZ says
    use_time_zone("local")
    assert zone_name(NOW) == "IST"
    set_tz("Europe/Berlin")
    assert (zone_name(NOW), zone_name(NOW - 150 * 86400)) == ("CET", "CEST")  # November, and June
    set_tz("Europe/Istanbul")
    assert zone_name(NOW) == "UTC+03:00"
    set_tz("America/St_Johns")
    assert (zone_name(NOW), format_time(NOW, with_date=True)) == ("NST", "2026-11-27 06:30:00")


def test_typed_times_are_read_in_the_zone_unless_they_name_theirs(kolkata: None) -> None:
    use_time_zone("local")
    assert read_time("2026-11-27T15:30") == (NOW, NOW + 59)  # IST, as the screen shows it
    assert read_time("2026-11-27T15:30:00") == (NOW, NOW)
    assert read_time("2026-11-27") == (NOW - 10 * 3600 - 1800 - 5 * 3600, NOW - 10 * 3600 - 1800 + 19 * 3600 - 1)
    assert read_time("2026-11-27T10:00Z") == (NOW, NOW + 59)  # a zone of its own is its own
    assert read_time("2026-11-27T11:00+01:00") == (NOW, NOW + 59)
    assert read_time("2026-11-27 05-05") == (NOW, NOW + 3599)
    assert read_time(str(NOW)) == (NOW, NOW)  # unix seconds have no zone
    use_time_zone("UTC")
    assert read_time("2026-11-27T10:00") == (NOW, NOW + 59)
    assert parse_window("2026-11-27T15:30 to 2026-11-27T15:31", local=True) == TimeWindow(NOW, NOW + 120)


def test_the_cli_prints_utc_whatever_the_ui_shows(tmp_path: Path) -> None:
    """`[ui] timezone` is the dashboard's: `flowtui query` prints what DESIGN.md says, under any TZ."""
    db = write_flows(tmp_path / "flows.db")
    local = tmp_path / "local.toml"
    local.write_text('[ui]\ntimezone = "local"\n')
    env = {**os.environ, "TZ": "Asia/Kolkata", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    def query(*config: str) -> str:
        args = ["query", "--db", str(db), *config, "--all", "--limit", "2", "--format", "csv", "--fields", "timestamp,action"]
        out = subprocess.run([sys.executable, "-m", "flowtui", *args], capture_output=True, text=True, env=env, check=True)
        return out.stdout

    assert query("--config", str(local)) == query() == (
        "timestamp,action\n2026-11-27T09:59:30Z,REJECT\n2026-11-27T09:59:00Z,ACCEPT\n"
    )


async def test_a_mute_ending_another_day_shows_its_date_as_the_cli_does(tmp_path: Path, kolkata: None) -> None:
    from flowtui.alerts import AlertLog
    from flowtui.store import Store
    from tests.test_ui_alerts import alerts_screen

    db = write_flows(tmp_path / "flows.db")
    fire(db, [PORT_SCAN], SCAN)
    with Store(db) as store:
        AlertLog(store).mute("port-scan", NOW + 9 * 3600)  # 19:00 UTC: 00:30 tomorrow in Kolkata
    app = make_app(db, timezone="local")
    set_tz("Asia/Kolkata")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await alerts_screen(pilot)
        assert [row[-1] for row in table_rows(screen.table)] == ["muted until 11-28 00:30"]
        await until(pilot, lambda: "muted" in str(screen.query_one("#alerts-detail").render()))
        detail = str(screen.query_one("#alerts-detail").render()).splitlines()
        assert detail[0] == (  # the mute's end, and when it fired, in the zone on screen
            "#1 port-scan · distinct(dst_port) 25 > 20 · muted until 11-28 00:30 (whole rule) · fired 15:29:30 · 203.0.113.9"
        )
