"""Text from the data is shown as text: no markup, no escape sequences, anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import Static

from flowtui.config import Config
from flowtui.store import Store
from flowtui.ui.app import FlowtuiApp
from flowtui.ui.columns import PADDING, PANE_METRICS, pane_metric_width
from flowtui.ui.formatting import (
    METRIC_FORMAT,
    clean,
    human_bytes,
    human_count,
    human_duration,
    human_rate,
    safe_text,
)
from flowtui.ui.screens.address import AddressScreen
from flowtui.ui.screens.results import ResultsScreen
from tests.test_ui_address import plain
from tests.ui_data import (
    ESCAPE_NAME,
    MARKUP_NAME,
    enter_query,
    fixed_clock,
    make_app,
    refreshed,
    table_rows,
    until,
    write_flows,
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


def test_control_characters_become_visible() -> None:
    assert clean(ESCAPE_NAME) == "evil␛[31mred"
    assert clean("a\x00b\x7fc\x9bd\ne\tf") == "a␀b␡c\ufffdd␊e␉f"
    text = safe_text(MARKUP_NAME)
    assert isinstance(text, Text) and text.plain == MARKUP_NAME and text.spans == []


def test_human_units() -> None:
    assert [human_bytes(v) for v in (0, 999, 1000, 1_234_567, 250_000_000_000)] == [
        "0 B", "999 B", "1.0 kB", "1.2 MB", "250 GB",
    ]
    assert [human_count(v) for v in (7, 9_999, 12_345, 2_100_000)] == ["7", "9,999", "12.3k", "2.1M"]
    # What rounds up to the next hundred or unit is shown as that, not one cell wider ('100.0 kB', '1000 kB').
    assert [human_bytes(v) for v in (99_949, 99_960, 999_499, 999_960, 15_100_000)] == [
        "99.9 kB", "100 kB", "999 kB", "1.0 MB", "15.1 MB",
    ]
    assert [human_count(v) for v in (99_949, 99_960, 999_960)] == ["99.9k", "100k", "1.0M"]


def test_a_pane_metric_column_is_planned_for_its_widest_value() -> None:
    """Every value a metric can show (below 10**15: 1000T flows, 1 PB) fits the cells plan_pane gives it."""
    values = [m * 10**e for e in range(13) for m in (1, 9.9949, 9.996, 99.949, 99.96, 999.49, 999.6)]
    widest = {metric: max(len(METRIC_FORMAT[metric](v)) for v in values) for metric in PANE_METRICS}
    assert widest == {"flows": 5, "bytes": 7, "packets": 5}
    assert {m: pane_metric_width(m) - PADDING for m in PANE_METRICS} == {"flows": 7, "bytes": 7, "packets": 9}
    assert [human_duration(v) for v in (0.85, 12, 250, 11_100)] == ["850ms", "12s", "4m10s", "3h05m"]
    # Below a tenth a second a rate reads per minute: a trickle of rejects is not "0.0/s".
    assert [human_rate(v) for v in (None, 0, 0.005, 5 / 60, 0.1, 3.25, 12_345)] == [
        "–", "0.0/s", "0.3/min", "5/min", "0.1/s", "3.2/s", "12.3k/s",
    ]


async def test_names_in_results_and_address_pages_are_literal(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        await enter_query(pilot, "_exists_:src_addr_entity_description AND src_addr:10.0.1.1*")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        table = app.screen.table
        assert list(table.columns)[1] == "src_addr_entity_description"
        names = [row[1] for row in table_rows(table)]
        assert sorted(set(names)) == [MARKUP_NAME, "evil␛[31mred", "web-1"]
        for i in range(table.row_count):
            assert table.get_row_at(i)[1].spans == []
        app.open_address("10.0.1.12")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen.info is not None)
        assert plain(app.screen.query_one("#address-title", Static)) == "10.0.1.12  EC2  evil␛[31mred  internal"
        svg = app.export_screenshot()
        assert "evil␛[31mred" in svg.replace("&#160;", " ")


async def test_a_pane_grouped_by_names_shows_them_literally(db: Path) -> None:
    config = Config({"ui": {"refresh": 60}, "panes": [
        {"title": "By name", "query": "dst_addr_internal:true", "by": ["dst_addr_entity_description"], "metric": "flows"},
    ]})
    app = FlowtuiApp(db, config, now=fixed_clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await refreshed(pilot)
        rows = table_rows(app.dashboard.pane("by-name").table)
        assert rows == [[MARKUP_NAME, "6", "660 B"], ["web-1", "3", "4.0 MB"], ["orders db", "2", "500 kB"]]


async def test_source_names_and_details_in_the_status_bar_are_literal(db: Path) -> None:
    with Store(db) as store:
        store.set_status("[red]kinesis:x[/]", "error", "boom \x1b[2J", 12.0, 1500, 3)
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        line = str(app.screen.query_one("#status-bar").render())
        assert line.startswith("● [red]kinesis:x[/] error 12/s lag 2s 3 err — boom ␛[2J │ dead 0 │")
