"""The demo as an ingest source: synthetic payloads through the real pipeline, paced by the clock.

:class:`DemoSource` is an :class:`~flowtui.worker.IngestJob`: the dashboard runs
it in an :class:`~flowtui.worker.IngestWorker`, ``flowtui demo --no-ui`` runs it
in-process with :func:`~flowtui.worker.run_job`. Either way every record goes
the way a Kinesis record goes: gzip payload → ``Pipeline.ingest_payloads`` →
parse → enrich → store, with the position in the same transaction.

Time: at start, ``backfill`` seconds of history (as dense as live traffic) fill
the panes at once; then each second's records are made when that second has
passed, so flow times follow the wall clock. Given ``start_at``, the run uses
that simulated start and does not wait for the clock: the same seed and start
then give the same records, which is what the tests rely on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flowtui.demo.environment import demo_config
from flowtui.demo.traffic import Event, PayloadEncoder, TrafficGenerator
from flowtui.demo.trail import TRAIL_EVERY, TrailMaker
from flowtui.ingest import IngestStats, Pipeline
from flowtui.worker import RUNNING, JobContext

DEFAULT_RATE = 500.0
DEFAULT_BACKFILL = 900  # seconds of history made at start
BACKFILL_SHARE = 1.0  # history is as dense as live traffic: a sparkline has no step at "now"
BACKFILL_BATCH_SECONDS = 30
UNPACED_BATCH_SECONDS = 10
MAX_CATCH_UP = 60  # seconds; further behind than this (a suspended laptop) skips ahead
CONTROL_EVERY = 60  # seconds between CloudWatch health-check messages


def _share(total: float, i: int) -> int:
    """Records for the i-th second at ``total`` per second, fractions carried over."""
    return math.floor(total * (i + 1)) - math.floor(total * i)


def live_seconds(t: int, now: float, end: int | None) -> range:
    """The seconds of live traffic due at ``now`` from second ``t`` on (``now`` ≥ ``t + 1``), up to
    ``end``. Further behind than MAX_CATCH_UP (a backfill that took minutes, a suspended laptop),
    what was missed is skipped, not burst; empty once ``end`` has passed (the run is over)."""
    if now - t > MAX_CATCH_UP:
        t = int(now) - 1
    stop = int(now) if end is None else min(int(now), end)
    return range(min(t, stop), stop)


class DemoTraffic:
    """The demo's payloads, second by second: backfill first, then live seconds in order."""

    def __init__(self, seed: int, rate: float, start: int, backfill: int = DEFAULT_BACKFILL) -> None:
        self.seed = seed
        self.rate = rate
        self.start = start
        self.backfill_seconds = backfill
        self.generator = TrafficGenerator(seed)
        self.encoder = PayloadEncoder()
        self.trail = TrailMaker(seed, self.generator)  # CloudTrail calls from addresses in the traffic
        self._trail_started = False
        self.reject_lines = 0
        self._excess = 0

    def _events(self, t: int, n: int, every_scenario: bool) -> list[Event]:
        # Conversations come whole, so a second may overshoot; the next one makes up for it.
        want = max(0, n - self._excess)
        events = self.generator.second(t, want, every_scenario)
        self._excess += len(events) - n
        self._excess = max(self._excess, 0)
        self.reject_lines += sum(1 for e in events if e[2].endswith(" REJECT OK"))
        return events

    def backfill(self) -> Iterator[tuple[list[bytes], int]]:
        """(payloads, last second) for the history before ``start``, in batches."""
        first = self.start - self.backfill_seconds
        per_second = self.rate * BACKFILL_SHARE
        events: list[Event] = []
        trail: list[bytes] = []
        for i in range(self.backfill_seconds):
            t = first + i
            events += self._events(t, _share(per_second, i), every_scenario=i == 0)
            trail += self._trail(t)
            if (i + 1) % BACKFILL_BATCH_SECONDS == 0 or i == self.backfill_seconds - 1:
                payloads = self.encoder.encode(events) + trail
                if i < BACKFILL_BATCH_SECONDS:
                    payloads.insert(0, self.encoder.control_message(t))
                yield payloads, t
                events, trail = [], []

    def _trail(self, t: int) -> list[bytes]:
        """A CloudTrail payload every TRAIL_EVERY seconds (every kind of caller in the first one)."""
        if t % TRAIL_EVERY:
            return []
        first = not self._trail_started
        self._trail_started = True
        return [self.trail.payload(t, every_actor=first)]

    def live(self, seconds: range) -> list[bytes]:
        """The payloads of the live seconds ``seconds`` (consecutive, after the previous call's)."""
        events: list[Event] = []
        control: list[bytes] = []
        trail: list[bytes] = []
        for t in seconds:
            i = t - self.start
            events += self._events(t, _share(self.rate, i), every_scenario=i % CONTROL_EVERY == 0)
            trail += self._trail(t)
            if i % CONTROL_EVERY == 0:
                control.append(self.encoder.control_message(t))
        return control + self.encoder.encode(events) + trail


@dataclass
class DemoSource:
    """``flowtui demo``'s traffic as an ingest job (picklable: plain values only)."""

    seed: int = 1
    rate: float = DEFAULT_RATE
    duration: float | None = None  # seconds of live traffic; None: until stopped
    start_at: int | None = None  # a fixed simulated start: no waiting for the clock
    backfill: int = DEFAULT_BACKFILL
    # [[alerts]] and [notifiers] as plain data (flowtui.alerts.alert_config); None: the example rules.
    alerts: dict[str, Any] | None = None
    # Filled in by run(), for the caller of an in-process run.
    stored: int = field(default=0, compare=False)
    reject_flows: int = field(default=0, compare=False)
    dead_letters: int = field(default=0, compare=False)

    @property
    def name(self) -> str:
        return f"demo:{self.seed}"

    def run(self, ctx: JobContext) -> None:
        from flowtui.alerts import attach_config
        from flowtui.enrich import Enricher

        enricher = Enricher.from_config(demo_config(), background=False)
        alerts = attach_config(ctx.store, self.alerts)
        try:
            self._run(ctx, Pipeline(ctx.store, enricher.profile))
        finally:
            if alerts is not None:
                alerts.close()
            enricher.close()

    def _ingest(
        self,
        ctx: JobContext,
        pipeline: Pipeline,
        traffic: DemoTraffic,
        payloads: list[bytes],
        last: int,
        lag_ms: int | None,
    ) -> None:
        name = self.name
        batch = [(p, f"{name}@{last}#{n}") for n, p in enumerate(payloads)]
        stats: IngestStats = pipeline.ingest_payloads(batch, name, checkpoint=(name, str(last)))
        ctx.add(name, stats, lag_ms)
        self.stored += stats.stored
        self.dead_letters += stats.rejected
        self.reject_flows = traffic.reject_lines

    def _run(self, ctx: JobContext, pipeline: Pipeline) -> None:
        name = self.name
        paced = self.start_at is None
        launched = time.time()
        start = int(launched) if self.start_at is None else int(self.start_at)
        traffic = DemoTraffic(self.seed, self.rate, start, self.backfill)
        detail = f"synthetic traffic, seed {self.seed}, {self.rate:g} records/s"
        if self.backfill:
            ctx.set_state(name, "backfilling", f"{detail}; making the last {self.backfill // 60} minutes")
            for payloads, last in traffic.backfill():
                if ctx.stopping:
                    return
                self._ingest(ctx, pipeline, traffic, payloads, last, None)
        ctx.set_state(name, RUNNING, detail)
        end = None if self.duration is None else start + max(0, math.ceil(self.duration))
        t = start
        while not ctx.stopping and (end is None or t < end):
            if ctx.wait_while_paused(name) and paced:
                t = max(t, int(time.time()))  # what the pause would have made is skipped, not burst
                continue
            if paced:
                now = time.time()
                if now < t + 1:  # second t has not passed yet
                    ctx.sleep(min(t + 1 - now, 0.25))
                    continue
                due = live_seconds(t, now, end)
            else:
                due = range(t, t + UNPACED_BATCH_SECONDS if end is None else min(t + UNPACED_BATCH_SECONDS, end))
            if not due:  # the duration ran out while it was behind (a long backfill, a suspended laptop)
                break
            payloads = traffic.live(due)
            last = due[-1]
            lag = int((time.time() - (last + 1)) * 1000) if paced else None
            self._ingest(ctx, pipeline, traffic, payloads, last, lag)
            t = last + 1
        if paced and self.duration is not None:
            ctx.sleep(launched + self.duration - time.time())  # run for the duration asked, not less
