"""Event keys wait in a small table (schema 9) before a write moves them to their days' tables, and are
recognised wherever they are: the same writer, another writer, after a move, after retention, after an upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import flowtui.store
from flowtui import schema
from flowtui.store import Batch, Part, Retention, Store, event_key
from tests.conftest import V2_PRESENT, make_record

DAY = 86400
T = 20_000 * DAY - 30  # the events straddle midnight: keys of two days


def _part(first: int, n: int, tag: str = "m") -> Part:
    """``n`` flows with events first..first+n-1, one a second from T, alternately before and after midnight."""
    starts = [T + (i % 2) * 40 + i for i in range(first, first + n)]
    records = [
        make_record(version=2, account_id="123456789012", interface_id="eni-1", src_addr="10.0.0.1",
                    dst_addr="203.0.113.9", src_port=40000 + i, dst_port=443, protocol_number=6, packets=1,
                    bytes=100, start=s, end=s + 60, action="ACCEPT", log_status="OK")
        for i, s in zip(range(first, first + n), starts)
    ]
    keys = [event_key("g", "s", str(i), s * 1000, tag) for i, s in zip(range(first, first + n), starts)]
    return Part(records, V2_PRESENT, origin=("g", "s", None, "1"), event_keys=keys)


def _where(store: Store) -> tuple[dict[int, int], dict[int, int]]:
    """Keys per day: (in the recent table, in the days' tables)."""
    recent = dict(store.conn.execute(f"SELECT day, count(*) FROM {schema.RECENT_SEEN} GROUP BY day"))
    days = {}
    for day in (T // DAY, T // DAY + 1):
        table = schema.seen_table(day)
        if table in store.db.table_names():
            days[day] = store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return recent, days


def test_keys_wait_in_the_recent_table_until_a_write_moves_them_and_are_recognised_either_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flowtui.store, "_SEEN_MOVE", 60)
    store = Store(tmp_path / "s.db")
    d0, d1 = T // DAY, T // DAY + 1
    assert store.write(Batch([_part(0, 25)])).stored == 25
    assert store.write(Batch([_part(25, 25)])).stored == 25
    assert _where(store) == ({d0: 15, d1: 35}, {d0: 0, d1: 0})  # the days' tables made, only read
    assert store.write(Batch([_part(50, 25)])).stored == 25  # 75 waiting: moved within this write
    assert _where(store) == ({}, {d0: 15, d1: 60})
    assert store.write(Batch([_part(75, 25)])).stored == 25
    assert _where(store) == ({d1: 25}, {d0: 15, d1: 60})
    # Every event again, with three new ones: the moved and the waiting are both recognised.
    again = store.write(Batch([_part(0, 103)]))
    assert (again.stored, again.duplicates) == (3, 100)
    assert store.flow_count() == 103
    # One part at a time (the path that drops the seen ones from a part), with a copy inside the part.
    mixed = _part(100, 6)
    mixed.records.append(mixed.records[-1])
    mixed.event_keys.append(mixed.event_keys[-1])  # type: ignore[union-attr]
    again = store.write(Batch([mixed]))
    assert (again.stored, again.duplicates) == (3, 4)
    assert store.flow_count() == 106
    recent, days = _where(store)
    assert sum(recent.values()) + sum(days.values()) == 106  # each key once, in one place
    store.close()


def test_another_writer_recognises_the_waiting_keys_and_moves_them_with_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flowtui.store, "_SEEN_MOVE", 20)
    a, b = Store(tmp_path / "s.db"), Store(tmp_path / "s.db")
    assert a.write(Batch([_part(0, 15)])).stored == 15
    assert _where(a) == ({T // DAY: 8, T // DAY + 1: 7}, {T // DAY: 0, T // DAY + 1: 0})
    again = b.write(Batch([_part(0, 40)]))
    assert (again.stored, again.duplicates) == (25, 15)
    assert _where(b) == ({}, {T // DAY: 15, T // DAY + 1: 25})  # b's 25 reached its threshold: a's went too
    again = a.write(Batch([_part(0, 40)]))
    assert (again.stored, again.duplicates) == (0, 40)
    assert a.flow_count() == 40
    a.close()
    b.close()


def test_a_failed_write_leaves_no_waiting_keys(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")

    def fail(conn: sqlite3.Connection) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.write(Batch([_part(0, 10)], tables=[fail]))
    assert _where(store)[0] == {}
    assert store.write(Batch([_part(0, 10)])).stored == 10


def test_retention_drops_the_waiting_keys_of_the_days_it_drops(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db", retention=Retention(max_age=DAY, step_rows=1000, interval=3600))
    store.write(Batch([_part(0, 20)]))
    assert _where(store)[0] == {T // DAY: 10, T // DAY + 1: 10}
    store.prune(now=T + DAY + 3600)  # every flow is over a day old; the first day's keys go
    assert (store.flow_count(), _where(store)[0]) == (0, {T // DAY + 1: 10})
    again = store.write(Batch([_part(0, 20)]))  # the second day's events are still recognised
    assert (again.stored, again.duplicates) == (10, 10)


def test_a_schema_8_store_upgrades_and_recognises_its_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v8.db"
    monkeypatch.setattr(flowtui.store, "_SEEN_MOVE", 0)  # every write moves its keys: the days' tables, as schema 8 kept them
    with Store(path) as store:
        store.write(Batch([_part(0, 30)]))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"DROP TABLE {schema.RECENT_SEEN}")
    conn.execute("PRAGMA user_version = 8")
    conn.close()
    with Store(path, readonly=True) as reader:  # read as it is: what 9 adds is for writers
        assert reader.flow_count() == 30
        assert reader.conn.execute("PRAGMA user_version").fetchone()[0] == 8
    monkeypatch.setattr(flowtui.store, "_SEEN_MOVE", 40_000)
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 9
    with Store(tmp_path / "new.db") as new:  # laid out as a new store's
        sql = "SELECT sql FROM sqlite_schema WHERE name = ?"
        assert store.conn.execute(sql, (schema.RECENT_SEEN,)).fetchone() == new.conn.execute(sql, (schema.RECENT_SEEN,)).fetchone()
    again = store.write(Batch([_part(0, 40)]))
    assert (again.stored, again.duplicates) == (10, 30)
    assert _where(store) == ({T // DAY + 1: 10}, {T // DAY: 15, T // DAY + 1: 15})
    store.close()


def test_writers_that_end_before_a_move_leave_keys_the_next_writer_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `flowtui ingest` from cron or a restarted tail writes fewer keys than a move takes and ends:
    the next writer counts what waits, so the table stays bounded by the move's size."""
    monkeypatch.setattr(flowtui.store, "_SEEN_MOVE", 60)
    d0, d1 = T // DAY, T // DAY + 1
    for first in (0, 25):
        with Store(tmp_path / "s.db") as store:
            assert store.write(Batch([_part(first, 25)])).stored == 25
    with Store(tmp_path / "s.db") as store:
        assert _where(store) == ({d0: 15, d1: 35}, {d0: 0, d1: 0})
        assert store.write(Batch([_part(50, 25)])).stored == 25  # 75 waiting, 25 of them its own: moved
        assert _where(store) == ({}, {d0: 15, d1: 60})
        again = store.write(Batch([_part(0, 76)]))
        assert (again.stored, again.duplicates) == (1, 75)
