"""The ingest pipeline: bytes in (payloads, flow-log lines, files) → rows in the store.

decode → parse → enrich → store, in batches. Every batch is written with the
source position that follows it in one transaction, so re-running an ingest,
or restarting after a crash, neither loses nor doubles a record.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import sqlite3
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from flowtui.catalog import RECORD_INDEX
from flowtui.cloudtrail import ingest as trail
from flowtui.cloudtrail.records import is_digest_name, is_trail_file, looks_like_record
from flowtui.errors import FlowtuiError
from flowtui.formats import LogFormat, Record, is_header_line
from flowtui.payloads import PayloadError, decode_payload, is_payload_file, iter_payload_documents
from flowtui.store import Batch, DeadLetter, Enrich, Part, Store, WriteResult, event_keys, iter_chunks
from flowtui.words import counted

FILE_BATCH_LINES = 20_000
_GZIP_MAGIC = b"\x1f\x8b"
_HEAD_BYTES = 4096


RejectKind = Literal["", "line", "payload", "cloudtrail"]
TableWrite = Callable[[sqlite3.Connection], None]  # more to write in a batch's transaction (Batch.tables)


class IngestError(FlowtuiError):
    """A file that cannot be read at all (missing, unreadable, not gzip when it says so)."""


class CheckpointMoved(FlowtuiError):
    """Another run moved a source's checkpoint since this one read it: its batch was rolled back."""

    def __init__(self, source: str, position: str | None) -> None:
        super().__init__(f"{source}: another run moved the checkpoint to {position!r}")
        self.source, self.position = source, position


@dataclass(frozen=True, slots=True)
class Expected:
    """The checkpoint a batch was read after. The batch is stored only if the store still holds it:
    a compare-and-set inside the rows' transaction, so two runs over one source store each record once."""

    position: str | None

    def check(self, source: str) -> Callable[[sqlite3.Connection], None]:
        """A Batch.tables writer that raises CheckpointMoved (rolling the batch back) on a mismatch."""

        def compare(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT position FROM checkpoints WHERE source = ?", (source,)).fetchone()
            held = row[0] if row else None
            if held != self.position:
                raise CheckpointMoved(source, held)

        return compare


@dataclass(slots=True)
class IngestStats:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    payloads: int = 0
    control_messages: int = 0
    skipped_lines: int = 0  # lines a previous run already stored (file resumed)
    files: int = 0
    cloudtrail: int = 0  # CloudTrail events stored (their duplicates count in duplicates)
    errors: int = 0  # inputs that could not be read to their end (cut short, damaged): exit status 1
    damaged: int = 0  # of the rejected, damaged parts of inputs (no line to parse again: --retry leaves them)
    left_unread: int = 0  # rejected lines of files left as if never read (nothing of them stored)
    first_reject: str = ""  # where and why the first line was rejected, for a file nothing of which is stored
    # What first_reject is: a flow-log line the format did not fit ("line", the hint to give a format
    # applies), a payload that could not be decoded, or a CloudTrail file or record.
    first_reject_kind: RejectKind = ""
    messages: list[str] = field(default_factory=list)

    def add(self, result: WriteResult) -> None:
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.rejected += result.dead

    def merge(self, other: IngestStats) -> None:
        for name in ("stored", "duplicates", "rejected", "payloads", "control_messages", "skipped_lines", "files", "cloudtrail", "errors", "damaged", "left_unread"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.messages.extend(other.messages)
        if not self.first_reject:
            self.first_reject, self.first_reject_kind = other.first_reject, other.first_reject_kind

    def summary(self) -> str:
        parts = [_count(self.stored, "flow", "stored")]
        if self.cloudtrail:
            parts.append(_count(self.cloudtrail, "CloudTrail event", "stored"))
        if self.duplicates:
            parts.append(f"{self.duplicates:,} already stored")
        if self.skipped_lines:
            parts.append(_count(self.skipped_lines, "line", "read before"))
        if self.rejected or not self.left_unread:
            parts.append(f"{self.rejected:,} rejected to dead letters")
        if self.left_unread:
            parts.append(_count(self.left_unread, "line", "rejected and left unread"))
        if self.payloads:
            parts.append(_count(self.payloads, "payload"))
        if self.control_messages:
            parts.append(_count(self.control_messages, "control message", "skipped"))
        return ", ".join(parts)

    def nothing_good(self) -> bool:
        """Lines or payloads were rejected and none stored: most likely the wrong format."""
        return bool(self.rejected or self.left_unread) and not (self.stored or self.cloudtrail or self.duplicates or self.skipped_lines)


def _count(n: int, noun: str, verb: str = "") -> str:
    """'1 flow stored', '2 flows stored'."""
    return counted(n, noun) + (f" {verb}" if verb else "")


class Pipeline:
    """Parses, enriches and stores; one per writer process."""

    def __init__(self, store: Store, enrich: Enrich | None = None, log_format: LogFormat | None = None) -> None:
        self.store = store
        self.enrich = enrich
        self.log_format = log_format or LogFormat.default()

    # --- CloudWatch Logs subscription payloads (Kinesis records) ---------------------
    def ingest_payloads(
        self,
        payloads: Iterable[tuple[bytes, str]],
        source: str,
        checkpoint: tuple[str, str] | None = None,
        kinesis_stream: str | None = None,
        expect: Expected | None = None,
    ) -> IngestStats:
        """Store a batch of payloads (data, location) and the checkpoint after them, atomically;
        with ``expect``, only if the checkpoint still holds its position (else CheckpointMoved)."""
        stats = IngestStats()
        batch = Batch(checkpoint=checkpoint)
        if expect is not None and checkpoint is not None:
            batch.tables.append(expect.check(checkpoint[0]))
        for data, location in payloads:
            stats.payloads += 1
            self._add_payload(batch, stats, data, source, location, kinesis_stream)
        if batch.dead:
            batch.tables.append(drop_copies(len(batch.dead)))
        stats.add(self.store.write(batch, self.enrich))
        _count_trail(batch, stats)
        return stats

    def _add_payload(
        self, batch: Batch, stats: IngestStats, data: bytes, source: str, location: str, stream: str | None
    ) -> None:
        try:
            payload = decode_payload(data)
        except PayloadError as exc:
            batch.dead.append(DeadLetter(source, location, str(exc), _preview(data)))
            return
        if payload.message_type != "DATA_MESSAGE":
            stats.control_messages += 1
            return
        if payload.events and looks_like_record(payload.events[0][2]):  # a CloudTrail log group
            trail.add_payload(batch, payload, source, location)
            return
        lines = [e[2] for e in payload.events]
        at_end = ends_only(self.log_format)
        columns = None if at_end else self.log_format.parse_columns(lines)
        if columns is not None:  # every line a clean record: the fast path
            records: list[tuple[object, ...]] = []
            rejects: list[tuple[str, str]] = []
        else:
            records, rejects = self.log_format.parse_lines(lines)
        group, stream_name = payload.log_group, payload.log_stream
        origin = (group, stream_name, stream, payload.owner)
        if rejects:
            # Keep the event keys aligned with the records that parsed.
            bad = {line for line, _ in rejects}
            events = [e for e in payload.events if e[2] not in bad]
            where = payload_location(location, group, stream_name)
            for line, reason in rejects:
                reason = trail.flow_reject_reason(line, reason)
                batch.dead.append(DeadLetter(source, where, reason, line, origin))
        else:
            events = payload.events
        if columns is None and len(events) != len(records):  # a blank message parses to nothing
            events = [e for e in events if e[2].strip()]
        fallback = events[0][1] // 1000 if events else None
        batch.parts.append(
            Part(
                placed_at_end(records) if at_end else records,
                present(self.log_format),
                origin=origin,
                event_keys=event_keys(group, stream_name, events),
                fallback_start=fallback,
                columns=columns,
            )
        )

    # --- flow-log lines ------------------------------------------------------------------
    def ingest_lines(
        self,
        lines: list[str],
        source: str,
        location: str,
        log_format: LogFormat | None = None,
        checkpoint: tuple[str, str] | None = None,
        origin: tuple[str | None, ...] | None = None,
        first_line_number: int = 1,
        fallback_start: int | None = None,
        expect: Expected | None = None,
        also: TableWrite | None = None,
    ) -> IngestStats:
        """Lines of one format; ``fallback_start`` is the time of records that have neither start nor end
        (the store's clock when None); ``expect`` as for :meth:`ingest_payloads`; ``also`` writes more in
        the batch's transaction (what an input's last batch leaves: :meth:`ingest_path`)."""
        fmt = log_format or self.log_format
        stats = IngestStats()
        records, rejects = fmt.parse_lines(lines)
        if ends_only(fmt):
            records = placed_at_end(records)
        batch = Batch(checkpoint=checkpoint)
        if expect is not None and checkpoint is not None:
            batch.tables.append(expect.check(checkpoint[0]))
        if records:
            batch.parts.append(Part(records, present(fmt), origin=origin, fallback_start=fallback_start))
        if also is not None:
            batch.tables.append(also)
        if rejects:
            numbers = _line_numbers(lines, rejects, first_line_number)
            for (line, reason), number in zip(rejects, numbers):
                batch.dead.append(DeadLetter(source, f"{location}:{number}", reason, line, origin))
            stats.first_reject, stats.first_reject_kind = f"line {numbers[0]}: {rejects[0][1]}", "line"
        stats.add(self.store.write(batch, self.enrich))
        return stats

    # --- files ---------------------------------------------------------------------------
    def ingest_path(self, path: str, log_format: LogFormat | None = None, last: TableWrite | None = None) -> IngestStats:
        """A plain or gzip file of flow-log lines or of payloads; ``-`` is standard input.

        ``last`` is written in the transaction of a file of lines' last batch, when it was read to its
        end (what :mod:`flowtui.copies` remembers of it): a crash leaves both or neither."""
        if path == "-":
            return self._ingest_stream(sys.stdin.buffer, "<stdin>", None, log_format)
        p = Path(path)
        if p.is_dir():
            raise IngestError(f"{path} is a directory; name the files (e.g. {path}/*.log.gz)")
        try:
            fh = open(p, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise IngestError(f"cannot read {path}: {exc.strerror}") from None
        with fh:
            return self._ingest_stream(fh, str(p), _FileIdentity.of(p, fh), log_format, int(os.fstat(fh.fileno()).st_mtime), last)

    def _ingest_stream(
        self,
        raw: IO[bytes],
        name: str,
        identity: _FileIdentity | None,
        log_format: LogFormat | None,
        mtime: int | None = None,
        last: TableWrite | None = None,
    ) -> IngestStats:
        head = raw.read(_HEAD_BYTES)
        text_head = head
        if head[:2] == _GZIP_MAGIC:
            try:
                text_head = zlib.decompressobj(wbits=31).decompress(head, 256)
            except zlib.error as exc:
                raise IngestError(f"{name}: not a readable gzip file ({exc})") from None
        stats = IngestStats(files=1)
        source = f"file:{identity.path if identity else name}"
        if is_digest_name(name) or is_trail_file(text_head):
            stats.merge(self.ingest_trail_file(head + raw.read(), name, source))
            return stats
        if is_payload_file(text_head):
            # Payload events carry ids: de-duplication makes a re-read harmless. The
            # decoder reads gzip members itself, so a damaged one loses only itself.
            stats.merge(self._ingest_payload_file(head + raw.read(), name, source))
            return stats
        stream: IO[bytes] = io.BufferedReader(Prefixed(head, raw))  # type: ignore[arg-type,type-var]
        if head[:2] == _GZIP_MAGIC:
            stream = gzip.GzipFile(fileobj=stream)  # type: ignore[assignment]
        stats.merge(self._ingest_text_file(stream, name, source, identity, log_format, mtime, last))
        return stats

    def unreadable(self, source: str, name: str, line: int, why: object) -> IngestStats:
        """An input that stops being readable at ``line`` (cut short, damaged): a dead letter
        that says where, and an error (exit status 1); what was read before it stays stored."""
        self.store.write(Batch(dead=[DeadLetter(source, f"{name}:{line}", f"unreadable: {why}", None)], tables=[drop_copies(1)]))
        return IngestStats(rejected=1, errors=1, damaged=1, messages=[f"{name}: stopped at line {line}: {why}"])

    def ingest_trail_file(
        self, data: bytes, name: str, source: str, checkpoint: tuple[str, str] | None = None
    ) -> IngestStats:
        """A CloudTrail log file (``{"Records": [...]}``); eventIDs make a re-read harmless."""
        stats = IngestStats()
        batches = list(trail.file_batches(data, name, source, stats.messages))
        for n, (batch, _) in enumerate(batches, 1):
            if batch.dead and not stats.first_reject:
                stats.first_reject, stats.first_reject_kind = batch.dead[0].reason, "cloudtrail"
            batch.checkpoint = checkpoint if n == len(batches) else None
            stats.damaged += sum(1 for dead in batch.dead if dead.data is None)  # the file itself, not a record
            stats.add(self.store.write(batch))
            _count_trail(batch, stats)
        if not batches and checkpoint is not None:
            self.store.set_checkpoint(*checkpoint)
        return stats

    def _ingest_payload_file(self, data: bytes, name: str, source: str) -> IngestStats:
        """Payloads in batches; a damaged part (numbered as its dead letter's ``name#n``) costs only itself.

        Damage that good payloads follow is said as such (which one, why, that the others were
        stored); damage after the last good one is said as a file that could not be read to its end.
        Either exits 1: part of the file is lost."""
        stats = IngestStats()
        batch: list[tuple[bytes, str]] = []
        damaged: list[tuple[int, PayloadError, int]] = []  # (number, why, good payloads before it)
        good = 0
        for n, doc in enumerate(iter_payload_documents(data), 1):
            if isinstance(doc, Exception):  # a damaged part of the file (cut short, corrupt): exit status 1
                stats.rejected += 1
                stats.damaged += 1
                if not stats.first_reject:
                    stats.first_reject, stats.first_reject_kind = f"payload {n}: {doc}", "payload"
                self.store.write(Batch(dead=[DeadLetter(source, f"{name}#{n}", str(doc), None)], tables=[drop_copies(1)]))
                stats.errors = 1
                damaged.append((n, doc, good))
                continue
            good += 1
            batch.append((doc, f"{name}#{n}"))
            if len(batch) >= 200:
                stats.merge(self.ingest_payloads(batch, source))
                batch = []
        if batch:
            stats.merge(self.ingest_payloads(batch, source))
        stats.messages.extend(_damage_said(name, damaged, good))
        return stats
    def _ingest_text_file(
        self,
        stream: IO[bytes],
        name: str,
        source: str,
        identity: _FileIdentity | None,
        log_format: LogFormat | None,
        mtime: int | None = None,
        last: TableWrite | None = None,
    ) -> IngestStats:
        """Lines in batches; the checkpoint (lines read + what the file began with) lets a re-run resume.

        Each batch is stored only if the checkpoint still holds the position it was read after
        (:class:`Expected`): a run that finds another one moved it (two cron runs overlapping)
        continues after the lines the other stored, so every line is stored once. A file of which
        nothing was stored and lines were rejected (most often the wrong format) is left as if
        never read: no position and no dead letters, so a re-run with the right format reads it.

        A format without ``start`` leaves the flows no time of their own, yet windows, rollups and
        retention place every flow by one: a flow with an ``end`` is placed at it, others get the
        file's modification time (close to when AWS delivered it), standard input the time it is
        read, and a note says which.
        """
        stats = IngestStats()
        run = _FileRun(self, source, name, identity, mtime, stats)
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
        fmt = log_format or self.log_format
        number = 0
        chunk: list[str] = []
        first = 1
        try:
            for line in text:
                number += 1
                if len(chunk) >= FILE_BATCH_LINES:  # a full batch is stored once a line follows it: the last goes with ``last``
                    run.store(chunk, first, number - 1, fmt)
                    chunk, first = [], number
                if number == 1 and is_header_line(line):
                    fmt = LogFormat.from_spec(line)
                    if run.done == 0:
                        first = 2
                        continue
                if number <= run.done:  # read before, or stored meanwhile by another run (see _FileRun.store)
                    stats.skipped_lines += 1
                    first = number + 1
                    continue
                chunk.append(line.rstrip("\r\n"))
        except (OSError, EOFError, zlib.error) as exc:
            stats.merge(self.unreadable(source, name, number + 1, exc))
        last = None if stats.errors else last  # only a file read to its end
        if chunk or (identity is not None and number > run.done) or last is not None:
            run.store(chunk, first, number, fmt, last)
        if stats.nothing_good() and not stats.errors:
            run.forget()
        if not fmt.has_start and not ends_only(fmt) and stats.stored:
            stats.messages.append(no_start_note(name, mtime))
        return stats


@dataclass(slots=True)
class _FileRun:
    """One run's place in a file: the checkpoint it holds and the lines done, kept in step with the
    store's even when another run of the same file moves the checkpoint meanwhile."""

    pipeline: Pipeline
    source: str
    name: str
    identity: _FileIdentity | None
    mtime: int | None
    stats: IngestStats
    held: str | None = None  # the checkpoint as this run last saw it in the store
    done: int = 0  # lines stored, by this run or another
    dead_before: int = 0  # dead letters' highest id when the run began

    def __post_init__(self) -> None:
        store = self.pipeline.store
        if self.identity is not None:
            self.held = store.checkpoint(self.source)
            self.done = self.identity.lines_done(self.held)
            self.dead_before = store.conn.execute("SELECT coalesce(max(id), 0) FROM dead_letters").fetchone()[0]

    def store(self, chunk: list[str], first: int, number: int, fmt: LogFormat, last: TableWrite | None = None) -> None:
        """Lines ``first``..``number`` (``chunk``) with the checkpoint after them (and ``last``); those another
        run stored meanwhile are left out, and the batch is written again after them."""
        identity, pipeline = self.identity, self.pipeline
        if identity is None:
            self.stats.merge(pipeline.ingest_lines(chunk, self.source, self.name, fmt, None, None, first, self.mtime, None, last))
            return
        while True:
            cp = (self.source, identity.position(number))
            try:
                stats = pipeline.ingest_lines(chunk, self.source, self.name, fmt, cp, None, first, self.mtime, Expected(self.held), last)
            except CheckpointMoved as moved:
                self.held = moved.position
                done = identity.lines_done(moved.position)
                if done >= number:  # the other run is ahead: this batch is all stored
                    self.stats.skipped_lines += len(chunk)
                    self.done = done
                    return
                if done >= first:  # it stored the batch's beginning: write the rest
                    self.stats.skipped_lines += done - first + 1
                    chunk, first = chunk[done - first + 1 :], done + 1
                continue
            self.stats.merge(stats)
            self.held, self.done = cp[1], number
            return

    def forget(self) -> None:
        """Undo a run that stored nothing and rejected lines: its checkpoint and its dead letters go."""
        if self.identity is None:
            return
        with self.pipeline.store.transaction():
            conn = self.pipeline.store.conn
            conn.execute("DELETE FROM checkpoints WHERE source = ? AND position = ?", (self.source, self.held))
            conn.execute("DELETE FROM dead_letters WHERE source = ? AND id > ?", (self.source, self.dead_before))
        self.stats.left_unread, self.stats.rejected = self.stats.rejected, 0


_PRESENT: dict[LogFormat, tuple[int, ...]] = {}


def no_start_note(name: str, mtime: int | None, clock: str = "the file's modification time") -> str:
    """What time the flows of a format without ``${start}`` were given (``clock``, at ``mtime``)."""
    if mtime is None:
        when = "the time they were read"
    else:
        when = f"{clock}, " + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mtime))
    return f"{name}: the format has no ${{start}}, so its flows get {when} as their start and timestamp"


def payload_location(location: str, group: str, stream: str) -> str:
    """Where a payload's rejected line came from: the payload's place in its source (a Kinesis record's
    ``shard:sequence``, a file's ``name#n``) and its log group/stream, each said once; a CloudWatch Logs
    tail names each payload by its group/stream already, so that alone."""
    named = f"{group}/{stream}"
    return named if location == named else f"{location} {named}"


def _damage_said(name: str, damaged: list[tuple[int, PayloadError, int]], good: int) -> list[str]:
    """What the damaged parts of a payload file (``damaged``: number, why, good payloads before it) cost:
    those good payloads follow, by number and reason (the number is the dead letter's ``name#n``); those
    after the last good one, as a file that could not be read to its end."""
    inside = [(n, why) for n, why, before in damaged if before < good]
    said = []
    if inside:
        n, why = inside[0]
        reason = _DOCUMENT_NUMBER.sub("", str(why))
        others = "the other payload was" if good == 1 else f"the {good:,} other payloads were"
        if len(inside) == 1:
            bad = f"payload {n} could not be read ({reason}) and went to the dead letters as {name}#{n}"
        else:
            bad = f"{len(inside)} payloads could not be read and went to the dead letters (the first, {name}#{n}: {reason})"
        said.append(f"{name}: {bad}; {others} read and stored")
    if len(inside) < len(damaged):
        said.append(f"{name}: could not be read to its end: {damaged[len(inside)][1]}")
    return said


_DOCUMENT_NUMBER = re.compile(r"^document \d+: ")  # the splitter numbers documents its own way: the message numbers payloads


def _count_trail(batch: Batch, stats: IngestStats) -> None:
    for write in batch.tables:
        if isinstance(write, trail.TrailWrite):
            stats.cloudtrail += write.stored
            stats.duplicates += write.duplicates


def present(fmt: LogFormat) -> tuple[int, ...]:
    """The record positions a format fills (the store adds columns for them); a format with an end
    and no start fills the start too (see placed_at_end)."""
    found = _PRESENT.get(fmt)
    if found is None:
        found = tuple(RECORD_INDEX[f.name] for f in fmt.fields)
        _PRESENT[fmt] = found = (*found, _START) if ends_only(fmt) else found
    return found


_START, _END = RECORD_INDEX["start"], RECORD_INDEX["end"]


def ends_only(fmt: LogFormat) -> bool:
    """Whether a format gives each flow its end but not its start."""
    return "end" in fmt.aws_names and not fmt.has_start


def placed_at_end(records: list[Record]) -> list[Record]:
    """Records of a format with ``${end}`` but no ``${start}``: each placed at its end (start = end),
    not at a reader's clock that may come after that end, and keeping its end (``end:`` queries and
    columns show it). The store keeps ``end`` as start + duration, so such a flow's duration (and
    ``capture_window_duration_seconds``) reads 0: the format does not tell it."""
    out: list[Record] = []
    for r in records:
        if r[_END] is not None:
            values = list(r)
            values[_START] = r[_END]
            r = tuple(values)
        out.append(r)
    return out


class Prefixed(io.RawIOBase):
    """A raw stream that first returns the bytes already read from ``raw`` (to sniff it), then the rest."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self.head, self.raw = head, raw

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        if self.head:
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.raw.read(len(b))
        n = len(data)
        b[:n] = data
        return n


@dataclass(frozen=True, slots=True)
class _FileIdentity:
    """A file's path and how it began: a file replaced under the same name starts over."""

    path: str
    head: bytes

    @classmethod
    def of(cls, path: Path, fh: IO[bytes]) -> _FileIdentity:
        head = fh.read(_HEAD_BYTES)
        fh.seek(0)
        return cls(os.path.realpath(path), head)

    def position(self, lines: int) -> str:
        return f"{lines}:{len(self.head)}:{hashlib.sha1(self.head).hexdigest()}"

    def lines_done(self, position: str | None) -> int:
        """Lines a previous run stored, if the file still begins as it did then."""
        try:
            lines, size, digest = (position or "").split(":")
            n = int(size)
        except ValueError:
            return 0
        if n > len(self.head) or hashlib.sha1(self.head[:n]).hexdigest() != digest:
            return 0
        return int(lines)


def _line_numbers(lines: list[str], rejects: list[tuple[str, str]], first: int) -> list[int]:
    """The line numbers of rejected lines, in order (lines may repeat)."""
    out: list[int] = []
    it = iter(enumerate(lines, first))
    for line, _ in rejects:
        for number, candidate in it:
            if candidate == line:
                out.append(number)
                break
        else:
            out.append(first)
    return out


def drop_copies(inserted: int) -> Callable[[sqlite3.Connection], None]:
    """A Batch.tables writer that removes, in the write's transaction, those of the ``inserted`` dead
    letters it just added that are already there: the same source, location and line (or, for one
    without a line, reason). A payload read twice (a file ingested again, a Kinesis redelivery)
    stores its flows once by their event keys; its rejected lines must be one dead letter each too,
    or a retry would store each copy."""

    def drop(conn: sqlite3.Connection) -> None:
        top = conn.execute("SELECT coalesce(max(id), 0) FROM dead_letters").fetchone()[0]
        first = top - inserted + 1  # this transaction holds the write lock: its rows are the last ids
        new = conn.execute(
            "SELECT id, source, location, reason, data FROM dead_letters WHERE id >= ? ORDER BY id", (first,)
        ).fetchall()
        seen: set[tuple[object, ...]] = set()
        for chunk in iter_chunks(sorted({(src, loc) for _, src, loc, _, _ in new}, key=repr), 400):
            where = " OR ".join("(source = ? AND location IS ?)" for _ in chunk)
            args = [v for pair in chunk for v in pair]
            for src, loc, reason, data in conn.execute(
                f"SELECT source, location, reason, data FROM dead_letters WHERE id < ? AND ({where})", [first, *args]
            ):
                seen.add(_dead_key(src, loc, reason, data))
        copies = []
        for dead_id, src, loc, reason, data in new:
            key = _dead_key(src, loc, reason, data)
            if key in seen:
                copies.append((dead_id,))
            seen.add(key)
        conn.executemany("DELETE FROM dead_letters WHERE id = ?", copies)

    return drop


def _dead_key(source: str, location: str | None, reason: str, data: str | None) -> tuple[object, ...]:
    """What makes two dead letters one: a rejected line's reason may be rewritten by a retry; an unreadable part has no line."""
    return (source, location, data) if data is not None else (source, location, None, reason)


def _preview(data: bytes, limit: int = 2048) -> str:
    return data[:limit].decode("utf-8", "backslashreplace")



@dataclass(slots=True)
class RetryStats:
    stored: int = 0  # flows stored from dead letters (each removed from them)
    still_dead: int = 0  # flow-log lines that still do not parse (their reason rewritten)
    skipped: int = 0  # dead letters that are no flow-log line (payloads, CloudTrail records, unreadable files)
    reasons: dict[str, int] = field(default_factory=dict)  # why the lines still do not parse: how many each

    def summary(self) -> str:
        """'0 flows stored, 3 still rejected (2 of them: expected 14 fields, found 1)': why they stay too,
        the commonest reason (the first met of those as common)."""
        still = f"{self.still_dead:,} still rejected"
        if self.reasons:
            reason, most = max(self.reasons.items(), key=lambda item: item[1])
            still += f" ({reason})" if len(self.reasons) == 1 else f" ({most:,} of them: {reason})"
        parts = [_count(self.stored, "flow", "stored"), still]
        if self.skipped:
            left = ", left as it was" if self.skipped == 1 else ", left as they were"
            # A cut gzip, a payload, a CloudTrail record: nothing a format could read again ('not a flow-log
            # line' read as a wrong line for a file that was damaged).
            parts.append(f"{self.skipped:,} with no flow-log line to parse (a damaged file, a payload or an event){left}")
        return ", ".join(parts)


RETRY_BATCH = 1_000  # dead letters a transaction


def retry_dead_letters(store: Store, enrich: Enrich | None, log_format: LogFormat | None = None) -> RetryStats:
    """Parse the stored raw lines of dead letters again (with ``log_format``, or the default) and
    store the good ones, enriched, removing them from the dead letters in the same transaction;
    the rest keep their line with the new reason. Flows of a format without start are placed at
    their end, or at the time the line was received; each keeps the origin (log group, stream …)
    its line came with."""
    fmt = log_format or LogFormat.default()
    stats = RetryStats()
    with store.conn:  # copies of one dead letter (a payload read twice before they were kept once) are one
        store.conn.execute(
            "DELETE FROM dead_letters WHERE id NOT IN (SELECT min(id) FROM dead_letters"
            " GROUP BY source, location, data, CASE WHEN data IS NULL THEN reason END)"
        )
    last = 0
    while True:
        rows = store.conn.execute(
            "SELECT id, received, reason, data, source, location, origin FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?",
            (last, RETRY_BATCH),
        ).fetchall()
        if not rows:
            return stats
        last = rows[-1][0]
        batch = Batch()
        good: list[int] = []
        keys: list[tuple[int, str, str | None, str]] = []
        reasons: list[tuple[str, int]] = []
        parts: dict[tuple[int, int | None], list[Record]] = {}  # by (time received, origin)
        for dead_id, received, old_reason, data, source, location, origin in rows:
            if not _is_flow_line(data, old_reason, source, location, origin):
                stats.skipped += 1
                continue
            records, rejects = fmt.parse_lines([data])
            if rejects:
                # As ingest says it: a payload's line that is a JSON object is a CloudTrail record.
                reason = rejects[0][1] if origin is None else trail.flow_reject_reason(data, rejects[0][1])
                reasons.append((reason, dead_id))
                stats.reasons[reason] = stats.reasons.get(reason, 0) + 1
            elif records:
                parts.setdefault((int(received), origin), []).extend(placed_at_end(records) if ends_only(fmt) else records)
                good.append(dead_id)
                keys.append((last, source, location, data))
        for (received, origin), records in parts.items():
            batch.parts.append(Part(records, present(fmt), origin=store.origin(origin), fallback_start=received))
        batch.tables.append(_settle_dead_letters(good, reasons, keys))
        result = store.write(batch, enrich)
        stats.stored += result.stored
        stats.still_dead += len(reasons)


def _is_flow_line(data: str | None, reason: str, source: str, location: str | None, origin: int | None) -> bool:
    """Whether a dead letter holds one flow-log line (not a payload's bytes, a CloudTrail record or a damaged file).

    A line of a file or S3 object (``name:line``) or a payload's log event (it keeps its origin) is
    one, whatever bytes it holds: ingest parsed it with a format, and a retry parses it again and
    says why it still does not fit. Others are told by their bytes (dead letters kept before origins were).
    """
    if not data or reason.startswith("unreadable:"):
        return False
    if origin is not None or (source.startswith(("file:", "s3:")) and _LINE_OF_FILE.search(location or "")):
        return True
    if data.lstrip().startswith(("{", "[")):
        return False
    return data.replace("\t", " ").isprintable()


_LINE_OF_FILE = re.compile(r":\d+$")  # where a line of a file or S3 object was: 'name:12'


def _settle_dead_letters(
    good: list[int], reasons: list[tuple[str, int]], keys: list[tuple[int, str, str | None, str]]
) -> Callable[[sqlite3.Connection], None]:
    """Inside the write of the flows: their dead letters go (with any copy added since the retry
    began: a payload read again meanwhile), the others get their new reason. A dead letter another
    retry removed meanwhile rolls the write back (its flow would be stored twice)."""

    def settle(conn: sqlite3.Connection) -> None:
        for ids in iter_chunks(good, 500):
            deleted = conn.execute(f"DELETE FROM dead_letters WHERE id IN ({','.join('?' * len(ids))})", ids).rowcount
            if deleted != len(ids):
                raise FlowtuiError("the dead letters were changed by another run meanwhile; run --retry again")
        conn.executemany(
            "DELETE FROM dead_letters WHERE id > ? AND source = ? AND location IS ? AND data = ?", keys
        )
        conn.executemany("UPDATE dead_letters SET reason = ? WHERE id = ?", reasons)

    return settle
