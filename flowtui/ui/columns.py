"""Which columns of a flow table fit the terminal, and how wide each may be.

A narrow terminal loses the columns an on-call engineer needs least first
(interface, source port, packets, protocol; a CloudTrail event's region and
service), never the ones the query names; if that is not enough, long values
give way (other text at its end first, then an IPv6 address in the middle, by
whole groups; an IPv4 address is always whole), and at last other columns left of the last
named one go, so that every named one is on screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flowtui import catalog
from flowtui.cloudtrail import fields as trail_fields
from flowtui.query.window import TimeWindow
from flowtui.ui.formatting import IPV6_SHORT, fit

# Dropped first to last when the table is too wide (flow fields, then CloudTrail's).
DROP_ORDER: tuple[str, ...] = ("interface_id", "src_port", "packets", "protocol", "log_status", "awsRegion", "eventSource")
# A named flag (threat_indicated …) reads best after who talked to whom, not before it.
ENDPOINTS: tuple[str, ...] = ("src_addr", "src_port", "dst_addr", "dst_port")
SOFT_WIDTH = 24  # long values (IPv6 addresses, names) give way to this before a column is dropped
MIN_WIDTH = 12  # and to this when nothing else helps
IPV4_WIDTH = 15  # '203.0.113.200': an address is cut no shorter, so an IPv4 one is always whole
HEADER_WIDTH = 12  # a long header over short values (a flag's name) gives way to this first
PADDING = 2  # DataTable's cell padding, both sides
# A short list of flows (an address's latest, those around a CloudTrail call): who, how, how much,
# and the interface that logged it, while there is room (a flow between two instances is logged
# at both their interfaces: without it the two records read as one row twice).
FLOW_FIELDS: tuple[str, ...] = (
    "timestamp", "interface_id", "src_addr", "src_port", "dst_addr", "dst_port", "protocol", "action", "packets", "bytes",
)


def widest(columns: Sequence[str], rows: Iterable[Sequence[str]], headers: Sequence[str] | None = None) -> dict[str, int]:
    """Each column's widest text in ``rows`` (one text per column, in ``columns`` order), and its header's."""
    widths = {c: len(h) for c, h in zip(columns, headers)} if headers is not None else dict.fromkeys(columns, 0)
    for texts in rows:
        for c, t in zip(columns, texts):
            widths[c] = max(widths[c], len(t))
    return widths


def plan_columns(
    columns: Sequence[str],
    natural: dict[str, int],
    width: int,
    keep: Sequence[str] = (),
    values: dict[str, int] | None = None,
) -> tuple[list[str], dict[str, int]]:
    """(the columns to show, the most each may take) for a table ``width`` cells wide.

    ``natural`` is each column's widest value (or header); ``keep`` names columns
    never dropped (the ones the query is about). A header wider than its values
    (``values``: the widest value) is cut at its end first, down to HEADER_WIDTH
    ('src_addr_threat_in…'). Whole columns go (in DROP_ORDER) when the table does
    not fit even with long values at SOFT_WIDTH, and come back if there turns out
    to be room. What is still too wide is then taken from the columns shown (see
    :func:`_give_way`): descriptions first, an address last and an IPv4 one never,
    so that the room the dropped columns left goes back to the values that were cut.
    """
    caps = {c: natural.get(c, 0) for c in columns}
    for name in sorted(columns, key=lambda c: -caps[c]):
        excess = _total(columns, caps) - width
        if excess <= 0 or values is None:
            break
        caps[name] -= min(excess, max(0, caps[name] - max(values.get(name, 0), HEADER_WIDTH)))

    def soft(cols: Sequence[str]) -> int:
        return _total(cols, {c: min(caps[c], SOFT_WIDTH) if _is_text(c) else caps[c] for c in cols})

    shown = list(columns)
    dropped: list[str] = []
    for name in DROP_ORDER:
        if soft(shown) <= width:
            break
        if name in shown and name not in keep and len(shown) > 1:
            shown.remove(name)
            dropped.append(name)
    for name in reversed(dropped):  # a later drop may have made room for an earlier one
        candidate = [c for c in columns if c in shown or c == name]
        if soft(candidate) <= width:
            shown = candidate
    fitted = _give_way(shown, caps, width, keep)
    while (upto := _upto_named(shown, keep)) and _total(upto, fitted) > width:
        # The last named column would be off screen: make room left of it.
        spare = [c for c in upto[1:] if c not in keep and c not in ("src_addr", "dst_addr")]
        if not spare:
            break
        shown.remove(next((c for c in DROP_ORDER if c in spare), spare[-1]))  # src_port before dst_port
        fitted = _give_way(shown, caps, width, keep)
    return shown, {c: fitted[c] for c in shown}


def _total(columns: Sequence[str], caps: dict[str, int]) -> int:
    return sum(caps[c] + PADDING for c in columns)


def _give_way(shown: Sequence[str], caps: dict[str, int], width: int, keep: Sequence[str]) -> dict[str, int]:
    """Caps for ``shown`` in ``width``: other text down to SOFT_WIDTH then MIN_WIDTH (the named
    columns last), then IPv6 addresses down to their short form (IPV6_SHORT: '2a05:d018:…:9023');
    an IPv4 address is never cut."""
    out = {c: caps[c] for c in shown}
    excess = _total(shown, out) - width
    words = [c for c in shown if _is_text(c) and not is_ip(c)]
    ips = [c for c in shown if is_ip(c)]
    for group, floor in (
        ([c for c in words if c not in keep], SOFT_WIDTH),
        ([c for c in words if c not in keep], MIN_WIDTH),
        (words, MIN_WIDTH),
        ([c for c in ips if c not in keep], IPV6_SHORT),
        (ips, IPV6_SHORT),
    ):
        excess = _squeeze(group, out, excess, floor)
    return out


def _upto_named(shown: list[str], keep: Sequence[str]) -> list[str]:
    """The columns from the first to the last named one."""
    named = [i for i, c in enumerate(shown) if c in keep]
    return shown[: named[-1] + 1] if named else []


def _squeeze(columns: Sequence[str], caps: dict[str, int], excess: int, floor: int) -> int:
    """Take up to ``excess`` cells from the widest of ``columns``, none below ``floor``; what is still to take."""
    columns = list(columns)
    while excess > 0 and columns:
        widest = max(columns, key=lambda c: caps[c])
        if caps[widest] <= floor:
            break
        caps[widest] -= 1
        excess -= 1
    return excess


def apart_width(values: Iterable[str], least: int = 1) -> int:
    """The fewest cells in which the distinct ``values``, each cut at its end, still read apart
    ('db-egre…' and 'db-erro…', 'eni-0a…' and 'eni-07…'); no fewer than ``least`` (or the
    longest value, when shorter)."""
    distinct = sorted(set(values))
    longest = max(map(len, distinct), default=0)
    for width in range(min(least, longest), longest + 1):
        if len({fit(v, width, middle=False) for v in distinct}) == len(distinct):
            return width
    return longest


def order_columns(columns: Sequence[str], named: Sequence[str]) -> list[str]:
    """The columns to show, in order: a named flag goes after the addresses and ports, not first."""
    flags = [c for c in columns if c in named and field_type(c) == "bool"]
    rest = [c for c in columns if c not in flags]
    ends = [i for i, c in enumerate(rest) if c in ENDPOINTS]
    at = ends[-1] + 1 if ends else len(rest)
    return [*rest[:at], *flags, *rest[at:]]


def cut_in_middle(name: str) -> bool:
    """An address keeps both ends when cut ('2a05:d018:…:9023'); other text keeps its start."""
    return is_ip(name)


def field_type(name: str) -> str | None:
    """A flow or CloudTrail field's type (``ip``, ``int``, ``time``, ``str``, ``bool``); None for another name."""
    f = catalog.BY_NAME.get(name)
    if f is not None:
        return f.type
    t = trail_fields.BY_NAME.get(name)
    return t.type if t is not None else None


def is_ip(name: str) -> bool:
    return field_type(name) == "ip"


def is_numeric(name: str) -> bool:
    """Numbers and times: right-aligned in a table, sorted largest (newest) first."""
    return field_type(name) in ("int", "time")


def _is_text(name: str) -> bool:
    """Only text gives way: a number or a time cut short would mislead."""
    kind = field_type(name)
    return kind is None or kind in ("str", "ip")


def needs_date(window: TimeWindow, now: float) -> bool:
    """Whether times in a table need their date: not when the window spans a day or less."""
    span = window.span(now)
    return span is None or span > 86400


# --- a dashboard pane's columns ------------------------------------------------------------
PANE_METRICS = ("flows", "bytes", "packets")  # a pane's second and third metric, in this order
LABEL_MIN = 8  # who an address is ('web-1', 'tor · NL Onion Relay'): shown at no fewer cells,
LABEL_FIRST = 16  # given this much before an IPv6 address grows past its short form ('spamhaus · RU N…'),
LABEL_MAX = 28  # and this much at most
_VALUE_MIN = {"int": 6, "other": 12}
_VALUE_MAX = {"ip": 39, "int": 6, "other": 30}


def plan_pane(
    by: Sequence[str],
    metric: str,
    widest: Sequence[int],
    width: int,
    *,
    values: Sequence[Sequence[str]] | None = None,
    labels: Sequence[int] | None = None,
) -> tuple[tuple[str, ...], tuple[int, ...], int]:
    """(metric columns, room for each group value, room for each address's label; 0: none) in ``width`` cells.

    ``widest``: the longest value the rows hold in each group column (an address column's
    width follows it). What gets room first: the pane's metric and the addresses in their
    short form — an IPv4 one whole (it is never cut), an IPv6 one by whole groups, its /32
    and its last group ('2a05:d018:…:9023'); then a second metric; then who each address
    is, up to LABEL_FIRST (which threat list matched: 'spamhaus · …'); then the IPv6
    addresses toward whole; then the labels up to LABEL_MAX; then the third metric. An
    IPv6 address's middle is worth less than the list it is on, its ends more.

    The pane's columns are as wide as what they show, so room that shows nothing is room
    lost at the right: with ``values`` (each group column's texts) an IPv6 address column
    grows only to a width that shows another group, and with ``labels`` (the longest label
    each group column's rows have) a label takes no more than its text, and none at all
    when no row has one (a store without enrichment).
    """
    kinds = ["ip" if is_ip(n) else "int" if is_numeric(n) else "other" for n in by]
    # A column is as wide as its header at least ('dst_port' over '22').
    widths = [max(len(n), _pane_floor(k, w)) for n, k, w in zip(by, kinds, widest)]
    wants = [
        max(f, min(w, _VALUE_MAX["ip"])) if k == "ip" else max(f, _VALUE_MAX[k]) for k, f, w in zip(kinds, widths, widest)
    ]
    steps = [_ShownWidths(values[i] if values is not None and i < len(values) else None, len(n)) for i, n in enumerate(by)]
    if values is not None:
        widths = [steps[i].shown(w) if k == "ip" else w for i, (k, w) in enumerate(zip(kinds, widths))]
    addresses = [i for i, k in enumerate(kinds) if k == "ip"]
    texts = [labels[i] if labels is not None and i < len(labels) else LABEL_MAX for i in addresses]
    label_want = min(LABEL_MAX, max(texts, default=0))

    def label_cost(label: int) -> int:  # a label column shows its header ('who') at least
        return sum(max(len("who"), min(label, t)) + PADDING for t in texts) if label else 0

    def best_label(most: int, room: int) -> int:
        """The widest label up to ``most`` whose columns fit ``room`` cells."""
        label = min(most, label_want)
        while label and label_cost(label) > room:
            label -= 1
        return label

    others = [m for m in PANE_METRICS if m != metric]
    metrics = [metric]
    used = sum(w + PADDING for w in widths) + pane_metric_width(metric)
    if used + pane_metric_width(others[0]) <= width:
        metrics.append(others[0])
        used += pane_metric_width(others[0])
    label = 0
    if addresses and len(metrics) == 2 and label_want:
        label = best_label(LABEL_FIRST, width - used)
        if label < min(LABEL_MIN, label_want):
            label = 0
        used += label_cost(label)

    # The addresses widen the narrowest first, to the next width that shows more of one: two
    # IPv6 ones get the same form, not one whole and one cut to its short form.
    below = [i for i in addresses if widths[i] < wants[i]]
    while below:
        i = min(below, key=lambda i: widths[i])
        grown = steps[i].next(widths[i], wants[i])
        if grown is None or used + grown - widths[i] > width:
            below.remove(i)
            continue
        used += grown - widths[i]
        widths[i] = grown
    if label:
        used -= label_cost(label)
        label = best_label(LABEL_MAX, width - used)
        used += label_cost(label)
    if len(metrics) == 2 and label in (0, label_want) and used + pane_metric_width(others[1]) <= width:
        metrics.append(others[1])
        used += pane_metric_width(others[1])
    for i, k in enumerate(kinds):  # what is left widens the other values, in order
        if k != "ip":
            more = max(0, min(wants[i] - widths[i], width - used))
            widths[i] += more
            used += more
    if not label and used > width:  # too narrow even for the short forms: squeeze the values
        short = used - width
        widths = [max(8, w - (short + len(widths) - 1) // len(widths)) for w in widths]
    return tuple(metrics), tuple(widths), label


class _ShownWidths:
    """How wide an address column shows its values at each width it may be given: an IPv6
    address is cut by whole groups, so most widths show no more than a narrower one."""

    def __init__(self, texts: Sequence[str] | None, header: int) -> None:
        self.texts = texts
        self.header = header

    def shown(self, cap: int) -> int:
        """The cells the column takes at ``cap``: its header's or its widest value's (all of it
        when the values are not known)."""
        if not self.texts:
            return cap
        return max(self.header, *(len(fit(t, cap)) for t in self.texts))

    def next(self, cap: int, most: int) -> int | None:
        """The narrowest width up to ``most`` that shows more than ``cap`` does; None: none does."""
        now = self.shown(cap)
        for wider in range(cap + 1, most + 1):
            if self.shown(wider) > now:
                return wider
        return None


def pane_metric_width(metric: str) -> int:
    """A metric column: its label (with ' ▼') or its widest value ('99.9 kB', '12.3k'), and the cell padding."""
    return max(len(metric) + 2, 7) + PADDING


def _pane_floor(kind: str, widest: int) -> int:
    """The fewest cells a group value gets: an IPv4 address whole, an IPv6 one's short form."""
    if kind != "ip":
        return _VALUE_MIN[kind]
    return max(7, min(widest, IPV6_SHORT if widest > IPV4_WIDTH else IPV4_WIDTH))
