"""Grouping by a field that is also a metric (bytes, packets): the group's value and the sums both show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowtui.config import Config
from flowtui.query.engine import QueryEngine
from flowtui.store import Store
from tests import query_data
from tests.test_query_cli import flowtui
from tests.ui_data import fixed_clock, refreshed, table_rows, write_flows


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("top-metric")) / "flows.db"
    query_data.build(path).close()
    return path


def test_engine_rows_keep_the_group_value_under_group(db: Path) -> None:
    with Store(db, readonly=True) as store:
        rows = QueryEngine(store).top("*", None, ["packets"], metric="flows", limit=1)
    assert rows == [
        {"packets": 5, "flows": 5, "bytes": 298, "other": False, "group": {"packets": 1}},
        {"packets": 211, "flows": 11, "bytes": 30199, "other": True, "group": {"packets": None}},
    ]


@pytest.mark.parametrize(
    ("by", "metric", "limit", "table"),
    [
        ("packets", "flows", "1", [
            "packets  flows   bytes  packets  share",
            "1            5     298        5  31.2%",
            "(other)     11  30,199      211  68.8%",
        ]),
        ("bytes,dst_port", "packets", "2", [
            "bytes    dst_port  flows   bytes  packets  share",
            "8,000       51003      1   8,000       80  37.0%",
            "5,000       40000      1   5,000       50  23.1%",
            "(other)         -     14  17,497       86  39.8%",
        ]),
    ],
)  # fmt: skip
def test_top_table_shows_the_group_beside_the_sums(db: Path, by: str, metric: str, limit: str, table: list[str]) -> None:
    out = flowtui("top", "--db", str(db), "--by", by, "--metric", metric, "--limit", limit, columns=200)
    assert (out.returncode, out.stderr, out.stdout.splitlines()) == (0, "", table)


def test_top_json_by_packets_has_the_group_under_group(db: Path) -> None:
    out = flowtui("top", "--db", str(db), "--by", "packets", "--metric", "flows", "--limit", "1", "--format", "json")
    assert out.returncode == 0
    assert json.loads(out.stdout) == [
        {"packets": 5, "flows": 5, "bytes": 298, "other": False, "group": {"packets": 1}},
        {"packets": 211, "flows": 11, "bytes": 30199, "other": True, "group": {"packets": None}},
    ]


async def test_a_pane_grouped_by_packets_shows_them(tmp_path: Path) -> None:
    """Was Textual's DuplicateKey ('packets' column twice) and a dead dashboard."""
    from flowtui.ui.app import FlowtuiApp

    path = write_flows(tmp_path / "flows.db")
    config = Config({"ui": {"refresh": 60}, "panes": [
        {"title": "By packets", "query": "*", "by": ["packets"], "metric": "bytes"},
        {"title": "Twice", "query": "action:REJECT", "by": ["src_addr", "src_addr"], "metric": "flows"},
    ]})
    app = FlowtuiApp(path, config, now=fixed_clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await refreshed(pilot)
        rows = table_rows(app.dashboard.pane("by-packets").table)
        twice = table_rows(app.dashboard.pane("twice").table)
    assert rows[:3] == [
        ["1000", "3.0 MB", "2", "2,000"],
        ["800", "1.0 MB", "1", "800"],
        ["300", "500 kB", "2", "600"],
    ]
    assert [twice[0][0], twice[0][2]] == ["198.51.100.7", "198.51.100.7"]  # each with its "who" label


def test_two_panes_whose_titles_make_one_id_are_a_config_error() -> None:
    """Was Textual's MountError (two widgets 'pane-x') and a dead dashboard."""
    from flowtui.errors import ConfigError
    from flowtui.ui.panes import panes_from_config

    config = Config({"panes": [{"title": "x", "by": "src_addr"}, {"title": "X!", "by": "dst_addr"}]})
    with pytest.raises(ConfigError) as caught:
        panes_from_config(config)
    assert str(caught.value) == "config: [[panes]] 'X!': another pane, 'x', has a title of the same letters and digits; rename one"
