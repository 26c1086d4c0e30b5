"""Completion at the cursor, and query history / saved queries in the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowtui.query.complete import Completion, completions, quote
from flowtui.query.history import QueryHistory
from flowtui.store import Store, StoreError
from tests import query_data


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = query_data.build(Path(tmp_path_factory.mktemp("cmp")) / "flows.db")
    yield s
    s.close()


def texts(text: str, store: Store | None = None, cursor: int | None = None) -> list[str]:
    return [c.text for c in completions(text, len(text) if cursor is None else cursor, store)]


def test_field_names_by_prefix_first_then_looser(store: Store) -> None:
    assert texts("dst_addr_c") == ["dst_addr_country_code:", "dst_addr_city_name:"]
    assert texts("dst_p") == ["dst_port:"]
    assert texts("dstaddr") == ["pkt_dstaddr:"]
    assert texts("dstcc") == ["dst_addr_country_code:"]  # letters in order
    assert texts("dst_adr")[0] == "dst_addr:"  # close match for a typo
    assert texts("action:ACCEPT AND -src_addr_aws")[0] == "src_addr_entity_aws_type:"


def test_the_replaced_span_is_the_word_under_the_cursor() -> None:
    text = "action:ACCEPT AND dst_po OR x"
    assert completions(text, 24)[0] == Completion("dst_port:", 18, 24, "field")
    assert completions(text, 23)[0] == Completion("dst_port:", 18, 24, "field")  # the whole word goes
    assert completions("(!act", 5)[0] == Completion("action:", 2, 5, "field")


def test_values_of_recent_flows_most_frequent_first(store: Store) -> None:
    assert texts("action:", store) == ["ACCEPT", "REJECT"]
    assert texts("action:r", store) == ["REJECT"]
    assert texts("protocol:", store) == ["TCP", "UDP", "61", "ESP", "ICMP"]
    assert texts("src_addr:10.0.", store) == ["10.0.1.10", "10.0.1.11", "10.0.2.20", "10.0.3.30"]
    assert texts("dst_addr:fd", store) == ["fd00::5"]
    assert texts("src_addr_entity:ec2", store) == ['"ec2:i-42e0d1ca"', '"ec2:i-new"', '"ec2:i-old"']
    assert texts('src_addr_entity:"elb', store) == ['"elb:my-alb"']
    assert texts("src_addr_internal:", store) == ["true", "false"]
    assert texts("interface_id:eni-w", store) == ["eni-web"]
    assert texts("vpc_id:", store) == ["vpc-123"]
    assert texts("timestamp:", store) == []
    c = completions("x OR dst_port:>=44", 18, store)
    assert [(v.text, v.start, v.end) for v in c] == [("443", 16, 18)]


def test_values_come_from_the_newest_flows_only(store: Store) -> None:
    from flowtui.query.complete import field_values

    assert field_values(store, "interface_id", recent=2) == ["eni-web"]  # proto61, esp … newest last
    assert field_values(store, "src_port", recent=3) == ["443"]


def test_operators_and_exists(store: Store) -> None:
    assert texts("action:ACCEPT A")[0] == "AND"
    assert texts("action:ACCEPT O")[0] == "OR"
    assert texts("action:ACCEPT o")[-1] == "OR"  # lower case: fields first
    assert texts("N")[0] == "NOT"
    assert "AND" not in texts("A")  # nothing to join yet
    assert texts("_exists_:vp") == ["vpc_id"]
    assert texts("nosuch:") == []


def test_nothing_is_offered_right_after_a_closed_group(store: Store) -> None:
    assert texts("(dst_port:22)", store) == []
    assert texts("src_addr_internal:false AND (dst_port:80 OR dst_port:443)", store) == []
    assert texts("(action:REJECT) ", store)[:2] == ["version:", "account_id:"]  # a space: the next term


def test_values_are_quoted_when_lucene_would_split_them() -> None:
    assert quote("eni-1") == "eni-1"
    assert quote("alb [prod]*") == '"alb [prod]*"'
    assert quote("ec2:i-1") == '"ec2:i-1"'
    assert quote("2001:db8::7") == "2001:db8::7"
    assert quote('say "hi"') == '"say \\"hi\\""'
    assert quote("AND") == '"AND"'


# --- history and saved queries --------------------------------------------------------------


def test_history_is_recent_first_and_deduplicated(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.db")
    h = QueryHistory(store, keep=3)
    for q in ["action:REJECT", "dst_port:22", " action:REJECT ", "", "protocol:udp", "src_addr:10.0.0.0/8"]:
        h.add(q)
    assert h.recent() == ["src_addr:10.0.0.0/8", "protocol:udp", "action:REJECT"]
    assert h.recent(prefix="pro") == ["protocol:udp"]
    assert h.recent(limit=1) == ["src_addr:10.0.0.0/8"]
    assert h.forget("protocol:udp") is True
    assert h.recent() == ["src_addr:10.0.0.0/8", "action:REJECT"]
    store.close()
    again = Store(tmp_path / "h.db")
    assert QueryHistory(again).recent() == ["src_addr:10.0.0.0/8", "action:REJECT"]  # kept in the store
    again.close()


def test_saved_queries(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    h = QueryHistory(store)
    h.save("ssh", "dst_port:22")
    h.save("rejects", "action:REJECT")
    h.save("ssh", "dst_port:22 AND action:REJECT")  # a name holds one query
    assert h.saved() == [("rejects", "action:REJECT"), ("ssh", "dst_port:22 AND action:REJECT")]
    assert h.get("ssh") == "dst_port:22 AND action:REJECT"
    assert h.delete("rejects") is True
    assert h.delete("rejects") is False
    assert h.saved() == [("ssh", "dst_port:22 AND action:REJECT")]
    h.add("dst_port:22 AND action:REJECT")  # history and saved queries are kept apart
    assert h.saved() == [("ssh", "dst_port:22 AND action:REJECT")]
    assert h.recent() == ["dst_port:22 AND action:REJECT"]
    with pytest.raises(ValueError):
        h.save("", "x")
    store.close()


def test_a_readonly_store_refuses_history_clearly(tmp_path: Path) -> None:
    Store(tmp_path / "r.db").close()
    ro = Store(tmp_path / "r.db", readonly=True)
    with pytest.raises(StoreError, match="read-only"):
        QueryHistory(ro).add("x")
    assert QueryHistory(ro).recent() == []
    ro.close()
