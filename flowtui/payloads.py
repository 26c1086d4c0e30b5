"""CloudWatch Logs subscription payloads: what one Kinesis record holds, and files full of them.

A subscription filter delivers each batch of log events as one gzip-compressed
JSON document. Those documents reach us either one per Kinesis record
(``decode_payload``) or stored in files (``iter_payload_documents``): Firehose
writes the gzip members back to back, people re-compress or un-compress them,
and a copy may be cut short or damaged in the middle. Bytes from outside are
never trusted: whatever they hold, the only exception that leaves this module
is ``PayloadError``, and a damaged document costs only itself, not its neighbours.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Final

import orjson

from flowtui.errors import FlowtuiError

# orjson: about 3x faster than json on these documents, and its error messages
# (with offsets) are what the dead letters quote.
_JSON_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
_json_loads: Callable[[bytes], Any] = orjson.loads


__all__ = [
    "CONTROL_MESSAGE",
    "DATA_MESSAGE",
    "Payload",
    "PayloadError",
    "decode_payload",
    "is_payload_file",
    "iter_payload_documents",
]

DATA_MESSAGE: Final[str] = "DATA_MESSAGE"
CONTROL_MESSAGE: Final[str] = "CONTROL_MESSAGE"

_GZIP_MAGIC: Final[bytes] = b"\x1f\x8b"
_GZIP_MEMBER_START: Final[bytes] = b"\x1f\x8b\x08"  # magic + deflate, the only method gzip has
_UTF8_BOM: Final[bytes] = b"\xef\xbb\xbf"
_WHITESPACE: Final[bytes] = b" \t\r\n"
# A Kinesis record is at most 1 MiB; anything inflating past this is not a CloudWatch payload but a bomb.
_MAX_PAYLOAD_BYTES: Final[int] = 64 << 20
_INFLATE_STEP: Final[int] = 16 << 10  # input bytes per step: bounds both the output per step and copying
_TEXT_STEP: Final[int] = 1 << 20  # plain text is cut up in steps of this size, so it is not copied whole
_MAX_NESTED_BYTES: Final[int] = 256 << 20  # gzip inside gzip is held whole; Firehose objects stay far below
_MAX_NESTING: Final[int] = 2  # gzip inside gzip: Firehose compressing records that were compressed already
# Where one document may end and the next begin: '}{' (back to back, as Firehose writes them) or a
# line that starts with '{' (JSON lines). bytes.find looks for these several times faster than a
# regular expression could. Either can also occur inside a JSON string, so a cut that does not parse
# is joined with what follows; documents separated some other way are cut where the parser says
# the first one ends (see _DocumentSplitter).
_CUTS: Final[tuple[bytes, ...]] = (b"}{", b"\n{")
_DOCUMENT_START: Final[bytes] = b'{"messageType"'  # how every document CloudWatch writes begins
# How far a piece that does not parse is joined with the pieces after it before it is reported as damaged.
_MAX_JOIN_BYTES: Final[int] = 8 << 20
_MAX_JOIN_PIECES: Final[int] = 256


class PayloadError(FlowtuiError):
    """A payload, or a part of a payload file, that cannot be read; the message says why."""


@dataclass(slots=True)
class Payload:
    """One CloudWatch Logs subscription document; ``events`` are (id, timestamp_ms, message)."""

    message_type: str
    owner: str
    log_group: str
    log_stream: str
    events: list[tuple[str, int, str]]


# -- one document ------------------------------------------------------------------------------------------------


def _gunzip_one(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        text = inflater.decompress(data, _MAX_PAYLOAD_BYTES)
    except zlib.error as error:
        raise PayloadError(f"corrupt gzip data ({_zlib_reason(error)})") from None
    if inflater.unconsumed_tail:
        raise PayloadError(f"gzip data inflates to more than {_MAX_PAYLOAD_BYTES >> 20} MiB")
    if not inflater.eof:
        raise PayloadError(f"truncated gzip data: the stream ends early ({len(data)} bytes)")
    if inflater.unused_data:
        raise PayloadError(
            f"{len(inflater.unused_data)} bytes follow the gzip stream; a file of several payloads needs"
            " iter_payload_documents"
        )
    return text


def _zlib_reason(error: zlib.error) -> str:
    text = str(error)
    return text.split(": ", 1)[1] if ": " in text else text


def _json_reason(data: bytes, error: Exception) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8 text (invalid byte at offset {bad.start})"
    position = getattr(error, "pos", None)
    detail = getattr(error, "msg", None) or str(error) or type(error).__name__
    return f"not JSON ({detail}{'' if position is None else f' at offset {position}'})"


def _parse_json(data: bytes) -> Any:
    try:
        return _json_loads(data.removeprefix(_UTF8_BOM))
    except _JSON_ERRORS as error:
        raise PayloadError(_json_reason(data, error)) from None


def _type_name(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _string(document: dict[str, Any], key: str) -> str:
    if key not in document:
        raise PayloadError(f"payload has no {key!r}")
    value = document[key]
    if type(value) is not str:
        raise PayloadError(f"payload {key!r} is {_type_name(value)}, not a string")
    return value


def _optional_string(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    return value if type(value) is str else ""


def _events(log_events: object) -> list[tuple[str, int, str]]:
    if type(log_events) is not list:
        raise PayloadError(f"payload 'logEvents' is {_type_name(log_events)}, not a list")
    try:
        events = [(event["id"], event["timestamp"], event["message"]) for event in log_events]
    except (TypeError, KeyError, IndexError):
        events = []  # an ill-formed event: the loop below names it
    if len(events) == len(log_events) and all(
        type(id_) is str and type(timestamp) is int and type(message) is str for id_, timestamp, message in events
    ):
        return events
    # Some producers (moto among them) write ids as JSON numbers: the id is an
    # identity, not a quantity, so its digits are kept as text.
    if len(events) == len(log_events) and all(
        type(id_) in (str, int) and type(timestamp) is int and type(message) is str
        for id_, timestamp, message in events
    ):
        return [(str(id_), timestamp, message) for id_, timestamp, message in events]
    for index, event in enumerate(log_events):
        if type(event) is not dict:
            raise PayloadError(f"logEvents[{index}] is {_type_name(event)}, not an object")
        for key, wanted, name in (
            ("id", (str, int), "a string"),
            ("timestamp", int, "an integer"),
            ("message", str, "a string"),
        ):
            if key not in event:
                raise PayloadError(f"logEvents[{index}] has no {key!r}")
            if type(event[key]) not in (wanted if isinstance(wanted, tuple) else (wanted,)):
                raise PayloadError(f"logEvents[{index}].{key} is {_type_name(event[key])}, not {name}")
    raise AssertionError("unreachable: every event was valid")  # pragma: no cover


def decode_payload(data: bytes) -> Payload:
    """One document, gzip-compressed (as Kinesis delivers it) or plain JSON.

    A CONTROL_MESSAGE (CloudWatch checking that the destination is reachable) comes
    back with no events rather than as an error: it is part of a healthy stream.
    Keys this code does not use are ignored, so new ones from AWS do no harm.
    """
    if type(data) is not bytes:
        data = bytes(data)  # a bytearray or memoryview from a caller's buffer
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip_one(data)
    if not data.strip(_WHITESPACE):
        raise PayloadError("payload is empty")
    document = _parse_json(data)
    if type(document) is not dict:
        raise PayloadError(f"payload is {_type_name(document)}, not a JSON object")
    message_type = _string(document, "messageType")
    if message_type == CONTROL_MESSAGE:
        # Skipped whatever else it holds: CloudWatch fills its envelope in loosely ("owner": "CloudwatchLogs").
        return Payload(
            message_type,
            _optional_string(document, "owner"),
            _optional_string(document, "logGroup"),
            _optional_string(document, "logStream"),
            [],
        )
    if message_type != DATA_MESSAGE:
        raise PayloadError(f"unknown messageType {message_type!r} (expected DATA_MESSAGE or CONTROL_MESSAGE)")
    return Payload(
        message_type,
        _string(document, "owner"),
        _string(document, "logGroup"),
        _string(document, "logStream"),
        _events(document.get("logEvents")),
    )


# -- files of documents ------------------------------------------------------------------------------------------


def is_payload_file(head: bytes) -> bool:
    """Whether a file whose first bytes are ``head`` holds payloads (JSON) rather than flow-log lines.

    Looks through up to two layers of gzip; a head cut off mid-stream is expected.
    """
    for _ in range(_MAX_NESTING + 1):
        if head[:2] != _GZIP_MAGIC:
            break
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, 4096)
        except zlib.error:
            return False
    return head.lstrip(_WHITESPACE).removeprefix(_UTF8_BOM).lstrip(_WHITESPACE)[:1] == b"{"


def iter_payload_documents(data: bytes) -> Iterator[bytes | PayloadError]:
    """Each document of a payload file, decompressed, in order; a PayloadError for each part that is damaged.

    Understands concatenated gzip members (one per Kinesis record, as Firehose
    stores them), one gzip of many documents, gzip inside gzip, and plain text
    with documents on lines or simply back to back. After damage it resumes at
    the next gzip member or document it can find. Documents decoded completely
    before a member turns out to be cut short or corrupt are kept; a member whose
    checksum fails yields none, since its data is known to be wrong.
    """
    count = [0]
    yield from _iter_stream(data, 0, count)


def _iter_stream(data: bytes, depth: int, count: list[int]) -> Iterator[bytes | PayloadError]:
    start = len(data) - len(data.lstrip(_WHITESPACE))
    if data[start : start + 2] != _GZIP_MAGIC and (data[start : start + 1] == b"{" or _GZIP_MEMBER_START not in data):
        start = -1  # text; junk in front of gzip members is reported by the loop below instead
    if start < 0 or depth > _MAX_NESTING:
        splitter = _DocumentSplitter(count)
        for offset in range(0, len(data), _TEXT_STEP):
            yield from splitter.feed(data[offset : offset + _TEXT_STEP])
        yield from splitter.finish()
        return
    position = start
    while position < len(data):
        if not data.startswith(_GZIP_MEMBER_START, position):
            following = data.find(_GZIP_MEMBER_START, position)
            end = len(data) if following < 0 else following
            if data[position:end].strip(_WHITESPACE + b"\x00"):  # padding is harmless, anything else is reported
                yield PayloadError(f"{end - position} bytes at offset {position} are not a gzip member")
            if following < 0:
                return
            position = following
        position = yield from _iter_member(data, position, depth, count)


def _iter_member(data: bytes, start: int, depth: int, count: list[int]) -> Generator[bytes | PayloadError, None, int]:
    """Yields one gzip member's documents and returns the offset to continue at."""
    view = memoryview(data)
    inflater = zlib.decompressobj(wbits=31)
    splitter = _DocumentSplitter(count)
    nested: list[bytes] | None = None  # the member's output, when it is itself gzip
    nested_size = 0
    seen_output = False
    position = start
    problem: str | None = None
    checksum_failed = False
    while not inflater.eof:
        if position >= len(data):
            problem = f"gzip member at offset {start} is truncated"
            break
        step = view[position : position + _INFLATE_STEP]
        try:
            text = inflater.decompress(step)
        except zlib.error as error:
            reason = _zlib_reason(error)
            checksum_failed = "check" in reason  # "incorrect data check" / "incorrect length check"
            problem = f"gzip member at offset {start} is corrupt ({reason})"
            break
        position += len(step)
        if text and not seen_output:
            seen_output = True
            if text[:2] == _GZIP_MAGIC and depth < _MAX_NESTING:
                nested = []
        if nested is not None:
            nested.append(text)
            nested_size += len(text)
            if nested_size > _MAX_NESTED_BYTES:
                problem = f"gzip member at offset {start} holds more than {_MAX_NESTED_BYTES >> 20} MiB of gzip"
                nested = []
                break
        else:
            yield from splitter.feed(text)
    else:
        position -= len(inflater.unused_data)
    if checksum_failed:
        splitter.discard()
    elif nested is not None:
        yield from _iter_stream(b"".join(nested), depth + 1, count)
    else:
        yield from splitter.finish(cut_short=problem is not None)
    if problem is not None:
        yield PayloadError(problem)
        following = data.find(_GZIP_MEMBER_START, start + 1)
        return len(data) if following < 0 else following
    return position


class _DocumentSplitter:
    """Cuts a stream of text into JSON documents without trusting where it cuts.

    A piece that does not parse may have been cut inside a JSON string, so it is
    joined with the following pieces while that could help: the join stops at a
    piece that is a whole document on its own (then the first piece was simply
    damaged), or after _MAX_JOIN_PIECES or _MAX_JOIN_BYTES. A piece holding two documents with
    an unusual separator is cut where the parser finds the first one's end.
    """

    __slots__ = ("_buffer", "_count", "_oversized", "_pieces", "_scan_from")

    def __init__(self, count: list[int]) -> None:
        self._buffer = bytearray()
        self._pieces: list[bytes] = []  # cut but not yet decided
        self._scan_from = 0
        self._count = count  # documents seen so far in the whole file, shared, for error messages
        self._oversized = False  # skipping the rest of a document too large to be a payload

    def feed(self, text: bytes) -> Iterator[bytes | PayloadError]:
        if self._oversized:
            resume = [cut for cut in (text.find(separator) for separator in _CUTS) if cut >= 0]
            if not resume:
                return
            text = text[min(resume) + 1 :]
            self._oversized = False
        if not self._buffer and not self._pieces:
            text = text.removeprefix(_UTF8_BOM)
        buffer = self._buffer
        buffer += text
        cuts: list[int] = []
        for separator in _CUTS:
            found = buffer.find(separator, self._scan_from)
            while found >= 0:
                cuts.append(found + 1)
                found = buffer.find(separator, found + 1)
        if cuts:
            cuts.sort()
            with memoryview(buffer) as view:
                previous = 0
                for cut in cuts:
                    self._pieces.append(bytes(view[previous:cut]))
                    previous = cut
            del buffer[:previous]
        # The last byte may be the first half of a separator: look at it again with the next text.
        self._scan_from = max(0, len(buffer) - 1)
        yield from self._decide(final=False)
        if len(buffer) > _MAX_PAYLOAD_BYTES:  # no end in sight: a bomb or a broken file, not a payload
            yield from self._decide(final=True)
            self._count[0] += 1
            yield PayloadError(f"document {self._count[0]}: larger than {_MAX_PAYLOAD_BYTES >> 20} MiB")
            self.discard()
            self._oversized = True

    def finish(self, cut_short: bool = False) -> Iterator[bytes | PayloadError]:
        """The rest; when the stream was ``cut_short`` its last, incomplete document is dropped silently."""
        if self._buffer.strip(_WHITESPACE):
            self._pieces.append(bytes(self._buffer))
        self._buffer.clear()
        self._scan_from = 0
        for item in self._decide(final=True):
            if cut_short and not self._pieces and isinstance(item, PayloadError):
                return  # the incomplete last document: the caller reports the truncation instead
            yield item

    def discard(self) -> None:
        self._buffer.clear()
        self._pieces.clear()
        self._scan_from = 0
        self._oversized = False

    def _decide(self, final: bool) -> Iterator[bytes | PayloadError]:
        pieces = self._pieces
        while pieces:
            first = pieces[0].strip(_WHITESPACE)
            if not first:
                pieces.pop(0)
                continue
            error = _parse_error(first)
            if error is None:
                pieces.pop(0)
                self._count[0] += 1
                yield first
                continue
            end = _end_of_first_document(first, error)
            if end is not None:
                pieces[0] = first[end:]
                self._count[0] += 1
                yield first[:end].rstrip(_WHITESPACE)
                continue
            joined, used, waiting = self._join(final)
            if waiting:
                return
            self._count[0] += 1
            if joined is not None:
                del pieces[:used]
                yield joined
            else:
                # Resynchronise on the next envelope inside the damaged piece, if any (a line cut short
                # and glued to the next document loses only itself).
                restart = first.find(_DOCUMENT_START, 1)
                if restart > 0:
                    pieces[0] = first[restart:]
                    first = first[:restart]
                    error = _parse_error(first) or error
                else:
                    pieces.pop(0)
                yield PayloadError(f"document {self._count[0]}: {_json_reason(first, error)}")

    def _join(self, final: bool) -> tuple[bytes | None, int, bool]:
        """(the joined document, pieces used, whether to wait for more text) for a first piece that fails."""
        pieces = self._pieces
        joined = pieces[0]
        for used in range(2, len(pieces) + 2):
            if len(joined) >= _MAX_JOIN_BYTES or used > _MAX_JOIN_PIECES:
                return None, 0, False
            if used > len(pieces):
                return None, 0, not final
            following = pieces[used - 1]
            if _is_document(following.strip(_WHITESPACE)):
                return None, 0, False
            joined += following
            candidate = joined.strip(_WHITESPACE)
            if _parse_error(candidate) is None:
                return candidate, used, False
        return None, 0, False  # pragma: no cover - the loop always returns


def _parse_error(text: bytes) -> Exception | None:
    try:
        _json_loads(text)
    except _JSON_ERRORS as error:
        return error
    return None


def _is_document(text: bytes) -> bool:
    """A whole CloudWatch document on its own: the piece before it was damaged, not cut inside a string."""
    try:
        value = _json_loads(text)
    except _JSON_ERRORS:
        return False
    return type(value) is dict and "messageType" in value


def _end_of_first_document(text: bytes, error: Exception) -> int | None:
    """Where the first document ends, when ``error`` says a whole document is followed by more."""
    message = getattr(error, "msg", "")
    if message != "unexpected content after document":
        return None
    end = getattr(error, "pos", 0)
    return end if 0 < end < len(text) and _parse_error(text[:end]) is None else None
