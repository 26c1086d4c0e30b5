"""The header says '● live' only while a source reads; the status bar puts a failing source first."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from flowtui.store import Store
from tests.ui_data import NOW, make_app, refreshed, until, write_flows

MISSING = "Kinesis stream 'does-not-exist' does not exist in us-east-1 (check the name and --region); retrying"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


def rows(db: Path, *states: tuple[str, str, str | None], updated: float | None = None) -> None:
    with Store(db) as store:
        for source, state, detail in states:
            store.set_status(source, state, detail, 0.0, None, 3 if state == "error" else 0)
        if updated is not None:
            store.conn.execute("UPDATE source_status SET updated = ?", (updated,))
            store.conn.commit()


async def test_the_header_follows_what_the_sources_do(db: Path) -> None:
    rows(
        db,
        ("alerts:ops-slack", "ok", None),
        ("kinesis:does-not-exist", "error", MISSING),
        ("kinesis:vpc-flow-logs", "reading", "2 reading"),
        ("kinesis:vpc-flow-logs/shardId-000000000000", "reading", None),
        ("kinesis:vpc-flow-logs/shardId-000000000001", "reading", None),
    )
    app = make_app(db)
    app.now = lambda: time.time()  # the rows' clock: none of them is stale
    async with app.run_test(size=(240, 30)) as pilot:
        await refreshed(pilot)
        header = app.dashboard.query_bar.query_one(".query-window")
        bar = app.screen.query_one("#status-bar")

        def says(text: str) -> bool:
            return str(header.render()).strip() == text

        await until(pilot, lambda: says("● live ⚠ 1 of 2 sources failing last 15m UTC"))
        line = str(bar.render())
        assert line.startswith(f"● kinesis:does-not-exist error 3 err — {MISSING[:40]}")
        assert "● kinesis:vpc-flow-logs reading" in line and "+3 more" in line

        rows(db, ("kinesis:vpc-flow-logs", "stopped", "2 stopped"))  # the QA case: the healthy one stopped too
        app.request_refresh(force=False)
        await until(pilot, lambda: says("⚠ 1 of 1 source failing last 15m UTC"))

        rows(db, ("kinesis:does-not-exist", "stopped", "1 stopped"))
        app.request_refresh(force=False)
        await until(pilot, lambda: says("■ stopped last 15m UTC"))

        rows(db, ("kinesis:does-not-exist", "reading", "1 reading"), ("kinesis:vpc-flow-logs", "caught-up", None))
        app.request_refresh(force=False)
        await until(pilot, lambda: says("● live last 15m UTC"))
        assert str(bar.render()).startswith("● kinesis:does-not-exist reading")

        await pilot.press("space")  # paused: the panes do not follow the clock, whatever the sources do
        assert str(header.render()).strip() == "PAUSED  last 15m UTC"


async def test_rows_nobody_writes_any_more_are_not_live(db: Path) -> None:
    """A tail killed with -9 leaves 'reading' rows behind: after 30 s without news they feed nothing."""
    rows(db, ("kinesis:vpc-flow-logs", "reading", None), ("kinesis:old", "error", "gone"), updated=NOW - 600)
    app = make_app(db)
    async with app.run_test(size=(160, 30)) as pilot:
        await refreshed(pilot)
        header = app.dashboard.query_bar.query_one(".query-window")
        await until(pilot, lambda: str(header.render()).strip() == "■ stopped last 15m UTC")


async def test_a_viewer_with_no_sources_says_so_not_live(db: Path) -> None:
    """QA: `flowtui --db` over an ingested store said '● live' while the status bar said '○ viewer (no sources)'."""
    rows(db, ("alerts:ops-slack", "ok", None))  # a notifier is not a source
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await refreshed(pilot)
        header = app.dashboard.query_bar.query_one(".query-window")
        assert str(header.render()).strip() == "○ viewer last 15m UTC"


async def test_a_pause_keeps_the_failing_sources_warning(db: Path) -> None:
    """QA: space turned '● live ⚠ 1 of 2 sources failing' into 'PAUSED  last 15m UTC'."""
    rows(db, ("kinesis:does-not-exist", "error", MISSING), ("kinesis:vpc-flow-logs", "reading", None))
    app = make_app(db)
    app.now = lambda: time.time()
    async with app.run_test(size=(160, 30)) as pilot:
        await refreshed(pilot)
        header = app.dashboard.query_bar.query_one(".query-window")
        await until(pilot, lambda: str(header.render()).strip() == "● live ⚠ 1 of 2 sources failing last 15m UTC")
        await pilot.press("space")
        assert str(header.render()).strip() == "PAUSED  ⚠ 1 of 2 sources failing last 15m UTC"
        await pilot.press("space")
        assert str(header.render()).strip() == "● live ⚠ 1 of 2 sources failing last 15m UTC"


def test_an_unreachable_or_denied_source_is_failing_a_throttled_one_reads() -> None:
    """The sources' own trouble states (flowtui.sources.health.TROUBLE) decide: a source that
    cannot reach its endpoint reads nothing, a throttled one reads slowly."""
    import time

    from flowtui.ui.data import SourceState, StatusInfo
    from flowtui.ui.widgets.status_bar import Feed, source_feed

    now = time.time()
    states = ["network", "denied", "credentials", "error", "throttled", "running"]
    rows = [SourceState(f"kinesis:s{i}", state, None, None, None, 0, now) for i, state in enumerate(states)]
    assert source_feed(StatusInfo(rows, 0, 0), now) == Feed(reading=2, failing=4)


async def test_a_source_that_reads_again_shows_no_error_count(db: Path) -> None:
    """QA: '● kinesis:not-yet reading 0.0/s lag 0ms 6 err — 1 caught-up' after the stream came."""
    with Store(db) as store:
        store.set_status("kinesis:not-yet", "error", MISSING, 0.0, None, 6)
    app = make_app(db)
    app.now = lambda: time.time()
    async with app.run_test(size=(160, 30)) as pilot:
        await refreshed(pilot)
        bar = app.screen.query_one("#status-bar")
        await until(pilot, lambda: str(bar.render()).startswith(f"● kinesis:not-yet error 6 err — {MISSING[:40]}"))
        with Store(db) as store:
            store.set_status("kinesis:not-yet", "reading", "1 caught-up", 0.0, 0, 6)
        app.request_refresh(force=False)
        await until(pilot, lambda: "reading" in str(bar.render()))
        assert str(bar.render()).startswith("● kinesis:not-yet reading 0.0/s lag 0ms — 1 caught-up │")


async def test_a_narrow_status_bar_leaves_parts_out_whole(db: Path) -> None:
    """QA: 80×24 read 'demo.db 37.6 M…', 120×40 '2026-11-28 15:00:00 → 2026-11-28 15:…'."""
    from flowtui.query.window import TimeWindow
    from tests.ui_data import NOW

    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        app.window = TimeWindow(NOW - 300, NOW - 60)
        await pilot.pause()
        bar = app.screen.query_one("#status-bar")
        line = str(bar.render())
        assert "…" not in line and line.endswith(" UTC │ every 1m")
        assert line.startswith("○ viewer (no sources) │ dead 0 │ ") and "flows.db" not in line
