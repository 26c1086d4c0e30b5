"""The AWS inventory offline: the JSON the AWS CLI prints, entity classes, and point-in-time holders."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flowtui.config import Config
from flowtui.enrich import Enricher, Inventory, InventoryRefresher
from flowtui.enrich.inventory import Snapshot, classify
from flowtui.errors import ConfigError

MARKUP = "[bold red]x[/"
ESCAPES = "\x1b[31mred alert\x1b[0m"


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _eni(
    eni_id: str,
    ip: str,
    description: str = "",
    *,
    itype: str = "interface",
    requester: str = "AIDAEXAMPLE",
    attachment: dict[str, Any] | None = None,
    public: str | None = None,
    ipv6: list[str] = (),
    secondary: list[str] = (),
    tags: list[dict[str, str]] = (),
) -> dict[str, Any]:
    """One NetworkInterfaces item, shaped as `aws ec2 describe-network-interfaces` prints it."""
    assoc = (
        {"IpOwnerId": "amazon", "PublicDnsName": f"ec2-{public}.compute-1.amazonaws.com", "PublicIp": public}
        if public
        else None
    )
    primary: dict[str, Any] = {
        "Primary": True,
        "PrivateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal",
        "PrivateIpAddress": ip,
    }
    if assoc:
        primary["Association"] = assoc
    item: dict[str, Any] = {
        "AvailabilityZone": "us-east-1a",
        "Description": description,
        "Groups": [{"GroupName": "default", "GroupId": "sg-0a1b2c3d4e5f60718"}],
        "InterfaceType": itype,
        "Ipv6Addresses": [{"Ipv6Address": a, "IsPrimaryIpv6": False} for a in ipv6],
        "MacAddress": "0e:aa:bb:cc:dd:ee",
        "NetworkInterfaceId": eni_id,
        "OwnerId": "123456789012",
        "PrivateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal",
        "PrivateIpAddress": ip,
        "PrivateIpAddresses": [primary] + [{"Primary": False, "PrivateIpAddress": s} for s in secondary],
        "RequesterId": requester,
        "RequesterManaged": requester != "AIDAEXAMPLE",
        "SourceDestCheck": True,
        "Status": "in-use" if attachment else "available",
        "SubnetId": "subnet-0123456789abcdef0",
        "TagSet": list(tags),
        "VpcId": "vpc-0123456789abcdef0",
    }
    if assoc:
        item["Association"] = assoc
    if attachment:
        item["Attachment"] = attachment
    return item


def _attached(instance_id: str, when: str) -> dict[str, Any]:
    return {
        "AttachTime": when,
        "AttachmentId": "eni-attach-0123456789abcdef0",
        "DeleteOnTermination": True,
        "DeviceIndex": 0,
        "NetworkCardIndex": 0,
        "InstanceId": instance_id,
        "InstanceOwnerId": "123456789012",
        "Status": "attached",
    }


def _service_attachment(owner: str, when: str = "2026-10-01T08:00:00+00:00") -> dict[str, Any]:
    return {
        "AttachTime": when,
        "AttachmentId": "ela-attach-0f0e0d0c0b0a09080",
        "DeleteOnTermination": False,
        "DeviceIndex": 1,
        "InstanceOwnerId": owner,
        "Status": "attached",
    }


def _instance(
    instance_id: str, ip: str, name: str | None, launch: str, state: str = "running", public: str | None = None
) -> dict[str, Any]:
    """One Instances item, shaped as `aws ec2 describe-instances` prints it."""
    item: dict[str, Any] = {
        "AmiLaunchIndex": 0,
        "ImageId": "ami-0abcdef1234567890",
        "InstanceId": instance_id,
        "InstanceType": "t3.micro",
        "LaunchTime": launch,
        "Placement": {"AvailabilityZone": "us-east-1a", "GroupName": "", "Tenancy": "default"},
        "PrivateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal",
        "PrivateIpAddress": ip,
        "State": {"Code": 16, "Name": state},
        "SubnetId": "subnet-0123456789abcdef0",
        "VpcId": "vpc-0123456789abcdef0",
        "NetworkInterfaces": [
            {
                "Attachment": {
                    "AttachTime": launch,
                    "AttachmentId": "eni-attach-0123456789abcdef0",
                    "DeleteOnTermination": True,
                    "DeviceIndex": 0,
                    "Status": "attached",
                    "NetworkCardIndex": 0,
                },
                "Description": "",
                "Ipv6Addresses": [],
                "NetworkInterfaceId": "eni-0" + instance_id[2:],
                "PrivateIpAddress": ip,
                "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": ip}],
                "Status": "in-use",
                "InterfaceType": "interface",
            }
        ],
    }
    if public:
        item["PublicIpAddress"] = public
        item["NetworkInterfaces"][0]["Association"] = {"IpOwnerId": "amazon", "PublicIp": public}
    if name is not None:
        item["Tags"] = [{"Key": "team", "Value": "web"}, {"Key": "Name", "Value": name}]
    return item


def _reservations(*instances: dict[str, Any]) -> dict[str, Any]:
    return {
        "Reservations": [
            {"Groups": [], "Instances": [i], "OwnerId": "123456789012", "ReservationId": f"r-0{n:016x}"}
            for n, i in enumerate(instances)
        ]
    }


VPCS = {
    "Vpcs": [
        {
            "CidrBlock": "10.0.0.0/16",
            "DhcpOptionsId": "dopt-0123456789abcdef0",
            "State": "available",
            "VpcId": "vpc-0123456789abcdef0",
            "OwnerId": "123456789012",
            "InstanceTenancy": "default",
            "Ipv6CidrBlockAssociationSet": [
                {
                    "AssociationId": "vpc-cidr-assoc-0a",
                    "Ipv6CidrBlock": "2600:1f18:abcd:1200::/56",
                    "Ipv6CidrBlockState": {"State": "associated"},
                    "NetworkBorderGroup": "us-east-1",
                    "Ipv6Pool": "Amazon",
                }
            ],
            "CidrBlockAssociationSet": [
                {
                    "AssociationId": "vpc-cidr-assoc-0b",
                    "CidrBlock": "10.0.0.0/16",
                    "CidrBlockState": {"State": "associated"},
                },
                {
                    "AssociationId": "vpc-cidr-assoc-0c",
                    "CidrBlock": "100.70.0.0/16",
                    "CidrBlockState": {"State": "associated"},
                },
                {
                    "AssociationId": "vpc-cidr-assoc-0d",
                    "CidrBlock": "10.9.0.0/16",
                    "CidrBlockState": {"State": "disassociated"},
                },
            ],
            "IsDefault": False,
            "Tags": [{"Key": "Name", "Value": "prod"}],
        }
    ]
}

NETWORK_INTERFACES = {
    "NetworkInterfaces": [
        _eni(
            "eni-0web1",
            "10.0.1.10",
            "",
            attachment=_attached("i-0aaaaaaaaaaaaaaa1", "2026-10-01T09:00:00+00:00"),
            public="54.80.1.10",
            secondary=["10.0.1.11"],
            ipv6=["2600:1f18:abcd:1201::10"],
        ),
        _eni("eni-0markup", "10.0.1.20", "", attachment=_attached("i-0aaaaaaaaaaaaaaa2", "2026-10-01T09:00:00+00:00")),
        _eni("eni-0escape", "10.0.1.21", "", attachment=_attached("i-0aaaaaaaaaaaaaaa3", "2026-10-01T09:00:00+00:00")),
        _eni(
            "eni-0alb",
            "10.0.2.10",
            "ELB app/front-alb/50dc6c495c0c9188",
            requester="amazon-elb",
            attachment=_service_attachment("amazon-elb"),
            public="3.210.1.10",
        ),
        _eni(
            "eni-0nlb",
            "10.0.2.20",
            "ELB net/inner-nlb/6d4b1a2b3c4d5e6f",
            itype="network_load_balancer",
            requester="amazon-elb",
            attachment=_service_attachment("amazon-elb"),
        ),
        _eni(
            "eni-0clb", "10.0.2.30", "ELB my-lb", requester="amazon-elb", attachment=_service_attachment("amazon-elb")
        ),
        _eni(
            "eni-0rds",
            "10.0.3.10",
            "RDSNetworkInterface",
            requester="amazon-rds",
            attachment=_service_attachment("amazon-rds"),
        ),
        _eni(
            "eni-0nat",
            "10.0.0.50",
            "Interface for NAT Gateway nat-0123456789abcdef0",
            itype="nat_gateway",
            requester="AIDAEXAMPLE",
            public="52.1.2.3",
            attachment=_service_attachment("amazon-aws"),
        ),
        _eni(
            "eni-0lambda",
            "10.0.4.10",
            "AWS Lambda VPC ENI-orders-api-3c8ac2d2-5a29-4f5d-bb5c-1f4c7a8e2f10",
            itype="lambda",
            requester="AROAEXAMPLE:orders-api",
            attachment=_service_attachment("amazon-aws"),
        ),
        _eni(
            "eni-0vpce",
            "10.0.4.20",
            "VPC Endpoint Interface vpce-0a1b2c3d4e5f60718",
            itype="vpc_endpoint",
            requester="727180483921",
            attachment=_service_attachment("amazon-aws"),
        ),
        _eni(
            "eni-0tgw",
            "10.0.4.30",
            "Network Interface for Transit Gateway Attachment tgw-attach-0f1e2d3c4b5a69788",
            itype="transit_gateway",
            requester="amazon-aws",
        ),
        _eni(
            "eni-0ecs",
            "10.0.5.10",
            "arn:aws:ecs:us-east-1:123456789012:attachment/0c1d2e3f-1111-2222-3333-444455556666",
            requester="578734482556",
            attachment=_service_attachment("578734482556"),
        ),
        _eni(
            "eni-0eks",
            "10.0.5.20",
            "Amazon EKS prod-cluster",
            requester="602401143452",
            attachment=_service_attachment("602401143452"),
        ),
        _eni("eni-0spare", "10.0.6.10", "ops bastion spare"),
        _eni("eni-0named", "10.0.6.11", "", tags=[{"Key": "Name", "Value": "spare-named"}]),
        _eni("eni-0bare", "10.0.6.12", ""),
    ]
}

INSTANCES = _reservations(
    _instance("i-0aaaaaaaaaaaaaaa1", "10.0.1.10", "web-1", "2026-10-01T09:00:00+00:00", public="54.80.1.10"),
    _instance("i-0aaaaaaaaaaaaaaa2", "10.0.1.20", MARKUP, "2026-10-01T09:00:00+00:00"),
    _instance("i-0aaaaaaaaaaaaaaa3", "10.0.1.21", ESCAPES, "2026-10-01T09:00:00+00:00"),
    _instance("i-0bbbbbbbbbbbbbbb1", "10.0.7.10", "batch", "2026-10-02T09:00:00+00:00"),  # not in the ENI dump
    _instance("i-0ccccccccccccccc1", "10.0.7.99", "gone", "2026-09-01T09:00:00+00:00", state="terminated"),
)

EXPECTED = {
    "10.0.1.10": ("ec2:i-0aaaaaaaaaaaaaaa1", "web-1", "EC2"),
    "10.0.1.11": ("ec2:i-0aaaaaaaaaaaaaaa1", "web-1", "EC2"),
    "54.80.1.10": ("ec2:i-0aaaaaaaaaaaaaaa1", "web-1", "EC2"),
    "2600:1f18:abcd:1201::10": ("ec2:i-0aaaaaaaaaaaaaaa1", "web-1", "EC2"),
    "10.0.1.20": ("ec2:i-0aaaaaaaaaaaaaaa2", MARKUP, "EC2"),
    "10.0.1.21": ("ec2:i-0aaaaaaaaaaaaaaa3", ESCAPES, "EC2"),
    "10.0.2.10": ("elb:front-alb", "ELB app/front-alb/50dc6c495c0c9188", "ELB"),
    "3.210.1.10": ("elb:front-alb", "ELB app/front-alb/50dc6c495c0c9188", "ELB"),
    "10.0.2.20": ("elb:inner-nlb", "ELB net/inner-nlb/6d4b1a2b3c4d5e6f", "ELB"),
    "10.0.2.30": ("elb:my-lb", "ELB my-lb", "ELB"),
    "10.0.3.10": ("rds:eni-0rds", "RDS eni-0rds", "RDS"),
    "10.0.0.50": ("nat:nat-0123456789abcdef0", "Interface for NAT Gateway nat-0123456789abcdef0", "NAT"),
    "52.1.2.3": ("nat:nat-0123456789abcdef0", "Interface for NAT Gateway nat-0123456789abcdef0", "NAT"),
    "10.0.4.10": ("lambda:orders-api", "AWS Lambda VPC ENI-orders-api-3c8ac2d2-5a29-4f5d-bb5c-1f4c7a8e2f10", "LAMBDA"),
    "10.0.4.20": ("vpce:vpce-0a1b2c3d4e5f60718", "VPC Endpoint Interface vpce-0a1b2c3d4e5f60718", "VPCE"),
    "10.0.4.30": (
        "tgw:tgw-attach-0f1e2d3c4b5a69788",
        "Network Interface for Transit Gateway Attachment tgw-attach-0f1e2d3c4b5a69788",
        "TGW",
    ),
    "10.0.5.10": (
        "ecs:eni-0ecs",
        "arn:aws:ecs:us-east-1:123456789012:attachment/0c1d2e3f-1111-2222-3333-444455556666",
        "ECS",
    ),
    "10.0.5.20": ("eks:prod-cluster", "Amazon EKS prod-cluster", "EKS"),
    "10.0.6.10": ("eni:eni-0spare", "ops bastion spare", "ENI"),
    "10.0.6.11": ("eni:eni-0named", "spare-named", "ENI"),
    "10.0.6.12": ("eni:eni-0bare", None, "ENI"),
    "10.0.7.10": ("ec2:i-0bbbbbbbbbbbbbbb1", "batch", "EC2"),
}


@pytest.fixture
def dump(tmp_path: Path) -> list[Path]:
    files = []
    for name, doc in (("enis.json", NETWORK_INTERFACES), ("instances.json", INSTANCES), ("vpcs.json", VPCS)):
        path = tmp_path / name
        path.write_text(json.dumps(doc, indent=4), encoding="utf-8")
        files.append(path)
    return files


def test_every_address_resolves_to_its_entity(dump: list[Path]) -> None:
    inventory = Inventory.from_files(dump)
    assert {a: inventory.entity_at(a, _ts("2026-11-01T00:00:00+00:00")) for a in inventory.addresses()} == EXPECTED
    assert inventory.entity_at("10.0.7.99", None) is None  # terminated
    assert inventory.entity_at("10.0.9.9", None) is None
    assert inventory.vpc_cidrs == ("10.0.0.0/16", "100.70.0.0/16", "2600:1f18:abcd:1200::/56")


def test_enricher_with_inventory_files(dump: list[Path], tmp_path: Path) -> None:
    config_file = tmp_path / "flowtui.toml"
    config_file.write_text(f'[enrich]\ninventory_files = ["{dump[0].name}", "{dump[2].name}"]\n', encoding="utf-8")
    # the config names two files, the caller (ingest --inventory) adds the third
    enricher = Enricher.from_config(Config.load(config_file), [dump[1]])
    t = _ts("2026-11-01T00:00:00+00:00")
    for address, entity in EXPECTED.items():
        internal = not address.startswith(("54.", "3.", "52."))
        assert enricher.profile(address, t) == (internal, *entity, None, None, None, None, None, False, None), address
    # DESIGN's X_internal: a VPC's CIDRs or the default ranges: 192.168/16 (a peered VPC, a VPN)
    # stays internal, and the VPC's IPv6 block (no default range holds it) is internal too
    assert enricher.profile("192.168.1.1", t)[0] is True
    assert enricher.profile("203.0.113.9", t)[0] is False
    assert enricher.profile("100.70.3.4", t)[0] is True
    assert enricher.profile("2600:1f18:abcd:12ff::1", t)[0] is True
    enricher.close()


def test_describe_instances_alone_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(INSTANCES), encoding="utf-8")
    inventory = Inventory.from_files([path])
    assert inventory.entity_at("54.80.1.10", 0) == ("ec2:i-0aaaaaaaaaaaaaaa1", "web-1", "EC2")
    assert inventory.entity_at("10.0.1.20", 0) == ("ec2:i-0aaaaaaaaaaaaaaa2", MARKUP, "EC2")
    assert inventory.entity_at("10.0.7.99", 0) is None
    assert inventory.vpc_cidrs == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"Buckets": []}', "no NetworkInterfaces, Reservations, Vpcs or DBInstances key"),
        ("[]", "no NetworkInterfaces, Reservations, Vpcs or DBInstances key"),
    ],
)
def test_bad_inventory_files_are_config_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        Inventory.from_files([path])
    with pytest.raises(ConfigError, match="does not exist"):
        Inventory.from_files([tmp_path / "missing.json"])


def test_classification_fallbacks() -> None:
    assert classify({"NetworkInterfaceId": "eni-1", "InterfaceType": "nat_gateway", "Description": ""}) == (
        "nat:eni-1",
        None,
        "NAT",
    )
    assert classify(
        {
            "NetworkInterfaceId": "eni-2",
            "InterfaceType": "lambda",
            "Description": "",
            "TagSet": [{"Key": "Name", "Value": "fn"}],
        }
    ) == ("lambda:eni-2", "fn", "LAMBDA")
    assert classify({"NetworkInterfaceId": "eni-3", "InterfaceType": "vpc_endpoint"}) == ("vpce:eni-3", None, "VPCE")
    assert classify({"NetworkInterfaceId": "eni-4", "RequesterId": "amazon-rds"}) == ("rds:eni-4", "RDS eni-4", "RDS")
    assert classify({"NetworkInterfaceId": "eni-5", "RequesterId": "ecs-tasks"}) == ("ecs:eni-5", None, "ECS")
    assert classify({"NetworkInterfaceId": "eni-6", "Description": "ELB gwy/inspect/0123"}) == (
        "elb:inspect",
        "ELB gwy/inspect/0123",
        "ELB",
    )
    # an instance we know nothing about: the ENI's own Name tag, then its description
    assert classify(
        {"NetworkInterfaceId": "eni-7", "Description": "Primary network interface", "Attachment": {"InstanceId": "i-7"}}
    ) == ("ec2:i-7", "Primary network interface", "EC2")
    # EKS pod ENIs hang off instances and stay EC2
    assert classify(
        {"NetworkInterfaceId": "eni-8", "Description": "aws-K8S-i-8", "Attachment": {"InstanceId": "i-8"}}
    ) == ("ec2:i-8", "aws-K8S-i-8", "EC2")


def _snapshot(holders: dict[str, tuple[tuple[str, str | None, str], int | None]]) -> Snapshot:
    return Snapshot(holders=dict(holders))


OLD = ("ec2:i-0old", "old-web", "EC2")
NEW = ("ec2:i-0new", "new-web", "EC2")


def _rds_eni(eni_id: str, ip: str, zone: str, owner: str = "111122223333") -> dict[str, Any]:
    return {
        **_eni(eni_id, ip, "RDSNetworkInterface", requester="amazon-rds"),
        "AvailabilityZone": zone, "SubnetId": f"subnet-{zone}", "VpcId": "vpc-1", "OwnerId": owner,
    }


def _db(name: str, zone: str, standby: str | None = None, account: str = "111122223333") -> dict[str, Any]:
    """One DBInstances item, as `aws rds describe-db-instances` prints it (the fields read)."""
    return {
        "DBInstanceIdentifier": name,
        "DBInstanceArn": f"arn:aws:rds:eu-west-1:{account}:db:{name}",
        "DBInstanceStatus": "available",
        "AvailabilityZone": zone,
        "MultiAZ": standby is not None,
        **({"SecondaryAvailabilityZone": standby} if standby else {}),
        "Endpoint": {"Address": f"{name}.c0ffee.eu-west-1.rds.amazonaws.com", "Port": 5432},
        "DBSubnetGroup": {
            "VpcId": "vpc-1",
            "Subnets": [
                {"SubnetIdentifier": f"subnet-{z}", "SubnetAvailabilityZone": {"Name": z}}
                for z in ("eu-west-1a", "eu-west-1b")
            ],
        },
    }


def test_rds_enis_from_describe_db_instances_files(tmp_path: Path) -> None:
    """A Multi-AZ DB names its ENI in each of its zones; a DB of another account names none."""
    enis = tmp_path / "enis.json"
    enis.write_text(json.dumps({"NetworkInterfaces": [
        _rds_eni("eni-p", "10.1.1.5", "eu-west-1a"), _rds_eni("eni-s", "10.1.2.5", "eu-west-1b"),
        _rds_eni("eni-x", "10.1.1.6", "eu-west-1a", owner="444455556666"),
    ]}))
    dbs = tmp_path / "dbs.json"
    dbs.write_text(json.dumps({"DBInstances": [_db("orders", "eu-west-1a", standby="eu-west-1b")]}))
    inv = Inventory.from_files([enis, dbs])
    assert inv.entity_at("10.1.1.5", None) == ("rds:orders", "orders", "RDS")
    assert inv.entity_at("10.1.2.5", None) == ("rds:orders", "orders", "RDS")
    assert inv.entity_at("10.1.1.6", None) == ("rds:eni-x", "RDS eni-x", "RDS")
    # Without the DB list, or with the standby's zone unknown, each ENI is named by itself.
    assert Inventory.from_files([enis]).entity_at("10.1.1.5", None) == ("rds:eni-p", "RDS eni-p", "RDS")
    unsure = _db("orders", "eu-west-1a")
    unsure["MultiAZ"] = True
    dbs.write_text(json.dumps({"DBInstances": [unsure]}))
    assert Inventory.from_files([enis, dbs]).entity_at("10.1.1.5", None) == ("rds:orders", "orders", "RDS")
    assert Inventory.from_files([enis, dbs]).entity_at("10.1.2.5", None) == ("rds:orders", "orders", "RDS")


def test_point_in_time_from_attach_times() -> None:
    t_old, t_new, t_refresh = (
        _ts("2026-11-01T10:00:00+00:00"),
        _ts("2026-11-02T08:00:00+00:00"),
        _ts("2026-11-02T09:00:00+00:00"),
    )
    first = Inventory.from_snapshot(_snapshot({"10.0.1.99": (OLD, t_old)}), t_old + 60)
    second = first.updated(_snapshot({"10.0.1.99": (NEW, t_new)}), t_refresh)
    assert second.history("10.0.1.99") == [(t_old, OLD), (t_new, NEW)]
    assert second.entity_at("10.0.1.99", t_old - 86400) == OLD  # before any known holder: the earliest
    assert second.entity_at("10.0.1.99", t_new - 1) == OLD
    assert second.entity_at("10.0.1.99", t_new) == NEW
    assert second.entity_at("10.0.1.99", t_refresh + 86400) == NEW
    assert second.entity_at("10.0.1.99", None) == NEW
    assert first.entity_at("10.0.1.99", t_new) == OLD  # the old map is untouched


def test_point_in_time_without_a_later_attach_time_uses_the_refresh_time() -> None:
    t0, t1 = 1_790_000_000, 1_790_003_600
    first = Inventory.from_snapshot(_snapshot({"203.0.113.10": (OLD, t0)}), t0)
    # an Elastic IP re-associated: the new holder's AttachTime is older than the previous entry
    second = first.updated(_snapshot({"203.0.113.10": (NEW, t0 - 86400)}), t1)
    assert second.history("203.0.113.10") == [(t0, OLD), (t1, NEW)]
    # a renamed instance is a new entry from the refresh on
    renamed = ("ec2:i-0new", "new-web-renamed", "EC2")
    third = second.updated(_snapshot({"203.0.113.10": (renamed, t0 - 86400)}), t1 + 300)
    assert third.entity_at("203.0.113.10", t1 + 299) == NEW
    assert third.entity_at("203.0.113.10", t1 + 300) == renamed
    # the same holder again changes nothing
    assert third.updated(_snapshot({"203.0.113.10": (renamed, None)}), t1 + 600).history(
        "203.0.113.10"
    ) == third.history("203.0.113.10")


def test_vanished_addresses_are_held_by_nobody_from_the_refresh() -> None:
    t0, t1 = 1_790_000_000, 1_790_000_300
    first = Inventory.from_snapshot(_snapshot({"54.1.2.3": (OLD, t0)}), t0)
    second = first.updated(_snapshot({}), t1)
    assert second.entity_at("54.1.2.3", t1 - 1) == OLD  # late flows still find the old holder
    assert second.entity_at("54.1.2.3", t1) is None
    third = second.updated(_snapshot({"54.1.2.3": (NEW, None)}), t1 + 300)
    assert third.history("54.1.2.3") == [(t0, OLD), (t1, None), (t1 + 300, NEW)]
    # forgotten 30 days later
    assert "54.1.2.3" not in second.updated(_snapshot({}), t1 + 31 * 86400).addresses()


def test_enricher_follows_holders_through_time() -> None:
    t0, t1 = 1_790_000_000, 1_790_003_600
    inventory = Inventory.from_snapshot(_snapshot({"10.0.1.99": (OLD, t0)}), t0).updated(
        _snapshot({"10.0.1.99": (NEW, t1)}), t1 + 60
    )
    enricher = Enricher(inventory=inventory)
    for ts, holder in (
        (t0 - 5, OLD),
        (t1 + 5, NEW),
        (t1 - 1, OLD),
        (t1, NEW),
        (t0, OLD),
        (None, NEW),
        (t1 + 10**6, NEW),
    ):
        assert enricher.profile("10.0.1.99", ts)[1:4] == holder, ts


def test_failed_refresh_keeps_the_last_good_map(caplog: pytest.LogCaptureFixture) -> None:
    calls = {"n": 0}

    def fetch() -> Snapshot:
        calls["n"] += 1
        if calls["n"] > 1:
            raise ConnectionError("endpoint went away")
        return _snapshot({"10.0.1.99": (OLD, 1_790_000_000)})

    refresher = InventoryRefresher(fetch, interval=300)
    enricher = Enricher(inventory=refresher)
    assert refresher.refresh() is True
    good = refresher.inventory
    generation = enricher.generation
    assert enricher.profile("10.0.1.99", 1_790_000_100)[1] == "ec2:i-0old"
    assert enricher.generation == generation + 1  # picked up the new map
    with caplog.at_level("WARNING"):
        assert refresher.refresh() is False
    assert refresher.inventory is good
    assert refresher.last_error == "ConnectionError: endpoint went away"
    assert "keeping the last good inventory" in caplog.text
    assert enricher.profile("10.0.1.99", 1_790_000_100)[1] == "ec2:i-0old"


def test_refresher_thread_never_blocks_the_reader() -> None:
    release = threading.Event()

    def slow_fetch() -> Snapshot:
        release.wait(5)
        return _snapshot({"10.0.1.99": (NEW, None)})

    refresher = InventoryRefresher(slow_fetch, interval=0.01)
    enricher = Enricher(inventory=refresher)
    refresher.start()
    try:
        started = time.monotonic()
        for _ in range(1000):
            assert enricher.profile("10.0.1.99", 1)[1] is None  # the refresh is still running
        assert time.monotonic() - started < 1
        release.set()
        deadline = time.monotonic() + 5
        while enricher.profile("10.0.1.99", 1)[1] is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert enricher.profile("10.0.1.99", 1)[1:4] == NEW
    finally:
        refresher.stop()


def test_ingest_inventory_help_names_every_describe_result_it_reads() -> None:
    """``flowtui ingest --inventory`` takes what each of INVENTORY_KEYS comes from: RDS
    addresses are named after their DB instance only with describe-db-instances beside them."""
    import argparse

    from flowtui.cli import build_parser
    from flowtui.enrich.inventory import INVENTORY_KEYS

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    ingest = commands.choices["ingest"]
    help_text = next(a.help for a in ingest._actions if "--inventory" in a.option_strings) or ""
    described = {"NetworkInterfaces": "describe-network-interfaces", "Reservations": "describe-instances",
                 "Vpcs": "describe-vpcs", "DBInstances": "aws rds describe-db-instances"}
    assert [described[key] for key in INVENTORY_KEYS if described[key] not in help_text] == []


def _ingest(*args: str) -> tuple[int, str, str]:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "flowtui", "ingest", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stdout, done.stderr


LINE = "2 123456789010 eni-1 10.0.1.20 54.80.1.10 443 50000 6 10 8400 1700000000 1700000060 ACCEPT OK\n"


def test_a_bad_inventory_file_on_the_command_line_is_a_bad_argument(tmp_path: Path, user_dirs: None) -> None:
    """`ingest --inventory FILE` with FILE missing, unreadable or not a describe result exits 2 with one
    sentence naming it, before any PATH is read or a store is made; one the config names stays exit 1."""
    log, db = tmp_path / "a.log", tmp_path / "f.db"
    log.write_text(LINE)
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "folder.json").mkdir()
    missing = tmp_path / "missing.json"
    cases = {
        missing: f"inventory file {missing} does not exist",
        tmp_path / "folder.json": f"cannot read inventory file {tmp_path / 'folder.json'}: Is a directory",
        tmp_path / "bad.json": f"inventory file {tmp_path / 'bad.json'} is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    }
    for path, message in cases.items():
        assert _ingest("--db", str(db), "--inventory", str(path), str(log)) == (2, "", f"flowtui: {message} (nothing was read)\n")
        assert not db.exists()
    config = tmp_path / "flowtui.toml"
    config.write_text(f'[enrich]\ninventory_files = ["{missing}"]\n', encoding="utf-8")
    code, out, err = _ingest("--config", str(config), "--db", str(db), str(log))
    assert (code, out, err) == (1, "", f"flowtui: inventory file {missing} does not exist\n")
    assert not db.exists()
