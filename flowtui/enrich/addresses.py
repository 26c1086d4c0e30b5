"""Sets of networks matched in O(log n): sorted, merged integer intervals + bisect.

Threat lists hold tens of thousands of CIDRs and the internal ranges a handful;
both are asked "does this address fall in the set?" once per new address (the
enricher caches the answer per address). A merged interval list answers that
with one ``bisect`` per address family, whatever the number of networks.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable
from typing import NamedTuple

# The default internal ranges: RFC 1918, shared address space (RFC 6598) and
# IPv6 unique local addresses, when [enrich] internal_cidrs names none; the
# inventory's VPC CIDRs are internal besides.
DEFAULT_INTERNAL_CIDRS: tuple[str, ...] = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
)


class Interval(NamedTuple):
    """A network as the integers of its first and last address, inclusive."""

    version: int  # 4 or 6
    first: int
    last: int


def parse_network(text: str) -> Interval:
    """``10.0.0.0/8``, ``2001:db8::/32`` or a bare address; host bits are ignored.

    Raises ValueError for anything that is not an address or a network.
    """
    text = text.strip()
    if "/" in text:
        net = ipaddress.ip_network(text, strict=False)
        return Interval(net.version, int(net.network_address), int(net.broadcast_address))
    addr = ipaddress.ip_address(text)
    value = int(addr)
    return Interval(addr.version, value, value)


def parse_address(text: str) -> tuple[int, int]:
    """(version, integer) of an address; an IPv4-mapped IPv6 address counts as IPv4."""
    addr = ipaddress.ip_address(text)
    if addr.version == 6:
        mapped = addr.ipv4_mapped  # type: ignore[union-attr]
        if mapped is not None:
            return 4, int(mapped)
    return addr.version, int(addr)


def _merge(intervals: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    intervals.sort()
    firsts: list[int] = []
    lasts: list[int] = []
    for first, last in intervals:
        if lasts and first <= lasts[-1] + 1:  # overlapping or adjacent
            lasts[-1] = max(lasts[-1], last)
        else:
            firsts.append(first)
            lasts.append(last)
    return firsts, lasts


class CidrSet:
    """An immutable set of IPv4 and IPv6 networks."""

    __slots__ = ("_v4_first", "_v4_last", "_v6_first", "_v6_last", "networks")

    def __init__(self, networks: Iterable[Interval | str] = ()) -> None:
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        count = 0
        for net in networks:
            iv = parse_network(net) if isinstance(net, str) else net
            (v4 if iv.version == 4 else v6).append((iv.first, iv.last))
            count += 1
        self._v4_first, self._v4_last = _merge(v4)
        self._v6_first, self._v6_last = _merge(v6)
        self.networks = count  # as given, before merging

    def __len__(self) -> int:
        """The number of merged intervals."""
        return len(self._v4_first) + len(self._v6_first)

    def __bool__(self) -> bool:
        return bool(self._v4_first or self._v6_first)

    def contains(self, version: int, value: int) -> bool:
        """Whether the address ``value`` (an integer of family ``version``) is in the set."""
        if version == 4:
            firsts, lasts = self._v4_first, self._v4_last
        else:
            firsts, lasts = self._v6_first, self._v6_last
        i = bisect_right(firsts, value) - 1
        return i >= 0 and value <= lasts[i]

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        try:
            version, value = parse_address(address)
        except ValueError:
            return False
        return self.contains(version, value)

    def intervals(self) -> list[Interval]:
        """The merged intervals, IPv4 first."""
        out = [Interval(4, f, la) for f, la in zip(self._v4_first, self._v4_last, strict=True)]
        out += [Interval(6, f, la) for f, la in zip(self._v6_first, self._v6_last, strict=True)]
        return out
