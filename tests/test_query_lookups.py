"""Lookups that find many ids: answered through the few ids they miss, with the same rows as before.

``src_addr_internal:false`` on a store that has seen thousands of outside
addresses finds more ids than are bound as literals; the engine then tests
the handful of inside ones instead. A flow without an address must still
match ``NOT src_addr_internal:false`` and never ``src_addr_internal:false``,
from the flows and from the rollups alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Batch, Part, Store
from tests.conftest import V2_PRESENT, make_record

T0 = 1_795_773_600  # on a five-minute boundary
OUTSIDE = 700  # more than the engine binds as literals (500)
INSIDE = {"10.0.0.1": ("ec2:i-1", "EC2"), "10.0.0.2": ("ec2:i-2", "EC2"), "10.0.0.3": ("rds:db", "RDS")}


def _enrich(ip: str, ts: int) -> tuple[Any, ...]:
    if ip in INSIDE:
        entity, kind = INSIDE[ip]
        return (True, entity, None, kind, None, None, None, None, None, False, None)
    return (False, None, None, None, None, "DE", None, None, None, False, None)


def _outside(i: int) -> str:
    return f"198.18.{i // 250}.{i % 250 + 1}"


def _flow(src: str | None, dst: str | None, at: int, nbytes: int, action: str = "ACCEPT", status: str = "OK") -> tuple[Any, ...]:
    return make_record(
        version=2, account_id="123456789012", interface_id="eni-1", src_addr=src, dst_addr=dst,
        src_port=40000 if src else None, dst_port=443 if dst else None, protocol_number=6 if src else None,
        packets=1 if src else None, bytes=nbytes if src else None, start=T0 + at, end=T0 + at + 60,
        action=action if src else None, log_status=status,
    )  # fmt: skip


def _records() -> list[tuple[Any, ...]]:
    out = []
    for i in range(OUTSIDE):  # each outside address calls an EC2 instance, one a second
        out.append(_flow(_outside(i), "10.0.0.1" if i % 3 else "10.0.0.2", i, 100 + i))
    for i in range(40):  # inside to inside, and inside out
        out.append(_flow("10.0.0.3", "10.0.0.1", 10 * i, 7))
        out.append(_flow("10.0.0.1", _outside(i), 10 * i + 5, 9, "REJECT"))
    out.append(_flow(None, None, 123, 0, status="NODATA"))
    out.append(_flow(None, None, 654, 0, status="SKIPDATA"))
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = Store(Path(tmp_path_factory.mktemp("lookups")) / "flows.db")
    s.write(Batch([Part(_records(), V2_PRESENT)]), enrich=_enrich)
    yield s
    s.close()


WINDOW = TimeWindow(T0, T0 + 900)  # whole five-minute buckets: rollups answer
EXPECTED_COUNTS = {
    "src_addr_internal:false": OUTSIDE,
    "dst_addr_entity_aws_type:EC2 AND src_addr_internal:false": OUTSIDE,
    "NOT src_addr_internal:false": 80 + 2,  # the inside ones and the two without addresses
    "dst_addr_internal:false": 40,
    "src_addr_internal:false OR dst_addr_internal:false": OUTSIDE + 40,
    "NOT (src_addr_internal:false OR dst_addr_internal:false)": 40 + 2,
    "src_addr_country_code:DE AND NOT dst_addr_entity_aws_type:RDS": OUTSIDE,
}


@pytest.mark.parametrize("query", list(EXPECTED_COUNTS))
def test_many_ids_count_the_same_from_flows_and_rollups(store: Store, query: str) -> None:
    rollups, raw = QueryEngine(store), QueryEngine(store, rollups=False)
    assert raw.count(query, WINDOW) == EXPECTED_COUNTS[query]
    assert rollups.count(query, WINDOW) == EXPECTED_COUNTS[query]
    assert len(raw.ids(query, WINDOW)) == EXPECTED_COUNTS[query]
    assert rollups.histogram(query, WINDOW, 15) == raw.histogram(query, WINDOW, 15)
    by = ["src_addr", "dst_addr", "src_addr_internal", "dst_addr_entity"]
    for metric in ("flows", "bytes"):
        assert rollups.top(query, WINDOW, by, metric, 10) == raw.top(query, WINDOW, by, metric, 10)


def test_the_biggest_outside_callers_of_ec2_are_exact(store: Store) -> None:
    engine = QueryEngine(store)
    rows = engine.top("dst_addr_entity_aws_type:EC2 AND src_addr_internal:false", WINDOW, ["src_addr", "dst_addr"], "bytes", 3)
    assert rows == [
        {"src_addr": _outside(699), "dst_addr": "10.0.0.2", "flows": 1, "bytes": 799, "packets": 1, "other": False, "group": {"src_addr": _outside(699), "dst_addr": "10.0.0.2"}},
        {"src_addr": _outside(698), "dst_addr": "10.0.0.1", "flows": 1, "bytes": 798, "packets": 1, "other": False, "group": {"src_addr": _outside(698), "dst_addr": "10.0.0.1"}},
        {"src_addr": _outside(697), "dst_addr": "10.0.0.1", "flows": 1, "bytes": 797, "packets": 1, "other": False, "group": {"src_addr": _outside(697), "dst_addr": "10.0.0.1"}},
        {
            "src_addr": None, "dst_addr": None, "flows": OUTSIDE - 3,
            "bytes": sum(100 + i for i in range(OUTSIDE - 3)), "packets": OUTSIDE - 3, "other": True,
            "group": {"src_addr": None, "dst_addr": None},
        },
    ]  # fmt: skip
