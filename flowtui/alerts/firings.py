"""Firings in the store: what fired, when, on which flows; acknowledgements and mutes.

The tables are created on first use by whoever writes (``CREATE TABLE IF NOT
EXISTS``), so stores made before alerts existed need no migration, and a
read-only reader (the dashboard) simply sees no firings until there are some.

``alerts`` has one row per firing: the rule, the group it fired for (a JSON
object of the rule's ``group_by`` fields), the condition's value, the window,
and the ids of up to 1000 of the flows that made it (``flows.id``) so the
firing can be opened later. ``alert_mutes`` silences a rule (or one group of
it) until a time: firings are still recorded, with ``muted_until`` set, but
nobody is notified.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowtui.errors import FlowtuiError
from flowtui.store import Store
from flowtui.words import counted

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL,
  group_key TEXT NOT NULL,
  value REAL NOT NULL,
  fired_at REAL NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  flow_ids TEXT NOT NULL,
  acknowledged INTEGER NOT NULL DEFAULT 0,
  muted_until REAL,
  condition TEXT NOT NULL DEFAULT '',
  query TEXT NOT NULL DEFAULT '*',
  flows INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  packets INTEGER NOT NULL DEFAULT 0,
  acknowledged_at REAL
)""",
    "CREATE INDEX IF NOT EXISTS alerts_fired_at ON alerts (fired_at)",
    "CREATE INDEX IF NOT EXISTS alerts_rule ON alerts (rule, group_key, window_end)",
    # What a dashboard polls every second (how many wait to be acknowledged) read from a small
    # index: the rows themselves hold up to 1000 flow ids, before the acknowledged column.
    "CREATE INDEX IF NOT EXISTS alerts_unacknowledged ON alerts (muted_until) WHERE acknowledged = 0",
    """CREATE TABLE IF NOT EXISTS alert_mutes (
  rule TEXT NOT NULL,
  group_key TEXT NOT NULL DEFAULT '',
  until REAL NOT NULL,
  PRIMARY KEY (rule, group_key)
)""",
)
_COLUMNS = (
    "id, rule, group_key, value, fired_at, window_start, window_end, flow_ids, acknowledged,"
    " muted_until, condition, query, flows, bytes, packets"
)


class AlertError(FlowtuiError):
    """A firing or rule the user named that is not there."""


def group_json(group: Mapping[str, Any]) -> str:
    """The stored form of a group: compact JSON in the rule's group_by order."""
    return json.dumps(dict(group), separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True)
class Firing:
    """One firing of a rule for one group in one window."""

    rule: str
    group: dict[str, Any]
    value: float
    window_start: int  # unix seconds, inclusive
    window_end: int  # exclusive
    fired_at: float  # wall clock
    flow_ids: list[int] = field(default_factory=list)
    condition: str = ""
    query: str = "*"
    flows: int = 0
    bytes: int = 0
    packets: int = 0
    id: int | None = None
    acknowledged: bool = False
    muted_until: float | None = None

    @property
    def group_text(self) -> str:
        """``src_addr=203.0.113.9 dst_port=22``, or ``all flows`` for a rule without groups."""
        if not self.group:
            return "all flows"
        return " ".join(f"{k}={_show(v)}" for k, v in self.group.items())

    @property
    def value_text(self) -> str:
        return shown_number(self.value)

    def _parts(self) -> tuple[str, str, str]:
        """The stored condition (``count > 5000``) as label, operator and threshold, the threshold as people read numbers."""
        label, op, threshold = self.condition.partition(">")
        if threshold.startswith("="):
            op, threshold = ">=", threshold[1:]
        threshold = threshold.strip()
        try:
            threshold = shown_number(float(threshold))
        except ValueError:
            pass
        return label.strip() or "value", op, threshold

    @property
    def condition_text(self) -> str:
        """The condition for people: ``count > 5,000`` (the stored and JSON form stays ``count > 5000``)."""
        label, op, threshold = self._parts()
        return f"{label} {op} {threshold}" if op else self.condition

    def measured(self) -> str:
        """The condition with the value it measured: ``distinct(dst_port) 37 > 20``, ``count 5,553 > 5,000``."""
        label, op, threshold = self._parts()
        if not op:
            return self.value_text
        return f"{label} {self.value_text} {op} {threshold}"

    def summary(self) -> str:
        """One line for a chat message, a mail subject or a log."""
        label = self.condition.split(">")[0].strip() or "value"
        start = _utc(self.window_start)
        end = _utc(self.window_end)[11:] if start[:10] == _utc(self.window_end)[:10] else _utc(self.window_end)
        return (
            f"{self.rule}: {label} = {self.value_text} ({self.condition_text}) for {self.group_text},"
            f" {start}–{end} UTC, {counted(self.flows, 'flow')}"
        )

    def to_json(self) -> dict[str, Any]:
        """The firing as the generic webhook and the command notifier receive it."""
        return {
            "id": self.id,
            "rule": self.rule,
            "group": self.group,
            "condition": self.condition,
            "value": _json_number(self.value),
            "query": self.query,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "window_start_iso": _iso(self.window_start),
            "window_end_iso": _iso(self.window_end),
            "fired_at": round(self.fired_at, 3),
            "flows": self.flows,
            "bytes": self.bytes,
            "packets": self.packets,
            "flow_ids": list(self.flow_ids),
            "summary": self.summary(),
        }

    def drilldown_query(self) -> str:
        """A query for the firing's flows: the rule's query narrowed to its group.

        Run it over [window_start, window_end) (``flowtui query --from … --to …``,
        or the dashboard's results view) to see every matching flow, beyond the
        stored ids.
        """
        terms = [f"({self.query})"] if self.query.strip() not in ("", "*") else []
        for name, value in self.group.items():
            if value is None:
                terms.append(f"NOT _exists_:{name}")
            elif isinstance(value, bool):
                terms.append(f"{name}:{'true' if value else 'false'}")
            elif isinstance(value, int):
                terms.append(f"{name}:{value}")
            else:
                text = str(value).replace("\\", "\\\\").replace('"', '\\"')
                terms.append(f'{name}:"{text}"')
        return " AND ".join(terms) if terms else "*"


class AlertLog:
    """The alerts tables of one store. Writes need a store opened read-write."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._ready = False

    @property
    def conn(self) -> Any:
        return self.store.conn

    def ensure(self) -> None:
        """Create the tables if this store has none yet (a writer's first step)."""
        if self._ready:
            return
        with self.store.transaction():
            for stmt in SCHEMA:
                self.conn.execute(stmt)
        self._ready = True

    def exists(self) -> bool:
        if self._ready:
            return True
        with self.store.reading() as conn:
            row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'").fetchone()
        return row is not None

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]] | None:
        """One read of the alerts tables (None: this store has none yet), through :meth:`Store.reading`:
        a store read without locks is opened again first if a writer has touched it since, and judged
        at the end, as every other read is (the dashboard's alert list, ``flowtui alerts list``)."""
        with self.store.reading() as conn:
            if not self.exists():
                return None
            return conn.execute(sql, params).fetchall()

    # --- firings ---------------------------------------------------------------------------

    def record(self, firing: Firing) -> Firing:
        """Store ``firing``; sets and returns it with its id."""
        self.ensure()
        with self.store.transaction():
            cur = self.conn.execute(
                "INSERT INTO alerts (rule, group_key, value, fired_at, window_start, window_end, flow_ids,"
                " acknowledged, muted_until, condition, query, flows, bytes, packets)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
                (
                    firing.rule,
                    group_json(firing.group),
                    firing.value,
                    firing.fired_at,
                    firing.window_start,
                    firing.window_end,
                    json.dumps(list(firing.flow_ids), separators=(",", ":")),
                    firing.muted_until,
                    firing.condition,
                    firing.query,
                    firing.flows,
                    firing.bytes,
                    firing.packets,
                ),
            )
        firing.id = cur.lastrowid
        return firing

    def recent(
        self,
        since: float | None = None,
        rule: str | None = None,
        unacknowledged: bool = False,
        limit: int | None = 100,
        before_id: int | None = None,
        after_id: int | None = None,
    ) -> list[Firing]:
        """Firings, newest first: fired at or after ``since``, of ``rule``, not yet acknowledged,
        older than ``before_id`` (paging back), newer than ``after_id`` (a reader's last look)."""
        conds: list[str] = []
        params: list[Any] = []
        if since is not None:
            conds.append("fired_at >= ?")
            params.append(since)
        if rule is not None:
            conds.append("rule = ?")
            params.append(rule)
        if unacknowledged:
            conds.append("acknowledged = 0")
        if before_id is not None:
            conds.append("id < ?")
            params.append(before_id)
        if after_id is not None:
            conds.append("id > ?")
            params.append(after_id)
        where = " AND ".join(conds) or "1"
        sql = f"SELECT {_COLUMNS} FROM alerts WHERE {where} ORDER BY id DESC LIMIT ?"
        params.append(limit if limit else -1)
        return [_firing(row) for row in self._rows(sql, params) or ()]

    def get(self, firing_id: int) -> Firing | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?", (firing_id,))
        return _firing(rows[0]) if rows else None

    def unacknowledged(self, muted: bool = True) -> int:
        """How many firings nobody has acknowledged (for a badge); with ``muted=False``, not
        counting those recorded while a mute silenced them (nobody was told of those either)."""
        sql = "SELECT count(*) FROM alerts WHERE acknowledged = 0" + ("" if muted else " AND muted_until IS NULL")
        rows = self._rows(sql)
        return int(rows[0][0]) if rows else 0

    def newest_id(self) -> int:
        """The id of the newest firing (0: none); a reader polls this to learn of new ones cheaply."""
        rows = self._rows("SELECT coalesce(max(id), 0) FROM alerts")
        return int(rows[0][0]) if rows else 0

    def acknowledge(self, ids: Iterable[int], now: float | None = None) -> list[int]:
        """Mark firings acknowledged; returns the ids that exist (already acknowledged ones included)."""
        self.ensure()
        wanted = list(dict.fromkeys(int(i) for i in ids))
        found: list[int] = []
        t = time.time() if now is None else now
        with self.store.transaction():
            for fid in wanted:
                cur = self.conn.execute(
                    "UPDATE alerts SET acknowledged = 1, acknowledged_at = coalesce(acknowledged_at, ?) WHERE id = ?",
                    (t, fid),
                )
                if cur.rowcount:
                    found.append(fid)
        return found

    def last_fired(self, rule: str) -> dict[str, int]:
        """group_key JSON -> window end of the rule's newest firing per group (cool-downs survive restarts)."""
        rows = self._rows("SELECT group_key, max(window_end) FROM alerts WHERE rule = ? GROUP BY group_key", (rule,))
        return {g: int(end) for g, end in rows or ()}

    # --- mutes -----------------------------------------------------------------------------

    def mute(self, rule: str, until: float, group: Mapping[str, Any] | None = None) -> None:
        """Silence ``rule`` (or one of its groups) until ``until`` (unix seconds)."""
        self.ensure()
        key = group_json(group) if group else ""
        with self.store.transaction():
            self.conn.execute(
                "INSERT INTO alert_mutes (rule, group_key, until) VALUES (?, ?, ?)"
                " ON CONFLICT (rule, group_key) DO UPDATE SET until = excluded.until",
                (rule, key, until),
            )

    def unmute(self, rule: str, group: Mapping[str, Any] | None = None) -> bool:
        """Lift a mute; with no group, every mute of the rule. True if there was one."""
        if not self.exists():
            return False
        with self.store.transaction():
            if group:
                cur = self.conn.execute(
                    "DELETE FROM alert_mutes WHERE rule = ? AND group_key = ?", (rule, group_json(group))
                )
            else:
                cur = self.conn.execute("DELETE FROM alert_mutes WHERE rule = ?", (rule,))
        return bool(cur.rowcount)

    def mutes(self, now: float | None = None) -> list[dict[str, Any]]:
        """Mutes still in force: rule, group (dict or None for the whole rule), until."""
        t = time.time() if now is None else now
        rows = self._rows("SELECT rule, group_key, until FROM alert_mutes WHERE until > ? ORDER BY rule, group_key", (t,))
        return [{"rule": r, "group": json.loads(g) if g else None, "until": u} for r, g, u in rows or ()]

    def muted_until(self, rule: str, group: Mapping[str, Any], now: float | None = None) -> float | None:
        """When the mute covering this rule and group ends; None when it is not muted."""
        t = time.time() if now is None else now
        rows = self._rows(
            "SELECT max(until) FROM alert_mutes WHERE rule = ? AND group_key IN ('', ?) AND until > ?",
            (rule, group_json(group), t),
        )
        return None if not rows or rows[0][0] is None else float(rows[0][0])


def mute_ending(mutes: Iterable[Mapping[str, Any]], firing: Firing) -> float | None:
    """When the mute now covering ``firing``'s rule and group ends (None: not muted now).

    ``mutes`` are :meth:`AlertLog.mutes` (those in force): a mute of the whole rule
    (group None) covers every group of it."""
    ends = [
        m["until"]
        for m in mutes
        if m["rule"] == firing.rule and (m["group"] is None or m["group"] == firing.group)
    ]
    return max(ends) if ends else None


def firing_state(firing: Firing, mute_until: float | None, time_text: Callable[[float], str]) -> str:
    """What a firing's state column says, the dashboard's and the CLI's alike (each writes the
    time its own way, ``time_text``): ``acked``; ``muted until 16:18`` while a mute covers its
    group (:func:`mute_ending`), or ``muted`` when it fired under a mute that has ended (nobody
    was told); else ``new``. An acknowledged firing says its mute too: ``acked, muted until 16:18``."""
    muted = f"muted until {time_text(mute_until)}" if mute_until is not None else ""
    if firing.acknowledged:
        return f"acked, {muted}" if muted else "acked"
    if muted:
        return muted
    return "muted" if firing.muted_until is not None else "new"


def _firing(row: Sequence[Any]) -> Firing:
    (fid, rule, group, value, fired_at, ws, we, ids, ack, muted, condition, query, flows, nbytes, packets) = row
    return Firing(
        rule=rule,
        group=json.loads(group),
        value=value,
        window_start=ws,
        window_end=we,
        fired_at=fired_at,
        flow_ids=json.loads(ids),
        condition=condition,
        query=query,
        flows=flows,
        bytes=nbytes,
        packets=packets,
        id=fid,
        acknowledged=bool(ack),
        muted_until=muted,
    )


def _show(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def shown_number(x: float) -> str:
    """A value or threshold as people read it: ``5,000``, ``0.25`` (JSON and the stored condition stay raw)."""
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.2f}"


def _json_number(x: float) -> int | float:
    return int(x) if x == int(x) else x


def _utc(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
