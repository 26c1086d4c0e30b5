"""What a query value means for a field of a given type.

Lucene terms arrive escaped (``10.0.0.0\\/8``) and may hold the wildcards ``*``
and ``?``; this module turns them into literals, GLOB/LIKE patterns or Python
regular expressions, and reads numbers, booleans, times and addresses. Every
function raises ValueError with a sentence for the user; the compiler adds the
position.
"""

from __future__ import annotations

import calendar
import difflib
import ipaddress
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flowtui import catalog, schema

_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Term:
    """A term's value: literal text, or literal pieces with wildcards between them."""

    literal: str  # the unescaped text (wildcards kept as typed)
    parts: tuple[str, ...] | None = None  # pieces split on wildcards: text, "*", "?", text …; None: no wildcard

    @property
    def wildcard(self) -> bool:
        return self.parts is not None

    @property
    def match_all(self) -> bool:
        return self.parts is not None and all(p == "*" for p in self.parts if p)

    def glob(self) -> str:
        """SQLite GLOB pattern (case-sensitive); GLOB's own metacharacters escaped."""
        assert self.parts is not None
        out = []
        for i, piece in enumerate(self.parts):
            if i % 2:
                out.append(piece)
            else:
                out.append(piece.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]"))
        return "".join(out)

    def like(self) -> str:
        """SQLite LIKE pattern (ASCII case-insensitive) for ``ESCAPE '\\'``."""
        assert self.parts is not None
        out = []
        for i, piece in enumerate(self.parts):
            if i % 2:
                out.append("%" if piece == "*" else "_")
            else:
                out.append(piece.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
        return "".join(out)

    def regex(self) -> str:
        """A Python regex (for re.fullmatch) equivalent to the wildcard pattern."""
        assert self.parts is not None
        out = []
        for i, piece in enumerate(self.parts):
            if i % 2:
                out.append(".*" if piece == "*" else ".")
            else:
                out.append(re.escape(piece))
        return "(?s:" + "".join(out) + ")"


def word(raw: str) -> Term:
    """A luqum Word's value: unescape it and find its unescaped wildcards."""
    if "\\" not in raw and "*" not in raw and "?" not in raw:
        return Term(raw)
    pieces: list[str] = []
    current: list[str] = []
    literal: list[str] = []
    wildcard = False
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            current.append(raw[i + 1])
            literal.append(raw[i + 1])
            i += 2
            continue
        if ch in "*?":
            wildcard = True
            pieces.append("".join(current))
            pieces.append(ch)
            current = []
        else:
            current.append(ch)
        literal.append(ch)
        i += 1
    pieces.append("".join(current))
    return Term("".join(literal), tuple(pieces) if wildcard else None)


def phrase(raw: str) -> str:
    """A luqum Phrase's value (with its quotes) as plain text; no wildcards in phrases."""
    return _ESCAPED.sub(r"\1", raw[1:-1])


def regex_source(raw: str) -> str:
    """A luqum Regex's value (with its slashes) as a Python pattern; ``\\/`` is a slash."""
    return raw[1:-1].replace("\\/", "/")


@lru_cache(maxsize=512)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# --- numbers, booleans, times, addresses ---------------------------------------------------

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")


_INT64 = 2**63 - 1


def number(text: str) -> int | float:
    """An integer (or, past SQLite's 64 bits or with a fraction, a float) written in ``text``."""
    if _INT.fullmatch(text):
        n = int(text)
        return n if -_INT64 - 1 <= n <= _INT64 else float(n)
    if _FLOAT.fullmatch(text):
        v = float(text)
        if not math.isfinite(v):
            raise ValueError(f"{text!r} is out of range")
        return v
    raise ValueError(f"{text!r} is not a number")


def boolean(text: str) -> bool:
    low = text.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise ValueError(f"{text!r} is not a boolean: use true or false")


# Fields whose values are a fixed set (the catalog's): a value outside it is a typo, not a query for nothing.
KEYWORDS: dict[str, tuple[str, ...]] = catalog.CLOSED_SETS


def keyword(field: str, text: str) -> str:
    """``text`` as one of ``field``'s values (any case: ``reject`` is REJECT), or why it is none."""
    choices = KEYWORDS[field]
    upper = text.upper()
    if upper in choices:
        return upper
    close = difflib.get_close_matches(upper, choices, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ValueError(f"{text!r} is not {', '.join(choices[:-1])} or {choices[-1]}{hint}")


def keywords_matching(field: str, pattern: str, shown: str) -> list[str]:
    """The values of ``field``'s set that the regex ``pattern`` matches whole, in any case.

    A wildcard or regex on a fixed set is resolved here, at compile time, into the values it
    stands for, so ``action:rej*`` runs as ``action:REJECT`` does (and the rollups that hold
    only REJECTs still answer it). One that matches none is a typo (``shown`` is what the user
    typed), as an exact value outside the set is.
    """
    choices = KEYWORDS[field]
    rx = re.compile(pattern, re.IGNORECASE)
    matched = [c for c in choices if rx.fullmatch(c)]
    if not matched:
        raise ValueError(f"{shown} matches none of {', '.join(choices[:-1])} or {choices[-1]}")
    return matched


_UNIX = re.compile(r"\d+(\.\d*)?")
_ISO = re.compile(
    r"(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?)?"
    r"(?P<tz>Z|z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)


def time_interval(text: str) -> tuple[int, int]:
    """The seconds a time value stands for, as an inclusive (first, last) pair.

    Unix seconds stand for themselves; an ISO 8601 value stands for its whole
    precision (``2026-11-27`` is that day, ``2026-11-27T10:00`` that minute),
    which is how Elasticsearch fills in missing date parts. No zone means UTC.
    """
    t = text.strip()
    if _UNIX.fullmatch(t):
        v = int(t.split(".")[0])
        if v > _INT64:
            raise ValueError(f"{text!r} is out of range")
        return v, v
    m = _ISO.fullmatch(t)
    if not m:
        raise ValueError(f"{text!r} is not a time: use unix seconds or ISO 8601, e.g. 2026-11-27T10:00:00Z")
    g = m.groupdict()
    try:
        first = datetime(
            int(g["y"]),
            int(g["mo"] or 1),
            int(g["d"] or 1),
            int(g["h"] or 0),
            int(g["mi"] or 0),
            int(g["s"] or 0),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a time: {exc}") from None
    if g["s"] is not None:
        step = timedelta(seconds=1)
    elif g["mi"] is not None:
        step = timedelta(minutes=1)
    elif g["h"] is not None:
        step = timedelta(hours=1)
    elif g["d"] is not None:
        step = timedelta(days=1)
    elif g["mo"] is not None:
        days = calendar.monthrange(first.year, first.month)[1]
        step = timedelta(days=days)
    else:
        step = timedelta(days=366 if calendar.isleap(first.year) else 365)
    offset = 0
    tz = g["tz"]
    if tz and tz not in "Zz":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)
    lo = int(first.timestamp()) - offset
    return lo, lo + int(step.total_seconds()) - 1


def address_key(text: str) -> int | bytes:
    """The sortable key (schema.ip_key) of one address."""
    try:
        return schema.ip_key(str(ipaddress.ip_address(text)))
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def cidr(text: str) -> tuple[int | bytes, int | bytes]:
    """First and last key of a CIDR block or address."""
    try:
        return schema.cidr_range(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address or CIDR block") from None
