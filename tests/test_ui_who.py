"""Who an address is: a Name tag as it is, else a type word and what tells the resource apart.

The entities come from the real classifier, fed network interfaces as `aws ec2
describe-network-interfaces` prints them, so the labels are the ones the panes show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from flowtui.demo.environment import INVENTORY_FILES
from flowtui.enrich.inventory import InstanceInfo, Inventory, classify
from flowtui.store import Batch, Part, Store
from flowtui.ui.who import address_label, entity_label, entity_parts, profile_label
from tests.conftest import V2_PRESENT
from tests.test_ui_address import open_address, plain
from tests.ui_data import ORIGIN, flow, make_app, refreshed, table_rows


def eni(eni_id: str, description: str = "", **more: Any) -> dict[str, Any]:
    return {"NetworkInterfaceId": eni_id, "Description": description, **more}


INSTANCES = {"i-0web1": InstanceInfo("web-1", None), "i-0stray": InstanceInfo(None, None)}
NAME_TAG = [{"Key": "Name", "Value": "payments-endpoint"}]

CASES: list[tuple[dict[str, Any], dict[str, str] | None, str]] = [
    # EC2: the instance's Name tag; without one, its id.
    (eni("eni-01", Attachment={"InstanceId": "i-0web1"}), None, "web-1"),
    (eni("eni-02", Attachment={"InstanceId": "i-0stray"}), None, "EC2 i-0stray"),
    (eni("eni-03", "Primary network interface", Attachment={"InstanceId": "i-0unknown"}), None, "EC2 i-0unknown"),
    (eni("eni-04", "aws-K8S-i-0abc", Attachment={"InstanceId": "i-0abc"}), None, "EC2 i-0abc"),
    # Load balancers: which kind, and the name from "ELB KIND/NAME/ID".
    (eni("eni-05", "ELB app/front-alb/50dc6c495c0c9188", RequesterId="amazon-elb"), None, "ALB front-alb"),
    (eni("eni-06", "ELB net/tcp-nlb/0123456789abcdef", InterfaceType="network_load_balancer"), None, "NLB tcp-nlb"),
    (eni("eni-07", "ELB gwy/inspect/0123", InterfaceType="gateway_load_balancer"), None, "GWLB inspect"),
    (eni("eni-08", "ELB classic-lb", RequesterId="amazon-elb"), None, "ELB classic-lb"),
    (eni("eni-09", RequesterId="amazon-elb"), None, "ELB eni-09"),
    # RDS: the DB instance when DescribeDBInstances names one, else the interface.
    (eni("eni-0a3c", "RDSNetworkInterface", RequesterId="amazon-rds"), {"eni-0a3c": "orders-db"}, "RDS orders-db"),
    (eni("eni-0a3c", "RDSNetworkInterface", RequesterId="amazon-rds"), None, "RDS eni-0a3c"),
    (eni("eni-0a3d", RequesterId="amazon-rds", TagSet=[{"Key": "Name", "Value": "reports db"}]), None, "reports db"),
    # NAT gateways, Lambda functions, endpoints, transit gateways, ECS tasks, EKS clusters.
    (eni("eni-10", "Interface for NAT Gateway nat-0a1b2c3d4e5f60718", InterfaceType="nat_gateway"), None,
     "NAT nat-0a1b2c3d4e5f60718"),
    (eni("eni-11", InterfaceType="nat_gateway"), None, "NAT eni-11"),
    (eni("eni-12", "AWS Lambda VPC ENI-orders-worker-6f1d3c2a-9b8e-4d7f-a1c2-3e4f5a6b7c8d", InterfaceType="lambda"),
     None, "Lambda orders-worker"),
    (eni("eni-13", InterfaceType="lambda"), None, "Lambda eni-13"),
    (eni("eni-14", "VPC Endpoint Interface vpce-0e5d4c3b2a1f09876", InterfaceType="vpc_endpoint"), None,
     "VPCE vpce-0e5d4c3b2a1f09876"),
    (eni("eni-15", "VPC Endpoint Interface vpce-0e5d4c3b2a1f09876", TagSet=NAME_TAG), None,
     "VPCE vpce-0e5d4c3b2a1f09876"),  # the inventory keeps the description over the tag
    (eni("eni-16", "Network Interface for Transit Gateway Attachment tgw-attach-0123abcd"), None,
     "TGW tgw-attach-0123abcd"),
    (eni("eni-17", "arn:aws:ecs:eu-west-1:123456789012:attachment/2f3c1e8a-5b6d-4c7e-9f0a-1b2c3d4e5f60",
         InterfaceType="interface"), None, "ECS eni-17"),
    (eni("eni-18", "Amazon EKS prod-cluster"), None, "EKS prod-cluster"),
    # Anything else: its own description, else its id.
    (eni("eni-19", "EFS mount target for fs-0123 (fsmt-0456)"), None, "EFS mount target for fs-0123 (fsmt-0456)"),
    (eni("eni-20", TagSet=[{"Key": "Name", "Value": "spare"}]), None, "spare"),
    (eni("eni-21"), None, "ENI eni-21"),
]


@pytest.mark.parametrize(("item", "databases", "label"), CASES)
def test_each_kind_of_interface_gets_a_short_label(
    item: dict[str, Any], databases: dict[str, str] | None, label: str
) -> None:
    entity, description, _ = classify(item, INSTANCES, databases)
    assert entity_label(entity, description) == label


def test_a_name_tag_has_no_type_word_and_a_derived_name_has_one() -> None:
    assert entity_parts("ec2:i-0web1", "web-1") == ("", "web-1")
    assert entity_parts("elb:front-alb", "ELB app/front-alb/50dc6c495c0c9188") == ("ALB", "front-alb")
    assert entity_parts("rds:orders-db", "orders-db") == ("RDS", "orders-db")
    assert entity_parts("rds:eni-0a3c", "RDS eni-0a3c") == ("RDS", "eni-0a3c")
    # Stored by an older inventory, before RDS interfaces were named.
    assert entity_parts("rds:eni-0a3c", "RDSNetworkInterface") == ("RDS", "eni-0a3c")
    old_lambda = "AWS Lambda VPC ENI: 6f1d3c2a-9b8e-4d7f-a1c2-3e4f5a6b7c8d"
    assert entity_parts("lambda:eni-1", old_lambda) == ("Lambda", "eni-1")


def test_odd_values_still_give_a_label() -> None:
    assert entity_label(None, None) == ""
    assert entity_label(None, "office printer") == "office printer"
    assert entity_label("s3:bucket", None) == "s3:bucket"  # a kind flowtui does not know: as stored
    assert entity_label("ec2:i-1", "  ") == "EC2 i-1"
    assert entity_label("ec2:i-1", "[bold]x[/]") == "[bold]x[/]"  # text, shown escaped by the widgets


def test_profiles_and_rows_are_labelled_as_the_panes_show_them() -> None:
    nat = {
        "internal": True,
        "entity": "nat:nat-0a1b2c3d4e5f60718",
        "entity_description": "Interface for NAT Gateway nat-0a1b2c3d4e5f60718",
    }
    assert profile_label(nat) == "NAT nat-0a1b2c3d4e5f60718"
    assert profile_label({"internal": True}) == ""
    outside = {"internal": False, "country_code": "RU", "as_organization": "Neva", "threat_indicated": True,
               "threat_indicated_by": "spamhaus", "entity": None}
    assert profile_label(outside) == "spamhaus · RU Neva"
    row = {"src_addr": "10.0.0.45", "src_addr_internal": 1, "src_addr_entity": "elb:front-alb",
           "src_addr_entity_description": "ELB app/front-alb/50dc6c495c0c9188"}
    assert address_label(row, "src_addr") == "ALB front-alb"


# --------------------------------------------------------------------------- on screen

DEMO_INVENTORY = Inventory.from_files(INVENTORY_FILES)


def demo_enrich(ip: str, ts: int) -> tuple[Any, ...]:
    """The stored profile of ``ip`` as the demo's inventory (the real classifier) gives it."""
    held = DEMO_INVENTORY.entity_at(ip, ts)
    if held is None:
        return (False, None, None, None, None, "US", None, 64500, "Example Net", False, None)
    return (True, *held, None, None, None, None, None, False, None)


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    flows = [
        flow("10.0.0.45", 41000, "10.0.0.21", 80, 6, "ACCEPT", 4_000_000, 900, 60),  # ALB → web-1
        flow("10.0.20.58", 5432, "10.0.11.140", 41001, 6, "ACCEPT", 3_000_000, 800, 90),  # RDS → Lambda
        flow("10.0.0.200", 41002, "203.0.113.5", 443, 6, "ACCEPT", 2_000_000, 700, 120),  # NAT → outside
        flow("10.0.11.140", 41003, "10.0.10.250", 443, 6, "ACCEPT", 1_000_000, 600, 150),  # Lambda → endpoint
    ]
    path = tmp_path / "flows.db"
    with Store(path) as store:
        store.write(Batch(parts=[Part(flows, V2_PRESENT, ORIGIN)]), demo_enrich)
    return path


async def test_panes_and_the_address_page_say_who_in_short(demo_db: Path) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(200, 50)) as pilot:
        await refreshed(pilot)
        assert table_rows(app.dashboard.pane("top-talkers").table)[:4] == [
            ["10.0.0.45", "ALB front-alb", "10.0.0.21", "web-1", "4.0 MB", "1"],
            ["10.0.20.58", "RDS orders-db", "10.0.11.140", "Lambda orders-worker", "3.0 MB", "1"],
            ["10.0.0.200", "NAT nat-0a1b2c3d4e5f607…", "203.0.113.5", "US Example Net", "2.0 MB", "1"],
            ["10.0.11.140", "Lambda orders-worker", "10.0.10.250", "VPCE vpce-0e5d4c3b2a1f0…", "1.0 MB", "1"],
        ]
        screen = await open_address(pilot, "top-talkers", 0, "src_addr")
        assert plain(screen.query_one("#address-title", Static)) == "10.0.0.45  ALB front-alb  internal"
        # The facts keep the stored words, which queries match.
        assert "ELB app/front-alb/50dc6c495c0c9188" in plain(screen.query_one("#address-facts", Static), width=140)
