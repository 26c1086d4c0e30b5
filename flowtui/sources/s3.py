"""Flow logs that AWS delivered to S3: list, stream and store each object once.

AWS writes gzip text objects with a header line (the format), under
``AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/`` or, with Hive-compatible
prefixes, ``.../aws-account-id=…/aws-service=vpcflowlogs/aws-region=…/year=…/month=…/day=…/hour=…/``.
Objects are streamed (gzip is decompressed as it arrives) in batches; each
batch is stored with the object's checkpoint (source ``s3:<bucket>/<key>``,
position ``<etag>:<lines read>``, and ``<etag>:done`` with the last batch), so
a re-run reads only new objects and an interrupted one resumes at its line.
A damaged object (a cut or corrupt gzip) keeps its good lines, is an error
(exit status 1) and is never marked done: a re-run says so again, as for a
local file. Flows of a format without ``${start}`` get the object's
LastModified time, as a local file's get its modification time.
``since`` skips objects whose key says they hold only older records.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import logging
import re
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from flowtui.cloudtrail.records import digest_skipped, is_digest_name
from flowtui.config import parse_duration
from flowtui.errors import ConfigError, SourceError, UsageError
from flowtui.formats import LogFormat, is_header_line
from flowtui.ingest import FILE_BATCH_LINES, CheckpointMoved, Expected, IngestStats, Pipeline, Prefixed, no_start_note
from flowtui.sources import aws
from flowtui.sources.aws import classify, describe, user_error
from flowtui.sources.region import region_for
from flowtui.sources.spec import AwsTarget
from flowtui.words import counted

log = logging.getLogger("flowtui.sources")

PERMISSIONS = "s3:ListBucket on the bucket and s3:GetObject on its objects"
READ_ATTEMPTS = 5
_GZIP_MAGIC = b"\x1f\x8b"
_SKIP_SUFFIXES = (".parquet",)
_FILE_TIME = re.compile(r"_(\d{8}T\d{4})Z")
_PLAIN_DAY = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/")
_HIVE_DAY = re.compile(r"(?:^|/)year=(\d{4})/month=(\d{2})/day=(\d{2})/(?:hour=(\d{2})/)?")


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → (bucket, prefix)."""
    if not url.startswith("s3://"):
        raise UsageError(f"{url!r} is not an s3:// address")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise UsageError(f"{url!r} names no bucket: use s3://bucket/prefix/")
    return bucket, prefix


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """An age (``7d``, ``36h``) or a date/time (``2024-05-01``, ``2024-05-01T12:00Z``), as UTC."""
    t = text.strip()
    if t and t[0].isdigit() and t[-1].lower() in "smhdw" and not re.match(r"^\d{4}-", t):
        try:
            seconds = parse_duration(t, "--since")
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        return (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=seconds)
    try:
        when = dt.datetime.fromisoformat(t)
    except ValueError:
        raise UsageError(f"bad --since {text!r}: use an age like 7d or a date like 2024-05-01") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def key_period_end(key: str) -> dt.datetime | None:
    """The latest time a record in object ``key`` can have, as its key tells (None when it does not)."""
    m = _FILE_TIME.search(key.rsplit("/", 1)[-1])
    if m:
        return dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M").replace(tzinfo=dt.UTC)
    m = _HIVE_DAY.search(key)
    if m:
        day = dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=dt.UTC)
        if m.group(4) is not None:
            return day + dt.timedelta(hours=int(m.group(4)) + 1)
        return day + dt.timedelta(days=1)
    m = _PLAIN_DAY.search(key)
    if m:
        return dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=dt.UTC) + dt.timedelta(days=1)
    return None


@dataclass(slots=True)
class ExportWalk:
    """Which objects of an export a walk reads, and what it says of the others: the same for an S3
    prefix and for a directory synced from one (``aws s3 sync``), told by the key (or the path).

    CloudTrail-Digest files (hashes, not events) and Parquet exports are left out, a line each;
    with ``since``, those whose key dates are older, counted in one line at the end (:meth:`close`).
    """

    noun: str  # what the export holds: 'object', 'file'
    since: dt.datetime | None
    messages: list[str]
    old: int = 0

    def takes(self, key: str, shown: str) -> bool:
        """Whether the object ``key`` (shown to the user as ``shown``) is to be read."""
        if is_digest_name(key):
            self.messages.append(digest_skipped(shown))
            return False
        if key.endswith(_SKIP_SUFFIXES):
            self.messages.append(f"{shown}: Parquet exports are not supported; skipped")
            return False
        if self.since is not None:
            end = key_period_end(key)
            if end is not None and end < self.since:
                self.old += 1
                return False
        return True

    def close(self) -> None:
        if self.old:
            self.messages.append(f"{counted(self.old, self.noun)} older than --since; skipped")


@dataclass(slots=True)
class S3Object:
    key: str
    etag: str
    size: int
    modified: int | None = None  # LastModified, unix seconds: the time of flows whose format has no start


class S3Export:
    """Reads the flow-log objects under one ``s3://bucket/prefix`` into a pipeline."""

    def __init__(
        self,
        pipeline: Pipeline,
        target: AwsTarget | None = None,
        since: dt.datetime | None = None,
        log_format: LogFormat | None = None,
        batch_lines: int = FILE_BATCH_LINES,
        client: Any = None,
    ) -> None:
        self.pipeline = pipeline
        self.target = target or AwsTarget()
        self.since = since
        self.log_format = log_format
        self.batch_lines = batch_lines
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            import botocore.config
            import botocore.exceptions as bx

            try:
                session = boto3.Session(profile_name=self.target.profile)
                self._client = session.client(
                    "s3",
                    region_name=region_for(self.target.region),
                    endpoint_url=self.target.endpoint_url,
                    config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=60),
                )
            except (bx.ProfileNotFound, bx.NoRegionError) as exc:
                raise user_error(exc, "S3", self.target) from None
        return self._client

    def ingest(self, url: str) -> IngestStats:
        bucket, prefix = parse_s3_url(url)
        stats = IngestStats()
        read = self.pipeline.store.checkpoints(f"s3:{bucket}/")
        skipped_done = 0
        walk = ExportWalk("object", self.since, stats.messages)
        for obj in self._list(bucket, prefix):
            if not walk.takes(obj.key, f"s3://{bucket}/{obj.key}"):
                continue
            source = f"s3:{bucket}/{obj.key}"
            done_lines = 0
            position = read.get(source)
            if position is not None:
                etag, _, state = position.rpartition(":")
                if etag != obj.etag:
                    stats.messages.append(
                        f"s3://{bucket}/{obj.key} changed since it was read (its ETag differs); skipped"
                    )
                    continue
                if state == "done":
                    skipped_done += 1
                    continue
                done_lines = int(state) if state.isdigit() else 0
            stats.merge(self._read_object(bucket, obj, source, _Place(position, done_lines, source)))
        if skipped_done:
            stats.messages.append(f"{counted(skipped_done, 'object')} read before; skipped")
        walk.close()
        return stats

    def _list(self, bucket: str, prefix: str) -> Iterator[S3Object]:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        start_after = self._start_after(prefix)
        if start_after:
            kwargs["StartAfter"] = start_after
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if key.endswith("/"):
                        continue
                    modified = item.get("LastModified")
                    yield S3Object(
                        key,
                        str(item.get("ETag", "")).strip('"'),
                        int(item.get("Size", 0)),
                        int(modified.timestamp()) if isinstance(modified, dt.datetime) else None,
                    )
        except Exception as exc:
            if classify(exc) is None:
                raise
            if aws.error_code(exc) == "NoSuchBucket":
                raise SourceError(f"S3 bucket {bucket!r} does not exist") from None
            raise user_error(exc, f"s3://{bucket}/{prefix}", self.target, PERMISSIONS) from None

    def _start_after(self, prefix: str) -> str | None:
        """With --since and a prefix that ends where the dates begin, skip listing older days."""
        if self.since is None or not prefix.endswith("/"):
            return None
        day = self.since.astimezone(dt.UTC) - dt.timedelta(days=1)
        if re.search(r"/vpcflowlogs/[a-z0-9-]+/$", prefix):
            return f"{prefix}{day:%Y/%m/%d}/"
        if re.search(r"aws-region=[a-z0-9-]+/$", prefix):
            return f"{prefix}year={day:%Y}/month={day:%m}/day={day:%d}/"
        return None

    def _read_object(self, bucket: str, obj: S3Object, source: str, place: _Place) -> IngestStats:
        stats = IngestStats(files=1)
        attempt = 0
        conn = self.pipeline.store.conn
        place.dead_before = conn.execute("SELECT coalesce(max(id), 0) FROM dead_letters").fetchone()[0]
        while True:
            attempt += 1
            try:
                stats.merge(self._stream(bucket, obj, source, place))
                return stats
            except _ReadFailed as exc:
                kind = classify(exc.cause)
                if kind not in (aws.NETWORK, aws.TRANSIENT, aws.THROTTLED, None) or attempt >= READ_ATTEMPTS:
                    if kind in (aws.DENIED, aws.CREDENTIALS):
                        raise user_error(exc.cause, f"s3://{bucket}/{obj.key}", self.target, PERMISSIONS) from None
                    location = f"s3://{bucket}/{obj.key}"
                    stats.merge(self.pipeline.unreadable(source, location, exc.line, describe(exc.cause)))
                    return stats
                place.held = self.pipeline.store.checkpoint(source)
                place.done = _lines_of(place.held, obj.etag)
                log.warning(
                    "s3://%s/%s: %s; reading again from line %d", bucket, obj.key, describe(exc.cause), place.done + 1
                )
                time.sleep(min(10.0, 0.2 * 2**attempt))

    def _stream(self, bucket: str, obj: S3Object, source: str, place: _Place) -> IngestStats:
        stats = IngestStats()
        done = place.done
        location = f"s3://{bucket}/{obj.key}"
        number = 0
        try:
            body = self.client.get_object(Bucket=bucket, Key=obj.key)["Body"]
        except Exception as exc:
            if classify(exc) is None:
                raise
            raise _ReadFailed(exc, 0) from None
        fmt = self.log_format or self.pipeline.log_format
        chunk: list[str] = []
        first = done + 1
        end = "done"  # the checkpoint's state after the last batch: read to its end
        try:
            with body:
                lines = _lines(body)
                for line in lines:
                    number += 1
                    if number == 1 and line.lstrip("\ufeff \t")[:1] == "{":  # JSON: a CloudTrail log file
                        data = (line + "".join(lines)).encode()
                        return self.pipeline.ingest_trail_file(data, location, source, (source, f"{obj.etag}:done"))
                    if number == 1 and is_header_line(line):
                        fmt = LogFormat.from_spec(line)
                        first = max(first, 2)
                        continue
                    if number <= done:
                        stats.skipped_lines += 1
                        continue
                    chunk.append(line.rstrip("\r\n"))
                    if len(chunk) >= self.batch_lines:
                        self._store(stats, chunk, location, fmt, (first, number), obj, place, str(number))
                        chunk, first = [], number + 1
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            if classify(exc) == aws.NETWORK and not isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)):
                raise _ReadFailed(exc, number + 1) from None
            # A damaged object (cut short, corrupt): its good lines are kept, it counts as an
            # error, and it is not marked done, so a re-run says so again, as for a local file.
            stats.merge(self.pipeline.unreadable(source, location, number + 1, exc))
            end = str(max(number, done))
        except Exception as exc:
            if classify(exc) is None:
                raise
            raise _ReadFailed(exc, number + 1) from None
        if chunk or number > place.done or end == "done":
            self._store(stats, chunk, location, fmt, (first, number), obj, place, end)
        if stats.nothing_good() and not stats.errors:
            self._forget(source, place, stats)
        if not fmt.has_start and stats.stored:
            stats.messages.append(no_start_note(location, obj.modified, "the object's LastModified time"))
        return stats

    def _store(
        self,
        stats: IngestStats,
        chunk: list[str],
        location: str,
        fmt: LogFormat,
        lines: tuple[int, int],
        obj: S3Object,
        place: _Place,
        state: str,
    ) -> None:
        """Lines ``lines`` (first, last: ``chunk``) with the checkpoint ``<etag>:<state>`` after them, stored
        only if the store still holds the position this run read them after (as for local files): when
        another run over the object (cron runs that overlap) moved it, the lines it stored are left out
        and the rest written after them. Flows of a format without start get the object's LastModified."""
        first, number = lines
        while True:
            checkpoint = (place.source, f"{obj.etag}:{state}")
            try:
                stats.merge(
                    self.pipeline.ingest_lines(
                        chunk, place.source, location, fmt, checkpoint, None, first, obj.modified, Expected(place.held)
                    )
                )
            except CheckpointMoved as moved:
                place.held = moved.position
                done = _lines_stored(moved.position, obj.etag)
                if done >= number and not (state == "done" and done == number):  # the other run is ahead
                    stats.skipped_lines += len(chunk)
                    place.done = max(place.done, done)
                    return
                if done >= first:  # it stored the batch's beginning: write the rest
                    stats.skipped_lines += done - first + 1
                    chunk, first = chunk[done - first + 1 :], done + 1
                continue
            place.held, place.done = checkpoint[1], number
            return

    def _forget(self, source: str, place: _Place, stats: IngestStats) -> None:
        """An object of which nothing was stored and lines were rejected (most often the wrong format) is
        left as if never read, as a local file is: no position, no dead letters; a re-run with the right
        --format reads it."""
        store = self.pipeline.store
        with store.transaction():
            store.conn.execute("DELETE FROM checkpoints WHERE source = ? AND position = ?", (source, place.held))
            store.conn.execute("DELETE FROM dead_letters WHERE source = ? AND id > ?", (source, place.dead_before))
        stats.left_unread, stats.rejected = stats.rejected, 0


@dataclass(slots=True)
class _Place:
    """One run's place in an object: the checkpoint as it last saw it in the store, and the lines stored
    (by this run or another), kept in step when another run over the same object moves it."""

    held: str | None
    done: int
    source: str = ""
    dead_before: int = 0  # dead letters' highest id when the run began


def _lines_stored(position: str | None, etag: str) -> int:
    """Lines of the object another run stored, from the position it left: all of them when it marked
    it done or read another version of it (this run's lines are then not to be stored)."""
    if not position:
        return 0
    tag, _, state = position.rpartition(":")
    if tag != etag or state == "done":
        return 1 << 62
    return int(state) if state.isdigit() else 0


class _ReadFailed(Exception):
    def __init__(self, cause: BaseException, line: int) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.line = line


def _lines_of(position: str | None, etag: str) -> int:
    if not position:
        return 0
    tag, _, state = position.rpartition(":")
    return int(state) if tag == etag and state.isdigit() else 0


def _lines(body: IO[bytes]) -> Iterator[str]:
    """The text lines of a plain or gzip stream, decompressed as they arrive (never the whole object)."""
    head = body.read(2)
    raw = io.BufferedReader(Prefixed(head, body), buffer_size=1 << 16)  # type: ignore[type-var]
    stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if head == _GZIP_MAGIC else raw  # type: ignore[assignment]
    yield from io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
