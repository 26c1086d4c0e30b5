"""A small terminal: each dashboard pane gives its lines to its biggest groups first."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtui.query.window import TimeWindow
from flowtui.ui.data import OTHER, PANE_FEWEST_GROUPS, DataSource
from flowtui.ui.formatting import human_bytes
from flowtui.ui.panes import DEFAULT_PANES, PaneSpec
from flowtui.ui.widgets.pane import Pane
from tests.ui_data import fixed_clock, make_app, pair_flows, refreshed, table_rows, until, write_flows

TALKERS = DEFAULT_PANES[0]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "pairs.db", pair_flows(30))  # 30 pairs, bytes 10,000 falling by 10


def groups(data: DataSource, spec: PaneSpec, room: int) -> list[tuple[object, ...]]:
    return [(row.values, row.bytes) if not row.other else (OTHER, row.bytes) for row in data.pane(spec, TimeWindow.last(900), room).rows]


@pytest.mark.parametrize("room", [1, 2, 3])
def test_a_pane_too_short_for_three_groups_and_other_shows_groups_only(db: Path, room: int) -> None:
    """The '(other)' row's line goes to one more group: the biggest talkers matter more than the rest's sum."""
    data = DataSource(db, fixed_clock)
    got = groups(data, TALKERS, room)
    assert [b for _, b in got] == [10_000 - 10 * i for i in range(room)]
    assert OTHER not in [v for v, _ in got]


@pytest.mark.parametrize("room", [4, 5, 8])
def test_a_pane_with_room_for_three_groups_keeps_its_other_row(db: Path, room: int) -> None:
    data = DataSource(db, fixed_clock)
    got = groups(data, TALKERS, room)
    top = [10_000 - 10 * i for i in range(room - 1)]
    assert [b for _, b in got] == [*top, sum(10_000 - 10 * i for i in range(30)) - sum(top)]  # the rest, exactly
    assert got[-1][0] == OTHER and room - 1 >= PANE_FEWEST_GROUPS


def test_a_configured_limit_keeps_its_other_row_at_any_height(db: Path) -> None:
    data = DataSource(db, fixed_clock)
    spec = PaneSpec("Top 2", "*", ("src_addr", "dst_addr"), "bytes", limit=2)
    got = groups(data, spec, 2)
    assert [b for _, b in got] == [10_000, 9_990, sum(10_000 - 10 * i for i in range(2, 30))]


@pytest.mark.parametrize(
    ("size", "talkers", "threats"),
    [((80, 24), (2, False), (3, False)), ((100, 30), (3, False), (3, True))],
)
async def test_each_pane_at_a_small_terminal_shows_its_biggest_groups(
    db: Path, size: tuple[int, int], talkers: tuple[int, bool], threats: tuple[int, bool]
) -> None:
    """(groups, an '(other)' row below them) of Top talkers and Threat matches; 80×24 showed
    one group and '(other)' in Top talkers (the pane has 2 rows below its header)."""
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        await refreshed(pilot)
        panes = {p.spec.key: p for p in app.dashboard.query(Pane)}
        await until(pilot, lambda: all(p.result is not None and p.result.room == p.room() for p in panes.values()))

        def shown(key: str) -> tuple[int, bool]:
            rows = [r[0] for r in table_rows(panes[key].table)]
            return len([r for r in rows if r != OTHER]), OTHER in rows

        await until(pilot, lambda: (shown("top-talkers"), shown("threat-matches")) == (talkers, threats))
        assert panes["top-talkers"].room() == talkers[0]  # every row it has room for is a group
        assert table_rows(panes["top-talkers"].table)[0][:2] == ["10.0.1.10", "web-1"]  # the biggest pair first


BACKFILL = "synthetic traffic, seed 1, 500 records/s; making the last 15 minutes"


async def status_line(db: Path, width: int, *statuses: tuple[object, ...]) -> str:
    """The dashboard's status line as drawn at ``width`` columns over sources in these states
    (the store's size, the file's as SQLite lays it, says '{size}')."""
    from flowtui.store import Store

    with Store(db) as store:
        for status in statuses:
            store.set_status(*status)  # type: ignore[arg-type]
    app = make_app(db)
    async with app.run_test(size=(width, 24)) as pilot:
        await refreshed(pilot)
        line = str(app.screen.query_one("#status-bar").render())
        return line.replace(human_bytes(app.status.size_bytes), "{size}")


@pytest.mark.parametrize(
    ("width", "line"),
    [
        (200, "● demo:1 backfilling 41.4k/s lag 5ms — " + BACKFILL + " │ dead 0 │ pairs.db {size} │ last 15m UTC │ every 1m"),
        (80, "● demo:1 backfilling 41.4k/s lag 5ms │ dead 0 │ {size} │ UTC │ every 1m"),
        (60, "● demo:1 backfilling 41.4k/s lag 5ms │ dead 0 │ UTC"),
        (30, "● demo:1 backfilling…"),  # 28 cells inside the padding: "41.4k/s…" would be 29
    ],
)
async def test_the_status_line_leaves_out_whole_parts_never_half_a_word(db: Path, width: int, line: str) -> None:
    """80×24 cut 'every 2s' to 'every…' and 60 the store's size to '7…': now the least useful
    parts go whole (status_bar.DROP_ORDER), and only a line whose first source alone is too wide
    ends, at a word, with '…'."""
    assert await status_line(db, width, ("demo:1", "backfilling", BACKFILL, 41_400.0, 5)) == line


async def test_a_narrow_status_line_counts_a_second_source_it_leaves_out(db: Path) -> None:
    """Three sources at 80 columns: the failing one first with its reason, the others counted in
    '+2 more'; the store's size and the interval go before them."""
    sources = [
        ("kinesis:flows", "error", "AccessDenied on GetRecords", None, None),
        ("demo:1", "running", None, 496.0, 7),
        ("s3:bucket", "running", None, 12.0, 30),
    ]
    assert await status_line(db, 80, *sources) == "● kinesis:flows error — AccessDenied on GetRecords  +2 more │ dead 0 │ UTC"


@pytest.mark.parametrize(
    ("state", "age", "text", "mark_style"),
    [
        # Heard from 5 s ago: its own words, rate and lag.
        ("running", 5.0, "● demo:1 running 500/s lag 15ms", "success"),
        # Killed (or hung) 67 s ago: its last 'running' beside a header saying stopped read as a
        # contradiction, and its last rate as news.
        ("running", 67.0, "○ demo:1 silent 1m07s (last: running)", "warning"),
        # Ended as it should: the state says it all, no age beside it.
        ("finished", 637.0, "● demo:1 finished", "success"),
    ],
)
def test_a_source_its_writer_stopped_telling_of_reads_silent_not_running(state: str, age: float, text: str, mark_style: str) -> None:
    from flowtui.ui.data import SourceState
    from flowtui.ui.widgets.status_bar import _source

    colours = {"success": "green", "warning": "yellow", "error": "red"}
    line = _source(SourceState("demo:1", state, None, 500.0, 15, 0, 1_000.0), 1_000.0 + age, colours)
    assert line.plain == text
    assert str(line.spans[0].style) == colours[mark_style]
