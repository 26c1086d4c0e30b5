"""Tailing a Kinesis stream: every shard, in lineage order, exactly once.

Positions. Each shard's checkpoint (source ``kinesis:<stream>/<shard-id>``) is
the sequence number of its last stored record, written in the transaction
that stores the record; ``end:<seq>`` marks a shard read to its end. A restart
resumes AFTER_SEQUENCE_NUMBER, so a kill at any moment neither loses nor
doubles a record. The stream's own checkpoint (``kinesis:<stream>``) remembers
where the source began (``trim-horizon`` or ``at:<ms>``): a shard with no
checkpoint of its own — every shard on the first run, a child made by a later
reshard — starts there, so ``--start latest`` given once does not skip the
records that arrive while flowtui is down.

Resharding. Shards are listed with ListShards (all pages) at start, every
``discover_interval`` and whenever a shard ends. A shard is read only when its
parents (both parents of a merge) are read to their end, or have left the
stream. A shard ends when GetRecords returns no next iterator, or — for
implementations that never say so — when it is closed (it has an ending
sequence number) and everything up to that number is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from flowtui.errors import SourceError
from flowtui.ingest import IngestStats
from flowtui.sources import aws
from flowtui.sources.aws import ClientHolder, ClientWrapper, classify, describe, user_error
from flowtui.sources.backoff import Backoff, Pause, RateLimiter, jittered, sleep
from flowtui.sources.health import SourceHealth
from flowtui.sources.spec import LATEST, TRIM_HORIZON, KinesisSpec
from flowtui.sources.writer import StaleBatch, StoreWriter, WriteJob

log = logging.getLogger("flowtui.sources")

END = "end:"
MAX_INFLIGHT = 3  # batches of one shard handed to the writer and not yet stored
CONNECT_ATTEMPTS = 8  # at start: a bastion that just booted may not have its network yet
GIVE_UP_AFTER_REFUSALS = 5  # with --until-caught-up: a run that cannot finish says so instead of waiting forever
PERMISSIONS = "kinesis:DescribeStreamSummary, kinesis:ListShards, kinesis:GetShardIterator and kinesis:GetRecords"


def split_position(position: str | None) -> tuple[str | None, bool]:
    """(last stored sequence number, whether the shard was read to its end)."""
    if position is None:
        return None, False
    if position.startswith(END):
        return position[len(END) :] or None, True
    return position, False


def end_position(seq: str | None) -> str:
    return f"{END}{seq or ''}"


def _seq_int(seq: str | None) -> int:
    try:
        return int(seq) if seq else 0
    except ValueError:
        return 0


@dataclass(slots=True)
class ShardInfo:
    shard_id: str
    parents: tuple[str, ...]
    ending_seq: str | None  # set once the shard is closed (split or merged)


class ShardGone(Exception):
    """The shard is no longer in the stream (expired from retention)."""


class KinesisTail:
    """Reads one stream into the writer until stopped (or, with ``until_caught_up``, until caught up)."""

    def __init__(
        self,
        spec: KinesisSpec,
        writer: StoreWriter,
        health: SourceHealth,
        stop: asyncio.Event,
        until_caught_up: bool = False,
        client_wrapper: ClientWrapper | None = None,
        pause: Pause | None = None,
    ) -> None:
        self.spec = spec
        self.writer = writer
        self.health = health
        self.stop = stop
        self.pause = pause or Pause()
        self.until_caught_up = until_caught_up
        self.holder = ClientHolder("kinesis", spec.aws, client_wrapper)
        self.what = f"Kinesis stream {spec.stream!r}"
        self.shards: dict[str, ShardInfo] = {}
        self.finished: set[str] = set()
        self.readers: dict[str, ShardReader] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.marker: str = TRIM_HORIZON
        self.changed = asyncio.Event()
        self._rediscover = True
        self._finishes = 0  # shards finished so far
        self._finishes_at_listing = -1  # the value of _finishes at the last good listing

    # --- the life of a tail -----------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._check_stream()
            await self._load_positions()
            await self._discover(initial=True)
            self.health.state = "reading"
            await self._supervise()
        finally:
            await self._stop_readers()
            await self.holder.close()

    async def _call(self, name: str, **kwargs: Any) -> Any:
        client = await self.holder.get()
        return await getattr(client, name)(**kwargs)

    async def _check_stream(self) -> None:
        """The stream exists and we may read it; anything else is the user's to fix (SourceError)."""
        backoff = Backoff(self.spec.retry_base, self.spec.retry_max)
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                summary = (await self._call("describe_stream_summary", StreamName=self.spec.stream))[
                    "StreamDescriptionSummary"
                ]
            except Exception as exc:
                kind = classify(exc)
                if kind in (aws.NETWORK, aws.THROTTLED, aws.TRANSIENT) and attempt < CONNECT_ATTEMPTS:
                    self.health.state = "connecting"
                    self.health.detail = describe(exc)
                    log.warning("%s: %s; retrying", self.spec.name, describe(exc))
                    if await sleep(backoff.next_delay(), self.stop):
                        return
                    continue
                if kind is None:
                    raise
                raise user_error(exc, self.what, self.spec.aws, PERMISSIONS) from None
            status = summary.get("StreamStatus")
            if status == "CREATING":
                if await sleep(1.0, self.stop):
                    return
                continue
            if status == "DELETING":
                raise SourceError(f"{self.what} is being deleted")
            self.health.detail = None
            return
        raise SourceError(f"{self.what} is not ready")  # pragma: no cover - the loop returns or raises

    async def _load_positions(self) -> None:
        """Which shards are done, and where shards with no checkpoint begin."""
        stored = await self.writer.checkpoints(self.spec.shard_source(""))
        for source, position in stored.items():
            if split_position(position)[1]:
                self.finished.add(source.rsplit("/", 1)[1])
        marker = await self.writer.position(self.spec.name)
        if marker is None:
            start = self.spec.start
            if start.mode == TRIM_HORIZON:
                marker = TRIM_HORIZON
            elif start.mode == LATEST:
                marker = f"at:{int(time.time() * 1000)}"
            else:
                marker = f"at:{start.time_ms}"
            await self.writer.set_checkpoint(self.spec.name, marker)
        elif stored and self.spec.start.mode != TRIM_HORIZON:
            log.info(
                "%s: resuming from stored positions (--start applies to a stream read for the first time)",
                self.spec.name,
            )
        self.marker = marker

    async def _list_shards(self) -> dict[str, ShardInfo]:
        shards: dict[str, ShardInfo] = {}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"NextToken": token} if token else {"StreamName": self.spec.stream}
            try:
                page = await self._call("list_shards", **kwargs)
            except Exception as exc:
                if token and aws.error_code(exc) == "ExpiredNextTokenException":
                    token, shards = None, {}
                    continue
                raise
            for s in page.get("Shards", []):
                parents = tuple(p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p)
                ending = s.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
                shards[s["ShardId"]] = ShardInfo(s["ShardId"], parents, ending)
            token = page.get("NextToken")
            if not token:
                return shards

    async def _list_shards_retrying(self) -> dict[str, ShardInfo]:
        """At start, network trouble and throttling are retried a few times before they count."""
        backoff = Backoff(self.spec.retry_base, self.spec.retry_max)
        for _ in range(CONNECT_ATTEMPTS - 1):
            try:
                return await self._list_shards()
            except Exception as exc:
                if classify(exc) not in (aws.NETWORK, aws.THROTTLED, aws.TRANSIENT):
                    raise
                log.warning("%s: cannot list shards: %s; retrying", self.spec.name, describe(exc))
                await sleep(backoff.next_delay(), self.stop)
        return await self._list_shards()

    async def _discover(self, initial: bool = False) -> bool:
        """List the shards and start what is ready; True when the listing worked."""
        finishes = self._finishes
        try:
            listed = await self._list_shards_retrying() if initial else await self._list_shards()
        except Exception as exc:
            kind = classify(exc)
            if kind is None:
                raise
            if initial:
                raise user_error(exc, self.what, self.spec.aws, PERMISSIONS) from None
            self.health.errors += 1
            self.health.detail = f"cannot list shards: {describe(exc)}"
            log.warning("%s: cannot list shards: %s", self.spec.name, describe(exc))
            return False
        self.health.detail = None
        for shard_id, info in listed.items():
            known = self.shards.get(shard_id)
            if known is not None:
                known.ending_seq = info.ending_seq  # readers hold this object
            else:
                self.shards[shard_id] = info
        for shard_id in list(self.shards):
            if shard_id not in listed and shard_id not in self.tasks:
                del self.shards[shard_id]  # expired from the stream's retention
        self._finishes_at_listing = finishes
        self._schedule()
        return True

    def _schedule(self) -> None:
        """Start a reader for every shard whose parents are done."""
        for shard_id, info in sorted(self.shards.items()):
            if shard_id in self.finished or shard_id in self.tasks:
                continue
            if any(p in self.shards and p not in self.finished for p in info.parents):
                self.health.part(self.spec.shard_source(shard_id)).state = "waiting"
                continue
            reader = ShardReader(self, info)
            self.readers[shard_id] = reader
            task = asyncio.get_running_loop().create_task(reader.run(), name=f"flowtui-{shard_id}")
            task.add_done_callback(functools.partial(self._reader_done, shard_id))
            self.tasks[shard_id] = task

    def _reader_done(self, shard_id: str, _task: object = None) -> None:
        reader = self.readers.get(shard_id)
        if reader is not None and reader.finished:
            self.finished.add(shard_id)
            self._finishes += 1
            self._rediscover = True
        self.changed.set()

    async def _supervise(self) -> None:
        next_listing = time.monotonic() + self.spec.discover_interval
        backoff = Backoff(self.spec.retry_base, self.spec.discover_interval)
        while not self.stop.is_set():
            for shard_id, task in list(self.tasks.items()):
                if task.done():
                    del self.tasks[shard_id]
                    reader = self.readers.pop(shard_id)
                    if not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]  # a bug: let it be seen
                    if not reader.finished and not self.stop.is_set():
                        self._rediscover = True  # shard gone without finishing: list again
            if self._rediscover or time.monotonic() >= next_listing:
                self._rediscover = False
                ok = await self._discover()
                next_listing = time.monotonic() + (self.spec.discover_interval if ok else backoff.next_delay())
                if ok:
                    backoff.reset()
            if self.until_caught_up and self._caught_up():
                return
            self.changed.clear()
            waiter = asyncio.ensure_future(self.changed.wait())
            stopper = asyncio.ensure_future(self.stop.wait())
            timeout = max(0.01, next_listing - time.monotonic())
            await asyncio.wait({waiter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()

    def _caught_up(self) -> bool:
        if self._finishes_at_listing != self._finishes:
            return False  # a shard ended after the last listing: its children may be new
        for shard_id in self.shards:
            if shard_id in self.finished:
                continue
            reader = self.readers.get(shard_id)
            if reader is None or not reader.caught_up:
                return False
        return True

    async def _stop_readers(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()


class ShardReader:
    """GetRecords on one shard, paced to its limits, handing batches to the writer in order."""

    def __init__(self, tail: KinesisTail, info: ShardInfo) -> None:
        self.tail = tail
        self.spec = tail.spec
        self.info = info
        self.source = self.spec.shard_source(info.shard_id)
        self.health = tail.health.part(self.source)
        self.caught_up = False
        self.finished = False
        self.position: str | None = None  # the position after the last batch handed over
        self.inflight: deque[asyncio.Future[IngestStats]] = deque()
        self.limiter = RateLimiter(self.spec.max_calls_per_s, self.spec.max_bytes_per_s)
        self.backoff = Backoff(self.spec.retry_base, self.spec.retry_max)
        self.write_backoff = Backoff(self.spec.retry_base, self.spec.retry_max)
        self._iterator: str | None = None
        self._refusals = 0  # access denied / credentials refused in a row

    async def run(self) -> None:
        self.health.state = "connecting"
        self.position = await self.tail.writer.position(self.source)
        if split_position(self.position)[1]:
            self._finish()
            return
        stop = self.tail.stop
        while not stop.is_set():
            if not await self._settle(block=len(self.inflight) >= MAX_INFLIGHT):
                continue
            if self.tail.pause.paused:
                state, self.health.state = self.health.state, "paused"
                await self.tail.pause.wait(stop)
                self.health.state = state
                continue
            try:
                if self._iterator is None:
                    self._iterator = await self._new_iterator()
                await self.limiter.wait(stop)
                if stop.is_set():
                    return
                client = await self.tail.holder.get()
                response = await client.get_records(ShardIterator=self._iterator, Limit=self.spec.limit)
            except ShardGone:
                log.warning("%s: shard is no longer in the stream; retiring it", self.source)
                await self._end()
                return
            except Exception as exc:
                if classify(exc) is None:
                    raise
                await self._failed(exc)
                continue
            self.backoff.reset()
            self._refusals = 0
            if await self._handle(response):
                return

    async def _handle(self, response: dict[str, Any]) -> bool:
        """Hand the records over; True when the shard is done."""
        records = response.get("Records") or []
        next_iterator = response.get("NextShardIterator")
        behind = response.get("MillisBehindLatest")
        nbytes = sum(len(r["Data"]) for r in records)
        self.limiter.spent(nbytes)
        self.health.read(len(records), nbytes, behind)
        if records:
            self.caught_up = False
            self.health.state = "reading"
            last = records[-1]["SequenceNumber"]
            position = end_position(last) if next_iterator is None else last
            where = f"{self.spec.stream}/{self.info.shard_id}"
            self._submit([(r["Data"], f"{where}#{r['SequenceNumber']}") for r in records], position)
        seq, ended = split_position(self.position)
        # A closed shard that answers "nothing more, and nothing behind" is done, even where the
        # implementation never drops the next iterator (moto keeps parents open after a reshard).
        closed_and_read = (
            self.info.ending_seq is not None
            and not records
            and (not behind or _seq_int(seq) >= _seq_int(self.info.ending_seq))
        )
        if next_iterator is None or closed_and_read:
            if not ended:
                self._submit([], end_position(seq))
            if await self._settle(block=True, all_=True):
                self._finish()
                return True
            return False
        self._iterator = next_iterator
        if not records and not behind:
            if not await self._settle(block=True, all_=True):
                return False  # rewound: read again from the stored position
            if not self.caught_up:
                self.caught_up = True
                self.health.state = "caught-up"
                self.health.lag_ms = 0
                self.tail.changed.set()
            await sleep(self.spec.poll_interval, self.tail.stop)
        return False

    def _submit(self, payloads: list[tuple[bytes, str]], position: str) -> None:
        job = WriteJob(
            source=self.source,
            prev=self.position,
            position=position,
            payloads=payloads,
            owner=self.spec.name,
            log_format=self.spec.format,
            kinesis_stream=self.spec.stream,
        )
        self.inflight.append(self.tail.writer.submit(job))
        self.position = position

    async def _settle(self, block: bool, all_: bool = False) -> bool:
        """Collect finished writes (waiting for the oldest, or all, when asked); False after a rewind."""
        while self.inflight and (self.inflight[0].done() or block):
            future = self.inflight[0]
            try:
                await future
            except Exception as exc:  # noqa: BLE001 - a failed write: start again from the store
                await self._rewind(exc)
                return False
            self.inflight.popleft()
            self.write_backoff.reset()
            if not all_:
                block = False
        return True

    async def _rewind(self, exc: BaseException) -> None:
        for future in self.inflight:  # they are all redone from the stored position
            with contextlib.suppress(Exception):
                await future
        self.inflight.clear()
        self.position = await self.tail.writer.position(self.source)
        self._iterator = None
        self.caught_up = False
        if not isinstance(exc, StaleBatch):
            message = f"cannot store a batch: {exc}"
            self.health.error("error", message)
            log.warning("%s: %s; reading it again", self.source, message)
            await sleep(self.write_backoff.next_delay(), self.tail.stop)

    async def _new_iterator(self) -> str:
        seq, _ = split_position(self.position)
        base: dict[str, Any] = {"StreamName": self.spec.stream, "ShardId": self.info.shard_id}
        if seq is not None:
            try:
                return await self._get_iterator(
                    base, ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seq
                )
            except Exception as exc:
                if classify(exc) not in (aws.INVALID, aws.NOT_FOUND):
                    raise
                message = (
                    f"stored position {seq} is no longer in the stream (older than its retention, or the stream"
                    " was recreated); records after it that expired are lost; reading from the oldest record"
                )
                log.warning("%s: %s", self.source, message)
                self.health.error(self.health.state, message)
            try:
                return await self._get_iterator(base, ShardIteratorType="TRIM_HORIZON")
            except Exception as exc:
                if classify(exc) == aws.NOT_FOUND and self.info.shard_id not in await self._listed():
                    raise ShardGone(self.info.shard_id) from None
                raise
        marker = self.tail.marker
        try:
            if marker.startswith("at:"):
                when = dt.datetime.fromtimestamp(int(marker[3:]) / 1000, dt.UTC)
                return await self._get_iterator(base, ShardIteratorType="AT_TIMESTAMP", Timestamp=when)
            return await self._get_iterator(base, ShardIteratorType="TRIM_HORIZON")
        except Exception as exc:
            if classify(exc) == aws.NOT_FOUND and self.info.shard_id not in await self._listed():
                raise ShardGone(self.info.shard_id) from None
            raise

    async def _get_iterator(self, base: dict[str, Any], **kwargs: Any) -> str:
        client = await self.tail.holder.get()
        response = await client.get_shard_iterator(**base, **kwargs)
        return str(response["ShardIterator"])

    async def _listed(self) -> set[str]:
        try:
            return set(await self.tail._list_shards())
        except Exception:  # noqa: BLE001 - unknown: assume it is there and keep retrying
            return {self.info.shard_id}

    async def _failed(self, exc: BaseException) -> None:
        """Back off as the error deserves; never spin."""
        kind = classify(exc)
        message = describe(exc)
        stop = self.tail.stop
        if kind == aws.EXPIRED_ITERATOR:
            self._iterator = None  # renewed from the last position handed over
            return
        if kind == aws.THROTTLED:
            self.health.throttles += 1
            self.health.error("throttled", message)
            self.limiter.hold(self.backoff.next_delay())
            return
        if kind in (aws.NETWORK, aws.TRANSIENT):
            self.health.error("network", message)
            log.info("%s: %s; retrying", self.source, message)
            await sleep(self.backoff.next_delay(), stop)
            return
        if kind in (aws.DENIED, aws.CREDENTIALS):
            self._refusals += 1
            if self.tail.until_caught_up and self._refusals >= GIVE_UP_AFTER_REFUSALS:
                raise user_error(exc, f"Kinesis stream {self.spec.stream!r}", self.spec.aws, PERMISSIONS)
        if kind == aws.DENIED:
            if self.health.state != "denied":
                log.error(
                    "%s: access denied (%s); it needs %s; retrying every %gs",
                    self.source,
                    message,
                    PERMISSIONS,
                    self.spec.denied_retry,
                )
            self.health.error("denied", f"access denied: {message}")
            await sleep(jittered(self.spec.denied_retry), stop)
            return
        if kind == aws.CREDENTIALS:
            if self.health.state != "credentials":
                log.error("%s: credentials refused (%s); reloading them", self.source, message)
            self.health.error("credentials", message)
            await self.tail.holder.reset()
            await sleep(min(self.spec.denied_retry, self.backoff.next_delay()), stop)
            return
        # Not found or invalid on GetRecords: the iterator or the shard is bad; get a new one.
        self.health.error("error", message)
        log.warning("%s: %s", self.source, message)
        self._iterator = None
        self.tail._rediscover = True
        self.tail.changed.set()
        await sleep(self.backoff.next_delay(), stop)

    async def _end(self) -> None:
        """Mark a vanished shard as done so its children can be read."""
        seq, ended = split_position(self.position)
        if not ended:
            self._submit([], end_position(seq))
        if await self._settle(block=True, all_=True):
            self._finish()

    def _finish(self) -> None:
        self.finished = True
        self.caught_up = True
        self.health.state = "finished"
        self.health.lag_ms = None
