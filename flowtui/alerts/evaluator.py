"""Evaluating alert rules as flows are written, and over a window on demand.

:class:`AlertEvaluator` listens to a writing :class:`~flowtui.store.Store`
(``store.on_write``): after each committed batch it reads, per rule, only
the new rows that match (``id BETWEEN first AND last`` plus the rule's
compiled query), folds them into the rule's :class:`RuleWindow`, and fires
for each group whose window now meets the condition and is not cooling
down. A firing is stored at once (:class:`AlertLog`) and handed to the
dispatcher, whose threads do the slow part. Nothing here may stop ingest:
an error in a rule is logged and the batch goes on.

At start the windows are filled from what the store already holds (one
query per rule over its window), and cool-downs from the firings stored, so a
restart neither forgets a scan in progress nor fires twice for it.

:func:`evaluate_window` is the from-scratch counterpart, for ``flowtui
alerts test``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from flowtui.alerts.delivery import Dispatcher
from flowtui.alerts.firings import AlertLog, Firing
from flowtui.alerts.lookups import Lookups
from flowtui.alerts.reader import RuleReader
from flowtui.alerts.rules import Rule
from flowtui.alerts.window import GroupKey, Hit, RuleWindow
from flowtui.store import Store, WriteResult

log = logging.getLogger("flowtui.alerts")


@dataclass
class _RuleState:
    rule: Rule
    reader: RuleReader
    window: RuleWindow
    error: str | None = None  # the last error, logged once until it changes


class AlertEvaluator:
    """The rules of one writing store, evaluated incrementally on every write."""

    def __init__(
        self,
        store: Store,
        rules: Sequence[Rule],
        dispatcher: Dispatcher | None = None,
        *,
        clock: Callable[[], float] = time.time,
        log_level: int = logging.INFO,
    ) -> None:
        self.store = store
        self.log_level = log_level  # of the line each firing logs
        self.rules = list(rules)
        self.dispatcher = dispatcher
        self.clock = clock
        self.history = AlertLog(store)
        self.lookups = Lookups(store)
        self.states = [_RuleState(r, RuleReader(store, r, self.lookups), RuleWindow(r)) for r in self.rules]
        self.on_fire: list[Callable[[Firing], None]] = []
        self.firings = 0
        self.seconds = 0.0  # spent evaluating, for the curious
        self._attached = False

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> AlertEvaluator:
        """Create the tables, warm the windows from the store, and listen to its writes."""
        self.history.ensure()
        self.prime()
        if not self._attached:
            self.store.on_write.append(self.on_write)
            self._attached = True
        return self

    def close(self) -> None:
        """Stop listening; deliver what the notifiers can in a few seconds."""
        if self._attached:
            try:
                self.store.on_write.remove(self.on_write)
            except ValueError:
                pass
            self._attached = False
        if self.dispatcher is not None:
            self.dispatcher.close()

    def prime(self) -> None:
        """Fill every rule's window from the flows already stored (without firing)."""
        max_id, newest = self.store.conn.execute("SELECT max(id), max(start) FROM flows").fetchone()
        for st in self.states if max_id is not None else ():
            w = st.window
            try:
                last_bucket = newest // w.width
                w.fold(st.reader.in_window((last_bucket - w.size + 1) * w.width, (last_bucket + 1) * w.width, max_id))
            except Exception as exc:  # noqa: BLE001 - one broken rule must not stop ingest
                self._rule_failed(st, exc)
        for st in self.states:  # cool-downs, also of groups no longer in the window
            try:
                for stored, end in self.history.last_fired(st.rule.name).items():
                    group = json.loads(stored)
                    if list(group) == list(st.rule.group_by):  # firings from before a group_by change do not count
                        st.window.last_fired[tuple(group.values())] = end
            except Exception as exc:  # noqa: BLE001 - one broken rule must not stop ingest
                self._rule_failed(st, exc)

    # --- the write hook ---------------------------------------------------------------------------

    def on_write(self, result: WriteResult) -> None:
        """Store listener: evaluate the rows ``result`` stored. Never raises."""
        if result.first_id is None or result.last_id is None:
            return
        t0 = time.perf_counter()
        for st in self.states:
            try:
                rows = st.reader.between(result.first_id, result.last_id)
                if not rows:
                    continue
                touched = st.window.fold(rows)
                for key, (first, last) in touched.items():
                    hit = st.window.check(key, first, last)
                    if hit is not None:
                        self._fire(st, hit)
                if st.error is not None:
                    st.error = None
            except Exception as exc:  # noqa: BLE001 - ingest goes on whatever a rule does
                self._rule_failed(st, exc)
        self.seconds += time.perf_counter() - t0

    def _rule_failed(self, st: _RuleState, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if message != st.error:
            st.error = message
            log.error("alerts: rule %s failed: %s", st.rule.name, message, exc_info=not isinstance(exc, OSError))

    def _fire(self, st: _RuleState, hit: Hit) -> Firing:
        rule = st.rule
        st.window.fired(hit)
        group = dict(zip(rule.group_by, hit.key))
        now = self.clock()
        firing = Firing(
            rule=rule.name,
            group=group,
            value=hit.value,
            window_start=hit.start,
            window_end=hit.end,
            fired_at=now,
            flow_ids=hit.flow_ids,
            condition=str(rule.condition),
            query=rule.query,
            flows=hit.flows,
            bytes=hit.bytes,
            packets=hit.packets,
            muted_until=self.history.muted_until(rule.name, group, now),
        )
        self.history.record(firing)
        self.firings += 1
        log.log(self.log_level, "alert %s%s", firing.summary(), " (muted)" if firing.muted_until else "")
        if firing.muted_until is None and self.dispatcher is not None and rule.notifiers:
            self.dispatcher.submit(firing, rule.notifiers)
        for listener in self.on_fire:
            listener(firing)
        return firing


# --- from scratch ---------------------------------------------------------------------------------


@dataclass
class WindowResult:
    """A rule over one window of the store: every group's value, and those meeting the condition."""

    rule: Rule
    start: int
    end: int
    values: dict[GroupKey, tuple[float, int, int, int]] = field(default_factory=dict)  # value, flows, bytes, packets
    late: int = 0

    def hits(self) -> list[tuple[GroupKey, tuple[float, int, int, int]]]:
        """Groups meeting the condition, biggest value first."""
        cond = self.rule.condition
        out = [(k, v) for k, v in self.values.items() if cond.holds(v[0])]
        out.sort(key=lambda kv: (-kv[1][0], str(kv[0])))
        return out


def evaluate_window(store: Store, rule: Rule, at: int | None = None) -> WindowResult | None:
    """The rule over the window holding ``at`` (default: the newest flow's time); None for an empty store."""
    if at is None:
        bounds = store.time_bounds()
        if bounds is None:
            return None
        at = bounds[1]
    w = RuleWindow(rule)
    end_bucket = at // w.width
    start, end = w.window_bounds(end_bucket)
    w.newest = end_bucket
    w.fold(RuleReader(store, rule, Lookups(store)).in_window(start, end))
    return WindowResult(rule, start, end, w.totals(end_bucket), w.late)
