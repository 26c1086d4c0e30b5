"""Tailing a CloudWatch Logs group directly, with FilterLogEvents.

Position (checkpoint source ``cwlogs:<group>``): the newest event timestamp
stored, and the identities of the events stored at exactly that millisecond,
as JSON ``{"t": ms, "ids": [...]}``. The next poll asks from that millisecond
on and skips those events, so a restart neither doubles nor loses one. An
identity hashes the stream, event id, ingestion time and message: it stays
unique even where event ids are not (moto numbers them per call).

Events can be ingested after newer ones (flow logs arrive minutes late); every
``sweep_interval`` the last ``lookback`` is read again and anything not yet
stored is added (the store de-duplicates events by their keys).

Events reach the store through the same path as Kinesis records: they are
wrapped as a CloudWatch Logs subscription payload (one per log stream), so a
flow seen both ways is stored once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from flowtui.errors import SourceError
from flowtui.sources import aws
from flowtui.sources.aws import ClientHolder, ClientWrapper, classify, describe, user_error
from flowtui.sources.backoff import Backoff, Pause, RateLimiter, jittered, sleep
from flowtui.sources.health import SourceHealth
from flowtui.sources.spec import LATEST, TRIM_HORIZON, LogGroupSpec
from flowtui.sources.writer import StaleBatch, StoreWriter, WriteJob

log = logging.getLogger("flowtui.sources")

PERMISSIONS = "logs:DescribeLogGroups and logs:FilterLogEvents"
CONNECT_ATTEMPTS = 5
GIVE_UP_AFTER_REFUSALS = 5  # with --until-caught-up: a run that cannot finish says so instead of waiting forever


def event_identity(event: dict[str, Any]) -> str:
    key = "\x1f".join(
        str(event.get(k, "")) for k in ("logStreamName", "eventId", "timestamp", "ingestionTime", "message")
    )
    return hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()


def encode_position(t: int, ids: Iterable[str]) -> str:
    return json.dumps({"t": t, "ids": sorted(ids)}, separators=(",", ":"))


def decode_position(position: str | None) -> tuple[int, set[str]] | None:
    if not position:
        return None
    try:
        data = json.loads(position)
        return int(data["t"]), set(data.get("ids", []))
    except (ValueError, KeyError, TypeError):
        return None


def as_payload(group: str, stream: str, owner: str | None, events: list[dict[str, Any]]) -> bytes:
    """Events of one log stream as the document a subscription filter would deliver."""
    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": owner or "",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": [],
        "logEvents": [
            {"id": str(e.get("eventId", "")), "timestamp": e["timestamp"], "message": e["message"]} for e in events
        ],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


class LogGroupTail:
    def __init__(
        self,
        spec: LogGroupSpec,
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
        self.pause = pause or Pause()
        self.part = health.part(spec.name)
        self.stop = stop
        self.until_caught_up = until_caught_up
        self.holder = ClientHolder("logs", spec.aws, client_wrapper)
        self.what = f"CloudWatch Logs group {spec.log_group!r}"
        self.owner: str | None = None
        self.limiter = RateLimiter(spec.max_calls_per_s)
        self.backoff = Backoff(spec.retry_base, spec.retry_max)
        self.position: str | None = None  # the stored position (the chain's tail)
        self.caught_up = False
        self._refusals = 0  # access denied / credentials refused in a row

    async def _call(self, name: str, **kwargs: Any) -> Any:
        await self.limiter.wait(self.stop)
        client = await self.holder.get()
        return await getattr(client, name)(**kwargs)

    async def run(self) -> None:
        try:
            await self._check_group()
            await self._loop()
        finally:
            await self.holder.close()

    async def _check_group(self) -> None:
        backoff = Backoff(self.spec.retry_base, self.spec.retry_max)
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                found = None
                token = None
                while found is None:
                    kwargs: dict[str, Any] = {"logGroupNamePrefix": self.spec.log_group}
                    if token:
                        kwargs["nextToken"] = token
                    page = await self._call("describe_log_groups", **kwargs)
                    found = next(
                        (g for g in page.get("logGroups", []) if g.get("logGroupName") == self.spec.log_group), None
                    )
                    token = page.get("nextToken")
                    if not token:
                        break
            except Exception as exc:
                kind = classify(exc)
                if kind in (aws.NETWORK, aws.THROTTLED, aws.TRANSIENT) and attempt < CONNECT_ATTEMPTS:
                    log.warning("%s: %s; retrying", self.spec.name, describe(exc))
                    if await sleep(backoff.next_delay(), self.stop):
                        return
                    continue
                if kind is None:
                    raise
                raise user_error(exc, self.what, self.spec.aws, PERMISSIONS) from None
            if found is None:
                where = f" in {self.spec.aws.region}" if self.spec.aws.region else ""
                raise SourceError(f"{self.what} does not exist{where} (check the name and --region)")
            arn = str(found.get("arn") or "")
            parts = arn.split(":")
            self.owner = parts[4] if len(parts) > 4 and parts[4] else None
            return

    async def _loop(self) -> None:
        self.position = await self.writer.position(self.spec.name)
        if decode_position(self.position) is None:
            start = self.spec.start
            t = 0 if start.mode == TRIM_HORIZON else int(time.time() * 1000) if start.mode == LATEST else start.time_ms
            first = encode_position(int(t or 0), [])
            await self.writer.set_checkpoint(self.spec.name, first)
            self.position = first
        last_sweep = time.monotonic()
        self.part.state = "reading"
        self.health.state, self.health.detail = "reading", None  # (a failed attempt's reason is over)
        while not self.stop.is_set():
            if self.pause.paused:
                state, self.part.state = self.part.state, "paused"
                await self.pause.wait(self.stop)
                self.part.state = state
                continue
            wm = decode_position(self.position)
            assert wm is not None
            if self.spec.lookback > 0 and wm[0] > 0 and time.monotonic() - last_sweep >= self.spec.sweep_interval:
                if not await self._poll(max(0, wm[0] - int(self.spec.lookback * 1000)), wm[0] - 1, sweep=True):
                    continue  # it backed off; try again
                last_sweep = time.monotonic()
            complete = await self._poll(wm[0], None, sweep=False)
            if complete:
                if not self.caught_up:
                    self.caught_up = True
                    self.part.state = "caught-up"
                    self.part.lag_ms = 0
                if self.until_caught_up:
                    return
                await sleep(self.spec.poll_interval, self.stop)

    async def _poll(self, start: int, end: int | None, sweep: bool) -> bool:
        """Read every page from ``start``; True when the last page was read and stored."""
        token: str | None = None
        kwargs: dict[str, Any] = {
            "logGroupName": self.spec.log_group,
            "startTime": start,
            "interleaved": True,
            "limit": self.spec.limit,
        }
        if end is not None:
            kwargs["endTime"] = end
        if self.spec.log_stream_prefix:
            kwargs["logStreamNamePrefix"] = self.spec.log_stream_prefix
        if self.spec.filter_pattern:
            kwargs["filterPattern"] = self.spec.filter_pattern
        while not self.stop.is_set():
            try:
                page = await self._call("filter_log_events", **kwargs, **({"nextToken": token} if token else {}))
            except Exception as exc:
                if classify(exc) is None:
                    raise
                await self._failed(exc)
                return False
            self.backoff.reset()
            self._refusals = 0
            events = page.get("events") or []
            if events and not await self._store(events, sweep):
                return False
            token = page.get("nextToken")
            if not token:
                return True
        return False

    async def _store(self, events: list[dict[str, Any]], sweep: bool) -> bool:
        wm = decode_position(self.position)
        assert wm is not None
        t, ids = wm
        fresh: list[dict[str, Any]] = []
        for e in events:
            ts = int(e.get("timestamp", 0))
            if not sweep and ts < t:
                continue  # asked from t on; older ones are the sweep's
            ident = event_identity(e)
            if ts == t and ident in ids:
                continue
            if ts > t:
                t, ids = ts, set()
            if ts == t:
                ids.add(ident)
            fresh.append(e)
        self.part.read(len(fresh), sum(len(e.get("message", "")) for e in fresh), None)
        newest = max((int(e.get("timestamp", 0)) for e in events), default=None)
        if newest is not None:
            self.part.lag_ms = max(0, int(time.time() * 1000) - newest)
        position = encode_position(t, ids) if not sweep else self.position
        assert position is not None
        if not fresh and position == self.position:
            return True
        by_stream: dict[str, list[dict[str, Any]]] = {}
        for e in fresh:
            by_stream.setdefault(str(e.get("logStreamName", "")), []).append(e)
        payloads = [
            (as_payload(self.spec.log_group, stream, self.owner, evs), f"{self.spec.log_group}/{stream}")
            for stream, evs in by_stream.items()
        ]
        job = WriteJob(
            self.spec.name, self.position, position, payloads, owner=self.spec.name, log_format=self.spec.format
        )
        try:
            await self.writer.submit(job)
        except Exception as exc:  # noqa: BLE001 - not stored: read again from the stored position
            self.position = await self.writer.position(self.spec.name)
            if not isinstance(exc, StaleBatch):
                self.part.error("error", f"cannot store a batch: {exc}")
                log.warning("%s: cannot store a batch: %s; reading it again", self.spec.name, exc)
                await sleep(self.backoff.next_delay(), self.stop)
            return False
        self.position = position
        if fresh:
            self.caught_up = False
            self.part.state = "reading"
        return True

    async def _failed(self, exc: BaseException) -> None:
        kind = classify(exc)
        message = describe(exc)
        if kind in (aws.DENIED, aws.CREDENTIALS):
            self._refusals += 1
            if self.until_caught_up and self._refusals >= GIVE_UP_AFTER_REFUSALS:
                raise user_error(exc, self.what, self.spec.aws, PERMISSIONS)
        if kind == aws.THROTTLED:
            self.part.throttles += 1
            self.part.error("throttled", message)
            self.limiter.hold(self.backoff.next_delay())
        elif kind == aws.DENIED:
            if self.part.state != "denied":
                log.error(
                    "%s: access denied (%s); it needs %s; retrying every %gs",
                    self.spec.name,
                    message,
                    PERMISSIONS,
                    self.spec.denied_retry,
                )
            self.part.error("denied", f"access denied: {message}")
            await sleep(jittered(self.spec.denied_retry), self.stop)
        elif kind == aws.CREDENTIALS:
            self.part.error("credentials", message)
            await self.holder.reset()
            await sleep(min(self.spec.denied_retry, self.backoff.next_delay()), self.stop)
        else:
            self.part.error("network" if kind in (aws.NETWORK, aws.TRANSIENT) else "error", message)
            log.info("%s: %s; retrying", self.spec.name, message)
            await sleep(self.backoff.next_delay(), self.stop)
