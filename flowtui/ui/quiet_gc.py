"""The dashboard's full garbage collections, at moments no one is waiting for a key.

A full collection (generation 2) walks every object the collector tracks and holds
every thread while it does: on a dashboard ingesting 50,000 records/s, 5–7 of them in
30 s, 70–280 ms each, and a key pressed meanwhile waited for the whole of it. Python
starts them when enough objects have outlived the younger generations, whatever the
user is doing. Here the young generations are collected as Python does; the full
collections are the dashboard's: every 10 s once nobody has pressed a key for a
second; and when keys keep coming, once 30 s have passed, right after a key's change
has been painted (the person at the keyboard is reading it: the next key seldom comes
within the ~50 ms a collection takes). After 60 s one runs whatever happens. They
cannot be rarer: every line Textual paints is a Strip that refers to itself (its crop
and divide caches hold it), so what it painted a while ago is garbage only a full
collection frees (~2,500 objects a second under that load).

The first quiet collection, once the panes have filled, also freezes what is left
(the panes' rows and caches): later full collections no longer walk it. What of it
dies afterwards in a cycle is never freed; it is a few MB, once.

The young collections wait too, from a key's arrival until its change is painted: a key
that draws a few hundred lines makes a few thousand objects, two or three generation-0
passes and now and then a generation-1 one (up to 10–25 ms) inside the key's span. They
run right after the paint instead, when the person at the keyboard is reading it; never
held longer than HOLD_AT_MOST (keys that keep coming, a key whose paint is never seen).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

NEVER = 1_000_000_000  # a generation-2 threshold Python never reaches
HOLD_AT_MOST = 0.5  # seconds the young collections may wait for keys' paints


class QuietCollector:
    """Owns the process's generation-2 collections while the dashboard runs."""

    def __init__(
        self,
        *,
        every: float = 10.0,
        quiet: float = 1.0,
        latest: float = 30.0,
        overdue: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every = every
        self.quiet = quiet
        self.latest = latest  # after this, one runs after the next key's paint
        self.overdue = overdue  # after this, one runs at the next refresh whatever happens
        self.clock = clock
        self.collections = 0  # full collections run here (for tests and the curious)
        self.last_pause_ms = 0.0
        self._thresholds: tuple[int, int, int] | None = None
        self._last_key = 0.0
        self._last_collection = 0.0
        self._settled = False  # the second freeze is done
        self._held_since: float | None = None  # clock() the young collections were held at

    def start(self) -> None:
        """Collect once, freeze what is left (modules, screens, the first panes: they live as
        long as the app, and a full collection no longer walks them), then take over."""
        if self._thresholds is not None:
            return
        gc.collect()
        gc.freeze()
        self._thresholds = gc.get_threshold()
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, NEVER)
        self._last_collection = self.clock()

    def stop(self) -> None:
        """Python's thresholds again (the frozen objects stay frozen: they still live)."""
        self.release()
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    def key_pressed(self) -> None:
        """A key has arrived: no collection until its change is painted (:meth:`key_painted`)."""
        now = self._last_key = self.clock()
        if self._thresholds is None:
            return
        if self._held_since is None:
            if gc.isenabled():
                gc.disable()
                self._held_since = now
        elif now - self._held_since >= HOLD_AT_MOST:
            self.release()  # keys keep coming: the young collections run between them

    def key_painted(self) -> None:
        """The key's change is on the screen: the young collections held for it may run, and
        the full one if it is due (:meth:`due_after_key`)."""
        self.release()
        if self.due_after_key():
            self.collect()

    @property
    def holding(self) -> bool:
        return self._held_since is not None

    def release(self) -> None:
        """Python's young collections again, as they were before the key."""
        if self._held_since is not None:
            self._held_since = None
            gc.enable()

    def due(self) -> bool:
        """A collection should run now (at a refresh): a quiet one, or an overdue one."""
        if self._thresholds is None:
            return False
        now = self.clock()
        since = now - self._last_collection
        return since >= self.overdue or (since >= self.every and now - self._last_key >= self.quiet)

    def due_after_key(self) -> bool:
        """Keys keep coming and none has been quiet long enough: collect once this key is painted."""
        return self._thresholds is not None and self.clock() - self._last_collection >= self.latest

    def maybe_collect(self) -> bool:
        """A full collection if one is due; True if it ran."""
        if self._held_since is not None and self.clock() - self._held_since >= HOLD_AT_MOST:
            self.release()  # (the key's paint was never seen)
        if not self.due():
            return False
        self.collect()
        return True

    def collect(self) -> None:
        """A full collection now; the first at a quiet moment also freezes what is left."""
        quiet = self.clock() - self._last_key >= self.quiet
        started = time.perf_counter()
        gc.collect()
        if quiet and not self._settled:
            self._settled = True
            gc.freeze()
        self.last_pause_ms = (time.perf_counter() - started) * 1000
        self.collections += 1
        self._last_collection = self.clock()
