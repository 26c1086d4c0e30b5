"""The query bar's syntax: every construct Graylog documents, against known flows.

Each case names the exact set of records (see tests/query_data.py) it must match.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowtui.query.engine import QueryEngine
from flowtui.store import Store
from tests import query_data
from tests.query_data import NAMES, names

ALL = set(NAMES)
NO_TRAFFIC = {"nodata", "skipdata"}
TCP = {"web_in", "web_http", "ssh_reject", "db_out", "db_internal", "web_to_alb", "alb_out", "v6_reject", "custom_egress"}
WEB_SRC = {"web_to_alb", "icmp", "esp", "proto61", "custom_egress"}  # src_addr 10.0.1.10
INTERNAL_SRC = WEB_SRC | {"db_out", "db_internal", "alb_out", "dns_old", "dns_new"}
EXTERNAL_SRC = {"web_in", "web_http", "ssh_reject", "v6_reject"}
DNS = {"dns_old", "dns_new"}
REJECTS = {"ssh_reject", "v6_reject"}
TO_BERLIN = {"alb_out", "icmp", "custom_egress"}  # dst_addr 203.0.113.9


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueryEngine]:
    store = query_data.build(Path(tmp_path_factory.mktemp("q")) / "flows.db")
    yield QueryEngine(store)
    store.close()


def matches(engine: QueryEngine, query: str) -> set[str]:
    return names(engine.ids(query))


GUIDE = [
    # The five queries of Graylog's flow-log guide, verbatim.
    ("dst_addr_entity_aws_type:EC2 AND src_addr_internal:false AND (dst_port:80 OR dst_port:443)", {"web_in", "web_http"}),
    ("src_addr_entity_aws_type:RDS AND dst_addr_internal:false", {"db_out"}),
    ("dst_addr_threat_indicated:true", TO_BERLIN),
    ("src_addr_entity_aws_type:ELB", {"alb_out"}),
    ('src_addr_entity:"ec2:i-42e0d1ca" AND dst_addr_entity_aws_type:ELB', {"web_to_alb"}),
]

BOOLEAN = [
    ("*", ALL),
    ("", ALL),
    ("   ", ALL),
    ("*:*", ALL),
    ("action:REJECT", REJECTS),
    ('action:"REJECT"', REJECTS),
    ("action:reject", REJECTS),  # a fixed set (ACCEPT/REJECT) ignores case, like protocol; other keywords do not
    ("NOT action:ACCEPT", REJECTS | NO_TRAFFIC),  # records without an action too
    ("-action:ACCEPT", REJECTS | NO_TRAFFIC),
    ("!action:ACCEPT", REJECTS | NO_TRAFFIC),
    ("action:REJECT OR dst_port:53", REJECTS | DNS),
    ("action:REJECT || dst_port:53", REJECTS | DNS),
    ("action:REJECT dst_port:53", REJECTS | DNS),  # no operator: OR
    ("action:REJECT AND protocol:tcp", REJECTS),
    ("action:REJECT && src_addr:2001:db8::/32", {"v6_reject"}),
    ("+action:REJECT +src_port:443", {"v6_reject"}),
    ("+action:ACCEPT -protocol:TCP dst_port:53", {"dns_old", "dns_new", "icmp", "esp", "proto61"}),
    ("protocol:TCP -action:ACCEPT", REJECTS),
    ("protocol:TCP NOT action:ACCEPT", REJECTS),
    ("dst_port:(80 OR 443)", {"web_in", "web_http", "web_to_alb"}),
    ("dst_port:(80 443)", {"web_in", "web_http", "web_to_alb"}),
    ("dst_port:(80 || 443) AND NOT src_addr_internal:true", {"web_in", "web_http"}),
    ("(dst_port:80 OR dst_port:22) AND action:ACCEPT", {"web_http"}),
    ("NOT (action:ACCEPT OR action:REJECT)", NO_TRAFFIC),
    ("action:ACCEPT AND NOT (protocol:tcp OR protocol:udp)", {"icmp", "esp", "proto61"}),
    ("action:REJECT OR dst_port:53 AND protocol:udp", REJECTS | DNS),  # AND binds tighter
    ("action:REJECT^2", REJECTS),  # boosts do not change what matches
]

WILDCARDS_REGEX = [
    ("interface_id:eni-?b", {"db_out", "db_internal"}),
    ("interface_id:eni-*", ALL),
    ("interface_id:ENI-*", set()),  # GLOB is case-sensitive
    ("interface_id:*", ALL),
    ("dst_port:*", ALL - NO_TRAFFIC - {"esp", "proto61"}),
    ("src_addr_entity_description:alb*", {"alb_out"}),
    (r"src_addr_entity_description:alb\ \[prod\]\*", {"alb_out"}),  # escaped: literal [ ] *
    (r"src_addr_entity_description:alb\ \[prod\]*", {"alb_out"}),  # GLOB's [ escaped
    (r"src_addr_entity_description:alb\ \[p*", {"alb_out"}),
    (r"src_addr_entity_description:\[*", set()),
    ('src_addr_entity_description:"alb [prod]*"', {"alb_out"}),
    ('src_addr_entity_description:"alb*"', set()),  # no wildcards inside a phrase
    ("interface_id:/eni-(db|alb)/", {"db_out", "db_internal", "alb_out"}),
    ("interface_id:/eni/", set()),  # anchored to the whole value
    ("interface_id:/ENI-.*/", set()),
    ("src_addr:/10\\.0\\.2\\..*/", {"db_out", "db_internal"}),
    ("dst_port:/5\\d/", DNS),
    ("src_port:5100?", {"web_in", "web_http", "ssh_reject"}),
]

RANGES = [
    ("bytes:[1000 TO 3000]", {"web_in", "web_http", "db_internal"}),
    ("bytes:{1000 TO 3000}", {"web_http"}),
    ("bytes:[1000 TO 3000}", {"web_in", "web_http"}),
    ("bytes:{1000 TO 3000]", {"web_http", "db_internal"}),
    ("bytes:[5000 TO *]", {"db_out", "alb_out", "custom_egress"}),
    ("bytes:[* TO 40]", {"ssh_reject", "proto61"}),
    ("bytes:[* TO *]", ALL - NO_TRAFFIC),
    ("bytes:>5000", {"alb_out", "custom_egress"}),
    ("bytes:>=5000", {"db_out", "alb_out", "custom_egress"}),
    ("bytes:<64", {"ssh_reject", "proto61"}),
    ("bytes:<=64", {"ssh_reject", "proto61", "v6_reject"}),
    ("NOT bytes:>100", {"ssh_reject", "v6_reject", "icmp", "proto61", "dns_old"} | NO_TRAFFIC),
    ("protocol_number:[1 TO 17]", TCP | DNS | {"icmp"}),
    ("protocol:[TCP TO UDP]", TCP | DNS),
    ("src_addr:[10.0.1.0 TO 10.0.1.255]", WEB_SRC | DNS),
    ("src_addr:{10.0.1.10 TO 10.0.2.20]", DNS | {"db_out", "db_internal"}),
    ("dst_addr_as_number:[64500 TO 64501]", TO_BERLIN),
    ("interface_id:[eni-a TO eni-c]", {"alb_out", "dns_old", "dns_new"}),
    ("bytes:[-5 TO 10]", {"proto61"}),
]

TIMES = [
    ("timestamp:2026-11-27", ALL),
    ("timestamp:2026-11-28", set()),
    ("timestamp:2026-11", ALL),
    ("timestamp:2026-11-27T10:00:10Z", {"web_http"}),
    ('timestamp:"2026-11-27 10:00:10"', {"web_http"}),
    ('timestamp:"2026-11-27T11:00:10+01:00"', {"web_http"}),
    ("timestamp:2026-11-27T11\\:00\\:10+01\\:00", {"web_http"}),
    ("timestamp:1795773610", {"web_http"}),
    ("timestamp:[2026-11-27T10:00:00Z TO 2026-11-27T10:00:30Z}", {"web_in", "web_http", "ssh_reject"}),
    ("timestamp:2026-11-27T10:00", {"web_in", "web_http", "ssh_reject", "db_out", "db_internal", "web_to_alb"}),
    ("timestamp:>=2026-11-27T10:15:00Z", {"custom_egress", "esp", "proto61"}),
    ("timestamp:>2026-11-27T10:15", {"esp", "proto61"}),  # after that whole minute
    ("start:<1795773620", {"web_in", "web_http"}),
    ("end:1795773660", {"web_in"}),
    ("end:>1795774700", {"proto61"}),
    ("capture_window_duration_seconds:60", ALL),
]

ADDRESSES = [
    ("src_addr:10.0.0.0/8", INTERNAL_SRC),
    ('src_addr:"10.0.0.0/8"', INTERNAL_SRC),
    ("src_addr:10.0.0.0\\/8", INTERNAL_SRC),
    ("src_addr:10.0.1.10", WEB_SRC),
    ("src_addr:10.0.1.*", WEB_SRC | DNS),
    ("src_addr:10.0.1.1?", WEB_SRC | DNS),
    ("src_addr:2001:db8::/32", {"v6_reject"}),
    ('src_addr:"2001:db8::/32"', {"v6_reject"}),
    ("src_addr:2001\\:db8\\:\\:\\/32", {"v6_reject"}),
    ("src_addr:2001:db8::*", {"v6_reject"}),
    ("dst_addr:fd00::5", {"v6_reject"}),
    ("dst_addr:FD00:0::5", {"v6_reject"}),
    ("dst_addr:fc00::/7", {"v6_reject"}),
    ("dst_addr:(fd00::5 OR 192.0.2.1)", {"v6_reject", "db_out", "dns_old", "dns_new"}),
    ("src_addr:0.0.0.0/0", INTERNAL_SRC | EXTERNAL_SRC - {"v6_reject"}),
    ("src_addr:::/0", {"v6_reject"}),
    ("pkt_srcaddr:10.0.0.0/8", {"custom_egress"}),
    ("NOT src_addr:10.0.0.0/8", EXTERNAL_SRC | NO_TRAFFIC),
]

TYPED = [
    ("protocol:tcp", TCP),
    ("protocol:TCP", TCP),
    ("protocol:Udp OR protocol:icmp", DNS | {"icmp"}),
    ("protocol:6", TCP),
    ("protocol:61", {"proto61"}),
    ("protocol:esp", {"esp"}),
    ("protocol:IC*", {"icmp"}),
    ("protocol:/u.p/", DNS),
    ("_exists_:protocol", ALL - NO_TRAFFIC),
    ("src_addr_internal:true", INTERNAL_SRC),
    ("src_addr_internal:TRUE", INTERNAL_SRC),
    ("src_addr_internal:false", EXTERNAL_SRC),
    ("NOT src_addr_internal:true", EXTERNAL_SRC | NO_TRAFFIC),
    ("src_addr_threat_indicated:true", {"web_in", "ssh_reject", "v6_reject"}),
    ("src_addr_threat_indicated_tor:true", {"web_in", "ssh_reject"}),
    ("src_addr_threat_indicated_spamhaus:true", {"web_in", "v6_reject"}),
    ("src_addr_threat_indicated_tor:false", ALL - NO_TRAFFIC - {"web_in", "ssh_reject"}),
    ("src_addr_threat_indicated_feodo:true", set()),
    ("_exists_:src_addr_threat_indicated_tor", {"web_in", "ssh_reject"}),
    ("src_addr_threat_indicated_by:tor", {"web_in", "ssh_reject"}),
    ("src_addr_threat_indicated_by:spam*", {"web_in", "v6_reject"}),
    ("src_addr_threat_indicated_by:/t.r/", {"web_in", "ssh_reject"}),
    ('src_addr_threat_indicated_by:"spamhaus,tor"', {"web_in"}),  # the whole list, in its order
    ('src_addr_threat_indicated_by:"tor,spamhaus"', set()),
    ("_exists_:src_addr_threat_indicated_by", {"web_in", "ssh_reject", "v6_reject"}),
    ("dst_addr_country_code:DE", TO_BERLIN),
    ("dst_addr_as_number:64502", {"db_out", "dns_old", "dns_new"}),
    ('src_addr_city_name:"New York"', {"ssh_reject"}),
    ("src_addr_as_organization:Example*", {"web_in"}),
    ("src_addr_geolocation:\"52.52,13.40\"", {"web_in"}),
    ("src_addr_entity:ec2\\:i-old", {"dns_old"}),  # the owner at the flow's time
    ('src_addr_entity:"ec2:i-new"', {"dns_new"}),
    ("src_addr_entity:ec2*", WEB_SRC | DNS),
    ("dst_addr_entity_aws_type:EC2", {"web_in", "web_http", "ssh_reject", "db_internal", "v6_reject"}),
    ('aws_log_group:"/aws/vpc/flows"', {"custom_egress"}),
    ("aws_kinesis_stream:flowstream", {"custom_egress"}),
    ("NOT _exists_:aws_owner", ALL - {"custom_egress"}),
    ("account_id:210987654321", {"v6_reject"}),
    ("log_status:NODATA", {"nodata"}),
    ("_exists_:vpc_id", {"custom_egress"}),
    ("_missing_:dst_port", NO_TRAFFIC | {"esp", "proto61"}),
    ("vpc_id:vpc-123", {"custom_egress"}),
    ("NOT vpc_id:vpc-123", ALL - {"custom_egress"}),
    ("tcp_flags:18", {"custom_egress"}),
    ("flow_direction:egress", {"custom_egress"}),
    ("version:5", {"custom_egress"}),
]

MESSAGE = [
    ("eni-db", {"db_out", "db_internal"}),
    ("ENI-DB", {"db_out", "db_internal"}),  # the summary is searched ignoring case
    ("message:eni-alb", {"alb_out"}),
    ("reject", REJECTS),
    ("tcp", TCP),
    ("53", DNS),
    ("443", {"web_in", "web_to_alb", "alb_out", "v6_reject", "custom_egress"}),
    ("61", {"proto61"}),
    ("6", set()),  # TCP is shown as TCP, and no port is 6
    ("ESP", {"esp"}),
    ("10.0.2.20", {"db_out", "db_internal", "esp", "proto61"}),
    ("2001:db8::7", {"v6_reject"}),
    ("10.0.2.20\\:5432", {"db_out", "db_internal"}),
    ("nodata", {"nodata"}),
    ("skipdata", {"skipdata"}),
    ("eni-a*", {"alb_out", "dns_old", "dns_new"}),
    ("ENI-A*", {"alb_out", "dns_old", "dns_new"}),
    ("/eni-.b/", {"db_out", "db_internal"}),
    ('"ACCEPT UDP"', DNS),
    ('"accept udp 10.0.1.11"', DNS),
    ('"udp 10.0.1"', set()),  # a phrase matches whole parts
    ('"eni-web SKIPDATA"', {"skipdata"}),
    ('"10.0.2.20:5432 -> 192.0.2.1:40000"', {"db_out"}),
    ('message:"eni-db"', {"db_out", "db_internal"}),
    ("eni-db eni-alb", {"db_out", "db_internal", "alb_out"}),
    ("eni-db AND 10.0.1.10", {"db_internal"}),
    ("nosuchthing", set()),
]


@pytest.mark.parametrize(
    ("query", "expected"), GUIDE + BOOLEAN + WILDCARDS_REGEX + RANGES + TIMES + ADDRESSES + TYPED + MESSAGE
)
def test_query_matches_exactly(engine: QueryEngine, query: str, expected: set[str]) -> None:
    assert matches(engine, query) == expected


def test_custom_fields_of_a_store_without_them_match_nothing(tmp_path: Path) -> None:
    store = query_data.build(tmp_path / "v2.db", custom=False)
    engine = QueryEngine(store)
    v2 = set(query_data.V2)
    assert names(engine.ids("vpc_id:vpc-123")) == set()
    assert names(engine.ids("_exists_:vpc_id")) == set()
    assert names(engine.ids("NOT vpc_id:vpc-123")) == v2
    assert names(engine.ids("pkt_srcaddr:10.0.0.0/8 OR action:REJECT")) == REJECTS
    store.close()


def test_a_column_added_later_is_seen_by_an_open_engine(tmp_path: Path) -> None:
    store = query_data.build(tmp_path / "late.db", custom=False)
    engine = QueryEngine(store)
    assert engine.count("_exists_:vpc_id") == 0
    writer = Store(tmp_path / "late.db")
    from flowtui.store import Batch, Part

    writer.write(Batch([Part(list(query_data.CUSTOM.values()), query_data.CUSTOM_PRESENT)]), query_data.enrich)
    writer.close()
    assert engine.count("_exists_:vpc_id") == 1
    assert engine.count("vpc_id:vpc-123") == 1
    store.close()
