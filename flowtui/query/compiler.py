"""Graylog's search syntax → a parameterised SQL condition over ``flows f``.

The result is a small condition tree (:mod:`flowtui.query.conditions`) that
renders to one boolean SQL expression plus its parameters. Field names only
ever come from the catalog (an unknown name is a QueryError) and every value
is a bound parameter, so no text the user types reaches SQL.

Semantics, chosen to match what a Graylog user sees:

* Terms with no operator between them are OR-ed; inside such a list ``+a``
  is required and ``-b``/``NOT b`` is excluded, as in a Lucene BooleanQuery.
  Explicit ``AND``/``OR``/``NOT`` are plain boolean logic, AND binding tighter.
* ``NOT x`` matches every record ``x`` does not, including records where the
  field is missing: leaves may evaluate to NULL, and negation coalesces.
* Keyword fields match case-sensitively (``interface_id:eni-1``), except the
  derived ``protocol``, the fixed sets of :data:`flowtui.catalog.CLOSED_SETS`
  (``action``, ``log_status``, ``X_entity_aws_type``, whose values are checked:
  ``action:REJCT`` is an error, not a query for nothing) and the bare-term
  ``message`` search, which ignore case. A wildcard or regex on a fixed set is
  resolved into the values it matches (``action:rej*`` is ``action:REJECT``),
  so it runs, and uses the rollups, exactly as those values typed would.
* Time values stand for their precision (``timestamp:2026-11-27`` is a day).
* Interned values (strings, addresses with their enrichment, origins) are
  matched in their small tables (``IN (SELECT id …)``, or the ids themselves
  once the engine has looked them up); the flows scan only compares integers.

The SQL functions used here (``regexp``, ``flowtui_list_match``,
``flowtui_message``, ``flowtui_search``) are registered by
:func:`flowtui.query.functions.register`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from luqum import tree as lt

from flowtui import catalog, protocols, schema
from flowtui.errors import QueryError
from flowtui.query import message, syntax, values
from flowtui.query.conditions import FALSE, TRUE, Cond, Resolver, and_, lookup, not_, or_, render, sql
from flowtui.schema import Storage

_THREAT_ALIAS = re.compile("(" + "|".join(catalog.ENRICHED_ADDRESSES) + r")_threat_indicated_(\w[\w.-]*)")
_LIST_ATTR = "threat_indicated_by"
_OPTIONAL = frozenset(s.column for s in schema.STORAGE.values() if not s.core)
_TABLES = {"string": "strings", "address": "addrs", "enrich": "addrs", "origin": "origins"}


@dataclass(frozen=True, slots=True)
class Target:
    """Where a field's value lives and how it compares.

    Flows keep most values in interned tables (``storage``); a scope whose
    rows hold their values directly (CloudTrail events) uses the ``int``
    storage kind for any plain column, ``key`` for the column holding the
    sortable key of an address, and ``each`` for a column holding a JSON list
    (a match on any item matches the row).
    """

    name: str
    type: catalog.FieldType
    storage: Storage
    threat_id: str | None = None  # X_threat_indicated_<id>
    field: str = ""  # the field recorded as named by the query (default: name)
    key: str | None = None  # SQL of the address key, for an address held in the row itself
    each: bool = False  # the column holds a JSON array of values


@dataclass(frozen=True, slots=True)
class Scope:
    """One kind of record a query can search: its field names and its bare-term search.

    The compiler walks the query the same way for every scope, so values,
    wildcards, ranges, CIDR blocks, NOT and _exists_ mean the same everywhere.
    """

    name: str
    resolve: Callable[[str], Target | None]
    names: Callable[[], list[str]]
    term: Callable[[str], Cond]  # a bare term
    phrase: Callable[[str], Cond]  # a bare phrase
    pattern: Callable[[str | None, str], Cond]  # a bare wildcard (LIKE pattern given) or regex


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    text: str
    cond: Cond  # the condition tree; render() it, resolving lookups, to run it
    fields: tuple[str, ...]  # the catalog fields the query names, first mention first
    lists: tuple[str, ...] = ()  # the threat-list ids it names (X_threat_indicated_<id>, X_threat_indicated_by:<id>)

    @property
    def match_all(self) -> bool:
        return self.cond.op == "true"

    @property
    def where(self) -> str:
        """An SQL boolean expression over the table alias ``f`` (flows), lookups as subqueries."""
        return render(self.cond)[0]

    @property
    def params(self) -> tuple[Any, ...]:
        return render(self.cond)[1]

    def render(self, resolve: Resolver | None = None) -> tuple[str, tuple[Any, ...]]:
        """SQL and parameters; with ``resolve``, lookups become ids or constants first."""
        return render(self.cond, resolve)


def _flow_target(name: str) -> Target | None:
    f = catalog.BY_NAME.get(name)
    if f is not None:
        return Target(name, f.type, schema.STORAGE[name])
    m = _THREAT_ALIAS.fullmatch(name)
    if m:
        storage = Storage("enrich", m.group(1), _LIST_ATTR)
        return Target(name, "bool", storage, threat_id=m.group(2), field=f"{m.group(1)}_{_LIST_ATTR}")
    return None


def _flow_names() -> list[str]:
    return [f.name for f in catalog.FIELDS]


FLOWS = Scope("flows", _flow_target, _flow_names, message.term, message.phrase, message.pattern)


def compile_query(
    text: str,
    columns: Collection[str] | None = None,
    scope: Scope = FLOWS,
    threat_lists: Collection[str] | None = None,
) -> CompiledQuery:
    """Compile ``text``; ``columns`` are the flows columns the store has (None: all).

    Custom-format columns a store has not seen yet compile to "no value".
    ``threat_lists`` are the known list ids (:mod:`flowtui.query.threat_lists`): with
    them, X_threat_indicated_<id> or X_threat_indicated_by:<id> naming another id is a
    QueryError (a typo would otherwise match nothing); a wildcard or regex is not checked.
    Compiled queries are cached by text, columns, scope and lists.
    """
    present = None if columns is None else frozenset(c for c in columns if c in _OPTIONAL)
    lists = None if threat_lists is None else frozenset(threat_lists)
    return _compile(text, present, scope, lists)


def unknown_threat_list(list_id: str, known: Collection[str]) -> str:
    """'unknown threat list …' with the closest known id, or the ids there are."""
    close = difflib.get_close_matches(list_id, sorted(known), n=1, cutoff=0.6)
    if close:
        return f"unknown threat list {list_id!r} (did you mean {close[0]}?)"
    if not known:
        return f"unknown threat list {list_id!r} (no lists are configured: [[threat.lists]] in the config)"
    return f"unknown threat list {list_id!r} (lists: {', '.join(sorted(known))})"


@lru_cache(maxsize=1024)
def _compile(text: str, present: frozenset[str] | None, scope: Scope, lists: frozenset[str] | None = None) -> CompiledQuery:
    parsed = syntax.parse(text)
    c = _Compiler(parsed, present, scope, lists)
    cond = TRUE if parsed.tree is None else c.node(parsed.tree, None)
    return CompiledQuery(text, cond, tuple(dict.fromkeys(c.fields)), tuple(dict.fromkeys(c.lists)))


def field_names(scope: Scope = FLOWS) -> list[str]:
    """Every name a query may use before ':' (catalog fields and _exists_)."""
    return scope.names() + ["_exists_"]


def unknown_field(name: str, scope: Scope = FLOWS) -> str:
    """'unknown field …' with the closest catalog names, for queries and --fields alike."""
    names = field_names(scope)
    lowered: dict[str, str] = {}
    for n in names:
        lowered.setdefault(n.lower(), n)
    close = [lowered[name.lower()]] if name.lower() in lowered else []  # eventname → eventName
    if not close:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.6)
    hint = "flowtui fields lists them" if scope is FLOWS else f"flowtui fields --source {scope.name} lists them"
    if close:
        return f"unknown field {name!r} (did you mean {close[0]}?)"
    return f"unknown field {name!r} ({hint})"


# --- the tree walk -----------------------------------------------------------------------


class _Compiler:
    def __init__(
        self, parsed: syntax.Parsed, present: frozenset[str] | None, scope: Scope, lists: frozenset[str] | None = None
    ) -> None:
        self.parsed = parsed
        self.present = present
        self.scope = scope
        self.known = lists
        self.fields: list[str] = []
        self.lists: list[str] = []  # the list ids named, checked against ``known`` when given

    def list_id(self, list_id: str, start: int, end: int) -> None:
        """A threat-list id the query names; unknown (when the ids are known), a QueryError there."""
        if self.known is not None and list_id not in self.known:
            raise self.parsed.error(unknown_threat_list(list_id, self.known), start, end)
        self.lists.append(list_id)

    def error(self, message: str, item: lt.Item) -> QueryError:
        start, end = self.parsed.span(item)
        return self.parsed.error(message, start, end)

    def node(self, item: lt.Item, target: Target | None) -> Cond:
        if isinstance(item, lt.SearchField):
            if target is not None:
                start, end = self.parsed.span(item)
                value = self.parsed.text[start:end].replace('"', '\\"')
                raise self.error(
                    f"a field cannot be searched inside another field's value; to search for a value with ':' in it,"
                    f' quote it: {target.name}:"{value}"',
                    item,
                )
            return self.search_field(item)
        if isinstance(item, (lt.Group, lt.FieldGroup)):
            return self.node(item.expr, target)
        if isinstance(item, lt.AndOperation):
            return and_([self.node(op, target) for op in item.operands])
        if isinstance(item, lt.OrOperation):
            return or_([self.node(op, target) for op in item.operands])
        if isinstance(item, lt.UnknownOperation):
            return self.clauses(item.operands, target)
        if isinstance(item, (lt.Not, lt.Prohibit)):
            return not_(self.node(item.a, target))
        if isinstance(item, lt.Plus):
            return self.node(item.a, target)
        if isinstance(item, lt.Boost):
            return self.node(item.expr, target)
        if isinstance(item, (lt.Fuzzy, lt.Proximity)):
            raise self.error("fuzzy and proximity searches ('~') are not supported", item)
        if target is None:
            if isinstance(item, lt.Word) and item.value == "*":
                return TRUE
            target = self.resolve("message", item)
        if isinstance(item, lt.Word):
            return self.term(target, values.word(item.value), item)
        if isinstance(item, lt.Phrase):
            return self.phrase(target, values.phrase(item.value), item)
        if isinstance(item, lt.Regex):
            return self.regex(target, item)
        if isinstance(item, (lt.Range, lt.From, lt.To)):
            return self.range(target, item)
        raise self.error(f"unexpected {str(item)!r}", item)

    def clauses(self, operands: Sequence[lt.Item], target: Target | None) -> Cond:
        """A Lucene clause list: +must, -must_not, and should (OR-ed, optional when a must exists)."""
        must: list[Cond] = []
        should: list[Cond] = []
        must_not: list[Cond] = []
        for op in operands:
            if isinstance(op, lt.Plus):
                must.append(self.node(op.a, target))
            elif isinstance(op, (lt.Prohibit, lt.Not)):
                must_not.append(self.node(op.a, target))
            else:
                should.append(self.node(op, target))
        positive = and_(must) if must else or_(should) if should else TRUE
        return and_([positive, *(not_(f) for f in must_not)])

    def search_field(self, item: lt.SearchField) -> Cond:
        name: str = item.name
        start, _ = self.parsed.span(item)
        name_span = (start, start + len(name))
        expr = item.expr
        if name in ("_exists_", "_missing_"):
            if not isinstance(expr, (lt.Word, lt.Phrase)):
                raise self.error(f"{name} takes a field name, e.g. {name}:vpc_id", expr)
            raw = values.phrase(expr.value) if isinstance(expr, lt.Phrase) else values.word(expr.value).literal
            frag = self.exists(self.resolve(raw, expr))
            return frag if name == "_exists_" else not_(frag)
        if name == "*":
            if isinstance(expr, lt.Word) and expr.value == "*":
                return TRUE
            return self.node(expr, None)
        target = self.resolve(name, item, name_span)
        return self.node(expr, target)

    def resolve(self, name: str, item: lt.Item, span: tuple[int, int] | None = None) -> Target:
        target = self.scope.resolve(name)
        start, end = span if span is not None else self.parsed.span(item)
        if target is None:
            raise self.parsed.error(unknown_field(name, self.scope), start, end)
        if target.threat_id is not None:
            self.list_id(target.threat_id, start, end)
        self.fields.append(target.field or target.name)
        return target

    # --- where a value lives --------------------------------------------------------------

    def missing(self, t: Target) -> bool:
        s = t.storage
        return not s.core and self.present is not None and s.column not in self.present

    def value_sql(self, t: Target) -> str:
        """The SQL expression holding the field's value, inside its table."""
        s = t.storage
        if s.kind == "int":
            return "value" if t.each else f'f."{s.column}"'
        if s.kind == "end":
            return '(f."start" + f."duration")'
        if s.kind == "string":
            return "value"
        if s.kind == "address":
            return "ip"
        return f'"{s.attr}"'

    def wrap(self, t: Target, pred: str, params: tuple[Any, ...]) -> Cond:
        """A condition on the value, as a condition on the flow."""
        if self.missing(t):
            return FALSE
        s = t.storage
        if t.each:
            return sql(f'EXISTS (SELECT 1 FROM json_each(f."{s.column}") WHERE {pred})', params)
        if s.kind in ("int", "end"):
            return sql(pred, params)
        return lookup(f'f."{s.column}"', _TABLES[s.kind], pred, params)

    # --- leaves -------------------------------------------------------------------------

    def exists(self, t: Target) -> Cond:
        s = t.storage
        if t.threat_id is not None:
            return self.member(t, True)
        if s.kind == "message":
            return TRUE
        if s.kind in ("int", "string", "address", "protocol"):
            return FALSE if self.missing(t) else sql(f'f."{s.column}" IS NOT NULL')
        if s.kind == "end":
            return sql('f."duration" IS NOT NULL')
        if s.attr == _LIST_ATTR:
            return self.wrap(t, f"coalesce(\"{s.attr}\", '') <> ''", ())
        return self.wrap(t, f'"{s.attr}" IS NOT NULL', ())

    def member(self, t: Target, listed: bool) -> Cond:
        """X_threat_indicated_<id>: whether <id> is among the address's lists."""
        has = f"instr(',' || coalesce(\"{_LIST_ATTR}\", '') || ',', ?) > 0"
        if listed:
            return self.wrap(t, has, (f",{t.threat_id},",))
        return self.wrap(t, f'"threat_indicated" IS NOT NULL AND NOT {has}', (f",{t.threat_id},",))

    def term(self, t: Target, term: values.Term, item: lt.Item) -> Cond:
        if term.match_all:
            return self.exists(t)
        if term.wildcard:
            return self.wildcard(t, term, item)
        return self.equals(t, term.literal, item)

    def phrase(self, t: Target, text: str, item: lt.Item) -> Cond:
        if t.storage.kind == "message":
            return self.scope.phrase(text)
        return self.equals(t, text, item)

    def equals(self, t: Target, text: str, item: lt.Item) -> Cond:
        kind = t.storage.kind
        if kind == "message":
            return self.scope.term(text)
        if kind == "protocol":
            number = protocols.protocol_number(text)
            if number is None or not 0 <= number <= 255:
                raise self.error(f"{text!r} is not a protocol: use a keyword (TCP, UDP, ICMP …) or a number", item)
            return message.protocol_in([number])
        v = self.value_sql(t)
        try:
            if t.threat_id is not None:
                return self.member(t, values.boolean(text))
            if t.name in values.KEYWORDS:
                text = values.keyword(t.name, text)
            if t.type == "bool":
                return self.wrap(t, f"{v} = ?", (int(values.boolean(text)),))
            if t.type == "int":
                return self.wrap(t, f"{v} = ?", (values.number(text),))
            if t.type == "time":
                lo, hi = values.time_interval(text)
                if lo == hi:
                    return self.wrap(t, f"{v} = ?", (lo,))
                return self.wrap(t, f"{v} BETWEEN ? AND ?", (lo, hi))
            if t.type == "ip":
                key = t.key or "ipkey"
                if "/" in text:
                    return self.wrap(t, f"{key} BETWEEN ? AND ?", values.cidr(text))
                if t.key is None or _address_like(text):
                    return self.wrap(t, f"{key} = ?", (values.address_key(text),))
                # An address held in the row may be a name instead (CloudTrail: ec2.amazonaws.com).
        except ValueError as exc:
            raise self.error(f"{t.name}: {exc}", item) from None
        if t.storage.attr == _LIST_ATTR:
            start, end = self.parsed.span(item)
            for list_id in filter(None, text.split(",")):
                self.list_id(list_id, start, end)
        if t.storage.attr == _LIST_ATTR and "," not in text:  # one list id: membership
            return self.wrap(t, f"instr(',' || {v} || ',', ?) > 0", (f",{text},",))
        return self.wrap(t, f"{v} = ?", (text,))

    def wildcard(self, t: Target, term: values.Term, item: lt.Item) -> Cond:
        kind = t.storage.kind
        if kind == "message":
            return self.scope.pattern(term.like(), term.regex())
        if kind == "protocol":
            rx = values.compiled("(?i)" + term.regex())
            return message.protocol_in([n for n, name in message.PROTOCOLS if rx.fullmatch(name)])
        if t.type == "bool":
            raise self.error(f"{t.name}: {term.literal!r} is not a boolean: use true or false", item)
        if t.name in values.KEYWORDS:
            return self.one_of(t, term.regex(), repr(term.literal), item)
        v = self.value_sql(t)
        if t.storage.attr == _LIST_ATTR:
            return self.wrap(t, f"flowtui_list_match(?, {v})", (term.regex(),))
        if t.type in ("int", "time"):
            return self.wrap(t, f"CAST({v} AS TEXT) GLOB ?", (term.glob(),))
        return self.wrap(t, f"{v} GLOB ?", (term.glob(),))

    def regex(self, t: Target, item: lt.Regex) -> Cond:
        source = values.regex_source(item.value)
        try:
            values.compiled(source)
        except re.error as exc:
            start, end = self.parsed.span(item)
            if exc.pos is not None and "\\/" not in item.value:
                start = min(start + 1 + exc.pos, end - 1)
                end = start + 1
            raise self.parsed.error(f"bad regular expression: {exc.msg}", start, end) from None
        kind = t.storage.kind
        if kind == "message":
            return self.scope.pattern(None, f"(?:{source})")
        if kind == "protocol":
            rx = values.compiled(f"(?i:{source})")
            return message.protocol_in([n for n, name in message.PROTOCOLS if rx.fullmatch(name)])
        if t.type == "bool":
            raise self.error(f"{t.name} is true or false; a regular expression cannot match it", item)
        if t.name in values.KEYWORDS:
            return self.one_of(t, source, item.value, item)
        v = self.value_sql(t)
        if t.storage.attr == _LIST_ATTR:
            return self.wrap(t, f"flowtui_list_match(?, {v})", (source,))
        if t.type in ("int", "time"):
            v = f"CAST({v} AS TEXT)"
        return self.wrap(t, f"{v} REGEXP ?", (source,))

    def one_of(self, t: Target, pattern: str, shown: str, item: lt.Item) -> Cond:
        """A wildcard or regex on a fixed set: the set's values it matches in any case, each as if typed."""
        try:
            matched = values.keywords_matching(t.name, pattern, shown)
        except ValueError as exc:
            raise self.error(f"{t.name}: {exc}", item) from None
        return or_([self.equals(t, value, item) for value in matched])

    def range(self, t: Target, item: lt.Item) -> Cond:
        if isinstance(item, lt.Range):
            low, high, inc_low, inc_high = item.low, item.high, item.include_low, item.include_high
        elif isinstance(item, lt.From):
            low, high, inc_low, inc_high = item.a, None, item.include, True
        else:
            assert isinstance(item, lt.To)
            low, high, inc_low, inc_high = None, item.a, True, item.include
        lo_text = self.bound(low)
        hi_text = self.bound(high)
        kind = t.storage.kind
        if kind == "message" or t.type == "bool" or t.storage.attr == _LIST_ATTR:
            raise self.error(f"{t.name} cannot be searched by range", item)
        if lo_text is None and hi_text is None:
            return self.exists(t)
        conds: list[str] = []
        params: list[Any] = []

        def bound(text: str | None, node: lt.Item | None, is_low: bool, inclusive: bool) -> None:
            if text is None:
                return
            assert node is not None
            try:
                first, last = self.bound_keys(t, text)
            except ValueError as exc:
                raise self.error(f"{t.name}: {exc}", node) from None
            if is_low:
                conds.append(">= ?" if inclusive else "> ?")
                params.append(first if inclusive else last)
            else:
                conds.append("<= ?" if inclusive else "< ?")
                params.append(last if inclusive else first)

        bound(lo_text, low, True, inc_low)
        bound(hi_text, high, False, inc_high)
        if kind == "protocol":
            v = 'f."protocol_number"'
            return sql(" AND ".join(f"{v} {c}" for c in conds), tuple(params))
        v = (t.key or "ipkey") if t.type == "ip" else self.value_sql(t)
        pred = " AND ".join(f"{v} {c}" for c in conds)
        return self.wrap(t, pred if len(conds) == 1 else f"({pred})", tuple(params))

    def bound(self, node: lt.Item | None) -> str | None:
        """A range bound as text; None for an open end (``*``)."""
        if node is None:
            return None
        if isinstance(node, lt.Prohibit) and isinstance(node.a, lt.Word):
            return "-" + values.word(node.a.value).literal
        if isinstance(node, lt.Phrase):
            return values.phrase(node.value)
        if isinstance(node, lt.Word):
            if node.value == "*":
                return None
            return values.word(node.value).literal
        raise self.error(f"bad range bound {str(node)!r}", node)

    def bound_keys(self, t: Target, text: str) -> tuple[Any, Any]:
        """The first and last comparable key a bound stands for."""
        if t.storage.kind == "protocol":
            number = protocols.protocol_number(text)
            if number is None or number > 255:
                raise ValueError(f"{text!r} is not a protocol")
            return number, number
        if t.type == "int":
            n = values.number(text)
            return n, n
        if t.type == "time":
            return values.time_interval(text)
        if t.type == "ip":
            return values.cidr(text)
        return text, text


def _address_like(text: str) -> bool:
    """Whether text is meant as an address (digits, dots, colons): a bad one is an error, not a name."""
    return bool(text) and all(c in "0123456789abcdefABCDEF.:" for c in text) and any(c.isdigit() for c in text)
