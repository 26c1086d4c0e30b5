"""QueryEngine: decoded rows, counts, top-N with an (other) row, histograms, time windows, time limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowtui import catalog
from flowtui.errors import UsageError
from flowtui.query.engine import DEFAULT_COLUMNS, QueryEngine, QueryTimeout, columns_for
from flowtui.query.window import TimeWindow
from flowtui.store import Batch, Part, Store
from tests import query_data
from tests.conftest import V2_PRESENT, make_record
from tests.query_data import T0, names


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueryEngine]:
    store = query_data.build(Path(tmp_path_factory.mktemp("eng")) / "flows.db")
    yield QueryEngine(store)
    store.close()


def test_rows_are_keyed_by_catalog_names_with_decoded_values(engine: QueryEngine) -> None:
    (row,) = engine.search("vpc_id:vpc-123")
    assert list(row) == [f.name for f in catalog.FIELDS]
    expected = dict.fromkeys(row)
    expected.update(
        version=5, account_id="123456789012", interface_id="eni-web", src_addr="10.0.1.10", dst_addr="203.0.113.9",
        src_port=443, dst_port=51004, protocol_number=6, packets=9, bytes=9999, start=T0 + 900, end=T0 + 960,
        action="ACCEPT", log_status="OK", vpc_id="vpc-123", tcp_flags=18, pkt_srcaddr="10.0.1.10",
        pkt_dstaddr="203.0.113.9", flow_direction="egress", protocol="TCP", timestamp=T0 + 900,
        capture_window_duration_seconds=60, message="eni-web ACCEPT TCP 10.0.1.10:443 -> 203.0.113.9:51004",
        aws_log_group="/aws/vpc/flows", aws_log_stream="eni-web-all", aws_kinesis_stream="flowstream",
        aws_owner="123456789012",
        src_addr_internal=True, src_addr_entity="ec2:i-42e0d1ca", src_addr_entity_description="web-1",
        src_addr_entity_aws_type="EC2", src_addr_threat_indicated=False,
        dst_addr_internal=False, dst_addr_geolocation="52.52,13.40", dst_addr_country_code="DE",
        dst_addr_city_name="Berlin", dst_addr_as_number=64500, dst_addr_as_organization="Example AS",
        dst_addr_threat_indicated=True, dst_addr_threat_indicated_by="spamhaus,tor",
    )
    assert row == expected
    assert row["src_addr_internal"] is True and row["dst_addr_threat_indicated"] is True


def test_missing_values_are_none_and_nodata_has_a_message(engine: QueryEngine) -> None:
    fields = ["src_addr", "dst_port", "protocol", "bytes", "end", "message", "src_addr_internal", "vpc_id"]
    assert engine.search("log_status:NODATA", fields=fields) == [
        {"src_addr": None, "dst_port": None, "protocol": None, "bytes": None, "end": T0 + 760,
         "message": "eni-idle NODATA", "src_addr_internal": None, "vpc_id": None}
    ]


def test_each_flow_keeps_the_owner_its_address_had_then(engine: QueryEngine) -> None:
    rows = engine.search("src_addr:10.0.1.11", fields=["src_addr_entity", "src_port"], order="timestamp")
    assert rows == [{"src_addr_entity": "ec2:i-old", "src_port": 53000}, {"src_addr_entity": "ec2:i-new", "src_port": 53001}]


def test_newest_first_with_limit_offset_and_other_orders(engine: QueryEngine) -> None:
    ports = [r["src_port"] for r in engine.search("protocol:tcp", fields=["src_port"], limit=3)]
    assert ports == [443, 443, 443]  # custom_egress, v6_reject, alb_out
    times = [r["timestamp"] for r in engine.search("protocol:tcp", fields=["timestamp"], limit=2, offset=1)]
    assert times == [T0 + 500, T0 + 60]
    by_bytes = [r["bytes"] for r in engine.search("protocol:tcp", fields=["bytes"], limit=3, order="-bytes")]
    assert by_bytes == [9999, 8000, 5000]
    oldest = engine.search("*", fields=["timestamp"], limit=1, order="timestamp")
    assert oldest == [{"timestamp": T0}]
    assert len(engine.search("*", limit=None)) == len(query_data.NAMES)
    with pytest.raises(UsageError, match="sort by a number or time field"):
        engine.search("*", order="action")


def test_unknown_output_field_is_a_usage_error(engine: QueryEngine) -> None:
    with pytest.raises(UsageError, match=r"unknown field 'scr_addr' \(did you mean src_addr\?\)"):
        engine.search("*", fields=["scr_addr"])


def test_count(engine: QueryEngine) -> None:
    assert engine.count("*") == 16
    assert engine.count("action:REJECT") == 2
    assert engine.count("*", TimeWindow(T0 + 100, T0 + 600)) == 3  # dns_old, dns_new, v6_reject


def test_window_bounds_search(engine: QueryEngine) -> None:
    window = TimeWindow.parse(from_="2026-11-27T10:00:10Z", to="2026-11-27T10:00:30Z")
    assert names(engine.ids("*", window)) == {"web_http", "ssh_reject", "db_out"}
    live = TimeWindow.last(900)
    assert engine.ids("*", TimeWindow(T0 + 1000, None)) == [15, 14][::-1]  # esp, proto61
    assert engine.count("*", live) == 0  # the data is from another day


def test_top_groups_merges_profiles_and_adds_other(engine: QueryEngine) -> None:
    assert engine.top("*", None, ["src_addr"], "bytes", 3) == [
        {"src_addr": "10.0.1.10", "flows": 5, "bytes": 11093, "packets": 21, "other": False, "group": {"src_addr": "10.0.1.10"}},
        {"src_addr": "10.0.2.20", "flows": 2, "bytes": 8000, "packets": 80, "other": False, "group": {"src_addr": "10.0.2.20"}},
        {"src_addr": "10.0.3.30", "flows": 1, "bytes": 8000, "packets": 80, "other": False, "group": {"src_addr": "10.0.3.30"}},
        {"src_addr": None, "flows": 8, "bytes": 3404, "packets": 35, "other": True, "group": {"src_addr": None}},
    ]
    # 10.0.1.11 has two addrs rows (two owners) but is one group.
    rows = engine.top("protocol:udp", None, ["src_addr"], "flows", 10)
    assert rows == [{"src_addr": "10.0.1.11", "flows": 2, "bytes": 300, "packets": 3, "other": False, "group": {"src_addr": "10.0.1.11"}}]
    rows = engine.top("protocol:udp", None, ["src_addr_entity"], "flows", 10)
    assert rows == [
        {"src_addr_entity": "ec2:i-new", "flows": 1, "bytes": 200, "packets": 2, "other": False, "group": {"src_addr_entity": "ec2:i-new"}},
        {"src_addr_entity": "ec2:i-old", "flows": 1, "bytes": 100, "packets": 1, "other": False, "group": {"src_addr_entity": "ec2:i-old"}},
    ]


def test_top_by_several_fields_and_metrics(engine: QueryEngine) -> None:
    rows = engine.top("action:ACCEPT", None, ["protocol", "dst_port"], "packets", 2)
    assert rows == [
        {"protocol": "TCP", "dst_port": 51003, "flows": 1, "bytes": 8000, "packets": 80, "other": False, "group": {"protocol": "TCP", "dst_port": 51003}},
        {"protocol": "TCP", "dst_port": 40000, "flows": 1, "bytes": 5000, "packets": 50, "other": False, "group": {"protocol": "TCP", "dst_port": 40000}},
        {"protocol": None, "dst_port": None, "flows": 10, "bytes": 17393, "packets": 84, "other": True, "group": {"protocol": None, "dst_port": None}},
    ]
    rows = engine.top("*", None, ["dst_addr_country_code", "aws_log_group"], "flows", 1)
    assert rows[0] == {"dst_addr_country_code": None, "aws_log_group": None, "flows": 10, "bytes": 7114, "packets": 73, "other": False, "group": {"dst_addr_country_code": None, "aws_log_group": None}}
    with pytest.raises(UsageError):
        engine.top("*", None, ["message"], "flows", 1)
    with pytest.raises(UsageError):
        engine.top("*", None, ["src_addr"], "octets", 1)  # type: ignore[arg-type]


def test_histogram_buckets(engine: QueryEngine) -> None:
    window = TimeWindow(T0, T0 + 1200)
    buckets = engine.histogram("*", window, buckets=4)
    assert [(b["start"], b["end"], b["flows"]) for b in buckets] == [
        (T0, T0 + 300, 8), (T0 + 300, T0 + 600, 2), (T0 + 600, T0 + 900, 3), (T0 + 900, T0 + 1200, 3)
    ]
    assert sum(b["bytes"] for b in buckets) == 30497
    assert [b["flows"] for b in engine.histogram("action:REJECT", window, buckets=4)] == [1, 1, 0, 0]
    assert engine.histogram("*", TimeWindow.all(), buckets=2)[0]["start"] == T0


def test_columns_for_adds_what_the_query_names() -> None:
    assert columns_for("*") == list(DEFAULT_COLUMNS)
    assert columns_for("src_addr_entity:ec2* AND dst_port:22 AND eni-1") == [
        "timestamp", "src_addr_entity", *DEFAULT_COLUMNS[1:]
    ]
    assert columns_for("(unbalanced") == list(DEFAULT_COLUMNS)


def test_a_slow_query_stops_at_the_time_limit(tmp_path: Path) -> None:
    store = Store(tmp_path / "big.db")
    rec = make_record(version=2, account_id="1", interface_id="eni-1", src_addr="10.0.0.1", dst_addr="10.0.0.2",
                      src_port=1, dst_port=2, protocol_number=6, packets=1, bytes=1, start=T0, end=T0 + 60,
                      action="ACCEPT", log_status="OK")
    store.write(Batch([Part([rec] * 50_000, V2_PRESENT)]))
    engine = QueryEngine(store, timeout=0.01)
    with pytest.raises(QueryTimeout) as info:
        engine.count('"ACCEPT TCP 10.0.0.9"')  # a phrase runs Python per row: slow
    assert str(info.value) == "query took longer than 0.01 s; narrow it down or raise [query] timeout"
    assert info.value.exit_code == 1
    # The connection is usable afterwards, and quick queries pass.
    assert engine.count("action:ACCEPT") == 50_000
    store.close()


def _rare_store(path: Path) -> Store:
    """30,000 ordinary flows and three rare ones (dst_port 9999), spread over time."""
    store = Store(path)
    common = [
        make_record(version=2, account_id="1", interface_id="eni-1", src_addr="10.0.0.1", dst_addr="10.0.0.2",
                    src_port=1, dst_port=443, protocol_number=6, packets=1, bytes=1, start=T0 + i, end=T0 + i + 60,
                    action="ACCEPT", log_status="OK")
        for i in range(30_000)
    ]
    for at, i in ((5, 100), (20_000, 101), (29_000, 102)):
        common.insert(at, make_record(**{**dict(zip([f.name for f in catalog.RECORD_FIELDS], common[0])),
                                         "dst_port": 9999, "src_port": i, "start": T0 + at, "end": T0 + at + 60}))
    store.write(Batch([Part(common, V2_PRESENT)]), query_data.enrich_none)
    return store


def test_rare_matches_give_the_same_page_through_a_table_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import flowtui.query.engine as engine_module

    store = _rare_store(tmp_path / "rare.db")
    engine = QueryEngine(store)
    walked = engine.search("dst_port:9999", fields=["src_port", "timestamp"], limit=3)
    assert walked == [
        {"src_port": 102, "timestamp": T0 + 29_000},
        {"src_port": 101, "timestamp": T0 + 20_000},
        {"src_port": 100, "timestamp": T0 + 5},
    ]
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    monkeypatch.setattr(engine_module, "_WALK_MIN", 0.0)
    monkeypatch.setattr(engine_module, "_WALK_MAX", 0.0)
    assert engine.search("dst_port:9999", fields=["src_port", "timestamp"], limit=3) == walked
    assert any("NOT INDEXED" in s for s in statements)  # it did fall back
    assert [r["src_port"] for r in engine.search("dst_port:9999", fields=["src_port"], limit=5, order="timestamp")] == [100, 101, 102]
    store.close()


def test_a_lookup_that_finds_nothing_reads_no_flow(engine: QueryEngine) -> None:
    assert engine._where('src_addr_entity:"ec2:i-nosuch" AND action:ACCEPT', None) == ("0", [])
    assert engine._where("NOT src_addr_entity:nosuch", TimeWindow(1, 2)) == ('f."start" >= ? AND f."start" < ?', [1, 2])
    where, params = engine._where("src_addr_entity:ec2\\:i-old", None)
    assert where == 'f."src_addr" = ?' and len(params) == 1  # one id, bound directly
