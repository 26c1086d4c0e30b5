"""CIDR sets: O(log n) membership over merged intervals, IPv4 and IPv6 kept apart."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtui.enrich.addresses import DEFAULT_INTERNAL_CIDRS, CidrSet, Interval, parse_address, parse_network


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("10.0.0.0", True),  # first address
        ("10.255.255.255", True),  # last address
        ("9.255.255.255", False),  # one below
        ("11.0.0.0", False),  # one above
        ("2001:db8::", True),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", True),
        ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", False),
        ("2001:db9::", False),
        ("::ffff:10.1.2.3", True),  # IPv4-mapped IPv6 counts as IPv4
        ("::a00:1", False),  # the same integer as 10.0.0.1, but IPv6
        ("not-an-address", False),
    ],
)
def test_edges(address: str, inside: bool) -> None:
    cidrs = CidrSet(["10.0.0.0/8", "2001:db8::/32"])
    assert (address in cidrs) is inside


def test_adjacent_and_overlapping_networks_merge() -> None:
    cidrs = CidrSet(
        [
            "10.0.0.0/25",
            "10.0.0.128/25",
            "10.0.0.7",
            "192.0.2.0/24",
            "192.0.2.0/26",
            "2001:db8::/33",
            "2001:db8:8000::/33",
        ]
    )
    assert cidrs.networks == 7
    assert cidrs.intervals() == [
        Interval(4, int(ipaddress.ip_address("10.0.0.0")), int(ipaddress.ip_address("10.0.0.255"))),
        Interval(4, int(ipaddress.ip_address("192.0.2.0")), int(ipaddress.ip_address("192.0.2.255"))),
        Interval(
            6,
            int(ipaddress.ip_address("2001:db8::")),
            int(ipaddress.ip_address("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")),
        ),
    ]
    assert len(cidrs) == 3


def test_host_bits_are_ignored_and_bare_addresses_are_single_hosts() -> None:
    assert parse_network("198.51.100.77/24") == Interval(
        4, int(ipaddress.ip_address("198.51.100.0")), int(ipaddress.ip_address("198.51.100.255"))
    )
    assert parse_network("  203.0.113.9 ") == Interval(
        4, int(ipaddress.ip_address("203.0.113.9")), int(ipaddress.ip_address("203.0.113.9"))
    )
    with pytest.raises(ValueError):
        parse_network("10.0.0.0/33")
    assert parse_address("2001:DB8::1") == (6, int(ipaddress.ip_address("2001:db8::1")))


def test_empty_set_matches_nothing() -> None:
    empty = CidrSet()
    assert not empty
    assert "10.0.0.1" not in empty
    assert not empty.contains(6, 1)


def test_default_internal_ranges() -> None:
    internal = CidrSet(DEFAULT_INTERNAL_CIDRS)
    for inside in (
        "10.1.2.3",
        "172.16.0.0",
        "172.31.255.255",
        "192.168.0.1",
        "100.64.0.0",
        "100.127.255.255",
        "fc00::",
        "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ):
        assert inside in internal, inside
    for outside in (
        "172.15.255.255",
        "172.32.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "8.8.8.8",
        "fe00::",
        "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "2600::1",
    ):
        assert outside not in internal, outside


_v4_nets = st.builds(
    lambda value, prefix: ipaddress.ip_network((value, prefix), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(8, 32),
)
_v6_nets = st.builds(
    lambda value, prefix: ipaddress.ip_network((value, prefix), strict=False),
    st.integers(0, 2**128 - 1),
    st.integers(16, 128),
)


@settings(max_examples=200, deadline=None)
@given(
    nets=st.lists(st.one_of(_v4_nets, _v6_nets), max_size=30),
    probes=st.lists(
        st.one_of(
            st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address), st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
        ),
        max_size=30,
    ),
)
def test_membership_matches_ipaddress(nets: list, probes: list) -> None:
    cidrs = CidrSet(str(n) for n in nets)
    # probe the edges of every network too
    edges = [
        a
        for n in nets
        for a in (
            n.network_address,
            n.broadcast_address,
            n.network_address - 1 if int(n.network_address) else n.network_address,
            n.broadcast_address + 1 if int(n.broadcast_address) < (2**n.max_prefixlen - 1) else n.broadcast_address,
        )
    ]
    for address in [*probes, *edges]:
        expected = any(address.version == n.version and address in n for n in nets)
        if address.version == 6 and address.ipv4_mapped is not None:
            continue  # counted as IPv4 by design
        assert cidrs.contains(address.version, int(address)) is expected, (address, nets)
