"""Completion for the query bar: field names, values seen lately, operators.

Given the text and the cursor, the word under the cursor decides what is
offered: a field name (prefix matches first, then looser ones), after
``field:`` the values that field took in the newest flows (most frequent
first), or an operator. Each candidate says which span of the text it
replaces, so the caller needs no parsing of its own.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from flowtui import catalog, schema
from flowtui.errors import FlowtuiError
from flowtui.query.decode import Decoder
from flowtui.store import Store

Kind = Literal["field", "value", "operator"]
RECENT_FLOWS = 5000  # how far back value suggestions look
_BOUNDARY = set(" \t\n()")
_NEEDS_QUOTES = set(" \t:()[]{}\"\\/^~*?<>'")
_OPERATORS = ("AND", "OR", "NOT")
_PREFIXES = "+-!"


@dataclass(frozen=True, slots=True)
class Completion:
    text: str  # the replacement for query[start:end]
    start: int
    end: int
    kind: Kind


def completions(
    text: str,
    cursor: int,
    store: Store | None = None,
    limit: int = 50,
    names: list[str] | None = None,
    values: Callable[[str], list[str]] | None = None,
) -> list[Completion]:
    """Candidates for the word at ``cursor`` in ``text``, best first.

    ``names`` and ``values`` (a field's recent values) complete another scope than
    the flows (CloudTrail); by default the flow catalog and the store's flows.
    """
    cursor = max(0, min(cursor, len(text)))
    start = _word_start(text, cursor)
    end = cursor
    while end < len(text) and text[end] not in _BOUNDARY:
        end += 1
    while start < cursor and text[start] in _PREFIXES:
        start += 1
    word = text[start:cursor]
    if not word and text[:start].endswith(")"):
        return []  # right after a closed group only a space or an operator can follow
    colon = _unescaped_colon(word)
    if colon is None:
        fields = [Completion(name + ":", start, end, "field") for name in match_fields(word, names)]
        allowed = _OPERATORS if _has_term_before(text, start) else ("NOT",)
        ops = [Completion(op, start, end, "operator") for op in allowed if word and op.startswith(word.upper())]
        # Operators are written in capitals: a capital word asks for one first.
        out = ops + fields if word.isupper() else fields + ops
        return out[:limit]
    field = word[:colon]
    vstart = start + colon + 1
    prefix = word[colon + 1 :]
    for op in (">=", "<=", ">", "<", "(", "["):
        if prefix.startswith(op):
            vstart += len(op)
            prefix = prefix[len(op) :]
            break
    if field == "_exists_":
        return [Completion(n, vstart, end, "field") for n in match_fields(prefix, names)][:limit]
    if names is not None:
        candidates = values(field) if values is not None and field in names else []
    elif field not in catalog.BY_NAME:
        return []
    else:
        candidates = field_values(store, field) if store is not None else []
    bare = prefix.removeprefix('"')
    low = bare.lower()
    out = []
    for value in candidates:
        if value.lower().startswith(low):
            out.append(Completion(quote(value), vstart, end, "value"))
    return out[:limit]


def match_fields(prefix: str, scope_names: list[str] | None = None) -> list[str]:
    """Field names for ``prefix``: prefix then substring matches; failing those, looser ones."""
    names = (scope_names if scope_names is not None else [f.name for f in catalog.FIELDS]) + ["_exists_"]
    if not prefix:
        return names
    p = prefix.lower()
    ranked: list[str] = [n for n in names if n.lower().startswith(p)]
    ranked += [n for n in names if p in n.lower() and n not in ranked]
    if not ranked:
        ranked = [n for n in names if _subsequence(p, n.lower())]
    if not ranked:
        ranked = difflib.get_close_matches(p, names, n=3, cutoff=0.6)
    return ranked


def field_values(store: Store, field: str, recent: int = RECENT_FLOWS) -> list[str]:
    """The values ``field`` took in the newest ``recent`` flows, most frequent first."""
    f = catalog.BY_NAME[field]
    if f.type == "bool":
        return ["true", "false"]
    s = schema.STORAGE[field]
    if s.kind in ("message", "end") or f.type == "time":
        return []
    if not s.core and not store.has_column(s.column):
        return []
    try:
        expr, decode = Decoder(store).value(field)
    except FlowtuiError:
        return []
    sql = f"SELECT {expr} AS v, count(*) FROM (SELECT * FROM flows ORDER BY id DESC LIMIT ?) f GROUP BY v"
    counts: Counter[str] = Counter()
    for v, n in store.conn.execute(sql, (recent,)):
        value = decode(v)
        if value is not None:
            counts[str(value)] += n
    return [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def quote(value: str) -> str:
    """A value as it must be typed: quoted when Lucene would split or misread it."""
    if value in ("AND", "OR", "NOT", "TO") or any(c in _NEEDS_QUOTES for c in value) or value[:1] in "+-!" or not value:
        if ":" in value and _looks_ipv6(value):
            return value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _looks_ipv6(value: str) -> bool:
    return all(c in "0123456789abcdefABCDEF:." for c in value) and value.count(":") >= 2


def _word_start(text: str, cursor: int) -> int:
    i = cursor
    in_quote = text[:cursor].count('"') - text[:cursor].count('\\"')
    while i > 0:
        ch = text[i - 1]
        if ch == '"' and (i < 2 or text[i - 2] != "\\"):
            in_quote -= 1
        elif ch in _BOUNDARY and in_quote % 2 == 0 and (i < 2 or text[i - 2] != "\\"):
            break
        i -= 1
    return i


def _unescaped_colon(word: str) -> int | None:
    i = 0
    while i < len(word):
        if word[i] == "\\":
            i += 2
            continue
        if word[i] == '"':
            return None
        if word[i] == ":":
            return i
        i += 1
    return None


def _has_term_before(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return bool(before) and not before.endswith("(") and before.split()[-1].upper() not in _OPERATORS


def _subsequence(needle: str, name: str) -> bool:
    it = iter(name)
    return all(c in it for c in needle)
