"""The app's eye on the store's firings: the badge's number, and a toast for each new firing.

Firings are written by whoever ingests (the dashboard's worker process, or a
``flowtui tail --no-ui`` elsewhere), so the dashboard learns of them by
looking: once a second a thread worker reads the newest firing id and the
number still pending (two index probes and a count of a small table). A look
never starts while the last one runs, so looks never pile up behind a slow disk.

One watch per app, made by the first status bar that shows its badge: every
screen's status bar, and the alerts screen, subscribe to :attr:`changed`.
Firings already stored when the dashboard starts are on the badge but raise no
toast; so are late ones, whose window ended minutes before they were recorded or
seen (a backfill, an ingest catching up): a toast is for what happens now. The
others raise at most one toast at a time, naming the rule and group of a single
firing or counting a burst, so toasts never pile up over the panes.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from textual.app import App
from textual.signal import Signal
from textual.worker import Worker

from flowtui.alerts.firings import Firing
from flowtui.ui.alert_data import FRESH_LIMIT, AlertState, alert_state
from flowtui.ui.formatting import clean

POLL_SECONDS = 1.0
TOAST_SECONDS = 5.0  # and no new alert toast while one is up: later firings wait and are told together
LATE_SECONDS = 120.0  # a firing whose window ended longer ago than this when recorded or seen is not toasted

_WATCHES: WeakKeyDictionary[App[Any], AlertWatch] = WeakKeyDictionary()


def alert_watch(app: App[Any]) -> AlertWatch:
    """The app's one watch, started on first use."""
    watch = _WATCHES.get(app)
    if watch is None:
        watch = _WATCHES[app] = AlertWatch(app)
    return watch


class AlertWatch:
    """Polls the store's firings; publishes each change of state on :attr:`changed`."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.state: AlertState | None = None
        self.changed: Signal[AlertState] = Signal(app, "alerts-changed")
        self.toasts = 0  # raised so far (for tests and the curious)
        self._seen: int | None = None  # the newest firing id at the last look; None before the first
        self._worker: Worker[None] | None = None
        self._held: list[Firing] = []  # new firings to tell in the next toast, newest first
        self._toasted_at = -TOAST_SECONDS  # monotonic time of the last alert toast
        self._timer = app.set_interval(POLL_SECONDS, self.poll, name="alerts")
        self.poll()

    def poll(self) -> None:
        """Look now, unless a look is under way."""
        if self._worker is not None and not self._worker.is_finished:
            return
        self._worker = self.app.run_worker(
            partial(self._look, self._seen), name="alerts", group="alerts", thread=True, exit_on_error=False
        )

    def _look(self, seen: int | None) -> None:
        """In a thread: read, then hand the result to the UI thread."""
        state = alert_state(self.app.data, seen)  # type: ignore[attr-defined]
        if state is None:
            return  # the store cannot be read now; the status bar says why
        try:
            self.app.call_from_thread(self._apply, state)
        except RuntimeError:
            pass  # the app is closing

    def _apply(self, state: AlertState) -> None:
        first = self._seen is None
        self._seen = state.newest_id
        if not first and state.fresh:
            now = self.app.now()  # type: ignore[attr-defined]
            self._held[:0] = [f for f in state.fresh if not late(f, now)]
        if self._held and time.monotonic() - self._toasted_at >= TOAST_SECONDS:
            self._toast(self._held)
            self._held = []
            self._toasted_at = time.monotonic()
        if state.same_as(self.state):
            return
        self.state = state
        self.changed.publish(state)

    def _toast(self, fresh: list[Firing]) -> None:
        """One toast: the firing, or how many of which rules."""
        if len(fresh) == 1:
            (firing,) = fresh
            self.app.notify(
                f"{clean(firing.group_text)}: {clean(firing.measured())}",
                title=f"Alert: {clean(firing.rule)}",
                markup=False,
                severity="warning",
                timeout=TOAST_SECONDS,
            )
            self.toasts += 1
            return
        rules: dict[str, int] = {}
        for firing in fresh:
            rules[firing.rule] = rules.get(firing.rule, 0) + 1
        count = f"{len(fresh)}+" if len(fresh) >= FRESH_LIMIT else str(len(fresh))
        which = ", ".join(f"{clean(rule)} ×{n}" if n > 1 else clean(rule) for rule, n in rules.items())
        self.app.notify(
            f"{which} — a lists them", title=f"{count} new alerts", markup=False, severity="warning", timeout=TOAST_SECONDS
        )
        self.toasts += 1


def late(firing: Firing, now: float) -> bool:
    """Its window ended minutes before it was recorded or before now: news of the past."""
    return max(firing.fired_at, now) - firing.window_end > LATE_SECONDS
