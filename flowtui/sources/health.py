"""Health of a source: lag, rates and errors per shard, for the log and the status bar.

Readers only bump counters; a :class:`HealthReporter` turns them into rates on
its own clock, logs one line every few seconds (never per record) and writes
``source_status`` rows through the writer: one for the source and one per shard
(``kinesis:<stream>/<shard-id>``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from flowtui.sources.backoff import sleep
from flowtui.words import counted

log = logging.getLogger("flowtui.sources")

# States, most urgent first: the source shows the most urgent of its parts.
STATE_ORDER = (
    "denied",
    "credentials",
    "error",
    "throttled",
    "network",
    "connecting",
    "paused",
    "reading",
    "waiting",
    "caught-up",
    "stopped",
    "finished",
)


# States in which a part is not reading because of a fault (it says so in the status bar).
TROUBLE = frozenset({"denied", "credentials", "error", "throttled", "network"})


@dataclass(slots=True)
class PartHealth:
    """One shard, or one log group."""

    name: str
    state: str = "connecting"
    detail: str | None = None
    lag_ms: int | None = None
    records: int = 0
    bytes: int = 0
    errors: int = 0
    throttles: int = 0
    last_error: str | None = None
    _mark: tuple[float, int, int] = (0.0, 0, 0)
    records_per_s: float = 0.0
    bytes_per_s: float = 0.0

    def error(self, state: str, message: str) -> None:
        self.state = state
        self.errors += 1
        self.last_error = message

    def read(self, records: int, nbytes: int, lag_ms: int | None) -> None:
        """A successful read: counts, and the fault state (if any) is over."""
        if self.state in TROUBLE or self.state == "connecting":
            self.state = "reading"
        self.records += records
        self.bytes += nbytes
        if lag_ms is not None:
            self.lag_ms = lag_ms

    def tick(self, now: float) -> None:
        then, r0, b0 = self._mark
        if then:
            span = max(now - then, 1e-6)
            self.records_per_s = (self.records - r0) / span
            self.bytes_per_s = (self.bytes - b0) / span
        self._mark = (now, self.records, self.bytes)


@dataclass(slots=True)
class SourceHealth:
    name: str
    state: str = "connecting"
    detail: str | None = None
    parts: dict[str, PartHealth] = field(default_factory=dict)
    errors: int = 0  # errors of the source itself (listing shards, describing the stream)
    retired: set[str] = field(default_factory=set)

    def part(self, name: str) -> PartHealth:
        p = self.parts.get(name)
        if p is None:
            p = self.parts[name] = PartHealth(name)
        return p

    def overall_state(self) -> str:
        return min([self.state] + [p.state for p in self.parts.values()], key=_rank)

    def summary(self) -> tuple[str, str, float, float, int | None, int]:
        """(state, detail, records/s, bytes/s, lag in ms, errors)."""
        active = [p for p in self.parts.values() if p.state != "finished"]
        rate = sum(p.records_per_s for p in self.parts.values())
        brate = sum(p.bytes_per_s for p in self.parts.values())
        lags = [p.lag_ms for p in active if p.lag_ms is not None]
        errors = self.errors + sum(p.errors for p in self.parts.values())
        counts = Counter(p.state for p in active)
        bits = [", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: _rank(kv[0])))]
        if self.state == "error" and self.detail:
            bits = [self.detail]  # the source itself failed: why, not how many parts stand still
        elif self.detail:
            bits.append(self.detail)
        else:
            troubled = next((p for p in self.parts.values() if p.state in TROUBLE and p.last_error), None)
            if troubled is not None:
                bits.append(str(troubled.last_error))
        detail = "; ".join(b for b in bits if b)
        return self.overall_state(), detail, rate, brate, max(lags) if lags else None, errors


def _rank(state: str) -> int:
    return STATE_ORDER.index(state) if state in STATE_ORDER else len(STATE_ORDER)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def log_line(health: SourceHealth, stored: int, duplicates: int, rejected: int) -> str:
    state, detail, rate, brate, lag, errors = health.summary()
    lag_text = "-" if lag is None else f"{lag / 1000:.1f}s"
    parts = len([p for p in health.parts.values() if p.state != "finished"])
    unit = "shard" if health.name.startswith("kinesis:") else "part"
    text = (
        f"{health.name}: {state}, {counted(parts, unit)} ({detail or '-'}), {rate:,.0f} rec/s, {human_bytes(brate)}/s,"
        f" behind {lag_text}, stored {stored:,}, duplicates {duplicates:,}, rejected {rejected:,}, errors {errors}"
    )
    return text


class HealthReporter:
    """Every ``interval``: rates, one status row per source and per part; a log line every ``log_interval``."""

    def __init__(
        self, writer: object, sources: list[SourceHealth], interval: float, log_interval: float | None
    ) -> None:
        self.writer = writer
        self.sources = sources
        self.interval = interval
        self.log_interval = log_interval
        self._last_log = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        while True:
            stopped = await sleep(self.interval, stop)
            await self.report()
            if stopped:
                return

    async def report(self, final: bool = False) -> None:
        now = time.monotonic()
        do_log = self.log_interval is not None and (final or now - self._last_log >= self.log_interval)
        if do_log:
            self._last_log = now
        totals = getattr(self.writer, "totals", {})
        for h in self.sources:
            for p in h.parts.values():
                p.tick(now)
            state, detail, rate, _brate, lag, errors = h.summary()
            try:
                await self.writer.set_status(h.name, state, detail, rate, lag, errors)  # type: ignore[attr-defined]
                for p in list(h.parts.values()):
                    if p.name in h.retired or p.name == h.name:  # a log group is its own only part
                        continue
                    if p.state == "finished":
                        h.retired.add(p.name)
                    await self.writer.set_status(  # type: ignore[attr-defined]
                        p.name, p.state, p.detail or p.last_error, p.records_per_s, p.lag_ms, p.errors
                    )
            except Exception as exc:  # noqa: BLE001 - health must never stop ingestion
                log.warning("%s: cannot write status: %s", h.name, exc)
            if do_log and state != "error":  # the runner tells a failure once (and raises it at the end)
                t = totals.get(h.name)
                log.info(log_line(h, t.stored if t else 0, t.duplicates if t else 0, t.rejected if t else 0))
