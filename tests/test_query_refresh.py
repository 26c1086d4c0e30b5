"""A pane asked again by the same engine: closed buckets are not read twice, yet a late flow is never missed.

The engine keeps the biggest rows it read from each rollup bucket while the
bucket's minutes are unchanged. A flow that arrives late, into a bucket read
before, must change the next answer exactly as a fresh engine sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Batch, Part, Store
from tests.conftest import V2_PRESENT, make_record

T0 = 1_795_773_600  # on a five-minute boundary
WINDOW = TimeWindow(T0, T0 + 900)
BY = ["src_addr", "dst_addr"]


def _enrich(ip: str, ts: int) -> tuple[Any, ...]:
    inside = ip.startswith("10.")
    return (inside, "ec2:i-1" if inside else None, None, "EC2" if inside else None, None, None, None, None, None,
            ip.startswith("198.51.100."), "tor" if ip.startswith("198.51.100.") else None)  # fmt: skip


def _flow(src: str, at: int, nbytes: int, action: str = "ACCEPT") -> tuple[Any, ...]:
    return make_record(
        version=2, account_id="123456789012", interface_id="eni-1", src_addr=src, dst_addr="10.0.0.1",
        src_port=40000, dst_port=22, protocol_number=6, packets=1, bytes=nbytes, start=T0 + at,
        end=T0 + at + 60, action=action, log_status="OK",
    )  # fmt: skip


def _write(store: Store, records: list[tuple[Any, ...]]) -> None:
    store.write(Batch([Part(records, V2_PRESENT)]), enrich=_enrich)


def test_a_late_flow_in_a_bucket_read_before_changes_the_next_answer(tmp_path: Path) -> None:
    store = Store(tmp_path / "flows.db")
    _write(store, [_flow(f"203.0.113.{i}", 7 * i, 1000 + i, "REJECT" if i % 2 else "ACCEPT") for i in range(1, 120)])
    _write(store, [_flow("198.51.100.5", 30, 500)])
    engine = QueryEngine(store)
    queries = [("*", "bytes"), ("action:REJECT", "flows"), ("src_addr_threat_indicated:true", "flows")]
    before = {q: engine.top(q, WINDOW, BY, metric, 3) for q, metric in queries}
    assert before == {q: engine.top(q, WINDOW, BY, metric, 3) for q, metric in queries}  # asked again: the same
    assert before["*"][0] == {
        "src_addr": "203.0.113.119", "dst_addr": "10.0.0.1", "flows": 1, "bytes": 1119, "packets": 1, "other": False,
        "group": {"src_addr": "203.0.113.119", "dst_addr": "10.0.0.1"},
    }  # fmt: skip

    # Late arrivals, into the first bucket (read above) and into the last.
    _write(store, [_flow("203.0.113.2", 10, 5000), *[_flow("203.0.113.2", 20, 5000, "REJECT")] * 2])
    _write(store, [_flow("198.51.100.5", 890, 700, "REJECT")])
    after = {q: engine.top(q, WINDOW, BY, metric, 3) for q, metric in queries}
    fresh, raw = QueryEngine(store), QueryEngine(store, rollups=False)
    for q, metric in queries:
        assert after[q] == fresh.top(q, WINDOW, BY, metric, 3) == raw.top(q, WINDOW, BY, metric, 3)
    assert after["*"][0] == {
        "src_addr": "203.0.113.2", "dst_addr": "10.0.0.1", "flows": 4, "bytes": 16002, "packets": 4, "other": False,
        "group": {"src_addr": "203.0.113.2", "dst_addr": "10.0.0.1"},
    }  # fmt: skip
    assert after["src_addr_threat_indicated:true"] == [
        {"src_addr": "198.51.100.5", "dst_addr": "10.0.0.1", "flows": 2, "bytes": 1200, "packets": 2, "other": False, "group": {"src_addr": "198.51.100.5", "dst_addr": "10.0.0.1"}},
    ]
    assert after["action:REJECT"][0]["src_addr"] == "203.0.113.2"
    store.close()
