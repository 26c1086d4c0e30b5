"""Delivering firings off the ingest path: one thread per notifier, retries with backoff.

:meth:`Dispatcher.submit` only puts the firing on each notifier's queue, so
a slow or dead Slack never holds up the write that fired it, and one
notifier's trouble never delays another's messages. A failed attempt is
tried again after ``backoff``, then twice that, and so on, up to the
notifier's ``attempts``; then it is given up on, logged, and the notifier's
row in ``source_status`` (``alerts:NAME``) says so, where the dashboard's
status bar shows it. Everything logged or stored passes the notifier's
:meth:`~flowtui.alerts.notifiers.Notifier.scrub` first.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from flowtui.alerts.firings import Firing
from flowtui.alerts.notifiers import DeliveryError, Notifier
from flowtui.store import Store
from flowtui.words import counted

log = logging.getLogger("flowtui.alerts")

QUEUE_SIZE = 1000  # firings waiting per notifier; beyond, new ones are dropped (and counted)
MAX_BACKOFF = 300.0
CLOSE_TIMEOUT = 5.0
STATUS_PREFIX = "alerts:"


@dataclass(slots=True)
class _Delivery:
    firing: Firing
    attempt: int = 0  # attempts made so far


class Dispatcher:
    """Hands firings to notifiers in the background; reports their health to the store's status rows."""

    def __init__(
        self,
        notifiers: Mapping[str, Notifier],
        db_path: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notifiers = dict(notifiers)
        self.db_path = Path(db_path) if db_path is not None else None
        self.clock = clock
        self._workers: dict[str, _Worker] = {}
        self._status_lock = threading.Lock()
        self._status_store: Store | None = None
        self._closed = False

    def submit(self, firing: Firing, names: Iterable[str]) -> None:
        """Queue ``firing`` for each named notifier; returns at once."""
        if self._closed:
            return
        for name in names:
            notifier = self.notifiers.get(name)
            if notifier is None:
                continue
            worker = self._workers.get(name)
            if worker is None:
                worker = self._workers[name] = _Worker(self, notifier)
                worker.start()
            worker.put(_Delivery(firing))

    def idle(self) -> bool:
        """Nothing queued, waiting for a retry or being sent."""
        return all(w.idle() for w in self._workers.values())

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Deliver what can be delivered within ``timeout``, then give up on the rest."""
        if self._closed:
            return
        self._closed = True
        deadline = self.clock() + timeout
        for worker in self._workers.values():
            worker.stop(deadline)
        for worker in self._workers.values():
            worker.join(max(0.1, timeout + 1.0))
        with self._status_lock:
            if self._status_store is not None:
                self._status_store.close()
                self._status_store = None

    # --- reporting ---------------------------------------------------------------------------

    def report(self, notifier: Notifier, state: str, detail: str, errors: int) -> None:
        """The notifier's row in source_status; a busy or missing store only costs a log line."""
        if self.db_path is None:
            return
        try:
            with self._status_lock:
                if self._status_store is None:
                    self._status_store = Store(self.db_path)
                self._status_store.set_status(STATUS_PREFIX + notifier.name, state, detail, None, None, errors)
        except Exception as exc:  # noqa: BLE001 - status is best effort
            log.warning("alerts: cannot write the status of notifier %s: %s", notifier.name, exc)


class _Worker(threading.Thread):
    """One notifier's deliveries, in order, with retries scheduled on a heap."""

    def __init__(self, dispatcher: Dispatcher, notifier: Notifier) -> None:
        super().__init__(name=f"flowtui-notify-{notifier.name}", daemon=True)
        self.dispatcher = dispatcher
        self.notifier = notifier
        self.queue: queue.Queue[_Delivery | None] = queue.Queue(QUEUE_SIZE)
        self.retries: list[tuple[float, int, _Delivery]] = []
        self._seq = itertools.count()
        self.pending = 0  # deliveries queued, waiting for a retry or being sent
        self._lock = threading.Lock()
        self.errors = 0  # deliveries given up on
        self.dropped = 0
        self.deadline: float | None = None  # set by stop(): give up on what is left by then

    def put(self, delivery: _Delivery) -> None:
        self._count(1)
        try:
            self.queue.put_nowait(delivery)
        except queue.Full:
            self._count(-1)
            self.dropped += 1
            self.errors += 1
            name = self.notifier.name
            log.warning("alerts: notifier %s is %d firings behind; dropped firing %s", name, QUEUE_SIZE, delivery.firing.id)
            self.dispatcher.report(self.notifier, "error", f"{QUEUE_SIZE} firings waiting; {self.dropped} dropped", self.errors)

    def idle(self) -> bool:
        return self.pending == 0

    def _count(self, n: int) -> None:
        with self._lock:
            self.pending += n

    def stop(self, deadline: float) -> None:
        self.deadline = deadline
        try:
            self.queue.put(None, timeout=1.0)
        except queue.Full:
            pass

    def run(self) -> None:
        clock = self.dispatcher.clock
        stopping = False
        while True:
            now = clock()
            if self.deadline is not None and now >= self.deadline:
                break
            if self.retries and self.retries[0][0] <= now:
                self._attempt(heapq.heappop(self.retries)[2])
                continue
            if stopping and not self.retries:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            else:
                wait = self.retries[0][0] - now if self.retries else None
                if self.deadline is not None:
                    wait = min(wait if wait is not None else 1e9, self.deadline - now)
                try:
                    item = self.queue.get(timeout=wait)
                except queue.Empty:
                    continue
            if item is None:
                stopping = True
                continue
            self._attempt(item)
        self._give_up_on_rest()

    def _attempt(self, d: _Delivery) -> None:
        notifier = self.notifier
        d.attempt += 1
        firing = d.firing
        try:
            notifier.send(firing)
        except Exception as exc:  # noqa: BLE001 - a notifier's failure is reported, never raised
            reason = str(exc) if isinstance(exc, DeliveryError) else notifier.scrub(f"{type(exc).__name__}: {exc}")
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            if permanent or d.attempt >= notifier.attempts:
                self.errors += 1
                tried = counted(d.attempt, "attempt")
                log.warning("alerts: %s (%s) gave up on firing %s of %s after %s: %s",
                            notifier.name, notifier.describe(), firing.id, firing.rule, tried, reason)
                self.dispatcher.report(
                    notifier, "error", f"firing {firing.id} ({firing.rule}) not delivered after {tried}: {reason}", self.errors
                )
                self._count(-1)
            else:
                delay = min(MAX_BACKOFF, notifier.backoff * 2 ** (d.attempt - 1))
                log.info("alerts: %s: attempt %d of %d for firing %s failed: %s; again in %g s",
                         notifier.name, d.attempt, notifier.attempts, firing.id, reason, delay)
                self.dispatcher.report(
                    notifier, "retrying", f"firing {firing.id}: attempt {d.attempt} of {notifier.attempts} failed: {reason}",
                    self.errors,
                )
                heapq.heappush(self.retries, (self.dispatcher.clock() + delay, next(self._seq), d))
        else:
            log.info("alerts: %s delivered firing %s (%s)", notifier.name, firing.id, firing.rule)
            when = time.strftime("%H:%M:%S", time.gmtime())
            self.dispatcher.report(notifier, "ok", f"delivered firing {firing.id} ({firing.rule}) at {when} UTC", self.errors)
            self._count(-1)

    def _give_up_on_rest(self) -> None:
        left = len(self.retries)
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                left += 1
        self.retries.clear()
        if left:
            self.errors += left
            log.warning("alerts: %s: stopped with %d firing(s) undelivered", self.notifier.name, left)
            self.dispatcher.report(self.notifier, "error", f"stopped with {left} firing(s) undelivered", self.errors)
        self._count(-left)
