"""Flow-log formats: turning lines of text into record tuples, fast.

Ingest has a budget of a few microseconds per line, so a format compiles itself
once into a specialised parsing loop (the same trick ``collections.namedtuple``
and ``dataclasses`` use): each field becomes one inline expression, repeated
values (addresses, ports) come from dict caches, and a line costs one
``str.split()`` plus one tuple. The generated source is built only from catalog
indices and fixed names, never from input text.

Anything the fast loop does not like goes to a plain, strict, per-field path
that either produces the same record or says exactly what is wrong, so the two
cannot disagree about a reject's reason: only the strict path writes reasons.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from operator import gt
from socket import AF_INET, inet_ntoa, inet_pton
from typing import Any, ClassVar, Final

from flowtui import catalog
from flowtui.catalog import BY_AWS_NAME, RECORD_FIELDS, RECORD_INDEX, Field
from flowtui.errors import FormatError
from flowtui.protocols import protocol_name

__all__ = [
    "DEFAULT_FORMAT",
    "LogFormat",
    "Record",
    "Reject",
    "canonical_address",
    "flow_message",
    "is_header_line",
    "message_of",
    "protocol_name",
    "split_format_and_lines",
]

Record = tuple[Any, ...]
Reject = tuple[str, str]  # (the line, why it was rejected)

RECORD_WIDTH: Final[int] = len(RECORD_FIELDS)
_INT64_MAX: Final[int] = 2**63 - 1  # SQLite's INTEGER; larger values could not be stored
# Fields whose values have a known upper bound; everything else numeric is a non-negative int64.
_UPPER_BOUNDS: Final[dict[str, tuple[int, str]]] = {
    "src_port": (65535, "a port number (0-65535)"),
    "dst_port": (65535, "a port number (0-65535)"),
    "protocol_number": (255, "a protocol number (0-255)"),
}
_CACHE_LIMIT: Final[int] = 1 << 17  # entries; a cache is emptied when full, so memory stays bounded on long tails
_SPEC_TOKEN = re.compile(r"\$\{([^}]*)\}")
_COUNTS: Final[frozenset[str]] = frozenset({"packets", "bytes"})  # numbers that rarely repeat: not cached
_HEADER_NAMES: Final[frozenset[str]] = frozenset(f.aws_name for f in RECORD_FIELDS if f.aws_name)
# Flow-log fields whose values AWS draws from a fixed set (action, log-status): anything else would be
# stored yet refused by every query (which takes the same catalog sets), so it is rejected here.
CLOSED_SETS: Final[dict[str, tuple[str, ...]]] = {n: v for n, v in catalog.CLOSED_SETS.items() if n in RECORD_INDEX}
_START, _END = RECORD_INDEX["start"], RECORD_INDEX["end"]


class _Invalid(ValueError):
    """A value that does not fit its field; the message is the second half of a reject's reason."""


# -- value conversion --------------------------------------------------------------------------------------------


def canonical_address(text: str) -> str:
    """The one spelling of an address that queries, joins and enrichment can rely on.

    IPv4 goes through the C ``inet_pton``/``inet_ntoa`` pair (strict dotted quad, no
    leading zeros) because a cache miss on a busy NAT gateway's external addresses
    must stay cheap. IPv6 is compressed and lower-cased by ``ipaddress``; the one
    case it spells differently across Python versions, an IPv4-mapped address, is
    fixed to the RFC 5952 mixed notation (``::ffff:192.0.2.1``). Zone ids
    (``%eth0``) never occur in flow logs and are refused rather than kept.
    Anything that is not an address raises ValueError, its message fit for a reject.
    """
    if ":" not in text:
        try:
            return inet_ntoa(inet_pton(AF_INET, text))
        except (OSError, ValueError):
            raise _Invalid(f"{text!r} is not an IP address") from None
    if "%" in text:
        raise _Invalid(f"{text!r} is not an IP address")
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise _Invalid(f"{text!r} is not an IP address") from None
    if address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _unsigned(text: str, limit: int = _INT64_MAX, what: str = "") -> int:
    """Strict digits only: int() would also take '+5', '1_000' and non-ASCII digits, which AWS never writes."""
    if not (text.isascii() and text.isdigit()):
        if what and text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
            raise _Invalid(f"{text!r} is not {what}")
        if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
            raise _Invalid(f"{text!r} is negative")
        raise _Invalid(f"{text!r} is not a number")
    if len(text) > 19 or int(text) > limit:
        raise _Invalid(f"{text!r} is not {what}" if what else f"{text!r} is too large")
    return int(text)


def _bounded(limit: int, what: str) -> Callable[[str], int]:
    def convert(text: str) -> int:
        return _unsigned(text, limit, what)

    return convert


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def convert(text: str) -> str:
        if text not in choices:
            raise _Invalid(f"{text!r} is not {', '.join(choices)} or -")
        return text

    return convert


class _ValueCache(dict[str, Any]):
    """Text -> converted value; a miss converts (or raises _Invalid) and remembers the result.

    A dict subclass with ``__missing__`` keeps the hit path a single C-level lookup
    inside the generated loop. '-' is pre-seeded as None because it is the NULL of
    every field.
    """

    __slots__ = ("_convert",)

    def __init__(self, convert: Callable[[str], Any]) -> None:
        super().__init__({"-": None})
        self._convert = convert

    def __missing__(self, text: str) -> Any:
        value = self._convert(text)
        if len(self) >= _CACHE_LIMIT:
            self.clear()
            self["-"] = None
        self[text] = value
        return value


def _converted(cache: _ValueCache, texts: list[str]) -> list[Any]:
    """``texts`` through ``cache``; a column of one value (a stream's account, interface, status …)
    with one lookup: comparing the texts costs less than hashing each (0.1 µs a value, fresh from split)."""
    first = texts[0]
    if texts[-1] == first and texts.count(first) == len(texts):
        return [cache[first]] * len(texts)
    return list(map(cache.__getitem__, texts))


def _text(text: str) -> str:
    return text


# Shared by every format: the canonical form of "10.0.0.1" or port "443" does not depend on the format.
# Beyond skipping conversions, the caches make records share one object per distinct value, so a
# batch of records holds far fewer objects (less allocation, less work for the garbage collector).
_ADDRESSES = _ValueCache(canonical_address)
_TEXTS = _ValueCache(_text)  # account, interface, action, status …: few distinct values each
_TIMES = _ValueCache(_unsigned)  # every record of one capture window shares its start and end
_BOUNDED_CACHES: dict[str, _ValueCache] = {}
# A cache per closed set: a value outside it raises on its first (and every) lookup.
_CLOSED_CACHES: Final[dict[str, _ValueCache]] = {name: _ValueCache(_one_of(values)) for name, values in CLOSED_SETS.items()}
_TEXT_CACHES: Final[tuple[_ValueCache, ...]] = (_TEXTS, *_CLOSED_CACHES.values())


def _cache_for(field: Field) -> _ValueCache | None:
    """The cache a field's values go through, or None for counts (packets, bytes), which rarely repeat."""
    if field.type == "ip":
        return _ADDRESSES
    if field.name in _CLOSED_CACHES:
        return _CLOSED_CACHES[field.name]
    if field.type == "str":
        return _TEXTS
    bound = _UPPER_BOUNDS.get(field.name)
    if bound is not None:
        key = f"{bound[0]}:{bound[1]}"
        cache = _BOUNDED_CACHES.get(key)
        if cache is None:
            cache = _BOUNDED_CACHES[key] = _ValueCache(_bounded(*bound))
        return cache
    if field.type == "time":
        return _TIMES
    return None


def _is_text(cache: _ValueCache | None) -> bool:
    """Whether a cache keeps text as text (by identity: caches are dicts, equal while they hold the same)."""
    return any(cache is text for text in _TEXT_CACHES)


def _columns_cache(field: Field) -> _ValueCache | None:
    """The cache of a field on the columnar path: as on the per-line path, and numbers other than counts too."""
    cache = _cache_for(field)
    if cache is None and field.name not in _COUNTS:
        return _TIMES  # strict digits up to int64, like the per-line path's fallback
    return cache


def _strict_converter(field: Field) -> Callable[[str], Any] | None:
    """How the strict path converts one non-'-' value; None means the text is kept as it is."""
    if field.type == "ip":
        return canonical_address
    if field.name in CLOSED_SETS:
        return _one_of(CLOSED_SETS[field.name])
    if field.type in ("int", "time"):
        bound = _UPPER_BOUNDS.get(field.name)
        return _bounded(*bound) if bound else _unsigned
    return None


# -- formats -----------------------------------------------------------------------------------------------------


def _names_from_spec(text: str) -> list[str]:
    if "${" in text:
        names = _SPEC_TOKEN.findall(text)
        leftover = _SPEC_TOKEN.sub(" ", text).strip()
        if leftover:
            raise FormatError(
                f"format {text.strip()!r} has text outside ${{...}} fields: {leftover.split()[0]!r}; "
                "write it as AWS does, e.g. '${version} ${account-id} ${interface-id}'"
            )
        return [name.strip() for name in names]
    return text.split()


def _unknown_field_error(name: str) -> FormatError:
    valid = [f.aws_name for f in RECORD_FIELDS if f.aws_name]
    close = difflib.get_close_matches(name.replace("_", "-"), valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return FormatError(f"unknown flow-log field {name!r}{hint}; valid fields are: {', '.join(valid)}")


class LogFormat:
    """The field order of one flow-log format, compiled into a parser for it.

    Treat instances as immutable values: they compare equal by their field names,
    which is how a header line that repeats the format in use is recognised.
    """

    __slots__ = ("_columns", "_parse_into", "_strict", "_window", "aws_names", "fields")

    DEFAULT: ClassVar[LogFormat]

    def __init__(self, aws_names: Sequence[str]) -> None:
        if not aws_names:
            raise FormatError("the flow-log format names no fields")
        fields: list[Field] = []
        seen: set[str] = set()
        for name in aws_names:
            found = BY_AWS_NAME.get(name)
            if found is None or found.name not in RECORD_INDEX:
                raise _unknown_field_error(name)
            if name in seen:
                raise FormatError(f"flow-log field {name!r} appears twice in the format")
            seen.add(name)
            fields.append(found)
        self.aws_names: tuple[str, ...] = tuple(aws_names)
        self.fields: tuple[Field, ...] = tuple(fields)
        self._strict = tuple((RECORD_INDEX[f.name], f.aws_name or f.name, _strict_converter(f)) for f in fields)
        names = [f.name for f in fields]
        # The positions of start and end in a line, when the format has both (an end must not precede its start).
        self._window = (names.index("start"), names.index("end")) if {"start", "end"} <= set(names) else None
        self._parse_into = self._compile()
        # The columnar path's converters: a cache per field, None for counts (packets, bytes); the
        # other numbers (version, tcp-flags, traffic-path) take few values, so a cache too. A format
        # of text fields only could take its own header line for data, so it never takes this path.
        caches = [_columns_cache(f) for f in fields]
        text_only = all(map(_is_text, caches))
        self._columns: tuple[_ValueCache | None, ...] | None = None if text_only else tuple(caches)

    @classmethod
    def from_spec(cls, text: str) -> LogFormat:
        """Accepts both spellings users meet: AWS's ``${version} ${vpc-id} …`` and an S3 export's header line."""
        return cls(_names_from_spec(text))

    @classmethod
    def default(cls) -> LogFormat:
        """The default (v2) format; the same object as ``LogFormat.DEFAULT``, for callers that prefer a call."""
        return cls.DEFAULT

    @property
    def has_start(self) -> bool:
        """Whether records carry their own ``start``; without it the reader supplies a time (see ingest)."""
        return "start" in self.aws_names

    @property
    def spec(self) -> str:
        """The format as AWS writes it, for ``--format`` and for messages."""
        return " ".join(f"${{{name}}}" for name in self.aws_names)

    @property
    def header(self) -> str:
        """The format as the header line of an S3 export."""
        return " ".join(self.aws_names)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LogFormat) and other.aws_names == self.aws_names

    def __hash__(self) -> int:
        return hash(self.aws_names)

    def __repr__(self) -> str:
        return f"LogFormat({self.spec!r})"

    def parse_lines(self, lines: Iterable[str]) -> tuple[list[Record], list[Reject]]:
        """Records in ``catalog.RECORD_FIELDS`` order, and the lines that did not fit with the reason why.

        Blank lines are skipped; a repeat of this format's own header line (files
        concatenated with ``cat``) is skipped too. NODATA and SKIPDATA lines are
        records: they are how a user sees gaps in coverage.
        """
        records: list[Record] = []
        rejects: list[Reject] = []
        self._parse_into(lines, records.append, rejects)
        return records, rejects

    def parse_columns(self, lines: Sequence[str]) -> list[list[Any]] | None:
        """The values of ``lines`` column by column (one list per field of the format), or None.

        The fast path for a clean batch: one ``str.split`` per line and one C-level
        ``map`` per column instead of Python code per value, which halves the
        cost of parsing. It answers only when every line is a record and every
        value converts exactly as :meth:`parse_lines` would convert it; anything
        else (a blank, short or non-ASCII line, a value to reject) gives None and
        the caller parses line by line, so there is one place that rejects.
        """
        converters = self._columns
        if converters is None or not lines:
            return None
        parts = list(map(str.split, lines))
        width = len(converters)
        if set(map(len, parts)) != {width} or not all(map(str.isascii, lines)):
            return None
        flat = list(chain.from_iterable(parts))
        columns: list[list[Any]] = []
        try:
            for position, cache in enumerate(converters):
                texts = flat[position::width]
                if cache is not None:
                    columns.append(_converted(cache, texts))
                elif "".join(texts).isdigit() and max(map(len, texts)) < 19:  # up to 18 digits fits an int64
                    columns.append(list(map(int, texts)))
                else:  # '-' (NULL) among the counts, or something for parse_lines to judge
                    numbers = [v for v in texts if v != "-"]
                    if numbers and not ("".join(numbers).isdigit() and max(map(len, numbers)) < 19):
                        return None
                    columns.append([None if v == "-" else int(v) for v in texts])
        except ValueError:
            return None
        if self._window is not None:  # an end before its start is for parse_lines to reject
            try:
                if any(map(gt, columns[self._window[0]], columns[self._window[1]])):
                    return None
            except TypeError:  # '-' in either: parse_lines judges those lines
                return None
        return columns

    def _strict_record(self, line: str, parts: list[str]) -> Record | str | None:
        """A record, the reason the line is rejected, or None for a line to skip silently."""
        if tuple(parts) == self.aws_names:
            return None
        if len(parts) != len(self._strict):
            if is_header_line(line):
                return f"a header line of another format inside the data: {line.strip()!r}"
            return f"expected {len(self._strict)} fields, found {len(parts)}"
        values: list[Any] = [None] * RECORD_WIDTH
        for text, (index, name, convert) in zip(parts, self._strict):
            if text == "-":
                continue
            if convert is None:
                values[index] = text
                continue
            try:
                values[index] = convert(text)
            except _Invalid as invalid:
                return f"field {name}: {invalid}"
        start, end = values[_START], values[_END]
        if start is not None and end is not None and end < start:
            return f"field end: {end} is before start {start}"
        return tuple(values)

    def _compile(self) -> Callable[[Iterable[str], Callable[[Record], None], list[Reject]], None]:
        """Generate the parsing loop for this field order; see the module docstring for why."""
        namespace: dict[str, Any] = {"dash": _dash}
        slots = ["None"] * RECORD_WIDTH
        text_slots: set[str] = set()
        for position, field in enumerate(self.fields):
            item = f"p[{position}]"
            cache = _cache_for(field)
            if cache is not None:
                namespace[f"c{position}"] = cache
                expr = f"c{position}[{item}]"
                if _is_text(cache):
                    text_slots.add(expr)
            else:
                # Up to 18 digits always fits an int64; longer, '-', or anything odd takes the strict route.
                expr = f"(int(v) if (v := {item}).isdigit() and len(v) < 19 else dash(v))"
            if self._window is not None and field.name in ("start", "end"):
                expr = f"({field.name[0]} := {expr})"  # s, e: compared below
            slots[RECORD_INDEX[field.name]] = expr
        # A format of text fields only would take its own header line for a record: compare explicitly.
        namespace["header"] = list(self.aws_names)
        header_check = "        if p == header:\n            continue\n" if set(slots) <= {"None", *text_slots} else ""
        source = (
            "def parse_into(lines, append, fallback):\n"
            "    for line in lines:\n"
            "        p = line.split()\n"
            f"        if len(p) != {len(self.fields)} or not line.isascii():\n"
            "            if p:\n"
            "                fallback(line, p)\n"
            "            continue\n"
            f"{header_check}"
            "        try:\n"
            f"            r = ({', '.join(slots)},)\n"
            + ("            if e < s:\n                raise ValueError\n" if self._window is not None else "")
            + "        except (ValueError, TypeError):\n"  # TypeError: '-' in start or end, for the strict path
            "            fallback(line, p)\n"
            "            continue\n"
            "        append(r)\n"
        )
        exec(compile(source, f"<flowtui.formats {self.header}>", "exec"), namespace)  # noqa: S102 - see docstring
        generated: Callable[..., None] = namespace["parse_into"]
        strict = self._strict_record

        def parse_into(lines: Iterable[str], append: Callable[[Record], None], rejects: list[Reject]) -> None:
            def fallback(line: str, parts: list[str]) -> None:
                outcome = strict(line, parts)
                if isinstance(outcome, tuple):
                    append(outcome)
                elif outcome is not None:
                    rejects.append((line.rstrip("\r\n"), outcome))

            generated(lines, append, fallback)

        return parse_into


def _dash(text: str) -> None:
    """'-' is NULL; anything else reaching here is not a clean number, and the strict path will say why."""
    if text == "-":
        return
    raise _Invalid(text)


LogFormat.DEFAULT = LogFormat.from_spec(catalog.DEFAULT_FORMAT)
DEFAULT_FORMAT: Final[LogFormat] = LogFormat.DEFAULT


def is_header_line(line: str) -> bool:
    """True for an S3 export's first line: only AWS field names, each once (a data line never is all names)."""
    names = line.split()
    return bool(names) and len(set(names)) == len(names) and all(name in _HEADER_NAMES for name in names)


def split_format_and_lines(
    lines: Iterable[str], explicit: LogFormat | str | None = None
) -> tuple[LogFormat, Iterator[str]]:
    """The format to parse one file with, and its lines without the header.

    Precedence: a header line in the file, then ``explicit`` (``--format``), then
    the default v2 format. The header wins even over an explicit format that
    disagrees with it, because the header was written by AWS together with the
    data and describes it exactly, while ``--format`` is usually given once for
    many files. Leading blank lines are dropped.
    """
    iterator = iter(lines)
    fallback = LogFormat.from_spec(explicit) if isinstance(explicit, str) else explicit or DEFAULT_FORMAT
    for line in iterator:
        if not line.strip():
            continue
        if is_header_line(line):
            return LogFormat(line.split()), iterator
        return fallback, chain((line,), iterator)
    return fallback, iter(())


# -- derived values ------------------------------------------------------------------------------------------------


def _endpoint(address: str | None, port: int | None) -> str:
    if address is None:
        return "-" if port is None else f"-:{port}"
    if port is None:
        return address
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def flow_message(
    interface_id: str | None,
    action: str | None,
    protocol_number: int | None,
    src_addr: str | None,
    src_port: int | None,
    dst_addr: str | None,
    dst_port: int | None,
    log_status: str | None,
) -> str:
    """The Graylog-style one-line summary that bare query terms search.

    Same shape as Graylog's AWS plugin (``eni-3244234 ACCEPT TCP 172.1.1.2:80 ->
    172.1.1.2:2264``) so searches copied from its guides match; missing parts are
    left out rather than printed as '-', and a status other than OK is appended
    so NODATA/SKIPDATA records say what they are.
    """
    parts: list[str] = []
    if interface_id is not None:
        parts.append(interface_id)
    if action is not None:
        parts.append(action)
    if protocol_number is not None:
        parts.append(protocol_name(protocol_number) or "")
    if src_addr is not None or dst_addr is not None:
        parts.append(f"{_endpoint(src_addr, src_port)} -> {_endpoint(dst_addr, dst_port)}")
    if log_status is not None and log_status != "OK":
        parts.append(log_status)
    return " ".join(parts)


_MESSAGE_INDICES: Final[tuple[int, ...]] = tuple(
    RECORD_INDEX[name]
    for name in (
        "interface_id",
        "action",
        "protocol_number",
        "src_addr",
        "src_port",
        "dst_addr",
        "dst_port",
        "log_status",
    )
)


def message_of(record: Sequence[Any]) -> str:
    """``flow_message`` of a parsed record, for callers that hold whole records."""
    return flow_message(*(record[i] for i in _MESSAGE_INDICES))
