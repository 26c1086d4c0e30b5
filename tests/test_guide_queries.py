"""End to end: the Graylog flow-log guide's questions, asked of flows that went
through the real pipeline (parser → enricher from AWS CLI JSON, a threat list,
MaxMind's test GeoIP databases → store → query engine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowtui.config import Config
from flowtui.enrich import Enricher
from flowtui.ingest import Pipeline
from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Store

T = 1_700_000_000

ENIS = {
    "NetworkInterfaces": [
        {
            "NetworkInterfaceId": "eni-0web",
            "InterfaceType": "interface",
            "Description": "",
            "Attachment": {"InstanceId": "i-42e0d1ca", "AttachTime": "2023-01-01T00:00:00+00:00"},
            "PrivateIpAddress": "10.0.1.10",
            "PrivateIpAddresses": [
                {"PrivateIpAddress": "10.0.1.10", "Primary": True, "Association": {"PublicIp": "52.95.110.1"}}
            ],
            "Association": {"PublicIp": "52.95.110.1"},
            "RequesterManaged": False,
        },
        {
            "NetworkInterfaceId": "eni-0alb",
            "InterfaceType": "interface",
            "Description": "ELB app/front-alb/50dc6c495c0c9188",
            "RequesterId": "amazon-elb",
            "PrivateIpAddress": "10.0.0.20",
            "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.20", "Primary": True}],
            "RequesterManaged": True,
        },
        {
            "NetworkInterfaceId": "eni-0rds",
            "InterfaceType": "interface",
            "Description": "RDSNetworkInterface",
            "RequesterId": "amazon-rds",
            "PrivateIpAddress": "10.0.2.30",
            "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.2.30", "Primary": True}],
            "RequesterManaged": True,
        },
    ]
}
INSTANCES = {
    "Reservations": [
        {"Instances": [{"InstanceId": "i-42e0d1ca", "Tags": [{"Key": "Name", "Value": "[bold red]web-1[/"}]}]}
    ]
}
VPCS = {"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16", "CidrBlockAssociationSet": [{"CidrBlock": "10.0.0.0/16"}]}]}

# (src, dst, dst_port, action) — each a different question's answer or near miss.
FLOWS = [
    ("81.2.69.160", "10.0.1.10", 443, "ACCEPT"),  # outside → EC2 directly on 443
    ("81.2.69.160", "10.0.1.10", 22, "REJECT"),  # outside → EC2, not web
    ("10.0.0.20", "10.0.1.10", 80, "ACCEPT"),  # ALB → EC2: the way it should be
    ("10.0.2.30", "198.51.100.9", 443, "ACCEPT"),  # database → outside, to a listed address
    ("10.0.1.10", "10.0.0.20", 8080, "ACCEPT"),  # EC2 → ALB
    ("10.0.2.30", "10.0.1.10", 5432, "ACCEPT"),  # database → inside
    ("216.160.83.56", "10.0.1.10", 80, "ACCEPT"),  # outside → EC2 on 80
]


@pytest.fixture
def engine(tmp_path: Path, shared_testdata: Path) -> QueryEngine:
    for name, doc in (("enis.json", ENIS), ("instances.json", INSTANCES), ("vpcs.json", VPCS)):
        (tmp_path / name).write_text(json.dumps(doc))
    (tmp_path / "c2.txt").write_text("# command and control\n198.51.100.0/24\n")
    maxmind = shared_testdata / "maxmind"
    config = Config(
        {
            "enrich": {
                "inventory_files": ["enis.json", "instances.json", "vpcs.json"],
                "geoip_city": str(maxmind / "GeoLite2-City-Test.mmdb"),
                "geoip_asn": str(maxmind / "GeoLite2-ASN-Test.mmdb"),
            },
            "threat": {"lists": [{"id": "c2", "path": "c2.txt"}]},
        },
        tmp_path / "config.toml",
    )
    enricher = Enricher.from_config(config, background=False)
    store = Store(tmp_path / "flows.db")
    lines = [
        f"2 123456789012 eni-0web {src} {dst} 40000 {port} 6 10 1000 {T} {T + 60} {action} OK"
        for src, dst, port, action in FLOWS
    ]
    assert Pipeline(store, enricher.profile).ingest_lines(lines, "test", "test").stored == len(FLOWS)
    return QueryEngine(Store(tmp_path / "flows.db", readonly=True))


def _answer(engine: QueryEngine, query: str) -> set[tuple[str, str, int]]:
    rows = engine.search(query, TimeWindow.all(), fields=["src_addr", "dst_addr", "dst_port"], limit=100)
    return {(r["src_addr"], r["dst_addr"], r["dst_port"]) for r in rows}


def test_outside_traffic_reaching_ec2_directly_on_web_ports(engine: QueryEngine) -> None:
    q = "dst_addr_entity_aws_type:EC2 AND src_addr_internal:false AND (dst_port:80 OR dst_port:443)"
    assert _answer(engine, q) == {("81.2.69.160", "10.0.1.10", 443), ("216.160.83.56", "10.0.1.10", 80)}


def test_a_database_sending_data_outside(engine: QueryEngine) -> None:
    assert _answer(engine, "src_addr_entity_aws_type:RDS AND dst_addr_internal:false") == {
        ("10.0.2.30", "198.51.100.9", 443)
    }


def test_anything_talking_to_a_listed_address(engine: QueryEngine) -> None:
    assert _answer(engine, "dst_addr_threat_indicated:true") == {("10.0.2.30", "198.51.100.9", 443)}
    assert _answer(engine, "dst_addr_threat_indicated_c2:true") == {("10.0.2.30", "198.51.100.9", 443)}


def test_traffic_from_the_load_balancer(engine: QueryEngine) -> None:
    assert _answer(engine, "src_addr_entity_aws_type:ELB") == {("10.0.0.20", "10.0.1.10", 80)}


def test_an_instance_talking_to_the_load_balancer(engine: QueryEngine) -> None:
    q = 'src_addr_entity:"ec2:i-42e0d1ca" AND dst_addr_entity_aws_type:ELB'
    assert _answer(engine, q) == {("10.0.1.10", "10.0.0.20", 8080)}


def test_every_enrichment_field_of_one_flow(engine: QueryEngine) -> None:
    (row,) = engine.search("src_addr:81.2.69.160 AND dst_port:443", TimeWindow.all(), limit=10)
    assert {k: row[k] for k in row if k.startswith(("src_addr_", "dst_addr_"))} == {
        "src_addr_internal": False,
        "src_addr_entity": None,
        "src_addr_entity_description": None,
        "src_addr_entity_aws_type": None,
        "src_addr_geolocation": "51.5142,-0.0931",
        "src_addr_country_code": "GB",
        "src_addr_city_name": "London",
        "src_addr_as_number": None,
        "src_addr_as_organization": None,
        "src_addr_threat_indicated": False,
        "src_addr_threat_indicated_by": None,
        "dst_addr_internal": True,
        "dst_addr_entity": "ec2:i-42e0d1ca",
        "dst_addr_entity_description": "[bold red]web-1[/",
        "dst_addr_entity_aws_type": "EC2",
        "dst_addr_geolocation": None,
        "dst_addr_country_code": None,
        "dst_addr_city_name": None,
        "dst_addr_as_number": None,
        "dst_addr_as_organization": None,
        "dst_addr_threat_indicated": False,
        "dst_addr_threat_indicated_by": None,
    }
