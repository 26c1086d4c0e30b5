"""CloudTrail records into store batches: from subscription payloads and from CloudTrail's own files.

The pipeline (:mod:`flowtui.ingest`) decides per payload and per file whether
it holds CloudTrail; this module turns what it hands over into batches for
``Store.write``: good records as a :class:`TrailWrite` (its own table, the
same transaction as the checkpoint), everything else as dead letters with a
reason, so nothing good is lost with the bad.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any, Final

import orjson

from flowtui.cloudtrail.records import RecordError, digest_skipped, looks_like_record, parse_message, parse_record
from flowtui.cloudtrail.table import TrailWrite
from flowtui.payloads import Payload
from flowtui.store import Batch, DeadLetter

FILE_BATCH_RECORDS: Final[int] = 2_000
_MAX_FILE_BYTES: Final[int] = 1 << 30  # CloudTrail files stay far below; past this it is not one
_GZIP_MAGIC: Final[bytes] = b"\x1f\x8b"
_MIXED: Final[str] = "a flow-log line in a CloudTrail payload (log group {group}); CloudTrail records only"


def add_payload(batch: Batch, payload: Payload, source: str, location: str) -> TrailWrite:
    """A subscription payload of CloudTrail records: one record per log event."""
    where = f"{location} {payload.log_group}/{payload.log_stream}"
    write = TrailWrite()
    for event_id, _, message in payload.events:
        if not message.strip():
            continue
        if not looks_like_record(message):
            batch.dead.append(DeadLetter(source, f"{where} event {event_id}", _MIXED.format(group=payload.log_group), message))
            continue
        try:
            write.rows.append(parse_message(message))
        except RecordError as exc:
            batch.dead.append(DeadLetter(source, f"{where} event {event_id}", str(exc), message))
    batch.tables.append(write)
    return write


def flow_reject_reason(line: str, reason: str) -> str:
    """A rejected flow-log line that is a JSON object: say so (a payload mixing the two kinds)."""
    if looks_like_record(line):
        return "a CloudTrail record in a flow-log payload (the log group holds flow logs); " + reason
    return reason


def file_batches(data: bytes, name: str, source: str, messages: list[str]) -> Iterator[tuple[Batch, TrailWrite]]:
    """A CloudTrail log file (``{"Records": [...]}``, gzip or plain) in batches of records.

    A file that cannot be read at all becomes one dead letter; a record that
    cannot be stored becomes one, and its neighbours are kept. Notes for the
    user (a digest file skipped) go to ``messages``.
    """
    try:
        document = _document(data)
    except RecordError as exc:
        batch = Batch(dead=[DeadLetter(source, name, str(exc), None)])
        yield batch, TrailWrite()
        return
    if isinstance(document, dict) and "Records" not in document and "digestStartTime" in document:
        messages.append(digest_skipped(name))
        return
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        got = "no 'Records' list" if isinstance(document, dict) else "not a JSON object"
        yield Batch(dead=[DeadLetter(source, name, f"not a CloudTrail log file: {got}", None)]), TrailWrite()
        return
    for first in range(0, max(1, len(records)), FILE_BATCH_RECORDS):
        batch, write = Batch(), TrailWrite()
        for n, record in enumerate(records[first : first + FILE_BATCH_RECORDS], first):
            try:
                write.rows.append(parse_record(record))
            except RecordError as exc:
                text = orjson.dumps(record).decode() if record is not None else None
                batch.dead.append(DeadLetter(source, f"{name}#Records[{n}]", str(exc), text))
        batch.tables.append(write)
        yield batch, write


def _document(data: bytes) -> Any:
    if data[:2] == _GZIP_MAGIC:
        inflater = zlib.decompressobj(wbits=31)
        try:
            data = inflater.decompress(data, _MAX_FILE_BYTES)
        except zlib.error as exc:
            raise RecordError(f"not a readable gzip file ({exc})") from None
        if not inflater.eof:
            raise RecordError("truncated gzip data: the file ends early")
    try:
        return orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"not a CloudTrail log file: not JSON ({exc})") from None
