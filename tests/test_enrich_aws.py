"""The live inventory against moto's server over real HTTP: entities, accounts, time, failures."""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Any

import boto3
import pytest

from flowtui.config import Config
from flowtui.enrich import Enricher
from flowtui.enrich.aws import Account, AwsSettings, aws_refresher, fetch_snapshot
from tests.aws_server import REGION, moto_server  # noqa: F401 - the fixture

MARKUP = "[bold red]x[/"
# EC2 speaks XML 1.0, which cannot carry ESC (0x1b) even escaped, so the escape-sequence
# Name tag is tested from CLI JSON (test_enrich_inventory); here: XML metacharacters and
# surrounding spaces, which must come back verbatim, unstripped.
TRICKY = "  <b>&amp;</b> \u00fcn\u00efcode  "
AMI = "ami-12c6146b"  # one of moto's stock images


class World:
    """What a test built in moto, and the addresses it expects to resolve."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
        self.expected: dict[str, tuple[str, str | None, str]] = {}

    def network(self, cidr: str = "10.20.0.0/16", subnet: str = "10.20.1.0/24") -> None:
        vpc = self.ec2.create_vpc(CidrBlock=cidr, AmazonProvidedIpv6CidrBlock=True)["Vpc"]
        described = self.ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"][0]
        self.vpc_v6 = described["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
        self.subnet_v6 = ipaddress.ip_network(self.vpc_v6).subnets(new_prefix=64).__next__()
        self.subnet = self.ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock=subnet, Ipv6CidrBlock=str(self.subnet_v6))[
            "Subnet"
        ]["SubnetId"]

    def instance(self, ip: str, name: str) -> str:
        reservation = self.ec2.run_instances(
            ImageId=AMI,
            MinCount=1,
            MaxCount=1,
            SubnetId=self.subnet,
            PrivateIpAddress=ip,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
        )
        return reservation["Instances"][0]["InstanceId"]

    def eni(self, ip: str, description: str, **kwargs: Any) -> str:
        return self.ec2.create_network_interface(
            SubnetId=self.subnet, PrivateIpAddress=ip, Description=description, **kwargs
        )["NetworkInterface"]["NetworkInterfaceId"]

    def elastic_ip(self, **target: str) -> str:
        eip = self.ec2.allocate_address(Domain="vpc")
        self.ec2.associate_address(AllocationId=eip["AllocationId"], **target)
        return eip["PublicIp"]


@pytest.fixture
def world(moto_server: str) -> World:  # noqa: F811 - the imported fixture
    w = World(moto_server)
    w.network()
    web = w.instance("10.20.1.50", "web-1")
    v6 = str(w.subnet_v6[0x50])
    web_eni = w.ec2.describe_instances(InstanceIds=[web])["Reservations"][0]["Instances"][0]["NetworkInterfaces"][0][
        "NetworkInterfaceId"
    ]
    w.ec2.assign_ipv6_addresses(NetworkInterfaceId=web_eni, Ipv6Addresses=[v6])
    w.ec2.assign_private_ip_addresses(NetworkInterfaceId=web_eni, PrivateIpAddresses=["10.20.1.51"])
    web_public = w.elastic_ip(InstanceId=web)
    for address in ("10.20.1.50", "10.20.1.51", v6, web_public):
        w.expected[address] = (f"ec2:{web}", "web-1", "EC2")
    markup = w.instance("10.20.1.52", MARKUP)
    w.expected["10.20.1.52"] = (f"ec2:{markup}", MARKUP, "EC2")
    escapes = w.instance("10.20.1.53", TRICKY)
    w.expected["10.20.1.53"] = (f"ec2:{escapes}", TRICKY, "EC2")

    alb = "ELB app/front-alb/50dc6c495c0c9188"
    w.eni("10.20.1.60", alb)
    w.expected["10.20.1.60"] = ("elb:front-alb", alb, "ELB")
    w.eni("10.20.1.61", "ELB my-lb")
    w.expected["10.20.1.61"] = ("elb:my-lb", "ELB my-lb", "ELB")
    rds = w.eni("10.20.1.70", "RDSNetworkInterface")  # moto cannot set RequesterId: the description path
    w.expected["10.20.1.70"] = (f"rds:{rds}", f"RDS {rds}", "RDS")  # no DB instance: named by its ENI
    nat_desc = "Interface for NAT Gateway nat-0123456789abcdef0"
    nat = w.eni("10.20.1.80", nat_desc)
    nat_public = w.elastic_ip(NetworkInterfaceId=nat)
    w.expected["10.20.1.80"] = w.expected[nat_public] = ("nat:nat-0123456789abcdef0", nat_desc, "NAT")
    fn_desc = "AWS Lambda VPC ENI-orders-api-3c8ac2d2-5a29-4f5d-bb5c-1f4c7a8e2f10"
    w.eni("10.20.1.90", fn_desc, Ipv6Addresses=[{"Ipv6Address": str(w.subnet_v6[0x90])}])
    w.expected["10.20.1.90"] = w.expected[str(w.subnet_v6[0x90])] = ("lambda:orders-api", fn_desc, "LAMBDA")
    spare = w.eni("10.20.1.100", "ops bastion spare")
    w.expected["10.20.1.100"] = (f"eni:{spare}", "ops bastion spare", "ENI")
    named = w.eni(
        "10.20.1.101",
        "",
        TagSpecifications=[{"ResourceType": "network-interface", "Tags": [{"Key": "Name", "Value": "spare-named"}]}],
    )
    w.expected["10.20.1.101"] = (f"eni:{named}", "spare-named", "ENI")
    return w


def _settings(world: World, **kwargs: Any) -> AwsSettings:
    return AwsSettings(regions=(REGION,), endpoint_url=world.endpoint, **kwargs)


def test_every_address_resolves_to_its_entity(world: World) -> None:
    snapshot = fetch_snapshot(_settings(world))
    for address, entity in world.expected.items():
        assert snapshot.holders[address][0] == entity, address
    assert "10.20.0.0/16" in snapshot.vpc_cidrs
    assert world.vpc_v6 in snapshot.vpc_cidrs


def test_enricher_from_config_against_moto(world: World, tmp_path: Any) -> None:
    config_file = tmp_path / "flowtui.toml"
    config_file.write_text(
        f'[enrich]\naws_inventory = true\nregions = ["{REGION}"]\nendpoint_url = "{world.endpoint}"\nrefresh_interval = "1h"\n',
        encoding="utf-8",
    )
    enricher = Enricher.from_config(Config.load(config_file))
    try:
        assert enricher.refresher is not None and enricher.refresher.last_error is None
        now = int(time.time())
        for address, entity in world.expected.items():
            internal = any(
                ipaddress.ip_address(address) in ipaddress.ip_network(cidr) for cidr in ("10.20.0.0/16", world.vpc_v6)
            )
            assert enricher.profile(address, now) == (internal, *entity, None, None, None, None, None, False, None), (
                address
            )
        # the VPC CIDRs are internal besides the default ranges (DESIGN's X_internal), not instead
        assert enricher.profile("192.168.1.1", now)[0] is True
        assert enricher.profile("203.0.113.9", now)[0] is False
        assert enricher.profile(str(world.subnet_v6[0x1234]), now)[0] is True
    finally:
        enricher.close()


def test_every_account_and_region(world: World) -> None:
    sts = boto3.client("sts", endpoint_url=world.endpoint, region_name=REGION)
    creds = sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/flowtui-read", RoleSessionName="setup")[
        "Credentials"
    ]
    other = boto3.client(
        "ec2",
        endpoint_url=world.endpoint,
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    vpc = other.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnet = other.create_subnet(VpcId=vpc, CidrBlock="10.99.1.0/24")["Subnet"]["SubnetId"]
    eni = other.create_network_interface(
        SubnetId=subnet, PrivateIpAddress="10.99.1.10", Description="ELB app/eu-alb/1234"
    )
    assert eni["NetworkInterface"]["OwnerId"] == "111111111111"

    settings = AwsSettings(
        regions=(REGION,),
        endpoint_url=world.endpoint,
        accounts=(Account(), Account(role_arn="arn:aws:iam::111111111111:role/flowtui-read", regions=("eu-west-1",))),
    )
    snapshot = fetch_snapshot(settings)
    assert snapshot.holders["10.99.1.10"][0] == ("elb:eu-alb", "ELB app/eu-alb/1234", "ELB")
    assert snapshot.holders["10.20.1.60"][0] == world.expected["10.20.1.60"]
    assert "10.99.0.0/16" in snapshot.vpc_cidrs


def test_accounts_from_config(tmp_path: Any) -> None:
    config_file = tmp_path / "flowtui.toml"
    config_file.write_text(
        '[enrich]\nregions = ["us-east-1", "eu-west-1"]\nprofile = "ops"\nrefresh_interval = "10m"\n'
        "[[enrich.accounts]]\n"
        '[[enrich.accounts]]\nrole_arn = "arn:aws:iam::111111111111:role/flowtui-read"\nexternal_id = "x-1"\nregions = ["ap-south-1"]\n',
        encoding="utf-8",
    )
    settings = AwsSettings.from_config(Config.load(config_file))
    assert settings == AwsSettings(
        regions=("us-east-1", "eu-west-1"),
        accounts=(Account(), Account("arn:aws:iam::111111111111:role/flowtui-read", None, "x-1", ("ap-south-1",))),
        profile="ops",
        refresh_interval=600.0,
    )


def test_address_moving_to_a_second_instance(world: World) -> None:
    old = world.instance("10.20.1.150", "old-web")
    new = world.instance("10.20.1.151", "new-web")
    moving = world.eni("10.20.1.77", "")
    attachment = world.ec2.attach_network_interface(NetworkInterfaceId=moving, InstanceId=old, DeviceIndex=1)[
        "AttachmentId"
    ]
    allocation = world.ec2.allocate_address(Domain="vpc")
    public = allocation["PublicIp"]
    association = world.ec2.associate_address(AllocationId=allocation["AllocationId"], InstanceId=old)["AssociationId"]
    refresher = aws_refresher(_settings(world))
    assert refresher.refresh() is True
    before = int(time.time())
    assert refresher.inventory.entity_at("10.20.1.77", before) == (f"ec2:{old}", "old-web", "EC2")
    assert refresher.inventory.entity_at(public, before) == (f"ec2:{old}", "old-web", "EC2")

    time.sleep(1.1)  # AttachTime has one-second resolution
    world.ec2.detach_network_interface(AttachmentId=attachment)
    world.ec2.attach_network_interface(NetworkInterfaceId=moving, InstanceId=new, DeviceIndex=1)
    world.ec2.disassociate_address(AssociationId=association)
    world.ec2.associate_address(AllocationId=allocation["AllocationId"], InstanceId=new)
    time.sleep(1.1)
    assert refresher.refresh() is True
    after = int(time.time())

    enricher = Enricher(inventory=refresher)
    for address in ("10.20.1.77", public):
        assert enricher.profile(address, before - 3600)[1:4] == (f"ec2:{old}", "old-web", "EC2")  # earliest holder
        assert enricher.profile(address, before)[1:4] == (f"ec2:{old}", "old-web", "EC2")
        assert enricher.profile(address, after)[1:4] == (f"ec2:{new}", "new-web", "EC2")
        assert enricher.profile(address, before)[1:4] == (f"ec2:{old}", "old-web", "EC2")  # and back
    history = refresher.inventory.history("10.20.1.77")
    assert [h[1][0] for h in history] == [f"ec2:{old}", f"ec2:{new}"]
    assert before < history[1][0] <= after  # the new attachment's time


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_failed_refresh_keeps_the_map(world: World) -> None:
    refresher = aws_refresher(_settings(world))
    enricher = Enricher(inventory=refresher)
    assert refresher.refresh() is True
    good = refresher.inventory
    now = int(time.time())
    assert enricher.profile("10.20.1.60", now)[1] == "elb:front-alb"
    generation = enricher.generation

    dead = AwsSettings(regions=(REGION,), endpoint_url=f"http://127.0.0.1:{_closed_port()}", timeout=2)
    refresher.fetch = lambda: fetch_snapshot(dead)
    assert refresher.refresh() is False
    assert refresher.inventory is good
    assert refresher.last_error is not None and "127.0.0.1" in refresher.last_error
    assert enricher.profile("10.20.1.60", now)[1] == "elb:front-alb"
    assert enricher.generation == generation

    # the same in the background thread, while the reader keeps going
    refresher.interval = 0.05
    refresher.start()
    try:
        deadline = time.monotonic() + 10
        while refresher.last_error is None and time.monotonic() < deadline:
            assert enricher.profile("10.20.1.60", now)[1] == "elb:front-alb"
            time.sleep(0.01)
        assert refresher.inventory is good
    finally:
        refresher.stop()


def test_first_refresh_failing_leaves_an_empty_map_and_an_error(tmp_path: Any, moto_server: str) -> None:  # noqa: F811
    config_file = tmp_path / "flowtui.toml"
    config_file.write_text(
        f'[enrich]\naws_inventory = true\nregions = ["{REGION}"]\nendpoint_url = "http://127.0.0.1:{_closed_port()}"\n',
        encoding="utf-8",
    )
    enricher = Enricher.from_config(Config.load(config_file), background=False)
    assert enricher.refresher is not None and enricher.refresher.last_error is not None
    assert enricher.profile("10.1.2.3", 0)[:4] == (True, None, None, None)  # default internal ranges
    enricher.close()


def test_rds_enis_are_named_for_their_db_instance_where_one_fits(moto_server: str) -> None:  # noqa: F811
    """DescribeDBInstances names no ENI: an RDS ENI gets a DB instance's name when that DB is its
    only candidate (VPC, subnet group, zone, account) and it the DB's only ENI in that zone."""
    ec2 = boto3.client("ec2", endpoint_url=moto_server, region_name=REGION)
    rds = boto3.client("rds", endpoint_url=moto_server, region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = {
        zone: ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
        for i, zone in enumerate("abcd", start=1)
    }

    def group(name: str, zones: str) -> None:
        rds.create_db_subnet_group(
            DBSubnetGroupName=name, DBSubnetGroupDescription=name, SubnetIds=[subnet[z] for z in zones]
        )

    def db(name: str, group_name: str, zone: str) -> None:
        rds.create_db_instance(
            DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres", AllocatedStorage=20,
            DBSubnetGroupName=group_name, AvailabilityZone=f"{REGION}{zone}", MasterUsername="admin",
            MasterUserPassword="not-a-secret-1",
        )

    def eni(zone: str, ip: str) -> str:
        return ec2.create_network_interface(SubnetId=subnet[zone], PrivateIpAddress=ip, Description="RDSNetworkInterface")[
            "NetworkInterface"
        ]["NetworkInterfaceId"]

    group("orders", "ab")
    db("orders-db", "orders", "a")
    group("reports", "c")
    db("reports-1", "reports", "c")
    db("reports-2", "reports", "c")
    group("audit", "d")
    db("audit-db", "audit", "d")
    orders = eni("a", "10.30.1.10")  # orders-db's zone: it
    spare = eni("b", "10.30.2.10")  # the group's other zone, and orders-db is not Multi-AZ
    reports = [eni("c", "10.30.3.10"), eni("c", "10.30.3.11")]  # two DBs, two ENIs: which is which?
    audit = [eni("d", "10.30.4.10"), eni("d", "10.30.4.11")]  # one DB, two ENIs (a proxy's?)
    holders = fetch_snapshot(AwsSettings(regions=(REGION,), endpoint_url=moto_server)).holders
    assert {ip: h[0] for ip, h in holders.items()} == {
        "10.30.1.10": ("rds:orders-db", "orders-db", "RDS"),
        "10.30.2.10": (f"rds:{spare}", f"RDS {spare}", "RDS"),
        "10.30.3.10": (f"rds:{reports[0]}", f"RDS {reports[0]}", "RDS"),
        "10.30.3.11": (f"rds:{reports[1]}", f"RDS {reports[1]}", "RDS"),
        "10.30.4.10": (f"rds:{audit[0]}", f"RDS {audit[0]}", "RDS"),
        "10.30.4.11": (f"rds:{audit[1]}", f"RDS {audit[1]}", "RDS"),
    }
    assert orders.startswith("eni-")
