"""SVG snapshots of every screen, at fixed sizes, on fixed data with a frozen clock.

Update them with ``pytest tests/test_ui_snapshots.py --snapshot-update`` and
look at the report before committing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from flowtui.ui.data import StatusInfo
from flowtui.ui.screens.address import AddressScreen
from flowtui.ui.screens.results import ResultsScreen
from tests.ui_data import enter_query, until, write_flows
from tests.ui_data import make_app as make_ui_app


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


def make_app(db: Path, **ui: Any) -> Any:
    """The app on the fixed data, its store size pinned (the file's size is the store's business)."""
    app = make_ui_app(db, **ui)
    status = app.data.status

    def fixed_size() -> StatusInfo:
        return dataclasses.replace(status(), size_bytes=1_234_567)

    app.data.status = fixed_size
    return app


async def settled(pilot: Any) -> None:
    """Until the panes are filled and nothing is left running."""
    app = pilot.app
    await until(pilot, lambda: app.refresh_count >= 1 and app.status is not None)
    await until(pilot, lambda: all(w.is_finished for w in app.workers))
    app.clear_notifications()
    await pilot.pause()


async def run_query(pilot: Any, query: str) -> None:
    await settled(pilot)
    await enter_query(pilot, query)
    await until(pilot, lambda: isinstance(pilot.app.screen, ResultsScreen) and pilot.app.screen.page is not None)
    await settled(pilot)


def test_dashboard(db: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(db), terminal_size=(120, 40), run_before=settled)


def test_dashboard_small_terminal(db: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(db), terminal_size=(80, 24), run_before=settled)


def test_dashboard_wide_terminal(db: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(db), terminal_size=(200, 50), run_before=settled)


def test_dashboard_light_theme(db: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(db, theme="light"), terminal_size=(120, 40), run_before=settled)


def test_dashboard_256_colour_theme(db: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(db, theme="256"), terminal_size=(120, 40), run_before=settled)


def test_query_error(db: Path, snap_compare: Any) -> None:
    async def before(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("slash", *"dst_port:(22 OR")
        await pilot.pause()

    assert snap_compare(make_app(db), terminal_size=(120, 40), run_before=before)


def test_completion_list(db: Path, snap_compare: Any) -> None:
    async def before(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("slash", *"src_addr_co")
        await until(pilot, lambda: pilot.app.screen.query_one("#query-suggestions").display)
        await settled(pilot)

    assert snap_compare(make_app(db), terminal_size=(120, 40), run_before=before)


def test_results(db: Path, snap_compare: Any) -> None:
    async def before(pilot: Any) -> None:
        await run_query(pilot, "action:REJECT")

    assert snap_compare(make_app(db), terminal_size=(120, 40), run_before=before)


def test_results_small_terminal(db: Path, snap_compare: Any) -> None:
    async def before(pilot: Any) -> None:
        await run_query(pilot, "*")

    assert snap_compare(make_app(db), terminal_size=(80, 24), run_before=before)


def test_address_page(db: Path, snap_compare: Any) -> None:
    async def before(pilot: Any) -> None:
        await settled(pilot)
        pilot.app.open_address("10.0.1.11")
        await until(pilot, lambda: isinstance(pilot.app.screen, AddressScreen) and pilot.app.screen.info is not None)
        await settled(pilot)

    assert snap_compare(make_app(db), terminal_size=(120, 40), run_before=before)


def test_external_address_page(db: Path, snap_compare: Any) -> None:
    async def before(pilot: Any) -> None:
        await settled(pilot)
        pilot.app.open_address("198.51.100.7")
        await until(pilot, lambda: isinstance(pilot.app.screen, AddressScreen) and pilot.app.screen.info is not None)
        await settled(pilot)

    assert snap_compare(make_app(db), terminal_size=(120, 40), run_before=before)


def test_help(db: Path, snap_compare: Any) -> None:
    async def before(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(db), terminal_size=(120, 40), run_before=before)


def test_export_dialog(db: Path, snap_compare: Any) -> None:
    async def before(pilot: Any) -> None:
        await run_query(pilot, "action:REJECT")
        await pilot.press("e")
        await until(pilot, lambda: pilot.app.screen.__class__.__name__ == "ExportScreen")
        pilot.app.screen.query_one("#export-path").value = "/tmp/rejects.csv"
        await pilot.pause()

    assert snap_compare(make_app(db), terminal_size=(120, 40), run_before=before)


def test_window_dialog(db: Path, snap_compare: Any) -> None:
    async def before(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("w")
        await pilot.pause()

    assert snap_compare(make_app(db), terminal_size=(120, 40), run_before=before)
