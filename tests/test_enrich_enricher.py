"""Enricher.profile: the tuple in catalog order, internal ranges, caching, generations, NODATA."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowtui import catalog
from flowtui.config import Config
from flowtui.enrich import EMPTY_PROFILE, Enricher, Inventory, InventoryRefresher, ThreatMatcher
from flowtui.enrich.inventory import Snapshot
from flowtui.errors import ConfigError

WEB = ("ec2:i-0web", "web-1", "EC2")
NEW = ("ec2:i-0new", "new-web", "EC2")
T0 = 1_790_000_000


def _inventory(holders: dict, cidrs: list[str] = (), now: int = T0) -> Inventory:
    return Inventory.from_snapshot(Snapshot(holders=dict(holders), vpc_cidrs=list(cidrs)), now)


def test_profile_is_one_value_per_enrich_suffix_in_order(tmp_path: Path) -> None:
    listed = tmp_path / "mine.txt"
    listed.write_text("10.0.1.10\n", encoding="utf-8")
    enricher = Enricher(
        inventory=_inventory({"10.0.1.10": (WEB, T0)}, ["10.0.0.0/16"]),
        threat=ThreatMatcher.from_files([("mine", listed)]),
    )
    result = enricher.profile("10.0.1.10", T0)
    assert len(result) == len(catalog.ENRICH_SUFFIXES) == 11
    assert dict(zip((s[0] for s in catalog.ENRICH_SUFFIXES), result, strict=True)) == {
        "internal": True,
        "entity": "ec2:i-0web",
        "entity_description": "web-1",
        "entity_aws_type": "EC2",
        "geolocation": None,
        "country_code": None,
        "city_name": None,
        "as_number": None,
        "as_organization": None,
        "threat_indicated": True,
        "threat_indicated_by": "mine",
    }


def test_missing_or_unparseable_addresses_give_all_none() -> None:
    enricher = Enricher()
    assert EMPTY_PROFILE == (None,) * 11
    assert enricher.profile(None, T0) is EMPTY_PROFILE
    assert enricher.profile(None, None) is EMPTY_PROFILE
    assert enricher.profile("-", T0) == EMPTY_PROFILE
    assert enricher.profile("not-an-address", T0) == EMPTY_PROFILE


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("10.0.0.1", True),
        ("172.16.0.1", True),
        ("172.31.255.255", True),
        ("172.32.0.0", False),
        ("192.168.255.255", True),
        ("100.64.0.0", True),
        ("100.127.255.255", True),
        ("100.128.0.0", False),
        ("fc00::1", True),
        ("fd12:3456::1", True),
        ("fe80::1", False),
        ("8.8.8.8", False),
        ("2600::1", False),
    ],
)
def test_default_internal_ranges_when_nothing_is_known(address: str, internal: bool) -> None:
    assert Enricher().profile(address, T0)[0] is internal
    # a known holder outside the ranges does not make an address internal
    assert Enricher(inventory=_inventory({address: (WEB, T0)})).profile(address, T0)[:2] == (internal, "ec2:i-0web")


def test_configured_internal_cidrs_replace_the_defaults() -> None:
    enricher = Enricher(internal_cidrs=["203.0.113.0/24", "2001:db8::/32"])
    assert enricher.profile("203.0.113.5", T0)[0] is True
    assert enricher.profile("2001:db8::5", T0)[0] is True
    assert enricher.profile("10.0.0.1", T0)[0] is False
    with pytest.raises(ConfigError, match="bad \\[enrich\\] internal_cidrs"):
        Enricher(internal_cidrs=["10.0.0.0/33"])


def test_vpc_cidrs_and_configured_cidrs_together() -> None:
    enricher = Enricher(
        internal_cidrs=["203.0.113.0/24"], inventory=_inventory({}, ["10.20.0.0/16", "2600:1f18:abcd:1200::/56"])
    )
    assert [
        enricher.profile(a, T0)[0]
        for a in ("203.0.113.5", "10.20.9.9", "10.21.0.0", "2600:1f18:abcd:12ff::1", "192.168.0.1")
    ] == [
        True,
        True,
        False,
        True,
        False,
    ]


def test_threat_ids_in_list_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("198.51.100.0/24\n", encoding="utf-8")
    second.write_text("198.51.100.7\n2001:db8:bad::/48\n", encoding="utf-8")
    enricher = Enricher(threat=ThreatMatcher.from_files([("zeta", first), ("alpha", second)]))
    assert enricher.profile("198.51.100.7", T0)[9:] == (True, "zeta,alpha")
    assert enricher.profile("198.51.100.8", T0)[9:] == (True, "zeta")
    assert enricher.profile("2001:db8:bad::1", T0)[9:] == (True, "alpha")
    assert enricher.profile("198.51.101.0", T0)[9:] == (False, None)


def test_cached_answers_follow_the_flow_time() -> None:
    inventory = _inventory({"10.0.1.99": (WEB, T0)}).updated(
        Snapshot(holders={"10.0.1.99": (NEW, T0 + 3600)}), T0 + 3660
    )
    enricher = Enricher(inventory=inventory)
    answers = [
        enricher.profile("10.0.1.99", ts)[1] for ts in (T0, T0 + 3599, T0 + 3600, T0 + 10**6, T0 - 10**6, None, T0 + 1)
    ]
    assert answers == ["ec2:i-0web", "ec2:i-0web", "ec2:i-0new", "ec2:i-0new", "ec2:i-0web", "ec2:i-0new", "ec2:i-0web"]
    # repeated calls hand back the very same tuple: the dict hit
    assert enricher.profile("10.0.1.99", T0 + 2) is enricher.profile("10.0.1.99", T0 + 3)


def test_generation_changes_with_the_inventory_and_the_lists(tmp_path: Path) -> None:
    listed = tmp_path / "mine.txt"
    listed.write_text("203.0.113.7\n", encoding="utf-8")
    snapshots = iter([Snapshot(holders={"10.0.1.10": (WEB, T0)}), Snapshot(holders={"10.0.1.10": (NEW, T0 + 60)})])
    refresher = InventoryRefresher(lambda: next(snapshots), interval=300)
    enricher = Enricher(inventory=refresher, threat=ThreatMatcher.from_files([("mine", listed)]))
    g0 = enricher.generation
    assert enricher.profile("10.0.1.10", T0 + 120)[1] is None
    assert enricher.generation == g0

    refresher.refresh()
    assert enricher.profile("10.0.1.10", T0 + 120)[1] == "ec2:i-0web"
    g1 = enricher.generation
    assert g1 != g0
    refresher.refresh()
    assert enricher.profile("10.0.1.10", T0 + 120)[1] == "ec2:i-0new"
    g2 = enricher.generation
    assert g2 != g1

    assert enricher.reload_threat_lists() is False  # nothing changed
    assert enricher.profile("203.0.113.8", T0)[9] is False
    replacement = tmp_path / "new.txt"
    replacement.write_text("203.0.113.7\n203.0.113.8\n", encoding="utf-8")
    os.replace(replacement, listed)
    assert enricher.reload_threat_lists() is True
    assert enricher.profile("203.0.113.8", T0)[9:] == (True, "mine")
    assert enricher.generation != g2


def test_text_from_aws_is_kept_verbatim() -> None:
    markup = ("ec2:i-0markup", "[bold red]x[/", "EC2")
    escapes = ("eni:eni-0esc", "\x1b[31mred\x1b[0m\n  tail  ", "ENI")
    enricher = Enricher(inventory=_inventory({"10.0.1.20": (markup, T0), "10.0.1.21": (escapes, T0)}))
    assert enricher.profile("10.0.1.20", T0)[1:4] == markup
    assert enricher.profile("10.0.1.21", T0)[1:4] == escapes


def test_the_cache_is_bounded() -> None:
    enricher = Enricher(cache_size=50)
    for i in range(500):
        assert enricher.profile(f"10.0.{i // 256}.{i % 256}", T0)[0] is True
        assert enricher.profile(f"8.8.{i // 256}.{i % 256}", T0)[0] is False
    assert len(enricher._cache) <= 50


def test_from_config_with_everything_off() -> None:
    enricher = Enricher.from_config(Config())
    assert enricher.profile("10.1.2.3", T0) == (True, None, None, None, None, None, None, None, None, False, None)
    assert enricher.profile("1.1.1.1", T0) == (False, None, None, None, None, None, None, None, None, False, None)
    enricher.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[enrich]\ninternal_cidrs = "10.0.0.0/8"\n', "internal_cidrs must be list"),
        ("[enrich]\ninternal_cidrs = [10]\n", "internal_cidrs must be a list of strings"),
        ('[enrich]\ncache_size = "big"\n', "cache_size must be int"),
        ('[enrich]\naws_inventory = true\nrefresh_interval = "soon"\n', "bad refresh_interval"),
    ],
)
def test_bad_enrich_config(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "flowtui.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        Enricher.from_config(Config.load(path))


def test_lists_downloaded_after_startup_are_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "flowtui.toml"
    path.write_text(
        '[threat]\ncache_dir = "cache"\n[[threat.lists]]\nid = "feodo"\nurl = "https://feodotracker.abuse.ch/downloads/ipblocklist.txt"\n',
        encoding="utf-8",
    )
    enricher = Enricher.from_config(Config.load(path), background=False)
    assert enricher.profile("198.51.100.200", T0)[9:] == (False, None)
    generation = enricher.generation
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "feodo.txt").write_text("# DstIP\n198.51.100.200\n", encoding="utf-8")  # threat update ran
    assert enricher.reload_threat_lists() is True
    assert enricher.profile("198.51.100.200", T0)[9:] == (True, "feodo")
    assert enricher.generation != generation
    enricher.close()
