"""What the alerts badge and the alerts screen ask of the store, answered off the UI thread.

Plain Python, no Textual: every function here runs in a thread worker. Reads
go through a lane of their own, so the once-a-second look for new firings
never waits behind a search or the panes; acknowledging and muting go through
the one writable lane the UI has (the one query history is saved with), each
a tiny transaction.

A firing recorded while a mute silenced it told nobody, so it neither counts
on the badge nor raises a toast; the alerts screen still lists it, marked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flowtui.alerts.firings import AlertLog, Firing, mute_ending
from flowtui.errors import FlowtuiError
from flowtui.query.window import TimeWindow
from flowtui.store import StoreError
from flowtui.ui.data import DataSource

READ_LANE = "alerts"
WRITE_LANE = "history"  # the UI's one writable connection
LIST_LIMIT = 200  # firings the screen lists, newest first
FRESH_LIMIT = 50  # new firings read per look; more than that are counted as "50+"


@dataclass(frozen=True, slots=True)
class AlertState:
    """The badge's number, and the firings that are new since the last look."""

    exists: bool  # the store has an alerts table: some rule has been evaluated on it
    newest_id: int
    pending: int  # unacknowledged and not recorded under a mute
    fresh: tuple[Firing, ...] = ()  # newer than the last look, pending, newest first

    def same_as(self, other: AlertState | None) -> bool:
        """Nothing a viewer shows has changed (new firings always change ``newest_id``)."""
        return other is not None and (self.exists, self.newest_id, self.pending) == (
            other.exists,
            other.newest_id,
            other.pending,
        )


@dataclass(frozen=True, slots=True)
class AlertList:
    """The screen's rows: the newest firings (or the unacknowledged ones), and the mutes in force.

    How many are pending is the watch's :class:`AlertState` (it is counted once per change, there)."""

    exists: bool
    firings: list[Firing]
    unacknowledged_only: bool
    mutes: list[dict[str, Any]] = field(default_factory=list)  # rule, group (None: the whole rule), until
    limit: int = LIST_LIMIT

    def muted_until(self, firing: Firing) -> float | None:
        """When the mute now covering ``firing``'s rule and group ends (None: not muted now)."""
        return mute_ending(self.mutes, firing)

    def whole_rule_muted(self, firing: Firing) -> bool:
        """The mute that covers ``firing`` longest is of its whole rule (the mute dialog's 'all of
        port-scan'), not of its group alone: unmuting the group would not make it heard."""
        until = self.muted_until(firing)
        return until is not None and any(m["rule"] == firing.rule and m["group"] is None and m["until"] == until for m in self.mutes)

    def fired_again(self, firing: Firing) -> Firing | None:
        """The newest firing listed of ``firing``'s rule and group, when it is a later one: the
        condition still held then."""
        later = [f for f in self.firings if f.rule == firing.rule and f.group == firing.group and f.fired_at > firing.fired_at]
        return max(later, key=lambda f: f.fired_at) if later else None


def alert_state(data: DataSource, seen_id: int | None) -> AlertState | None:
    """The badge's state; with ``seen_id``, the pending firings newer than it too.

    None when the store cannot be read just now (the status bar says why).
    """
    try:
        with data.lane(READ_LANE) as lane:
            log = AlertLog(lane.store)
            if not log.exists():
                return AlertState(False, 0, 0)
            newest = log.newest_id()
            fresh: tuple[Firing, ...] = ()
            if seen_id is not None and newest > seen_id:
                found = log.recent(unacknowledged=True, limit=FRESH_LIMIT, after_id=seen_id)
                fresh = tuple(f for f in found if f.muted_until is None)
            return AlertState(True, newest, log.unacknowledged(muted=False), fresh)
    except (FlowtuiError, sqlite3.DatabaseError):
        return None


def alert_list(data: DataSource, unacknowledged_only: bool, now: float, limit: int = LIST_LIMIT) -> AlertList:
    """The firings the screen lists, newest first, and the mutes in force at ``now``."""
    with data.lane(READ_LANE) as lane:
        log = AlertLog(lane.store)
        if not log.exists():
            return AlertList(False, [], unacknowledged_only, limit=limit)
        return AlertList(
            True,
            log.recent(unacknowledged=unacknowledged_only, limit=limit),
            unacknowledged_only,
            log.mutes(now),
            limit,
        )


def flows_now(data: DataSource, firing: Firing) -> int:
    """The flows a firing's drill-down finds now: more than it fired with when flows for its
    window arrived after it fired (late batches, a backfill)."""
    with data.lane(READ_LANE) as lane:
        return lane.engine.count(firing.drilldown_query(), TimeWindow(firing.window_start, firing.window_end))


def acknowledge(data: DataSource, ids: Iterable[int], now: float) -> list[int]:
    """Acknowledge firings; the ids that exist."""
    wanted = list(ids)
    what = f"firing {wanted[0]}" if len(wanted) == 1 else f"{len(wanted)} firings"
    with _writing(data, f"acknowledge {what}") as log:
        return log.acknowledge(wanted, now=now)


def mute(data: DataSource, rule: str, group: Mapping[str, Any] | None, until: float) -> None:
    """Silence ``rule`` (or one group of it) until ``until``: firings are still recorded."""
    with _writing(data, f"mute {rule}") as log:
        log.mute(rule, until, group or None)


def unmute(data: DataSource, rule: str, group: Mapping[str, Any] | None) -> bool:
    """Lift the mute of ``rule`` (or of one group of it); whether there was one."""
    with _writing(data, f"unmute {rule}") as log:
        return log.unmute(rule, group or None)


@contextmanager
def _writing(data: DataSource, what: str) -> Iterator[AlertLog]:
    """The writable lane's AlertLog; a store that refuses the write is one sentence (StoreError)."""
    try:
        with data.lane(WRITE_LANE) as lane:
            yield AlertLog(lane.store)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot {what} in {data.path}: {exc}") from None
