"""A small store with known flows for the query tests: every record has a name.

The addresses carry enrichment from a dict (the real enricher is tested on its
own); one address changes owner half-way, so it has two ``addrs`` rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowtui import catalog
from flowtui.store import Batch, Part, Store
from tests.conftest import V2_PRESENT, make_record

T0 = 1_795_773_600  # 2026-11-27T10:00:00Z
ACCOUNT = "123456789012"
ORIGIN = ("/aws/vpc/flows", "eni-web-all", "flowstream", ACCOUNT)


def _profile(
    internal: bool | None,
    entity: str | None = None,
    description: str | None = None,
    aws_type: str | None = None,
    geo: str | None = None,
    country: str | None = None,
    city: str | None = None,
    asn: int | None = None,
    org: str | None = None,
    threat: bool | None = False,
    threat_by: str | None = None,
) -> tuple[Any, ...]:
    return (internal, entity, description, aws_type, geo, country, city, asn, org, threat, threat_by)


PROFILES: dict[str, tuple[Any, ...]] = {
    "10.0.1.10": _profile(True, "ec2:i-42e0d1ca", "web-1", "EC2"),
    "10.0.2.20": _profile(True, "rds:orders", "orders db", "RDS"),
    "10.0.3.30": _profile(True, "elb:my-alb", "alb [prod]*", "ELB"),
    "203.0.113.9": _profile(False, None, None, None, "52.52,13.40", "DE", "Berlin", 64500, "Example AS", True, "spamhaus,tor"),
    "198.51.100.7": _profile(False, None, None, None, "40.71,-74.00", "US", "New York", 64501, "Other AS", True, "tor"),
    "192.0.2.1": _profile(False, None, None, None, "48.85,2.35", "FR", "Paris", 64502, "Clean AS", False, None),
    "2001:db8::7": _profile(False, None, None, None, None, "NL", None, 64503, "V6 AS", True, "spamhaus"),
    "fd00::5": _profile(True, "ec2:i-v6", "v6 box", "EC2"),
}
OLD_OWNER = _profile(True, "ec2:i-old", "app old", "EC2")
NEW_OWNER = _profile(True, "ec2:i-new", "app new", "EC2")


def enrich(ip: str, ts: int) -> tuple[Any, ...]:
    if ip == "10.0.1.11":
        return OLD_OWNER if ts < T0 + 300 else NEW_OWNER
    return PROFILES[ip]


def _flow(iface: str, src: str | None, sport: int | None, dst: str | None, dport: int | None, proto: int | None,
          action: str | None, nbytes: int | None, packets: int | None, at: int, status: str = "OK",
          account: str = ACCOUNT, **custom: Any) -> tuple[Any, ...]:
    return make_record(
        version=2 if not custom else 5, account_id=account, interface_id=iface, src_addr=src, dst_addr=dst,
        src_port=sport, dst_port=dport, protocol_number=proto, packets=packets, bytes=nbytes,
        start=T0 + at, end=T0 + at + 60, action=action, log_status=status, **custom,
    )


# name -> record; row ids follow this order (1, 2, …).
V2: dict[str, tuple[Any, ...]] = {
    "web_in": _flow("eni-web", "203.0.113.9", 51000, "10.0.1.10", 443, 6, "ACCEPT", 1000, 10, 0),
    "web_http": _flow("eni-web", "192.0.2.1", 51001, "10.0.1.10", 80, 6, "ACCEPT", 2000, 20, 10),
    "ssh_reject": _flow("eni-web", "198.51.100.7", 51002, "10.0.1.10", 22, 6, "REJECT", 40, 1, 20),
    "db_out": _flow("eni-db", "10.0.2.20", 5432, "192.0.2.1", 40000, 6, "ACCEPT", 5000, 50, 30),
    "db_internal": _flow("eni-db", "10.0.2.20", 5432, "10.0.1.10", 40001, 6, "ACCEPT", 3000, 30, 40),
    "web_to_alb": _flow("eni-web", "10.0.1.10", 40002, "10.0.3.30", 443, 6, "ACCEPT", 700, 7, 50),
    "alb_out": _flow("eni-alb", "10.0.3.30", 443, "203.0.113.9", 51003, 6, "ACCEPT", 8000, 80, 60),
    "dns_old": _flow("eni-app", "10.0.1.11", 53000, "192.0.2.1", 53, 17, "ACCEPT", 100, 1, 100),
    "dns_new": _flow("eni-app", "10.0.1.11", 53001, "192.0.2.1", 53, 17, "ACCEPT", 200, 2, 400),
    "v6_reject": _flow("eni-v6", "2001:db8::7", 443, "fd00::5", 50000, 6, "REJECT", 64, 1, 500, account="210987654321"),
    "icmp": _flow("eni-web", "10.0.1.10", 0, "203.0.113.9", 0, 1, "ACCEPT", 84, 1, 600),
    "nodata": _flow("eni-idle", None, None, None, None, None, None, None, None, 700, status="NODATA"),
    "skipdata": _flow("eni-web", None, None, None, None, None, None, None, None, 800, status="SKIPDATA"),
    "esp": _flow("eni-web", "10.0.1.10", None, "10.0.2.20", None, 50, "ACCEPT", 300, 3, 1000),
    "proto61": _flow("eni-web", "10.0.1.10", None, "10.0.2.20", None, 61, "ACCEPT", 10, 1, 1100),
}
CUSTOM_FIELDS = ("vpc_id", "pkt_srcaddr", "pkt_dstaddr", "flow_direction", "tcp_flags")
CUSTOM: dict[str, tuple[Any, ...]] = {
    "custom_egress": _flow(
        "eni-web", "10.0.1.10", 443, "203.0.113.9", 51004, 6, "ACCEPT", 9999, 9, 900,
        vpc_id="vpc-123", pkt_srcaddr="10.0.1.10", pkt_dstaddr="203.0.113.9", flow_direction="egress", tcp_flags=18,
    ),
}
NAMES: list[str] = list(V2) + list(CUSTOM)
CUSTOM_PRESENT = tuple(V2_PRESENT) + tuple(catalog.RECORD_INDEX[n] for n in CUSTOM_FIELDS)


def build(path: Path, custom: bool = True) -> Store:
    store = Store(path)
    parts = [Part(list(V2.values()), V2_PRESENT)]
    if custom:
        parts.append(Part(list(CUSTOM.values()), CUSTOM_PRESENT, origin=ORIGIN))
    store.write(Batch(parts), enrich=enrich)
    return store


def names(ids: list[int]) -> set[str]:
    return {NAMES[i - 1] for i in ids}


def enrich_none(ip: str, ts: int) -> tuple[Any, ...]:
    return (None,) * len(catalog.ENRICH_SUFFIXES)
