"""Alert rules: the ``[[alerts]]`` tables of the config file, checked when they are loaded.

A rule is a query, a window, a condition on what the query matches in the
window (``count > 100``, ``sum(bytes) > 1e9``, ``distinct(dst_port) > 20``),
optionally per group (``group_by = ["src_addr"]``), a cool-down and the
notifiers to tell. Every mistake a user can make in a rule (a bad query, an
unknown field, a condition that does not parse) is a ConfigError naming the
rule, found when the config is loaded rather than when the rule first matches.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flowtui import catalog, schema
from flowtui.alerts.firings import shown_number
from flowtui.config import Config, parse_duration
from flowtui.errors import ConfigError, QueryError
from flowtui.query.compiler import compile_query, unknown_field
from flowtui.query.threat_lists import known_threat_lists

Metric = Literal["count", "sum", "distinct"]
SUMMABLE: tuple[str, ...] = ("bytes", "packets")
DEFAULT_COOLDOWN = 15 * 60
# How far behind the newest flow a flow may arrive and still count. VPC Flow Logs
# aggregate over up to 10 minutes and deliver a few minutes after that.
DEFAULT_LATENESS = 15 * 60
MAX_WINDOW = 86_400
_RULE_KEYS = frozenset(
    ("name", "query", "window", "condition", "group_by", "cooldown", "notifiers", "lateness", "description", "enabled")
)
_CONDITION = re.compile(
    r"""^\s*(?:
        (?P<count>count(?:\s*\(\s*\))?)
      | sum\s*\(\s*(?P<sum>[A-Za-z_][\w]*)\s*\)
      | distinct\s*\(\s*(?P<distinct>[A-Za-z_][\w]*)\s*\)
    )\s*(?P<op>>=|>)\s*(?P<n>[0-9]+(?:\.[0-9]*)?(?:[eE][0-9]+)?)\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
CONDITION_HELP = "use count > N, sum(bytes) > N, sum(packets) > N or distinct(FIELD) > N (or >=)"


@dataclass(frozen=True, slots=True)
class Condition:
    """``metric(field) op threshold`` over the flows a rule matches in one window, per group."""

    metric: Metric
    field: str | None  # bytes/packets for sum, a catalog field for distinct
    op: Literal[">", ">="]
    threshold: float
    text: str

    @property
    def label(self) -> str:
        """``count``, ``sum(bytes)``, ``distinct(dst_port)``."""
        return self.metric if self.field is None else f"{self.metric}({self.field})"

    def holds(self, value: float) -> bool:
        return value > self.threshold if self.op == ">" else value >= self.threshold

    def __str__(self) -> str:
        """As stored with a firing and written in its JSON: ``count > 5000``."""
        return f"{self.label} {self.op} {_number(self.threshold)}"

    @property
    def shown(self) -> str:
        """As people read it, numbers grouped as every table prints them: ``count > 5,000``."""
        return f"{self.label} {self.op} {shown_number(self.threshold)}"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    query: str
    window: int  # seconds
    condition: Condition
    group_by: tuple[str, ...] = ()
    cooldown: int = DEFAULT_COOLDOWN  # seconds of flow time between two firings of one group
    notifiers: tuple[str, ...] = ()
    lateness: int = DEFAULT_LATENESS
    description: str = ""

    @property
    def bucket(self) -> int:
        """Seconds per bucket of the sliding window: a minute when the window is whole minutes."""
        return math.gcd(self.window, 60)

    @property
    def buckets(self) -> int:
        """Buckets per window."""
        return self.window // self.bucket

    @property
    def fields(self) -> tuple[str, ...]:
        """The catalog fields the evaluator reads per flow: the groups', then the distinct one."""
        extra = (self.condition.field,) if self.condition.metric == "distinct" and self.condition.field else ()
        return self.group_by + tuple(f for f in extra if f not in self.group_by)


def parse_condition(text: str) -> Condition:
    """A condition string; ValueError says what is wrong."""
    m = _CONDITION.match(text) if isinstance(text, str) else None
    if m is None:
        what = f"condition {text!r} does not parse" if isinstance(text, str) else "condition must be a string"
        raise ValueError(f"{what}: {CONDITION_HELP}")
    threshold = float(m.group("n"))
    op: Literal[">", ">="] = ">=" if m.group("op") == ">=" else ">"
    if m.group("count") is not None:
        return Condition("count", None, op, threshold, text.strip())
    if m.group("sum") is not None:
        name = m.group("sum")
        if name not in SUMMABLE:
            raise ValueError(f"condition {text!r}: sum() takes bytes or packets, not {name!r}")
        return Condition("sum", name, op, threshold, text.strip())
    name = m.group("distinct")
    check_group_field(name, "distinct()")
    return Condition("distinct", name, op, threshold, text.strip())


def check_group_field(name: str, what: str) -> None:
    """A field flows can be grouped (or counted distinct) by; ValueError otherwise."""
    if name not in catalog.BY_NAME:
        raise ValueError(f"{what}: {unknown_field(name)}")
    if schema.STORAGE[name].kind == "message":
        raise ValueError(f"{what}: message cannot be grouped by; pick its parts (src_addr, dst_port, …)")


def parse_rule(
    table: Mapping[str, Any], where: str = "config", index: int = 0, threat_lists: Collection[str] | None = None
) -> Rule:
    """One ``[[alerts]]`` table; a ConfigError names the rule and what is wrong with it.

    With ``threat_lists`` (the known ids), the threat lists a query names must be among them."""
    raw_name = table.get("name")
    label = f"{where}: [[alerts]] {raw_name!r}" if isinstance(raw_name, str) and raw_name else f"{where}: [[alerts]] #{index + 1}"

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{label}: {message}")

    if not isinstance(raw_name, str) or not raw_name.strip():
        raise fail("needs a name, e.g. name = \"port-scan\"")
    name = raw_name.strip()
    unknown = sorted(set(table) - _RULE_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (rules take {', '.join(sorted(_RULE_KEYS))})")
    query = table.get("query", "*")
    if not isinstance(query, str):
        raise fail("query must be a string")
    query = query.strip() or "*"
    try:
        compile_query(query, threat_lists=threat_lists)
    except QueryError as exc:
        pointer = "\n".join("    " + line for line in exc.pointer().splitlines())
        raise fail(f"bad query at character {exc.start + 1}: {exc.message}\n{pointer}") from None
    window = _seconds(table.get("window", "5m"), "window", fail)
    if not 1 <= window <= MAX_WINDOW:
        raise fail(f"window must be between 1s and 1d, not {table.get('window')!r}")
    try:
        condition = parse_condition(table.get("condition", "count > 0"))
    except ValueError as exc:
        raise fail(str(exc)) from None
    group_by = table.get("group_by", [])
    if isinstance(group_by, str):
        group_by = [group_by]
    if not isinstance(group_by, list) or not all(isinstance(g, str) for g in group_by):
        raise fail("group_by must be a list of field names, e.g. [\"src_addr\"]")
    for g in group_by:
        try:
            check_group_field(g, "group_by")
        except ValueError as exc:
            raise fail(str(exc)) from None
    cooldown = _seconds(table.get("cooldown", DEFAULT_COOLDOWN), "cooldown", fail)
    lateness = _seconds(table.get("lateness", DEFAULT_LATENESS), "lateness", fail)
    if cooldown < 0 or lateness < 0:
        raise fail("cooldown and lateness must not be negative")
    notifiers = table.get("notifiers", [])
    if isinstance(notifiers, str):
        notifiers = [notifiers]
    if not isinstance(notifiers, list) or not all(isinstance(n, str) for n in notifiers):
        raise fail("notifiers must be a list of [notifiers.NAME] names")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise fail("description must be a string")
    return Rule(
        name=name,
        query=query,
        window=window,
        condition=condition,
        group_by=tuple(dict.fromkeys(group_by)),
        cooldown=cooldown,
        notifiers=tuple(dict.fromkeys(notifiers)),
        lateness=lateness,
        description=description,
    )


def load_rules(config: Config) -> list[Rule]:
    """The enabled ``[[alerts]]`` rules of ``config`` (names unique; notifiers are checked by the caller)."""
    where = str(config.path) if config.path else "config"
    rules: list[Rule] = []
    seen: set[str] = set()
    # Only a config that has lists can say an id is wrong (rules handed to a worker come without them).
    lists = known_threat_lists(config) or None
    for i, table in enumerate(config.tables("alerts")):
        enabled = table.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"{where}: [[alerts]] #{i + 1}: enabled must be true or false")
        rule = parse_rule(table, where, i, lists)
        if rule.name in seen:
            raise ConfigError(f"{where}: [[alerts]] {rule.name!r} is defined twice")
        seen.add(rule.name)
        if enabled:
            rules.append(rule)
    return rules


def _seconds(value: Any, what: str, fail: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise fail(f"{what} must be a duration such as \"5m\", not {value!r}")
    try:
        seconds = parse_duration(value, what)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if seconds != int(seconds):
        raise fail(f"{what} must be whole seconds, not {value!r}")
    return int(seconds)


def _number(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"
