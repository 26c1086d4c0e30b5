"""Wildcards and regexes on fixed-set fields (action, log_status, X_entity_aws_type) match in any case.

A Graylog user types ``action:rej*`` as readily as ``action:REJECT``; both find the same
flows, in the engine, ``flowtui query``/``top`` and the dashboard's query bar. The pattern is
resolved against the set when the query compiles, so it runs (rollups included) as the
values it stands for would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowtui.errors import QueryError
from flowtui.query import plan
from flowtui.query.compiler import compile_query
from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from tests import query_data
from tests.query_data import T0, names
from tests.test_query_cli import flowtui

REJECTS = {"ssh_reject", "v6_reject"}
NO_TRAFFIC = {"nodata", "skipdata"}
OK = set(query_data.NAMES) - NO_TRAFFIC
TO_EC2 = {"web_in", "web_http", "ssh_reject", "db_internal", "v6_reject"}  # dst_addr_entity_aws_type EC2

# (query, the same query with exact values, the flows both find)
CASES = [
    ("action:rej*", "action:REJECT", REJECTS),
    ("action:REJ*", "action:REJECT", REJECTS),
    ("action:re?ect", "action:REJECT", REJECTS),
    ("action:*cc*", "action:ACCEPT", OK - REJECTS),
    ("action:?*", "action:(ACCEPT OR REJECT)", OK),
    ("action:/rej.*/", "action:REJECT", REJECTS),
    ("action:/Rej.ct/", "action:REJECT", REJECTS),
    ("action:/(accept|REJ.*)/", "action:(ACCEPT OR REJECT)", OK),
    ("log_status:o*", "log_status:OK", OK),
    ("log_status:*data", "log_status:(NODATA OR SKIPDATA)", NO_TRAFFIC),
    ("log_status:/no.*/", "log_status:NODATA", {"nodata"}),
    ("dst_addr_entity_aws_type:ec*", "dst_addr_entity_aws_type:EC2", TO_EC2),
    ("dst_addr_entity_aws_type:/e[cl].*/", "dst_addr_entity_aws_type:(EC2 OR ELB)", TO_EC2 | {"web_to_alb"}),
    ("src_addr_entity_aws_type:rd?", "src_addr_entity_aws_type:RDS", {"db_out", "db_internal"}),
    ("NOT action:rej*", "NOT action:REJECT", set(query_data.NAMES) - REJECTS),
    ("action:rej* AND protocol:tcp", "action:REJECT AND protocol:TCP", REJECTS),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("closed")) / "flows.db"
    query_data.build(path).close()
    return path


@pytest.fixture(scope="module")
def engines(db: Path) -> Iterator[tuple[QueryEngine, QueryEngine]]:
    """The engine as it runs (rollups) and one reading only the flows."""
    from flowtui.store import Store

    with Store(db, readonly=True) as store:
        yield QueryEngine(store), QueryEngine(store, rollups=False)


@pytest.mark.parametrize(("query", "exact", "expected"), CASES)
def test_a_pattern_finds_what_its_values_find(engines: tuple[QueryEngine, QueryEngine], query: str, exact: str,
                                              expected: set[str]) -> None:
    engine, raw = engines
    assert names(engine.ids(query)) == expected
    assert engine.ids(query) == engine.ids(exact)
    assert engine.count(query) == raw.count(query) == len(expected)
    first_page = {r["interface_id"] for r in engine.search(query, limit=5)}
    assert first_page == {r["interface_id"] for r in engine.search(exact, limit=5)}


def test_a_pattern_compiles_to_its_values_so_the_rollups_answer_it() -> None:
    pattern = compile_query("action:rej* AND dst_port:22")
    exact = compile_query("action:REJECT AND dst_port:22")
    assert pattern.cond == exact.cond
    family = plan.rollup_for(pattern, by=["src_addr", "dst_port"])
    assert family is not None and {r.table for r in family} == {"rollup_rejects", "rollup_rejects_5m"}  # REJECTs only
    assert compile_query("action:/rej.*/").cond == compile_query("action:REJECT").cond


def test_top_and_histogram_of_a_pattern_match_the_exact_query(engines: tuple[QueryEngine, QueryEngine]) -> None:
    engine, raw = engines
    window = TimeWindow(T0, T0 + 1200)
    top = engine.top("action:rej*", window, by=["src_addr", "dst_port"], metric="flows")
    assert [(r["src_addr"], r["dst_port"], r["flows"]) for r in top] == [("198.51.100.7", 22, 1), ("2001:db8::7", 50000, 1)]
    assert top == raw.top("action:/REJ.*/", window, by=["src_addr", "dst_port"], metric="flows")
    histogram = engine.histogram("log_status:*data", window, buckets=4)
    assert [b["flows"] for b in histogram] == [0, 0, 2, 0]
    assert histogram == engine.histogram("log_status:(NODATA OR SKIPDATA)", window, buckets=4)


@pytest.mark.parametrize(
    ("query", "words", "start", "end"),
    [
        ("action:rejct*", "action: 'rejct*' matches none of ACCEPT or REJECT", 7, 13),
        ("action:/x.*/", "action: /x.*/ matches none of ACCEPT or REJECT", 7, 12),
        ("log_status:ko*", "log_status: 'ko*' matches none of OK, NODATA or SKIPDATA", 11, 14),
        ("dst_addr_entity_aws_type:vpn*", "matches none of EC2, ELB, RDS, NAT, LAMBDA, VPCE, ECS, EKS, TGW or ENI", 25, 29),
    ],
)
def test_a_pattern_that_matches_none_of_the_set_is_a_typo(query: str, words: str, start: int, end: int) -> None:
    with pytest.raises(QueryError) as info:
        compile_query(query)
    assert words in info.value.message
    assert (info.value.start, info.value.end) == (start, end)


def test_other_keyword_fields_keep_case_sensitive_patterns(engines: tuple[QueryEngine, QueryEngine]) -> None:
    engine, _ = engines
    assert engine.ids("interface_id:ENI-*") == []
    assert names(engine.ids("interface_id:eni-d*")) == {"db_out", "db_internal"}


# --- the command line -------------------------------------------------------------------


def test_query_and_top_take_patterns_on_fixed_sets(db: Path) -> None:
    for query in ("action:rej*", "action:/rej.*/", "action:REJECT"):
        out = flowtui("query", "--db", str(db), "--count", query)
        assert (out.returncode, out.stdout, out.stderr) == (0, "2\n", "")
    out = flowtui("query", "--db", str(db), "--count", "log_status:o*")
    assert (out.returncode, out.stdout) == (0, "14\n")
    out = flowtui("query", "--db", str(db), "--count", "dst_addr_entity_aws_type:ec*")
    assert (out.returncode, out.stdout) == (0, "5\n")
    out = flowtui("top", "--db", str(db), "--by", "action", "--metric", "flows", "--format", "json", "action:*t")
    assert out.returncode == 0, out.stderr
    assert [(r["action"], r["flows"]) for r in json.loads(out.stdout)] == [("ACCEPT", 12), ("REJECT", 2)]


def test_query_says_where_a_pattern_matches_none_of_the_set(db: Path) -> None:
    out = flowtui("query", "--db", str(db), "--count", "action:rejct*")
    assert (out.returncode, out.stdout, out.stderr) == (
        2, "", "flowtui: bad query: action: 'rejct*' matches none of ACCEPT or REJECT\n  action:rejct*\n         ^^^^^^\n"
    )


# --- the dashboard's query bar -----------------------------------------------------------


async def test_the_query_bar_runs_patterns_on_fixed_sets(tmp_path: Path) -> None:
    from tests.test_ui_query_bar import bar, error_text
    from tests.test_ui_results import run_query
    from tests.ui_data import make_app, refreshed, until, write_flows

    app = make_app(write_flows(tmp_path / "flows.db"))
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        for query in ("action:REJECT", "action:rej*", "action:/rej.*/"):
            screen = await run_query(pilot, query)
            assert screen.page is not None and screen.page.total == 6, query
            await pilot.press("escape")
        screen = await run_query(pilot, "log_status:o*")  # the 13 flows of the last 15 minutes, all OK
        assert screen.page is not None and screen.page.total == 13
        await pilot.press("escape")
        await pilot.press("slash", *"action:rejct*")
        await until(pilot, lambda: error_text(app) != "")
        assert bar(app).error is not None and "matches none of ACCEPT or REJECT" in bar(app).error.message
