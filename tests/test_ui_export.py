"""Results paging and export against a snapshot: flows stored later shift no page, the
configured [query] timeout reaches the UI's queries but not an export, and x cancels an export."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from textual.widgets._footer import FooterKey

from flowtui.config import Config
from flowtui.query.engine import QueryCancelled
from flowtui.query.window import TimeWindow
from flowtui.ui import export as export_module
from flowtui.ui.data import PAGE_SIZE, DataSource
from flowtui.ui.export import write_export
from flowtui.ui.screens.dialogs import ExportScreen
from flowtui.ui.screens.results import ResultsScreen
from tests.ui_data import (
    NOW,
    add_flows,
    enter_query,
    fixed_clock,
    flow,
    make_app,
    refreshed,
    table_rows,
    until,
    use_utc,
    write_flows,
)


def _flows(n: int, first_port: int) -> list:  # type: ignore[type-arg]
    """``n`` flows to port 80, one a second back from NOW - 1; source ports from ``first_port``."""
    return [flow("192.0.2.66", first_port + i, "10.0.1.10", 80, 6, "ACCEPT", 100, 1, 1 + i) for i in range(n)]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db", _flows(450, 10_000))


async def _results(pilot, query: str) -> ResultsScreen:  # type: ignore[no-untyped-def]
    app = pilot.app
    await enter_query(pilot, query)
    await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None and not app.screen._loading)
    return app.screen


def _ports(screen: ResultsScreen) -> list[int]:
    return [int(r[3]) for r in table_rows(screen.table)]


async def test_pages_and_sorts_keep_the_snapshot_while_flows_arrive(db: Path) -> None:
    """450 flows counted; 300 more stored at the same times (each newer than its twin); the
    three pages still hold exactly the 450, each once, and a sort reads the same 450."""
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await _results(pilot, "dst_port:80")
        seen = _ports(screen)
        assert seen == list(range(10_000, 10_200))
        add_flows(db, _flows(300, 20_000))
        for offset in (200, 400):
            await pilot.press("n")
            await until(pilot, lambda at=offset: screen.page is not None and screen.page.offset == at and not screen._loading)  # type: ignore[misc]
            seen += _ports(screen)
        assert seen == list(range(10_000, 10_450))
        assert str(screen.query_one("#results-summary").render()).startswith("450 flows · last 15m · rows 401–450 (page 3 of 3)")
        screen.sort_by("timestamp")  # oldest first: the snapshot's oldest, none of the late ones
        await until(pilot, lambda: screen.order == ("timestamp", False) and not screen._loading)
        assert _ports(screen) == list(range(10_449, 10_249, -1))
        await pilot.press("r")  # a re-run is a new snapshot: the late flows are in it
        await until(pilot, lambda: not screen._loading and screen.page is not None and screen.page.total == 750)


async def test_the_export_of_a_snapshot_leaves_out_later_flows(db: Path, tmp_path: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await _results(pilot, "dst_port:80")
        add_flows(db, _flows(300, 20_000))
        out = tmp_path / "snap.csv"
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen))
        app.screen.query_one("#export-path").value = str(out)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen and screen.exporting is None and not list(app.workers))
        lines = out.read_text().splitlines()
        assert lines[1] == "2026-11-27T09:59:59Z,eni-0a1b2c3d,192.0.2.66,10000,10.0.1.10,80,TCP,ACCEPT,1,100"
        assert [int(line.split(",")[3]) for line in lines[1:]] == list(range(10_000, 10_450))


def test_the_query_timeout_reaches_every_lane_but_the_export(db: Path) -> None:
    data = DataSource(db, fixed_clock, timeout=2.5)
    try:
        for name in ("panes", "interactive", "complete"):
            with data.lane(name) as lane:
                assert lane.engine.timeout == 2.5
        with data.lane("export") as lane:
            assert lane.engine.timeout is None
    finally:
        data.close()


async def test_the_app_takes_the_configured_query_timeout(db: Path) -> None:
    use_utc()
    from flowtui.ui.app import FlowtuiApp

    app = FlowtuiApp(db, Config({"ui": {"refresh": 60}, "query": {"timeout": "90s"}}), now=fixed_clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        assert app.data.timeout == 90.0
        with app.data.lane("panes") as lane:
            assert lane.engine.timeout == 90.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "bad [query] timeout 'soon': use a number with s, m, h, d or w, e.g. 15m"),
        (0, "config: [query] timeout must be more than 0 s, not 0"),
        ("-5s", "config: [query] timeout must be more than 0 s, not '-5s'"),
    ],
)
def test_a_bad_query_timeout_is_one_sentence(db: Path, value: object, message: str) -> None:
    from flowtui.errors import ConfigError
    from flowtui.ui.app import FlowtuiApp

    with pytest.raises(ConfigError) as caught:
        FlowtuiApp(db, Config({"query": {"timeout": value}}), now=fixed_clock)
    assert str(caught.value) == message


async def test_x_cancels_an_export_and_removes_its_partial_file(db: Path, tmp_path: Path) -> None:
    """The export waits for the export lane (held here), x is pressed, then it goes on: it
    stops before its first row, the hidden partial file goes and the old file stays."""
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await _results(pilot, "dst_port:80")
        out = tmp_path / "flows.csv"
        out.write_text("an earlier export\n")
        assert "x Cancel export" not in _footer(screen)
        lane = app.data.lane("export")
        lane.__enter__()  # the export's thread blocks on the lane until it is let go
        try:
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ExportScreen))
            app.screen.query_one("#export-path").value = str(out)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is screen and screen.exporting is not None)
            await until(pilot, lambda: len(_hidden(tmp_path)) == 1)  # the partial file, opened
            assert "x Cancel export" in _footer(screen)
            await pilot.press("e")
            assert _toasts(app)[-1] == "Already exporting 0 of 450 to flows.csv… · x cancels it"
            await pilot.press("x")
        finally:
            lane.__exit__(None, None, None)
        await until(pilot, lambda: screen.exporting is None and not list(app.workers))
        assert _toasts(app)[-1] == (
            f"Export cancelled after 0 of 450 flows: the partial file was removed and {out.parent}/\n{out.name} is as it was"
        )
        assert out.read_text() == "an earlier export\n"
        assert _hidden(tmp_path) == []
        assert "x Cancel export" not in _footer(screen)
        # A new export after a cancel runs to the end.
        out.unlink()
        await _export_whole(pilot, screen, out)
        assert len(out.read_text().splitlines()) == 451
        assert _toasts(app)[-1] == f"Wrote 450 flows to {out.parent}/\n{out.name}"


async def test_an_x_after_the_file_is_complete_is_too_late_and_says_what_was_written(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """x pressed between the file's rename into place and the end's toast: the file is whole, and the toast says so."""
    from flowtui.ui.screens import results as results_module

    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await _results(pilot, "dst_port:80")
        out = tmp_path / "flows.csv"

        def write_then_x(*args, **kwargs):  # type: ignore[no-untyped-def]
            written = write_export(*args, **kwargs)
            assert screen.exporting is not None
            screen.exporting.stop.set()  # what x does
            return written

        monkeypatch.setattr(results_module, "write_export", write_then_x)
        await _export_whole(pilot, screen, out)
        assert len(out.read_text().splitlines()) == 451
        assert _toasts(app)[-1] == f"Wrote 450 flows to {out.parent}/\n{out.name}"


async def test_the_toast_keeps_the_files_name_whole_at_80_columns(db: Path, tmp_path: Path) -> None:
    """A toast wraps at spaces and a path has none: '/tmp/qa-e/flowtui-export-20261128-15' /
    '1755.csv'. The name has a line of its own; the folder breaks at the space before it."""
    from rich.text import Text

    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        screen = await _results(pilot, "dst_port:80")
        out = tmp_path / "flowtui-export-20261128-151755.csv"
        await _export_whole(pilot, screen, out)
        assert _toasts(app)[-1] == f"Wrote 450 flows to {out.parent}/\nflowtui-export-20261128-151755.csv"
        # A toast is 40 cells at 80 columns (half the screen), 36 inside its edges and padding.
        lines = Text(_toasts(app)[-1]).wrap(app.console, 36)  # as the toast lays its text out
        assert lines[-1].plain == "flowtui-export-20261128-151755.csv"
        assert lines[0].plain.rstrip() == "Wrote 450 flows to"  # the folder breaks at the space before it


async def test_a_cancels_toast_keeps_the_files_name_whole_at_80_columns(db: Path, tmp_path: Path) -> None:
    """The cancel's toast puts the name on a line of its own, as the end's does: it wrapped the
    path wherever the line ended ('…/flowtui-export-2026112' / '8-151755.csv')."""
    from rich.text import Text

    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        screen = await _results(pilot, "dst_port:80")
        out = tmp_path / "flowtui-export-20261128-151755.csv"
        with app.data.lane("export"):  # the export waits for its lane: x lands before its first row
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ExportScreen))
            app.screen.query_one("#export-path").value = str(out)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is screen and screen.exporting is not None)
            await pilot.press("x")
        await until(pilot, lambda: screen.exporting is None and not list(app.workers))
        toast = _toasts(app)[-1]
        assert toast == (
            "Export cancelled after 0 of 450 flows: the partial file was removed and nothing was written to "
            f"{out.parent}/\nflowtui-export-20261128-151755.csv"
        )
        lines = [line.plain.rstrip() for line in Text(toast).wrap(app.console, 36)]  # as the toast lays it out
        assert lines[-1] == "flowtui-export-20261128-151755.csv"
        assert not out.exists()


def test_a_cancels_toast_shows_home_as_a_tilde_and_the_name_apart() -> None:
    from flowtui.ui.export import cancelled_text

    home = Path.home() / "flowtui-export-20261128-151755.csv"
    assert cancelled_text(1200, 5000, home, kept=True) == (
        "Export cancelled after 1,200 of 5,000 flows: the partial file was removed and "
        "~/\nflowtui-export-20261128-151755.csv is as it was"
    )
    assert cancelled_text(0, 1, Path("flows.csv"), kept=False) == (
        "Export cancelled after 0 of 1 flows: the partial file was removed and nothing was written to flows.csv"
    )


def test_a_path_under_home_is_shown_with_a_tilde() -> None:
    from flowtui.ui.export import written_text

    assert written_text(1, Path.home() / "flowtui-export-20261128-151755.csv") == (
        "Wrote 1 flow to ~/\nflowtui-export-20261128-151755.csv"
    )
    assert written_text(2, Path("flows.csv")) == "Wrote 2 flows to flows.csv"


async def _export_whole(pilot, screen: ResultsScreen, out: Path) -> None:  # type: ignore[no-untyped-def]
    """e, the path, Enter; back when the export has ended and its file is in place."""
    app = pilot.app
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, ExportScreen))
    app.screen.query_one("#export-path").value = str(out)
    await pilot.press("enter")
    await until(pilot, lambda: screen.exporting is None and not list(app.workers) and out.exists())


def test_a_cancel_midway_removes_the_partial_file_and_keeps_the_old_one(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "PROGRESS_EVERY", 100)
    data = DataSource(db, fixed_clock)
    out = tmp_path / "flows.json"
    out.write_text("[]\n")
    stop = threading.Event()
    heard: list[int] = []

    def progress(n: int) -> None:
        heard.append(n)
        if n == 200:
            stop.set()  # as x does, from the UI thread, while rows stream

    try:
        rows = data.export_rows("dst_port:80", TimeWindow(NOW - 900, NOW), ["src_port"], ("timestamp", True), None, stop)
        with pytest.raises(QueryCancelled):
            write_export(out, "json", ["src_port"], rows, progress)
    finally:
        data.close()
    assert heard == [100, 200]
    assert out.read_text() == "[]\n"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("flows.db")) == ["flows.json"]


async def test_x_stops_the_running_statement_not_only_the_rows_it_yields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot's one flow is the last the export's statement reaches: 3,000 others are read
    and left out first, so no row comes out to look at x. The statement is held inside its scan
    (in its regexp), x is pressed, and it goes on: SQLite's progress handler, seeing x, stops it
    there. Without that path the statement would read every flow before anything heard x."""
    from flowtui.query import engine as engine_module

    # The handler looks every 100 VM steps (a few rows), not every 20,000: the stop lands well
    # inside the scan. How soon it lands is not asserted; that it lands before the end is.
    monkeypatch.setattr(engine_module, "_PROGRESS_STEPS", 100)
    others = [flow("192.0.2.66", 20_000 + i, "10.0.1.10", 80, 6, "ACCEPT", 100, 1, 1 + i * 800 // 3000) for i in range(3000)]
    db = write_flows(tmp_path / "big.db", [*others, flow("192.0.2.66", 9999, "10.0.1.10", 80, 6, "ACCEPT", 100, 1, 850)])
    held, go = threading.Event(), threading.Event()
    scanned = [0]

    def regexp(pattern: str, value: object) -> bool:  # the export lane's REGEXP, held at its 50th flow
        scanned[0] += 1
        if scanned[0] == 50:
            held.set()
            go.wait(10)
        return str(value) == "9999" if pattern == "9999" else False

    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await _results(pilot, "src_port:/9999/")
        assert screen.page is not None and screen.page.total == 1
        with app.data.lane("export") as lane:
            lane.store.conn.create_function("regexp", 2, regexp)
        out = tmp_path / "flows.csv"
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen))
        app.screen.query_one("#export-path").value = str(out)
        await pilot.press("enter")
        try:
            await until(pilot, held.is_set)  # the statement is running, no row out yet
            await pilot.press("x")
        finally:
            go.set()
        await until(pilot, lambda: screen.exporting is None and not list(app.workers))
        assert _toasts(app)[-1] == (
            f"Export cancelled after 0 of 1 flows: the partial file was removed and nothing was written to {out.parent}/\n{out.name}"
        )
        assert not out.exists() and _hidden(tmp_path) == []
        assert 50 <= scanned[0] < 3001  # stopped inside the scan, never reaching the snapshot's flow


def _footer(screen: ResultsScreen) -> str:
    return " ".join(f"{k.key_display} {k.description}" for k in screen.query(FooterKey) if k.display)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _toasts(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(n.message) for n in app._notifications]


assert PAGE_SIZE == 200  # the page arithmetic above


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
async def test_json_exports_are_what_flowtui_query_prints(tmp_path: Path, fmt: str) -> None:
    """JSON and JSONL write every catalog field (entity, country, threat, log group: not only the
    ten columns shown), byte for byte what ``flowtui query --format json`` prints for the same
    query and window; CSV keeps the columns the results view shows."""
    from flowtui import catalog
    from tests.test_query_cli import flowtui
    from tests.test_ui_results import export

    db = write_flows(tmp_path / "flows.db")
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await _results(pilot, "action:REJECT")
        out = await export(pilot, screen, tmp_path / f"rejects.{fmt}", fmt)
    cli = flowtui(
        "query", "--db", str(db), "--format", fmt, "--from", str(NOW - 900), "--to", str(NOW), "--limit", "0", "action:REJECT"
    )
    assert (cli.returncode, cli.stderr) == (0, "")
    assert out.read_text() == cli.stdout
    rows = json.loads(out.read_text()) if fmt == "json" else [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["src_port"] for row in rows] == [61000, 61001, 61002, 61003, 61004, 50100]
    assert all(list(row) == [f.name for f in catalog.FIELDS] for row in rows)
    first = rows[0]
    assert {k: first[k] for k in ("src_addr", "src_addr_country_code", "src_addr_as_organization", "src_addr_threat_indicated_by")} == {
        "src_addr": "198.51.100.7", "src_addr_country_code": "NL", "src_addr_as_organization": "Bad Hosting",
        "src_addr_threat_indicated_by": "spamhaus",
    }
    assert (first["bytes"], first["timestamp"], first["vpc_id"]) == (120, NOW - 30, None)  # numbers as numbers, null


async def test_the_dialog_offers_jsonl_and_keeps_the_extension_in_step(db: Path, tmp_path: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        await _results(pilot, "dst_port:80")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen))
        path = app.screen.query_one("#export-path")
        path.value = str(tmp_path / "flows.csv")
        await pilot.click("#format-jsonl")
        assert path.value == str(tmp_path / "flows.jsonl")
        await pilot.click("#format-csv")
        assert path.value == str(tmp_path / "flows.csv")
