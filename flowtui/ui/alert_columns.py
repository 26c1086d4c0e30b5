"""How wide each column of the alerts list is, and how a firing's group and state fit it.

Plain Python, no Textual. Every row shares one width per column, so a long value in one
row must not take room from every other row: each column has the least it shows well
(:class:`AlertRoom`) and the room left is then given out in an order, not by who asks for
most. An IPv4 address is never cut where the terminal has room for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flowtui.alerts.firings import Firing, firing_state
from flowtui.ui.columns import MIN_WIDTH, PADDING, apart_width
from flowtui.ui.formatting import clean, fit, shorten_ipv6

# Too narrow for every column's least: they give way from there, each to the width given, in
# turn: the rule (to the fewest cells that tell the names apart: AlertRoom.rule_apart, first),
# then the group (the addresses) and the state to MIN_WIDTH, then those two further (a state
# of 5 keeps 'new' and 'acked'); the condition last.
GIVE_WAY: tuple[tuple[str, int], ...] = (
    ("rule", MIN_WIDTH), ("rule", 8), ("group", MIN_WIDTH), ("state", MIN_WIDTH), ("state", 5), ("group", 8),
    ("measured", MIN_WIDTH),
)
RULE_APART = 5  # 'port…': the fewest cells a rule name gives way to, narrower than every least
RULE_LEAST = 8  # 'reject-…': a rule name is cut no shorter while its first letters tell it apart
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


@dataclass(frozen=True, slots=True)
class AlertRoom:
    """What each column of the list would take: ``whole`` (its widest value or header), and
    ``least``, what it shows well with: the rule names told apart, every IPv4 address whole
    (an IPv6 one by its ends), each state in its shortest form; ``state_short``: each state with
    its mute's end ('muted→16:18'); ``rule_apart``: the fewest cells the rule names read apart in."""

    whole: dict[str, int]
    least: dict[str, int]
    state_short: int
    rule_apart: int = RULE_APART


def alert_columns(room: AlertRoom, width: int) -> tuple[list[str], dict[str, int]]:
    """(the columns that fit ``width`` cells, the most each may take).

    The condition (the value measured against the threshold, the point of the rule) is whole;
    the time it fired, the rule, the group and the state get their least (the time without its
    seconds: '11-26 10:00'). What is left goes to the time's seconds (all of them or none),
    then to the rule's whole name (two rules sharing a prefix, 'db-egress' and 'db-errors', read
    apart), then to the state's mute ('muted→16:18'), then to the group whole (the middle of
    IPv6 addresses), then to the state whole ('acked, muted until 16:18'), and last to the flow
    count (the line under the table says it, and has the rule, the group and the state whole).
    Narrower than every least, they give way in turn (GIVE_WAY).
    """
    whole = room.whole
    shown = [c for c in whole if c != "flows"]
    caps = {c: min(whole[c], room.least.get(c, whole[c])) for c in shown}
    left = width - sum(caps[c] + PADDING for c in shown)
    if left < 0:
        for name, floor in (*GIVE_WAY[:2], ("rule", room.rule_apart), *GIVE_WAY[2:]):
            cut = min(-left, max(0, caps[name] - min(floor, caps[name])))
            caps[name] -= cut
            left += cut
        return shown, caps
    if whole["fired"] - caps["fired"] <= left:
        left -= whole["fired"] - caps["fired"]
        caps["fired"] = whole["fired"]
    for name, target in (("rule", whole["rule"]), ("state", room.state_short), ("group", whole["group"]), ("state", whole["state"])):
        more = max(0, min(target - caps[name], left))
        caps[name] += more
        left -= more
    if "flows" in whole and whole["flows"] + PADDING <= left:
        caps["flows"] = whole["flows"]
        shown = [c for c in whole if c in caps]
    return shown, caps


def alert_room(
    firings: Sequence[Firing], texts: Sequence[Sequence[str]], headers: dict[str, str], states: Sequence[list[str]],
    minutes: Sequence[str] = (),
) -> AlertRoom:
    """The room the list's columns would take: ``texts`` are each firing's cells in ``headers``'
    order, ``states`` each firing's state forms (:func:`state_forms`), ``minutes`` each firing's
    time without its seconds (the least its column gives way to)."""
    names = list(headers)
    whole = {c: len(h) for c, h in headers.items()}
    for cells in texts:
        for c, t in zip(names, cells):
            whole[c] = max(whole[c], len(t))
    least = {
        "fired": max([len(headers["fired"]), *map(len, minutes)]) if minutes else whole["fired"],
        "rule": max(len(headers["rule"]), rule_least(f.rule for f in firings)),
        "group": max([len(headers["group"]), *(group_least(f) for f in firings)]),
        "state": max([len(headers["state"]), *(len(forms[-1]) for forms in states)]),
    }
    short = max([least["state"], *(len(forms[min(1, len(forms) - 1)]) for forms in states)])
    return AlertRoom(whole, least, short, rule_least((f.rule for f in firings), RULE_APART))


def rule_least(rules: Iterable[str], least: int = RULE_LEAST) -> int:
    """The fewest cells in which every rule name shown reads apart from the others ('db-egr…',
    'db-err…'), and no fewer than ``least`` (or the longest name, when shorter)."""
    return apart_width(rules, least)


def group_parts(f: Firing) -> tuple[list[str], str]:
    """A firing's group values and what goes between them: ``→`` from a source to a destination."""
    parts = [clean("-" if v is None else str(v).lower() if isinstance(v, bool) else str(v)) for v in f.group.values()]
    return parts, " → " if list(f.group) == ["src_addr", "dst_addr"] else " · "


def group_least(f: Firing) -> int:
    """The fewest cells the group reads in: IPv4 addresses whole, an IPv6 one by its first and
    last groups ('2a05:…:9023'), other values up to MIN_WIDTH."""
    parts, sep = group_parts(f)
    if not parts:
        return len("all flows")
    return sum(_least(p) for p in parts) + len(sep) * (len(parts) - 1)


def _least(value: str) -> int:
    if _IPV4.fullmatch(value):
        return len(value)
    for width in range(5, len(value)):
        short = shorten_ipv6(value, width) if ":" in value else None
        if short is not None:
            return len(short)
    return min(len(value), MIN_WIDTH)


def fit_group(f: Firing, width: int) -> str:
    """The group in ``width`` cells, each value giving way in its own middle (two IPv6 addresses
    stay two: ``2a05:d018:…:a021 → 2001:db8:…:90d3``). An IPv4 address and other short values
    keep all of theirs while the others can give way; each value's room is what the ones before
    it left (an IPv6 address cut between groups leaves the cells it did not use)."""
    parts, sep = group_parts(f)
    text = sep.join(parts) or "all flows"
    if len(text) <= width or len(parts) < 2:
        return fit(text, width)
    room = max(width - len(sep) * (len(parts) - 1), 0)
    shown: dict[int, str] = {}
    order = sorted(range(len(parts)), key=lambda i: (not _IPV4.fullmatch(parts[i]), len(parts[i])))
    for left, i in enumerate(order):
        rest = order[left + 1 :]
        spare = room - sum(_least(parts[j]) for j in rest)  # what the values after it need at least
        share = room // (len(parts) - left)
        shown[i] = fit(parts[i], min(len(parts[i]), max(share, spare if _IPV4.fullmatch(parts[i]) else share)))
        room -= len(shown[i])
    return sep.join(shown[i] for i in range(len(parts)))


def state_forms(f: Firing, mute_until: float | None, hhmm: str) -> list[str]:
    """A firing's state, longest first: as ``flowtui alerts list`` says it (:func:`firing_state`:
    'acked, muted until 16:18'), then shorter ('acked, muted→16:18', 'acked, muted', 'acked')."""
    full = firing_state(f, mute_until, lambda _: hhmm)
    if mute_until is None:
        return [full]
    if f.acknowledged:
        return [full, f"acked, muted→{hhmm}", "acked, muted", "acked"]
    return [full, f"muted→{hhmm}", "muted"]


def fit_state(forms: Sequence[str], width: int) -> str:
    """The longest of a state's forms that fits ``width`` cells (the shortest cut, when none does)."""
    for form in forms:
        if len(form) <= width:
            return form
    return fit(forms[-1], width, middle=False)


DETAIL_SEP = " · "


def flow_parts(parts: Sequence[Sequence[str]], width: int, most: int) -> list[list[tuple[int, str]]]:
    """Facts laid out over at most ``most`` lines of ``width`` cells, ``DETAIL_SEP`` between them,
    as (index in ``parts``, the form shown) per line; each part is its forms, longest first.

    A part goes whole on the line it starts, or on the next, never cut across two; each takes
    the longest form that fits where it lands (only a form wider than a whole line is cut).
    When they need more than ``most`` lines, the parts take shorter forms first ('198.51.100.87
    → 10.0.0.10' for 'src_addr=198.51.100.87 dst_addr=10.0.0.10'), then the last ones give way:
    ``parts`` go most important first (a narrow terminal drops the window before the mute's end)."""
    for keep in range(len(parts), 0, -1):
        for level in range(max(len(forms) for forms in parts[:keep])):
            lines = _flowed([forms[min(level, len(forms) - 1) :] for forms in parts[:keep]], width)
            if len(lines) <= most:
                return lines
    return [[(0, fit(parts[0][-1], width, middle=False))]] if parts else []


def _flowed(parts: Sequence[Sequence[str]], width: int) -> list[list[tuple[int, str]]]:
    lines: list[list[tuple[int, str]]] = [[]]
    used = 0
    for i, forms in enumerate(parts):
        room = width - used - (len(DETAIL_SEP) if lines[-1] else 0)
        form = next((f for f in forms if len(f) <= room), None)
        if form is None and lines[-1]:
            lines.append([])
            used, room = 0, width
            form = next((f for f in forms if len(f) <= room), None)
        if form is None:
            form = fit(forms[-1], width, middle=False)
        used += len(form) + (len(DETAIL_SEP) if lines[-1] else 0)
        lines[-1].append((i, form))
    return lines
