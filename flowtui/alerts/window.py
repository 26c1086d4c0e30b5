"""A rule's sliding window, kept up to date one batch of new flows at a time.

Flows are folded into buckets (a minute, or less for windows that are not
whole minutes) per group; a window is the sum of its buckets, so a new batch
costs its own rows plus a look at the few buckets of the groups it touched,
never a query over the whole window.

Time is the flows' own (``start``), not the clock's: VPC Flow Logs arrive
minutes after the traffic, out of order across interfaces, and a catch-up
after an outage must see the same windows as live reading. The newest bucket
seen is "now"; buckets older than the window plus the rule's lateness are
dropped, and a flow older than that is counted as late and ignored.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flowtui.alerts.rules import Rule

GroupKey = tuple[Any, ...]
# One matching flow: (flows id, start, group key, the distinct field's value or None, bytes, packets)
FlowRow = tuple[int, int, GroupKey, Hashable, int | None, int | None]

MAX_FLOW_IDS = 1000  # flow ids kept per group and bucket, and stored per firing
DISTINCT_CAP = 4096  # distinct values kept per group and bucket (at least threshold + 1)
MAX_GROUPS = 200_000  # groups a rule tracks at once; beyond, new groups wait for old ones to expire


class Bucket:
    """What one group's matching flows add up to in one bucket of time."""

    __slots__ = ("bytes", "flows", "ids", "packets", "values")

    def __init__(self, distinct: bool) -> None:
        self.flows = 0
        self.bytes = 0
        self.packets = 0
        self.values: set[Hashable] | None = set() if distinct else None
        self.ids = array("q")


@dataclass(frozen=True, slots=True)
class Hit:
    """A window in which a group meets the rule's condition."""

    key: GroupKey
    value: float
    start: int  # unix seconds, inclusive
    end: int  # exclusive
    flows: int
    bytes: int
    packets: int
    flow_ids: list[int]


@dataclass
class RuleWindow:
    """The buckets of one rule, per group, and when each group last fired."""

    rule: Rule
    newest: int | None = None  # the newest bucket seen (the rule's "now")
    groups: dict[GroupKey, dict[int, Bucket]] = field(default_factory=dict)
    last_fired: dict[GroupKey, int] = field(default_factory=dict)  # window end of the last firing
    late: int = 0  # flows too old to count
    dropped_groups: int = 0  # flows of new groups refused while MAX_GROUPS were tracked
    _collected_at: int | None = None

    def __post_init__(self) -> None:
        self.width = self.rule.bucket
        self.size = self.rule.buckets
        self.keep = self.size + math.ceil(self.rule.lateness / self.width)
        self.distinct = self.rule.condition.metric == "distinct"
        cap = max(DISTINCT_CAP, int(self.rule.condition.threshold) + 1) if self.distinct else 0
        self.distinct_cap = cap

    # --- folding new flows in --------------------------------------------------------------

    def fold(self, rows: Iterable[FlowRow]) -> dict[GroupKey, tuple[int, int]]:
        """Add flows; returns, per group touched, the first and last bucket that changed."""
        rows = list(rows)
        if not rows:
            return {}
        width = self.width
        top = max(r[1] for r in rows) // width
        if self.newest is None or top > self.newest:
            self.newest = top
        oldest = self.newest - self.keep + 1
        touched: dict[GroupKey, tuple[int, int]] = {}
        groups = self.groups
        distinct, cap = self.distinct, self.distinct_cap
        for fid, start, key, value, nbytes, npackets in rows:
            b = start // width
            if b < oldest:
                self.late += 1
                continue
            buckets = groups.get(key)
            if buckets is None:
                if len(groups) >= MAX_GROUPS:
                    self.dropped_groups += 1
                    continue
                buckets = groups[key] = {}
            bucket = buckets.get(b)
            if bucket is None:
                bucket = buckets[b] = Bucket(distinct)
            bucket.flows += 1
            if nbytes:
                bucket.bytes += nbytes
            if npackets:
                bucket.packets += npackets
            if distinct and value is not None:
                values = bucket.values
                assert values is not None
                if len(values) < cap:
                    values.add(value)
            if len(bucket.ids) < MAX_FLOW_IDS:
                bucket.ids.append(fid)
            span = touched.get(key)
            if span is None:
                touched[key] = (b, b)
            elif b < span[0] or b > span[1]:
                touched[key] = (min(span[0], b), max(span[1], b))
        self._collect(oldest)
        return touched

    def _collect(self, oldest: int) -> None:
        """Drop buckets (and cool-downs) that fell out of reach; once per new bucket."""
        if self._collected_at == oldest:
            return
        self._collected_at = oldest
        empty = []
        for key, buckets in self.groups.items():
            stale = [b for b in buckets if b < oldest]
            for b in stale:
                del buckets[b]
            if not buckets:
                empty.append(key)
        for key in empty:
            del self.groups[key]
        horizon = oldest * self.width - self.rule.cooldown
        for key in [k for k, end in self.last_fired.items() if end < horizon]:
            del self.last_fired[key]

    # --- windows ---------------------------------------------------------------------------

    def window_bounds(self, end_bucket: int) -> tuple[int, int]:
        """Unix seconds [start, end) of the window whose last bucket is ``end_bucket``."""
        return (end_bucket - self.size + 1) * self.width, (end_bucket + 1) * self.width

    def value(self, key: GroupKey, end_bucket: int) -> tuple[float, int, int, int] | None:
        """(condition value, flows, bytes, packets) of a group in the window ending at ``end_bucket``."""
        buckets = self.groups.get(key)
        if not buckets:
            return None
        first = end_bucket - self.size + 1
        inside = [bk for b, bk in buckets.items() if first <= b <= end_bucket]
        if not inside:
            return None
        flows = sum(bk.flows for bk in inside)
        nbytes = sum(bk.bytes for bk in inside)
        packets = sum(bk.packets for bk in inside)
        cond = self.rule.condition
        if cond.metric == "count":
            v: float = flows
        elif cond.metric == "sum":
            v = nbytes if cond.field == "bytes" else packets
        else:
            union: set[Hashable] = set()
            for bk in inside:
                assert bk.values is not None
                union |= bk.values
            v = len(union)
        return v, flows, nbytes, packets

    def check(self, key: GroupKey, first: int, last: int) -> Hit | None:
        """The newest window holding new flows (buckets ``first``..``last``) in which the condition
        holds and the group is not cooling down; None if there is none.

        Only windows that end on a bucket with flows need a look: any other window
        holds a subset of the one ending at the bucket with flows just before it.
        """
        buckets = self.groups.get(key)
        if not buckets or self.newest is None:
            return None
        cond, rule = self.rule.condition, self.rule
        last_end = self.last_fired.get(key)
        ends = sorted((b for b in buckets if first <= b <= min(last + self.size - 1, self.newest)), reverse=True)
        for e in ends:
            got = self.value(key, e)
            if got is None or not cond.holds(got[0]):
                continue
            start, end = self.window_bounds(e)
            if last_end is not None and abs(end - last_end) < rule.cooldown:
                continue
            return Hit(key, got[0], start, end, got[1], got[2], got[3], self.flow_ids(key, e))
        return None

    def flow_ids(self, key: GroupKey, end_bucket: int) -> list[int]:
        buckets = self.groups.get(key, {})
        first = end_bucket - self.size + 1
        ids: list[int] = []
        for b in sorted(b for b in buckets if first <= b <= end_bucket):
            ids.extend(buckets[b].ids)
        ids.sort()
        return ids[:MAX_FLOW_IDS]

    def fired(self, hit: Hit) -> None:
        """Start the group's cool-down at the end of the window that fired."""
        self.last_fired[hit.key] = hit.end

    def totals(self, end_bucket: int | None = None) -> dict[GroupKey, tuple[float, int, int, int]]:
        """Every group's (value, flows, bytes, packets) in the window ending at ``end_bucket``
        (default: the newest), for ``flowtui alerts test`` and for checking against a query."""
        end = self.newest if end_bucket is None else end_bucket
        if end is None:
            return {}
        out = {}
        for key in self.groups:
            got = self.value(key, end)
            if got is not None:
                out[key] = got
        return out
