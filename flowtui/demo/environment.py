"""The synthetic AWS environment the demo runs on, and the config that enriches it.

Everything about the environment's own resources lives in the shipped inventory
files (``data/describe-*.json``, the JSON the AWS CLI prints, its DB instance
included, so that the RDS interface is named as a live inventory names it); this
module reads them with the same classifier the enricher uses, so the traffic
generator and the enrichment can never disagree about who holds an address.

The outside world is :data:`EXTERNAL_NETWORKS`: the blocks the demo's traffic
comes from and goes to, with the place and network that the shipped GeoIP
databases (``data/demo-city.mmdb``, ``data/demo-asn.mmdb``, built from this
table by ``tools/make_demo_geoip.py``) answer for them. All of it is FAKE: the
cities are real places, but no block really belongs to the organisation or
place given here, the AS numbers are the documentation ones (RFC 5398), and
every "bad" address (Tor exits, Spamhaus-listed blocks, the exfiltration
target) is in the documentation ranges 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24 and 2001:db8::/32, so nothing here is a real threat indicator.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from flowtui.config import Config
from flowtui.enrich.inventory import InstanceInfo, classify, rds_owners

DATA_DIR: Final[Path] = Path(__file__).resolve().parent / "data"
INVENTORY_FILES: Final[tuple[Path, ...]] = (
    DATA_DIR / "describe-network-interfaces.json",
    DATA_DIR / "describe-instances.json",
    DATA_DIR / "describe-vpcs.json",
    DATA_DIR / "describe-db-instances.json",
)
GEOIP_CITY: Final[Path] = DATA_DIR / "demo-city.mmdb"
GEOIP_ASN: Final[Path] = DATA_DIR / "demo-asn.mmdb"
TOR_LIST: Final[Path] = DATA_DIR / "tor-exit-addresses.txt"
SPAMHAUS_LIST: Final[Path] = DATA_DIR / "spamhaus-drop.txt"

ACCOUNT_ID: Final = "123456789012"
REGION: Final = "eu-west-1"
LOG_GROUP: Final = "/vpc/flow-logs/demo"
SUBSCRIPTION_FILTER: Final = "flowtui-demo"
VPC_RESOLVER: Final = "10.0.0.2"  # the Amazon DNS server at the VPC base + 2


@dataclass(frozen=True, slots=True)
class ExternalNetwork:
    """A block outside the VPC, what the demo uses it for, and its (fake) GeoIP answer."""

    role: str  # client, office, scanner, service, tor, spamhaus, exfil
    cidr: str
    country_code: str
    country: str
    continent_code: str
    continent: str
    city: str
    latitude: float
    longitude: float
    time_zone: str
    as_number: int
    as_organization: str
    hosts: tuple[str, ...] = ()  # the exact addresses used; empty: any address of the block


_EU, _NA, _AS, _SA = ("EU", "Europe"), ("NA", "North America"), ("AS", "Asia"), ("SA", "South America")

# fmt: off
EXTERNAL_NETWORKS: Final[tuple[ExternalNetwork, ...]] = (
    # Customers of the web site (through the load balancer, and a few straight to an instance).
    ExternalNetwork("client", "84.17.32.0/20", "DE", "Germany", *_EU, "Frankfurt am Main", 50.1109, 8.6821, "Europe/Berlin", 64496, "Rheinmain Fibre GmbH"),
    ExternalNetwork("client", "86.12.64.0/18", "GB", "United Kingdom", *_EU, "London", 51.5072, -0.1276, "Europe/London", 64497, "Thames Broadband Ltd"),
    ExternalNetwork("client", "90.84.128.0/17", "FR", "France", *_EU, "Paris", 48.8566, 2.3522, "Europe/Paris", 64498, "Lutece Telecom SA"),
    ExternalNetwork("client", "145.53.0.0/16", "NL", "Netherlands", *_EU, "Amsterdam", 52.3676, 4.9041, "Europe/Amsterdam", 64499, "Grachten Net BV"),
    ExternalNetwork("client", "89.101.0.0/17", "IE", "Ireland", *_EU, "Dublin", 53.3498, -6.2603, "Europe/Dublin", 64500, "Liffey Online Ltd"),
    ExternalNetwork("client", "73.162.0.0/16", "US", "United States", *_NA, "Seattle", 47.6062, -122.3321, "America/Los_Angeles", 64501, "Cascade Cable Inc"),
    ExternalNetwork("client", "98.113.0.0/16", "US", "United States", *_NA, "New York", 40.7128, -74.006, "America/New_York", 64502, "Hudson Access LLC"),
    ExternalNetwork("client", "126.77.0.0/16", "JP", "Japan", *_AS, "Tokyo", 35.6762, 139.6503, "Asia/Tokyo", 64503, "Kanto Hikari KK"),
    ExternalNetwork("client", "177.92.0.0/16", "BR", "Brazil", *_SA, "Sao Paulo", -23.5505, -46.6333, "America/Sao_Paulo", 64504, "Paulista Fibra Ltda"),
    ExternalNetwork("client", "2a02:8108:1400::/40", "DE", "Germany", *_EU, "Berlin", 52.52, 13.405, "Europe/Berlin", 64496, "Rheinmain Fibre GmbH"),
    ExternalNetwork("client", "2a01:4b00:8000::/36", "GB", "United Kingdom", *_EU, "Manchester", 53.4808, -2.2426, "Europe/London", 64497, "Thames Broadband Ltd"),
    ExternalNetwork("client", "2600:1700:a000::/36", "US", "United States", *_NA, "Chicago", 41.8781, -87.6298, "America/Chicago", 64505, "Lakeshore Mobile Inc"),
    # The operators' office, the only place SSH to the bastion is allowed from.
    ExternalNetwork("office", "81.139.56.0/24", "GB", "United Kingdom", *_EU, "Edinburgh", 55.9533, -3.1883, "Europe/London", 64506, "Example Corp Office Network"),
    # Internet-wide scanners knocking on SSH, RDP and friends.
    ExternalNetwork("scanner", "45.129.33.0/24", "RU", "Russia", *_EU, "Moscow", 55.7558, 37.6173, "Europe/Moscow", 64507, "Volga Hosting LLC"),
    ExternalNetwork("scanner", "61.177.172.0/24", "CN", "China", *_AS, "Nanjing", 32.0603, 118.7969, "Asia/Shanghai", 64508, "Yangtze Datacom"),
    ExternalNetwork("scanner", "103.99.0.0/22", "VN", "Vietnam", *_AS, "Hanoi", 21.0278, 105.8342, "Asia/Bangkok", 64509, "Song Hong Hosting JSC"),
    ExternalNetwork("scanner", "2400:cb00:1f00::/40", "SG", "Singapore", *_AS, "Singapore", 1.3521, 103.8198, "Asia/Singapore", 64510, "Straits VPS Pte Ltd"),
    # What the instances legitimately talk to through the NAT gateway (package mirrors, a payment API).
    ExternalNetwork("service", "195.201.0.0/16", "DE", "Germany", *_EU, "Falkenstein", 50.4779, 12.3713, "Europe/Berlin", 65536, "Vogtland Hosting AG"),
    ExternalNetwork("service", "23.54.0.0/16", "US", "United States", *_NA, "Ashburn", 39.0438, -77.4874, "America/New_York", 65537, "Potomac Edge Networks"),
    # FAKE bad actors, all in documentation ranges. The Tor exits are listed in data/tor-exit-addresses.txt,
    # the Spamhaus blocks (198.51.100.0/25, 203.0.113.128/26, 2001:db8:bad::/48) in data/spamhaus-drop.txt.
    ExternalNetwork("tor", "192.0.2.0/24", "NL", "Netherlands", *_EU, "Rotterdam", 51.9244, 4.4777, "Europe/Amsterdam", 64511, "Onion Relay Association (fake)", ("192.0.2.66", "192.0.2.77")),
    ExternalNetwork("tor", "2001:db8:70::/48", "NL", "Netherlands", *_EU, "Rotterdam", 51.9244, 4.4777, "Europe/Amsterdam", 64511, "Onion Relay Association (fake)", ("2001:db8:70::77",)),
    ExternalNetwork("spamhaus", "198.51.100.0/24", "RU", "Russia", *_EU, "Saint Petersburg", 59.9311, 30.3609, "Europe/Moscow", 65538, "Neva Bulletproof Hosting (fake)", ("198.51.100.23", "198.51.100.87")),
    ExternalNetwork("spamhaus", "2001:db8:bad::/48", "RU", "Russia", *_EU, "Saint Petersburg", 59.9311, 30.3609, "Europe/Moscow", 65538, "Neva Bulletproof Hosting (fake)", ("2001:db8:bad::15",)),
    ExternalNetwork("exfil", "203.0.113.0/24", "SC", "Seychelles", "AF", "Africa", "Victoria", -4.6191, 55.4513, "Indian/Mahe", 65539, "Offshore Storage Ltd (fake)", ("203.0.113.200",)),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Interface:
    """One ENI of the demo VPC, as the traffic generator uses it."""

    role: str  # alb, web, bastion, worker, stray, rds, nat, lambda, vpce
    eni_id: str
    private_ip: str
    ipv6: str | None
    public_ip: str | None
    entity: str  # what the enricher calls it: ec2:i-…, elb:front-alb …
    name: str | None  # Name tag or ENI description

    @property
    def log_stream(self) -> str:
        return f"{self.eni_id}-all"


_EC2_ROLES = {"bastion": "bastion", "reports-worker": "worker"}


def _role(entity: str, name: str | None) -> str:
    kind = entity.split(":", 1)[0]
    if kind == "ec2":
        if name and name.startswith("web-"):
            return "web"
        return _EC2_ROLES.get(name or "", "stray")
    return {"elb": "alb"}.get(kind, kind)


@dataclass(frozen=True, slots=True)
class Environment:
    interfaces: tuple[Interface, ...]
    vpc_cidrs: tuple[str, ...]

    def by_role(self, role: str) -> tuple[Interface, ...]:
        return tuple(i for i in self.interfaces if i.role == role)

    def one(self, role: str) -> Interface:
        found = self.by_role(role)
        if len(found) != 1:
            raise ValueError(f"the demo inventory has {len(found)} interfaces of role {role!r}, not one")
        return found[0]


@cache
def load_environment(files: Sequence[Path] = INVENTORY_FILES) -> Environment:
    """The demo VPC as the shipped inventory files describe it."""
    docs = [json.loads(Path(p).read_text(encoding="utf-8")) for p in files]
    instances: dict[str, InstanceInfo] = {}
    for doc in docs:
        for reservation in doc.get("Reservations", ()):
            for inst in reservation.get("Instances", ()):
                name = next((t["Value"] for t in inst.get("Tags") or () if t.get("Key") == "Name"), None)
                instances[inst["InstanceId"]] = InstanceInfo(name, None)
    enis = [eni for doc in docs for eni in doc.get("NetworkInterfaces", ())]
    databases = rds_owners(enis, [db for doc in docs for db in doc.get("DBInstances", ())])
    interfaces = []
    cidrs: list[str] = []
    for doc in docs:
        for eni in doc.get("NetworkInterfaces", ()):
            entity, name, _ = classify(eni, instances, databases)
            v6 = [a["Ipv6Address"] for a in eni.get("Ipv6Addresses") or ()]
            public = (eni.get("Association") or {}).get("PublicIp")
            interfaces.append(
                Interface(
                    _role(entity, name),
                    eni["NetworkInterfaceId"],
                    eni["PrivateIpAddress"],
                    v6[0] if v6 else None,
                    public,
                    entity,
                    name,
                )
            )
        for vpc in doc.get("Vpcs", ()):
            cidrs.append(vpc["CidrBlock"])
            cidrs.extend(a["Ipv6CidrBlock"] for a in vpc.get("Ipv6CidrBlockAssociationSet") or ())
    return Environment(tuple(interfaces), tuple(cidrs))


def demo_config(base: Config | None = None) -> Config:
    """A Config that enriches with the shipped inventory, threat lists and GeoIP databases.

    ``base`` (the user's config, if any) keeps its other sections, e.g. ``[store]``
    or the UI's; the enrichment sections are the demo's own.
    """
    data = dict(base.data) if base is not None else {}
    data["enrich"] = {
        "inventory_files": [str(p) for p in INVENTORY_FILES],
        "geoip_city": str(GEOIP_CITY),
        "geoip_asn": str(GEOIP_ASN),
    }
    data["threat"] = {
        "lists": [
            {"id": "tor", "path": str(TOR_LIST), "format": "tor-exit-addresses"},
            {"id": "spamhaus", "path": str(SPAMHAUS_LIST), "format": "spamhaus"},
        ]
    }
    return Config(data, base.path if base is not None else None)
