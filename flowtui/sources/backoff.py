"""Pacing: jittered exponential backoff, and the read limits of a Kinesis shard."""

from __future__ import annotations

import asyncio
import random
import time


class Backoff:
    """Exponential delays with "equal jitter": half fixed, half random, so retries never bunch up or spin."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempts = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempts, 30)))
        self.attempts += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempts = 0


def jittered(seconds: float, rng: random.Random | None = None) -> float:
    """``seconds`` ± 10 %, for slow fixed retries (access denied) of many readers."""
    return seconds * (0.9 + 0.2 * (rng or random).random())


class RateLimiter:
    """Calls per second and bytes per second, the way Kinesis counts them for one shard.

    Kinesis allows 5 GetRecords calls and 2 MiB per second per shard. A response
    of ``n`` bytes uses ``n / bytes_per_s`` seconds of the budget, so the next
    call waits until it is paid back instead of drawing a throttling error.
    """

    def __init__(self, calls_per_s: float, bytes_per_s: float | None = None) -> None:
        self.min_interval = 1.0 / calls_per_s
        self.bytes_per_s = bytes_per_s
        self._next = 0.0

    def delay(self) -> float:
        return max(0.0, self._next - time.monotonic())

    async def wait(self, stop: asyncio.Event | None = None) -> None:
        delay = self.delay()
        if delay > 0:
            await sleep(delay, stop)
        self._next = time.monotonic() + self.min_interval

    def spent(self, nbytes: int) -> None:
        """Account for a response of ``nbytes``: the next call waits until the budget recovers."""
        if self.bytes_per_s and nbytes > 0:
            self._next = max(self._next, time.monotonic() + nbytes / self.bytes_per_s)

    def hold(self, seconds: float) -> None:
        """No call for ``seconds`` (after a throttling error)."""
        self._next = max(self._next, time.monotonic() + seconds)


async def sleep(seconds: float, stop: asyncio.Event | None = None) -> bool:
    """Sleep, waking early when ``stop`` is set; True when stopped."""
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    if stop.is_set():
        return True
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        return False
    return True


class Pause:
    """The dashboard's pause: readers stop calling AWS until it is lifted (iterators are renewed after)."""

    def __init__(self) -> None:
        self._running = asyncio.Event()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def set(self, paused: bool) -> None:
        if paused:
            self._running.clear()
        else:
            self._running.set()

    async def wait(self, stop: asyncio.Event) -> None:
        """Return when not paused, or when stopped."""
        if not self.paused:
            return
        running = asyncio.ensure_future(self._running.wait())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({running, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            running.cancel()
            stopped.cancel()
