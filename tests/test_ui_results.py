"""The results view: the rows of a query, pages fetched by offset, sorting, export, copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowtui import catalog
from flowtui.ui.data import PAGE_SIZE
from flowtui.ui.screens.address import AddressScreen
from flowtui.ui.screens.dashboard import DashboardScreen
from flowtui.ui.screens.dialogs import ExportScreen
from flowtui.ui.screens.results import ResultsScreen
from tests.ui_data import FLOWS, NOW, add_flows, enter_query, flow, make_app, refreshed, table_rows, until, write_flows

REJECT_ROWS = [
    ["09:59:30", "eni-0a1b2c3d", "198.51.100.7", "61000", "10.0.1.11", "22", "TCP", "REJECT", "2", "120 B"],
    ["09:58:30", "eni-0a1b2c3d", "198.51.100.7", "61001", "10.0.1.11", "22", "TCP", "REJECT", "2", "120 B"],
    ["09:57:30", "eni-0a1b2c3d", "198.51.100.7", "61002", "10.0.1.11", "22", "TCP", "REJECT", "2", "120 B"],
    ["09:56:30", "eni-0a1b2c3d", "198.51.100.7", "61003", "10.0.1.11", "22", "TCP", "REJECT", "2", "120 B"],
    ["09:55:30", "eni-0a1b2c3d", "198.51.100.7", "61004", "10.0.1.11", "22", "TCP", "REJECT", "2", "120 B"],
    ["09:55:00", "eni-0a1b2c3d", "203.0.113.5", "50100", "10.0.1.11", "3389", "TCP", "REJECT", "1", "60 B"],
]
COLUMNS = ["timestamp", "interface_id", "src_addr", "src_port", "dst_addr", "dst_port", "protocol", "action", "packets", "bytes"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


async def run_query(pilot, query: str) -> ResultsScreen:  # type: ignore[no-untyped-def]
    app = pilot.app
    await enter_query(pilot, query)
    await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None and not app.screen._loading)
    return app.screen


async def test_results_rows_and_columns(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        assert [str(c.label).strip() for c in screen.table.columns.values()] == [
            "timestamp ▼", *COLUMNS[1:8], "packets", "bytes",
        ]
        assert table_rows(screen.table) == REJECT_ROWS
        summary = str(screen.query_one("#results-summary").render())
        assert summary == "6 flows · last 15m · rows 1–6 (page 1 of 1) · sorted by timestamp ↓"
        # A query naming other fields shows them right after the time.
        screen = await run_query(pilot, "src_addr_country_code:NL")
        assert list(screen.table.columns)[:2] == ["timestamp", "src_addr_country_code"]
        assert [r[1] for r in table_rows(screen.table)] == ["NL"] * 5


async def test_rows_painted_before_the_table_measured_them_are_painted_again(db: Path) -> None:
    """A screen painted between a page's rows going in and the table's idle moment (a busy
    machine) kept the rows cut at the headers' widths: '198.51.1' for '198.51.100.7'."""
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        screen._render_page(0, None)
        early = app.export_screenshot()  # painted now, before the table has measured the new rows
        assert "198.51.100.7" not in early
        await pilot.pause()
        first_row = screen.table.render_line(1).text.split()
        assert first_row == ["09:59:30", "eni-0a1b2c3d", "198.51.100.7", "61000", "10.0.1.11", "22", "TCP", "REJECT", "2", "120", "B"]


async def test_reject_cells_take_the_theme_colour(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        cell = screen.table.get_row_at(0)[COLUMNS.index("action")]
        assert app.theme_variables["reject"] in str(cell.style)


async def test_sort_by_header_click_and_by_key(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "*")
        columns = list(screen.table.columns.values())
        x = sum(c.get_render_width(screen.table) for c in columns[:-1]) + 2
        await pilot.click("#results-table", offset=(x, 0))  # the bytes header
        await until(pilot, lambda: screen.order == ("bytes", True) and not screen._loading)
        assert [r[-1] for r in table_rows(screen.table)] == [
            "1.5 MB", "1.5 MB", "1.0 MB", "250 kB", "250 kB", "40.0 kB", "300 B", "120 B", "120 B", "120 B", "120 B", "120 B", "60 B",
        ]
        await pilot.press("s")  # the cursor is on bytes: again flips the order
        await until(pilot, lambda: screen.order == ("bytes", False) and not screen._loading)
        assert [r[-1] for r in table_rows(screen.table)][:3] == ["60 B", "120 B", "120 B"]
        assert str(screen.query_one("#results-summary").render()).endswith("sorted by bytes ↑")
        # Text columns cannot be sorted by the store: the rows stay, a warning says why.
        await pilot.press("h", "h", "h", "h", "h", "h", "h", "s")
        await until(pilot, lambda: not screen._loading and screen._sorted_from is None)
        assert screen.order == ("bytes", False)
        assert [r[-1] for r in table_rows(screen.table)][:3] == ["60 B", "120 B", "120 B"]
        assert [n.message for n in app._notifications][-1] == (
            "cannot sort by src_addr: sort by a number or time field (e.g. -timestamp, -bytes)"
        )


async def test_page_counts_are_grouped_by_thousands(tmp_path: Path) -> None:
    many = [flow("192.0.2.66", 10_000 + i % 50_000, "10.0.1.10", 80, 6, "ACCEPT", 100, 1, 1 + i % 500) for i in range(200_001)]
    db = write_flows(tmp_path / "flows.db", many)
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "dst_port:80")
        assert str(screen.query_one("#results-summary").render()).startswith(
            "200,001 flows · last 15m · rows 1–200 (page 1 of 1,001)"
        )


async def test_pages_are_fetched_by_offset(tmp_path: Path) -> None:
    many = [flow("192.0.2.66", 10_000 + i, "10.0.1.10", 80, 6, "ACCEPT", 100 + i, 1, 1 + i) for i in range(450)]
    db = write_flows(tmp_path / "flows.db", many)
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "dst_port:80")
        assert screen.table.row_count == PAGE_SIZE
        assert table_rows(screen.table)[0][3] == "10000"
        assert str(screen.query_one("#results-summary").render()).startswith("450 flows · last 15m · rows 1–200 (page 1 of 3)")
        await pilot.press("n")
        await until(pilot, lambda: screen.page.offset == 200 and not screen._loading)
        assert screen.table.row_count == PAGE_SIZE
        assert table_rows(screen.table)[0][3] == "10200"
        await pilot.press("n")
        await until(pilot, lambda: screen.page.offset == 400 and not screen._loading)
        assert screen.table.row_count == 50
        assert table_rows(screen.table)[-1][3] == "10449"
        await pilot.press("n")  # no fourth page
        await pilot.pause(0.1)
        assert screen.page.offset == 400
        # Moving up past the first row turns back a page, the cursor on its last row.
        await pilot.press("g", "up")
        await until(pilot, lambda: screen.page.offset == 200 and not screen._loading)
        assert screen.table.cursor_coordinate.row == PAGE_SIZE - 1
        await pilot.press("down")
        await until(pilot, lambda: screen.page.offset == 400 and not screen._loading)
        assert screen.table.cursor_coordinate.row == 0


async def test_vim_keys_and_copy(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        await pilot.press("G")
        assert screen.table.cursor_coordinate.row == 5
        await pilot.press("g")
        assert screen.table.cursor_coordinate.row == 0
        await pilot.press("j", "j", "k")
        assert screen.table.cursor_coordinate.row == 1
        await pilot.press("l", "l")  # to src_addr
        await pilot.press("y")
        assert app.clipboard == "198.51.100.7"
        assert [n.message for n in app._notifications][-1] == "Copied 198.51.100.7"
        await pilot.press("Y")
        assert app.clipboard == "\t".join(REJECT_ROWS[1])


async def test_enter_on_an_address_opens_it_and_escape_comes_back(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        await run_query(pilot, "action:REJECT")
        await pilot.press("l", "l", "l", "l", "enter")  # on dst_addr
        await until(pilot, lambda: isinstance(app.screen, AddressScreen))
        assert app.screen.address == "10.0.1.11"
        await pilot.press("escape")
        assert isinstance(app.screen, ResultsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)  # the dashboard never goes away


REJECTS_CSV = """\
timestamp,interface_id,src_addr,src_port,dst_addr,dst_port,protocol,action,packets,bytes
2026-11-27T09:59:30Z,eni-0a1b2c3d,198.51.100.7,61000,10.0.1.11,22,TCP,REJECT,2,120
2026-11-27T09:58:30Z,eni-0a1b2c3d,198.51.100.7,61001,10.0.1.11,22,TCP,REJECT,2,120
2026-11-27T09:57:30Z,eni-0a1b2c3d,198.51.100.7,61002,10.0.1.11,22,TCP,REJECT,2,120
2026-11-27T09:56:30Z,eni-0a1b2c3d,198.51.100.7,61003,10.0.1.11,22,TCP,REJECT,2,120
2026-11-27T09:55:30Z,eni-0a1b2c3d,198.51.100.7,61004,10.0.1.11,22,TCP,REJECT,2,120
2026-11-27T09:55:00Z,eni-0a1b2c3d,203.0.113.5,50100,10.0.1.11,3389,TCP,REJECT,1,60
"""


async def export(pilot, screen: ResultsScreen, path: Path | None, fmt: str = "csv") -> Path:  # type: ignore[no-untyped-def]
    """e, the format, the path (None: the default), Enter; until the file is written. The file."""
    app = pilot.app
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, ExportScreen))
    if fmt != "csv":
        await pilot.click(f"#format-{fmt}")
    field = app.screen.query_one("#export-path")
    if path is not None:
        field.value = str(path)
    written = Path(field.value).expanduser()
    field.focus()
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is screen and screen.exporting is None and not list(app.workers))
    return written


def toasts(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(n.message) for n in app._notifications]


async def test_export_csv_and_json(db: Path, tmp_path: Path) -> None:
    """CSV: times in ISO 8601 UTC, counts as numbers; JSON: what flowtui query --format json prints."""
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        out = tmp_path / "rejects.csv"
        await export(pilot, screen, out, "csv")
        assert out.read_text() == REJECTS_CSV
        assert toasts(app)[-1] == f"Wrote 6 flows to {out.parent}/\n{out.name}"
        out_json = tmp_path / "rejects.json"
        await export(pilot, screen, out_json, "json")
        data = json.loads(out_json.read_text())
        assert {k: data[0][k] for k in REJECTS_CSV.split("\n", 1)[0].split(",")} == {
            "timestamp": NOW - 30, "interface_id": "eni-0a1b2c3d", "src_addr": "198.51.100.7", "src_port": 61000,
            "dst_addr": "10.0.1.11", "dst_port": 22, "protocol": "TCP", "action": "REJECT", "packets": 2, "bytes": 120,
        }  # and every other catalog field: tests/test_ui_export.py
        assert [row["src_port"] for row in data] == [61000, 61001, 61002, 61003, 61004, 50100]
        assert out_json.read_text().startswith('[\n  {"version": 2, "account_id": "123456789012",')
        assert sorted(p.name for p in tmp_path.iterdir()) == ["flows.db", "flows.db-shm", "flows.db-wal", "rejects.csv", "rejects.json"]


async def test_export_defaults_to_the_home_folder_named_for_the_snapshot(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen))
        dialog = app.screen
        assert dialog.query_one("#export-path").value == "~/flowtui-export-20261127-100000.csv"
        assert str(dialog.query_one(".dialog-query").render()) == "6 flows · last 15m · snapshot 10:00:00"
        await pilot.click("#format-json")
        assert dialog.query_one("#export-path").value == "~/flowtui-export-20261127-100000.json"
        await pilot.press("escape")
        written = await export(pilot, screen, None)
        assert written == home / "flowtui-export-20261127-100000.csv"
        assert written.read_text() == REJECTS_CSV
        assert toasts(app)[-1] == "Wrote 6 flows to ~/\nflowtui-export-20261127-100000.csv"  # the name on its own line
        # A folder: the default name in it.
        folder = tmp_path / "exports"
        folder.mkdir()
        await export(pilot, screen, folder)
        assert (folder / "flowtui-export-20261127-100000.csv").read_text() == REJECTS_CSV


async def test_export_writes_the_snapshot_the_screen_counted(db: Path, tmp_path: Path) -> None:
    """Flows that arrive later (inside the window) and a clock that moved on change nothing:
    the file has the rows the summary counts."""
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        summary = str(screen.query_one("#results-summary").render())
        assert summary.startswith("6 flows · last 15m")
        add_flows(db, [flow("192.0.2.66", 33000, "10.0.1.10", 22, 6, "REJECT", 60, 1, 200)])  # a late record
        later = float(NOW + 600)  # the live window now starts at 09:55:00: the oldest reject is on its edge
        app.now = app.data.now = lambda: later
        out = await export(pilot, screen, tmp_path / "snapshot.csv")
        assert out.read_text() == REJECTS_CSV
        assert toasts(app)[-1] == f"Wrote 6 flows to {out.parent}/\n{out.name}"
        assert str(screen.query_one("#results-summary").render()) == summary
        # r re-runs: a new snapshot, with the late flow, in the window of the new now.
        await pilot.press("r")
        await until(pilot, lambda: not screen._loading and screen.taken_at == later)
        out = await export(pilot, screen, tmp_path / "rerun.csv")
        assert [line.split(",")[2] for line in out.read_text().splitlines()[1:]] == [
            *["198.51.100.7"] * 3, "192.0.2.66", *["198.51.100.7"] * 2, "203.0.113.5",
        ]


async def test_export_reports_its_progress_off_the_ui_thread(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowtui.ui import export as export_module

    monkeypatch.setattr(export_module, "PROGRESS_EVERY", 2)
    heard: dict[int, int] = {}  # message id: rows written (the hook may see one message more than once)

    def hook(message: object) -> None:
        if isinstance(message, ResultsScreen.ExportProgress):  # posted by the export's thread worker
            heard[id(message)] = message.written

    app = make_app(db)
    async with app.run_test(size=(140, 40), message_hook=hook) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        await export(pilot, screen, tmp_path / "rejects.csv")
        assert list(heard.values()) == [2, 4, 6]
        assert screen.exporting is None
        assert "exporting" not in str(screen.query_one("#results-summary").render())


async def test_the_summary_says_how_far_an_export_is() -> None:
    from flowtui.query.window import TimeWindow
    from flowtui.ui.data import Page
    from flowtui.ui.screens.dialogs import ExportRequest
    from flowtui.ui.screens.results import Export

    page = Page("action:REJECT", [], ["timestamp"], 0, 600_000, ("timestamp", True), (), TimeWindow(0, 900), 42)
    job = Export(ExportRequest(Path("/home/op/flowtui-export-20261127-100000.csv"), "csv"), page, ("timestamp", True), 125_000)
    assert job.describe() == "exporting 125,000 of 600,000 to flowtui-export-20261127-100000.csv…"


async def test_the_summary_follows_an_export_and_e_waits_for_it(db: Path, tmp_path: Path) -> None:
    from flowtui.ui.screens.dialogs import ExportRequest
    from flowtui.ui.screens.results import Export

    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        assert screen.snapshot is not None
        screen.exporting = Export(ExportRequest(tmp_path / "x.csv", "csv"), screen.snapshot, screen.order)
        screen.post_message(ResultsScreen.ExportProgress(4))
        await pilot.pause()
        assert str(screen.query_one("#results-summary").render()) == (
            "6 flows · last 15m · rows 1–6 (page 1 of 1) · sorted by timestamp ↓ · exporting 4 of 6 to x.csv…"
        )
        await pilot.press("e")
        await pilot.pause()
        assert app.screen is screen  # no second dialog
        assert toasts(app)[-1] == "Already exporting 4 of 6 to x.csv… · x cancels it"


async def test_an_export_the_store_cannot_answer_says_so_and_writes_nothing(db: Path, tmp_path: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        db.rename(tmp_path / "moved.db")  # the export reads on a connection of its own, opened now
        out = await export(pilot, screen, tmp_path / "rejects.csv")
        assert not out.exists()
        (note,) = [n for n in app._notifications if n.title == "Export failed"]
        assert (note.message, note.severity) == (f"no store at {db}: ingest something first (flowtui ingest, tail or demo)", "error")


def test_a_failed_export_leaves_the_file_it_would_have_replaced(tmp_path: Path) -> None:
    from flowtui.errors import QueryError
    from flowtui.ui.export import ExportError, write_export

    out = tmp_path / "rejects.csv"
    out.write_text("the good export\n")

    def rows():  # type: ignore[no-untyped-def]
        yield {"timestamp": NOW, "bytes": 1}
        raise QueryError("query took longer than 10s; narrow it down or raise [query] timeout", 0, 0, "*")

    with pytest.raises(QueryError):
        write_export(out, "csv", ["timestamp", "bytes"], rows())
    assert out.read_text() == "the good export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rejects.csv"]  # no half-written file beside it
    with pytest.raises(ExportError, match="^cannot write .*/missing/x.csv: No such file or directory$"):
        write_export(tmp_path / "missing" / "x.csv", "csv", ["timestamp"], [])
    with pytest.raises(ExportError, match="^unknown export format 'xml': use csv, json or jsonl$"):
        write_export(out, "xml", ["timestamp"], [])


async def test_e_on_the_dashboard_says_where_export_works(db: Path, tmp_path: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert toasts(app) == ["Export works on results: o opens this pane's flows (or / a query), then e"]
        await pilot.press("o")  # the focused pane (Top talkers: every flow) as results
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        screen = app.screen
        assert str(screen.query_one("#results-summary").render()).startswith("13 flows · last 15m")  # of the 14, one is older
        out = await export(pilot, screen, tmp_path / "all.csv")
        assert len(out.read_text().splitlines()) == 1 + 13
        assert toasts(app)[-1] == f"Wrote 13 flows to {out.parent}/\n{out.name}"


def test_the_fixture_has_what_the_tests_count() -> None:
    assert len(FLOWS) == 14


def test_columns_give_way_in_order() -> None:
    from flowtui.ui.columns import plan_columns

    cols = COLUMNS
    natural = {"timestamp": 8, "interface_id": 21, "src_addr": 39, "src_port": 8, "dst_addr": 39, "dst_port": 8,
               "protocol": 8, "action": 6, "packets": 7, "bytes": 7}
    assert plan_columns(cols, natural, 200) == (cols, natural)
    shown, caps = plan_columns(cols, natural, 118)
    assert shown == ["timestamp", "src_addr", "src_port", "dst_addr", "dst_port", "protocol", "action", "packets", "bytes"]
    assert (caps["src_addr"], caps["dst_addr"], caps["timestamp"]) == (24, 24, 8)
    shown, caps = plan_columns(cols, natural, 78)
    assert shown == ["timestamp", "src_addr", "dst_addr", "dst_port", "action", "bytes"]
    assert (caps["src_addr"], caps["dst_addr"]) == (18, 19)
    # A column the query names stays.
    shown, _ = plan_columns(cols, natural, 78, keep=["src_port"])
    assert "src_port" in shown and "interface_id" not in shown


def test_an_ipv4_address_is_never_cut_and_descriptions_give_way_first() -> None:
    from flowtui.ui.columns import plan_columns

    cols = ["timestamp", "src_addr", "src_addr_entity_description", "dst_addr", "dst_addr_entity_description", "bytes"]
    natural = dict(zip(cols, (8, 13, 30, 15, 28, 7)))
    shown, caps = plan_columns(cols, natural, 78)
    assert shown == cols
    assert [caps[c] for c in cols] == [8, 13, 12, 15, 12, 7]  # the descriptions took the cut
    shown, caps = plan_columns(cols, natural, 50)
    assert (caps["src_addr"], caps["dst_addr"]) == (13, 15)  # whole, even where the table must scroll
    # An IPv6 address gives way after the descriptions, the two addresses alike.
    natural = {**natural, "src_addr": 38, "dst_addr": 38}
    shown, caps = plan_columns(cols, natural, 120)
    assert [caps[c] for c in cols] == [8, 34, 12, 35, 12, 7]
    shown, caps = plan_columns(cols, natural, 100)
    assert [caps[c] for c in cols] == [8, 24, 12, 25, 12, 7]
    # The room dropped columns leave goes back to the values that were cut.
    cols = ["timestamp", "interface_id", "src_addr", "src_port", "dst_addr", "dst_port", "bytes"]
    natural = dict(zip(cols, (8, 21, 38, 8, 38, 8, 7)))
    shown, caps = plan_columns(cols, natural, 110)
    assert shown == ["timestamp", "src_addr", "src_port", "dst_addr", "dst_port", "bytes"]
    assert (caps["src_addr"], caps["dst_addr"]) == (33, 34)  # not the 24 they had before interface_id went


async def test_results_say_they_are_a_snapshot_of_their_own_window(db: Path) -> None:
    from flowtui.query.window import TimeWindow
    from flowtui.ui.widgets.status_bar import StatusBar

    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        label = str(screen.query_bar.query_one(".query-window").render())
        assert label == "■ snapshot 10:00:00 · r re-runs"
        status = str(screen.query_one(StatusBar).render())
        assert status.endswith("│ last 15m UTC │ snapshot 10:00:00")
        assert screen.active_bindings["r"].binding.show  # the footer offers the re-run
        app.window = TimeWindow(start=NOW - 3600, end=NOW - 1800)  # the app's window changes: not this label
        await until(pilot, lambda: not screen._loading)
        assert str(screen.query_bar.query_one(".query-window").render()) == "■ snapshot 10:00:00 · r re-runs"
        # A firing's flows: the firing's window, in the header and the status bar.
        firing = ResultsScreen("action:REJECT", TimeWindow(start=NOW - 330, end=NOW - 150))
        await app.push_screen(firing)
        await until(pilot, lambda: firing.page is not None and not firing._loading)
        window = "2026-11-27 09:54:30 → 09:57:29"
        assert window in str(firing.query_one("#results-summary").render())
        assert str(firing.query_one(StatusBar).render()).endswith(f"│ {window} UTC │ snapshot 10:00:00")
        assert "live" not in str(firing.query_bar.query_one(".query-window").render())


async def test_a_cloudtrail_query_at_80_columns_shows_the_field_it_names(db: Path) -> None:
    from tests.cloudtrail_data import write_trail

    write_trail(db, NOW)
    app = make_app(db)
    async with app.run_test(size=(80, 30)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "@cloudtrail errorCode:*")
        # Region and service go first; text is cut at its end (an address would keep both ends).
        assert [str(c.label) for c in screen.table.columns.values()] == [
            "eventTime ▼", "sourceIPAdd…", "eventName", "userIdentit…", "errorCode",
        ]
        assert table_rows(screen.table)[0] == ["09:56:40", "198.51.100.7", "DeleteSecur…", "Bob", "Client.UnauthorizedO…"]


def test_named_columns_stay_on_screen_and_cuts_keep_the_start() -> None:
    from flowtui.ui.columns import cut_in_middle, plan_columns
    from flowtui.ui.formatting import fit

    cols = ["eventTime", "sourceIPAddress", "eventSource", "eventName", "userIdentity.userName", "errorCode", "awsRegion"]
    natural = {"eventTime": 11, "sourceIPAddress": 15, "eventSource": 17, "eventName": 19,
               "userIdentity.userName": 21, "errorCode": 28, "awsRegion": 9}
    shown, caps = plan_columns(cols, natural, 78, keep=["errorCode"])
    assert shown == ["eventTime", "sourceIPAddress", "eventName", "userIdentity.userName", "errorCode"]
    assert (caps["errorCode"], caps["eventName"], caps["userIdentity.userName"]) == (18, 12, 12)  # named: cut last
    assert sum(caps[c] + 2 for c in shown) == 78
    shown, _ = plan_columns(cols, natural, 50, keep=["errorCode"])  # not even that fits: room left of it
    assert shown == ["eventTime", "sourceIPAddress", "errorCode"]
    assert [cut_in_middle(n) for n in ("sourceIPAddress", "src_addr", "eventName")] == [True, True, False]
    assert fit("DescribeInstances", 10, middle=cut_in_middle("eventName")) == "DescribeI…"
    assert fit("2a05:d018:1234:9023", 12, middle=cut_in_middle("src_addr")) == "2a05:…:9023"  # whole groups


async def test_named_flags_follow_the_addresses_at_80_columns(db: Path) -> None:
    from flowtui.query.window import TimeWindow

    app = make_app(db)
    async with app.run_test(size=(80, 30)) as pilot:
        await refreshed(pilot)
        # A firing's flows: its rule's query narrowed to the group, over the firing's window.
        query = "(action:REJECT) AND src_addr_threat_indicated:false AND dst_addr_threat_indicated:false"
        screen = ResultsScreen(query, TimeWindow(start=NOW - 600, end=NOW))
        await app.push_screen(screen)
        await until(pilot, lambda: screen.page is not None and not screen._loading)
        assert [str(c.label) for c in screen.table.columns.values()] == [
            "timestamp ▼", "src_addr", "dst_addr", "src_addr_th…", "dst_addr_th…", "action", "bytes",
        ]
        assert table_rows(screen.table)[0] == ["09:55:00", "203.0.113.5", "10.0.1.11", "false", "false", "REJECT", "60 B"]


def test_export_rows_hold_the_asked_columns_only_with_or_without_a_bound(db: Path) -> None:
    """The flow id read for the snapshot's bound is never part of a row, bound or not."""
    from flowtui.query.window import TimeWindow

    data = make_app(db).data
    columns = ["src_addr", "dst_port", "action"]
    unbound = list(data.export_rows("action:REJECT", TimeWindow.all(), columns, ("timestamp", True), None))
    bound = list(data.export_rows("action:REJECT", TimeWindow.all(), columns, ("timestamp", True), 10**9))
    assert unbound == bound == [
        {"src_addr": row[2], "dst_port": int(row[5]), "action": "REJECT"} for row in REJECT_ROWS
    ]


def shown_keys(screen: ResultsScreen) -> list[str]:
    """The footer's keys on screen, left to right, each as it reads; all of each key is on the line."""
    from textual.widgets._footer import FooterKey

    keys = [k for k in screen.query(FooterKey) if k.display]
    footer = screen.query_one("KeyFooter")
    for key in keys:
        assert footer.region.x <= key.region.x and key.region.right <= footer.region.right, key.key
    return [f"{k.key_display} {k.description}" for k in sorted(keys, key=lambda k: k.region.x)]


TABLE_KEYS_80 = ["esc Back", "n Next page", "p Prev page", "s Sort", "e Export", "? Help", "q Quit", "^p Commands"]
BAR_KEYS = ["⏎ Run", "tab Complete", "↑↓ History", "esc Leave", "^t CloudTrail", "^s Save", "^p Commands"]


async def test_the_results_footer_shows_its_keys_whole_most_important_first(db: Path) -> None:
    """At 80 columns the footer cut 'q Quit' to 'q'; the screen's keys, help and quit come
    first now, each whole. In the query bar (after ctrl+s too) it showed '^p Commands' alone."""
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "action:REJECT")
        assert shown_keys(screen) == TABLE_KEYS_80
        await pilot.press("s")  # a sort changes no key
        await until(pilot, lambda: not screen._loading)
        assert shown_keys(screen) == TABLE_KEYS_80
        await pilot.press("slash")
        await pilot.pause()
        assert shown_keys(screen) == BAR_KEYS
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is not screen)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.pause()
        assert shown_keys(screen) == BAR_KEYS
        await pilot.press("escape")
        await pilot.pause()
        assert shown_keys(screen) == TABLE_KEYS_80
        # Wider: the keys that had no room come back, in their order.
        await pilot.resize_terminal(120, 30)
        await pilot.pause()
        assert shown_keys(screen) == [
            *TABLE_KEYS_80[:-1], "r Re-run", "y Copy", "/ Query", "w Window", "^p Commands",
        ]
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert shown_keys(screen) == TABLE_KEYS_80


def test_footer_keys_fit_whole_in_order() -> None:
    from flowtui.ui.widgets.key_footer import PALETTE, fitting

    def key(display: str, description: str, classes: str = "") -> tuple[str, str, str, str, bool, str, str]:
        return (display, display, description, display, False, "", classes)

    keys = [key("esc", "Back"), key("n", "Next page"), key("q", "Quit"), key("^p", "Commands", PALETTE)]
    # 'esc Back ' 9, 'n Next page ' 12, 'q Quit ' 7, '▏^p Commands ' 13: 41 cells.
    assert fitting(keys, 41) == [True, True, True, True]
    assert fitting(keys, 40) == [True, True, False, True]  # not cut: gone
    assert fitting(keys, 33) == [True, False, False, True]  # 'q Quit' would fit, but n comes first
    assert fitting(keys, 10) == [False, False, False, True]
    assert fitting(keys, 0) == [True, True, True, True]  # before the layout: all, fitted on resize


# --- a field the record does not have -----------------------------------------------------------
def _no_data(ago: int, status: str, iface: str) -> tuple:  # type: ignore[type-arg]
    """A NODATA/SKIPDATA record: an interface and a time, no addresses, ports, action or counts."""
    from tests.conftest import make_record
    from tests.ui_data import ACCOUNT

    return make_record(version=2, account_id=ACCOUNT, interface_id=iface, start=NOW - ago, end=NOW - ago + 60,
                       log_status=status)


async def test_a_field_the_record_lacks_reads_as_flowtui_query_prints_it(tmp_path: Path) -> None:
    """NODATA and SKIPDATA records have no addresses, ports, action or counts: `flowtui query`
    prints '-' there, and so do the results (dimmed); a blank cell read as a value cut off.
    `y` on such a cell copies nothing (a '-' in the query bar would be a bad query)."""
    from flowtui.cli.query import cell as cli_cell

    db = write_flows(tmp_path / "flows.db", [
        _no_data(40, "NODATA", "eni-0a1b2c3d"), _no_data(50, "SKIPDATA", "eni-0e5f6a7b"), *FLOWS[:1],
    ])
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        screen = await run_query(pilot, "log_status:NODATA OR log_status:SKIPDATA")
        names = list(screen.table.columns)
        assert names == ["timestamp", "log_status", *COLUMNS[1:]]
        rows = table_rows(screen.table)
        assert rows == [
            ["09:59:20", "NODATA", "eni-0a1b2c3d", *["-"] * 8],
            ["09:59:10", "SKIPDATA", "eni-0e5f6a7b", *["-"] * 8],
        ]
        assert rows[0][3] == cli_cell("src_addr", None)
        src = screen.table.get_row_at(0)[names.index("src_addr")]
        assert str(src.style) == "dim"
        assert str(screen.table.get_row_at(0)[names.index("interface_id")].style) == ""
        await pilot.press("l", "l", "l")  # to src_addr
        await pilot.press("y")
        assert app.clipboard == ""
        # The address page's flow list says it the same way: a flow without ports (ICMP's are none).
        no_ports = flow("203.0.113.5", 0, "10.0.1.10", 0, 1, "ACCEPT", 84, 1, 30)
        ports = {catalog.RECORD_INDEX["src_port"], catalog.RECORD_INDEX["dst_port"]}
        add_flows(db, [tuple(None if i in ports else v for i, v in enumerate(no_ports))])
        app.open_address("203.0.113.5")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen.info is not None)
        flows = app.screen.query_one("#address-flows")
        first = table_rows(flows)[0]
        assert first[list(flows.columns).index("dst_port")] == "-"
        assert str(flows.get_row_at(0)[list(flows.columns).index("dst_port")].style) == "dim"
