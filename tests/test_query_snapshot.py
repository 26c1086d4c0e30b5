"""A search bounded by a snapshot's newest flow id: pages and exports keep the rows a count saw."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from flowtui.query.engine import QueryCancelled, QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Store
from tests.ui_data import NOW, add_flows, flow, write_flows

WINDOW = TimeWindow(NOW - 900, NOW)


def _first(n: int, port: int) -> list:  # type: ignore[type-arg]
    """``n`` flows to ``port``, one a second back from NOW - 1 (source ports 10000, 10001 …)."""
    return [flow("192.0.2.66", 10_000 + i, "10.0.1.10", port, 6, "ACCEPT", 100, 1, 1 + i) for i in range(n)]


def _late(n: int, port: int) -> list:  # type: ignore[type-arg]
    """``n`` flows stored later at the same times as the first ones (source ports 20000 …)."""
    return [flow("192.0.2.66", 20_000 + i, "10.0.1.10", port, 6, "ACCEPT", 100, 1, 1 + i) for i in range(n)]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db", _first(300, 80))


def _ports(rows: list[dict]) -> list[int]:  # type: ignore[type-arg]
    return [r["src_port"] for r in rows]


@pytest.mark.parametrize("rollups", [True, False])
@pytest.mark.parametrize("query", ["*", "dst_port:80"])
def test_every_page_leaves_out_flows_stored_after_the_snapshot(db: Path, rollups: bool, query: str) -> None:
    """First pages (the rollup guide, the index walk), later pages by offset and a full read:
    with the snapshot's id, the flows stored since change none of them."""
    with Store(db, readonly=True) as store:
        engine = QueryEngine(store, rollups=rollups)
        upto = engine.ids("*")[-1]
        add_flows(db, _late(300, 80))
        fields = ["src_port"]
        assert _ports(engine.search(query, WINDOW, fields, limit=100, upto_id=upto)) == list(range(10_000, 10_100))
        assert _ports(engine.search(query, WINDOW, fields, limit=100, offset=100, upto_id=upto)) == list(range(10_100, 10_200))
        assert _ports(engine.search(query, WINDOW, fields, limit=100, order="timestamp", upto_id=upto)) == list(
            range(10_299, 10_199, -1)
        )
        assert _ports(engine.search(query, WINDOW, fields, limit=None, order="-bytes", upto_id=upto)) == list(
            range(10_000, 10_300)
        )
        # Without the bound the late flows come first (same times, stored later).
        assert _ports(engine.search(query, WINDOW, fields, limit=2)) == [20_000, 10_000]


def test_a_bound_at_or_past_the_newest_flow_changes_nothing(db: Path) -> None:
    with Store(db, readonly=True) as store:
        engine = QueryEngine(store)
        newest = engine.ids("*")[-1]
        for upto in (newest, newest + 1000):
            assert _ports(engine.search("dst_port:80", WINDOW, ["src_port"], limit=3, upto_id=upto)) == [10_000, 10_001, 10_002]
        assert engine.search("dst_port:80", WINDOW, ["src_port"], limit=3, upto_id=0) == []


def test_a_stop_event_ends_a_search_without_a_time_limit(db: Path) -> None:
    with Store(db, readonly=True) as store:
        engine = QueryEngine(store, timeout=None)
        stop = threading.Event()
        rows = engine.iter_search("*", WINDOW, ["src_port"], limit=None, order="-bytes", stop=stop)
        assert next(rows) == {"src_port": 10_000}
        stop.set()
        with pytest.raises(QueryCancelled, match="^the search was cancelled$"):
            list(rows)
        # The engine answers the next search as usual.
        assert len(engine.search("*", WINDOW, ["src_port"], limit=None, order="-bytes")) == 300


def test_a_rare_match_keeps_its_rollup_guided_first_page_under_a_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """150 matches among 20,000 flows: the rollups guide the first page; 150 more matches stored
    after the snapshot, at the same times, make the guide read twice as many and drop them."""
    from flowtui.query import pages

    noise = [flow("192.0.2.66", 30_000 + i, "10.0.1.10", 443, 6, "ACCEPT", 100, 1, 1 + i % 800) for i in range(20_000)]
    rare = [flow("192.0.2.66", 10_000 + i, "10.0.1.10", 80, 6, "ACCEPT", 100, 1, 1 + 5 * i) for i in range(150)]
    db = write_flows(tmp_path / "flows.db", noise + rare)
    guided: list[tuple[int, int | None]] = []  # (rows asked, rows the guide gave; None: it left it to the walk)
    real = pages.guided_page

    def watched(*args):  # type: ignore[no-untyped-def]
        got = real(*args)
        guided.append((args[6], None if got is None else len(got[0])))
        return got

    monkeypatch.setattr(pages, "guided_page", watched)
    with Store(db, readonly=True) as store:
        engine = QueryEngine(store)
        upto = engine.ids("*")[-1]
        add_flows(db, [flow("192.0.2.66", 20_000 + i, "10.0.1.10", 80, 6, "ACCEPT", 100, 1, 1 + 5 * i) for i in range(150)])
        rows = engine.search("dst_port:80", WINDOW, ["src_port"], limit=100, upto_id=upto)
        assert _ports(rows) == list(range(10_000, 10_100))
        assert guided == [(100, 100), (200, 200)]
        guided.clear()
        assert _ports(engine.search("dst_port:80", WINDOW, ["src_port"], limit=4)) == [20_000, 10_000, 20_001, 10_001]
        assert guided == [(4, 4)]
