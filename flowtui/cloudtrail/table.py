"""The ``cloudtrail`` table: created on first use, written inside the flows' transaction, pruned in steps.

The table is not part of the flows schema version: a store that never saw a
CloudTrail event has no such table, and readers (the dashboard opens the file
read-only) treat a missing table as no events. Rows are de-duplicated by
``eventID`` (UNIQUE), so a batch delivered twice stores nothing twice; the
searched fields are columns, the record itself is kept as compact JSON.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Final

from flowtui.cloudtrail.records import COLUMNS, TrailRow

TABLE: Final[str] = "cloudtrail"

_TYPES: Final[dict[str, str]] = {"time": "INTEGER NOT NULL", "read_only": "INTEGER", "source_ip_key": "", "record": "TEXT NOT NULL"}
_CREATE: Final[tuple[str, ...]] = (
    "CREATE TABLE IF NOT EXISTS cloudtrail (\n  id INTEGER PRIMARY KEY,\n  "
    + ",\n  ".join(
        f'"{c}" {"TEXT NOT NULL UNIQUE" if c == "event_id" else _TYPES.get(c, "TEXT")}'.rstrip() for c in COLUMNS
    )
    + "\n)",
    "CREATE INDEX IF NOT EXISTS cloudtrail_time ON cloudtrail (time)",
    "CREATE INDEX IF NOT EXISTS cloudtrail_source_ip_time ON cloudtrail (source_ip, time)",
)
_INSERT: Final[str] = (
    f"INSERT OR IGNORE INTO cloudtrail ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)


def create(conn: sqlite3.Connection) -> None:
    """The table and its indexes, if they are not there yet (inside the caller's transaction)."""
    for stmt in _CREATE:
        conn.execute(stmt)


def exists(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (TABLE,)).fetchone()
    return row is not None


@dataclass(slots=True)
class TrailWrite:
    """Rows for the cloudtrail table, written by the store inside a batch's transaction.

    Called with the connection (see ``Batch.tables``); afterwards ``stored``
    and ``duplicates`` say what the write did.
    """

    rows: list[TrailRow] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0

    def __call__(self, conn: sqlite3.Connection) -> None:
        if not self.rows:
            return
        create(conn)
        before = conn.total_changes
        conn.executemany(_INSERT, self.rows)
        self.stored = conn.total_changes - before
        self.duplicates = len(self.rows) - self.stored


def prune(conn: sqlite3.Connection, cutoff: int, step_rows: int) -> int:
    """Delete up to ``step_rows`` of the events older than ``cutoff`` (oldest first); how many went."""
    if not exists(conn):
        return 0
    row = conn.execute(
        "SELECT time FROM cloudtrail WHERE time < ? ORDER BY time LIMIT 1 OFFSET ?", (cutoff, step_rows)
    ).fetchone()
    bound = cutoff if row is None else int(row[0])
    deleted = conn.execute("DELETE FROM cloudtrail WHERE time < ?", (bound,)).rowcount
    if row is not None and deleted == 0:  # one second holding more than a step goes whole
        deleted = conn.execute("DELETE FROM cloudtrail WHERE time <= ?", (bound,)).rowcount
    return int(deleted)
