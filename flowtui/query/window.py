"""The time window a search covers: all time, the last N minutes, or from/to.

A relative window (``--since 15m``) follows "now": asked again a minute
later it covers the newest minute too, which is what a live dashboard wants.
Windows are half-open, ``start <= t < end``; ``--to T`` includes T itself
(and, for a date or minute, all of it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from flowtui.errors import UsageError
from flowtui.query.values import time_interval

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class TimeWindow:
    start: int | None = None  # unix seconds, inclusive; None: from the beginning
    end: int | None = None  # exclusive; None: up to now, and on as data arrives
    since: int | None = None  # seconds: the window is the last ``since`` seconds before now

    @classmethod
    def all(cls) -> TimeWindow:
        return cls()

    @classmethod
    def last(cls, seconds: int) -> TimeWindow:
        return cls(since=int(seconds))

    @classmethod
    def parse(
        cls,
        since: str | None = None,
        from_: str | None = None,
        to: str | None = None,
        all_: bool = False,
    ) -> TimeWindow:
        """The window of ``--since`` / ``--from`` + ``--to`` / ``--all`` (no flag: all time)."""
        if since is not None and (from_ is not None or to is not None):
            raise UsageError("use either --since or --from/--to, not both")
        if all_ and (since is not None or from_ is not None or to is not None):
            raise UsageError("--all cannot be combined with --since, --from or --to")
        if since is not None:
            return cls.last(parse_duration(since, "--since"))
        start = parse_time(from_, "--from")[0] if from_ is not None else None
        end = parse_time(to, "--to")[1] + 1 if to is not None else None
        if start is not None and end is not None and end <= start:
            raise UsageError(f"--to {to} is not after --from {from_}")
        return cls(start, end)

    @property
    def live(self) -> bool:
        """Whether the window ends at now (new flows keep falling into it)."""
        return self.end is None

    @property
    def relative(self) -> bool:
        return self.since is not None

    def bounds(self, now: float | None = None) -> tuple[int | None, int | None]:
        """(start, end) in unix seconds at ``now``; None for an open side."""
        if self.since is not None:
            t = int(time.time() if now is None else now)
            return t - self.since, None
        return self.start, self.end

    def span(self, now: float | None = None) -> int | None:
        """The window's length in seconds; None when it has no start."""
        if self.since is not None:
            return self.since
        if self.start is None:
            return None
        end = self.end if self.end is not None else int(time.time() if now is None else now)
        return max(1, end - self.start)

    def shift(self, backward: bool = True, now: float | None = None) -> TimeWindow:
        """The window one span earlier (``[``) or later (``]``), as an absolute window.

        Moving forward into the present gives back the live window of the same length.
        """
        span = self.span(now)
        if span is None:
            return self
        t = int(time.time() if now is None else now)
        start, end = self.bounds(t)
        assert start is not None
        end = t if end is None else end
        if backward:
            return TimeWindow(start - span, end - span)
        if end + span >= t:
            return TimeWindow(since=span)
        return TimeWindow(start + span, end + span)

    def on_minutes(self, now: float | None = None, buckets: int = 60) -> tuple[TimeWindow, int]:
        """This window widened to whole minutes, pinned at ``now``, and a bucket count for it.

        What a live pane should ask ``top()`` and ``histogram()`` for: the stores'
        rollups sum whole minutes (and five minutes), so such a window and
        buckets of whole minutes are read from them, where "the last 900 s"
        would read the flows of its partial first minute and 15-second buckets
        every flow. The window runs from the start of the minute ``span`` ago to
        the end of the current one; at most ``buckets`` buckets, each a whole
        number of minutes (of five minutes, when they are that long).
        """
        t = int(time.time() if now is None else now)
        start, end = self.bounds(t)
        if start is None:
            return self, buckets
        end = t + 1 if end is None else end
        step = 60
        per = _ceil_div(_ceil_div(end - start, 60), max(1, buckets))  # minutes per bucket
        if per >= 5:
            per, step = _ceil_div(per, 5) * 5, 300
        hi = _ceil_div(end, step) * step
        width = per * 60
        n = _ceil_div(hi - (start - start % step), width)
        return TimeWindow(hi - n * width, hi), n

    def with_since(self, seconds: int) -> TimeWindow:
        return replace(self, start=None, end=None, since=int(seconds))

    def describe(self, show: Callable[[int], str] | None = None) -> str:
        """A short label for status bars: 'last 15m', 'all time', '2026-11-27 10:00 → 11:00';
        ``show`` writes a time (UTC by default; the dashboard's in the zone it shows)."""
        if self.since is not None:
            return f"last {format_duration(self.since)}"
        if self.start is None and self.end is None:
            return "all time"
        show = show or _fmt
        a = show(self.start) if self.start is not None else "…"
        b = show(self.end) if self.end is not None else "now"
        return f"{a} → {b}"


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def parse_duration(text: str, flag: str = "duration") -> int:
    """'90s', '15m', '2h', '1d', '1w' or plain seconds → seconds (> 0)."""
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise UsageError(f"{flag} {text!r} is not a duration: use e.g. 90s, 15m, 2h or 1d")
    seconds = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if seconds <= 0:
        raise UsageError(f"{flag} {text!r} must be longer than 0 seconds")
    return seconds


def parse_time(text: str, flag: str = "time") -> tuple[int, int]:
    """Unix seconds or ISO 8601 → the (first, last) second it stands for."""
    try:
        return time_interval(text)
    except ValueError:
        raise UsageError(
            f"{flag} {text!r} is not a time: use unix seconds or ISO 8601, e.g. 2026-11-27T10:00:00Z"
        ) from None


def format_duration(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _fmt(t: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
