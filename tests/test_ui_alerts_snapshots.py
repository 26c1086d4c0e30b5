"""SVG snapshots of the alerts: the badge on the dashboard, the list, the mute dialog, the empty screen.

Update them with ``pytest tests/test_ui_alerts_snapshots.py --snapshot-update``
and look at the report before committing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowtui.alerts import AlertLog
from flowtui.store import Store
from flowtui.ui.alert_watch import alert_watch
from flowtui.ui.screens.alerts import AlertsScreen
from flowtui.ui.screens.mute import MuteScreen
from tests.test_ui_alerts import BIG, PORT_SCAN, SCAN, THREAT, TOR, fire
from tests.test_ui_snapshots import make_app, settled
from tests.ui_data import NOW, flow, until, write_flows

SIZE = (80, 24)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Three firings: a port scan (acknowledged), a threat match, and a big transfer fired while muted."""
    path = write_flows(tmp_path / "flows.db")
    fire(path, [PORT_SCAN, THREAT], SCAN, TOR)
    with Store(path) as store:
        log = AlertLog(store)
        log.acknowledge([1], now=NOW)
        log.mute("big-transfer", NOW + 3600)
    big = flow("10.0.1.10", 40100, "84.17.32.5", 443, 6, "ACCEPT", 2_000_000, 1500, 50)
    fire(path, [BIG], [big])
    return path


async def badged(pilot: Any) -> None:
    await until(pilot, lambda: alert_watch(pilot.app).state is not None)
    await settled(pilot)


async def on_alerts(pilot: Any) -> None:
    await badged(pilot)
    await pilot.press("a")
    await until(pilot, lambda: isinstance(pilot.app.screen, AlertsScreen) and pilot.app.screen.loads >= 1)
    await until(pilot, lambda: bool(pilot.app.screen.flows_now) or not pilot.app.screen.alerts.firings)  # Enter's count
    await settled(pilot)


def test_dashboard_with_the_alerts_badge(db: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(db), terminal_size=SIZE, run_before=badged)


def test_alerts_screen(db: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(db), terminal_size=SIZE, run_before=on_alerts)


def test_alerts_screen_wide(db: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(db), terminal_size=(120, 30), run_before=on_alerts)


def test_mute_dialog(db: Path, snap_compare: Any) -> None:
    async def before(pilot: Any) -> None:
        await on_alerts(pilot)
        await pilot.press("j", "m")
        await until(pilot, lambda: isinstance(pilot.app.screen, MuteScreen))
        await pilot.pause()

    assert snap_compare(make_app(db), terminal_size=SIZE, run_before=before)


def test_alerts_screen_without_rules(tmp_path: Path, snap_compare: Any) -> None:
    db = write_flows(tmp_path / "flows.db")
    assert snap_compare(make_app(db), terminal_size=SIZE, run_before=on_alerts)
