"""A store written by an older flowtui opens, upgrades in place and loses nothing.

``data/store-v4.db.gz`` was written by flowtui at schema 4 (commit 18144d2): the
first three of :func:`payloads` ingested as a tail would, blake2b event keys in
``seen_<day>`` tables. Schema 5 hashes events with xxh3, so the upgrade keeps
those days as ``seenv4_<day>`` and still recognises their events.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from flowtui import rollups, schema
from flowtui.formats import LogFormat
from flowtui.ingest import Pipeline, drop_copies, retry_dead_letters
from flowtui.store import Batch, DeadLetter, Retention, Store, StoreError
from tests.test_dead_letters import SWAPPED_SPEC
from tests.test_rollups import _rollup_rows, _summed_from_flows

FIXTURE = Path(__file__).parent / "data" / "store-v4.db.gz"
DAY = 20_600  # the events run across the end of this day into the next
T0 = (DAY + 1) * 86400 - 50


def payloads() -> list[bytes]:
    """Four CloudWatch subscription payloads of 25 flows each (the fixture holds the first three)."""
    out = []
    for p in range(4):
        events = []
        for i in range(25):
            k = p * 25 + i
            start = T0 + k
            action = "REJECT" if k % 5 == 0 else "ACCEPT"
            line = (
                f"2 123456789012 eni-0a1b2c3d 10.0.1.{k % 20 + 1} 198.51.100.{k % 7 + 1} {40000 + k} "
                f"{22 if k % 3 == 0 else 443} 6 {k % 9 + 1} {k * 40 + 60} {start} {start + 60} {action} OK"
            )
            events.append({"id": str(10**55 + k), "timestamp": start * 1000, "message": line})
        doc = {
            "messageType": "DATA_MESSAGE",
            "owner": "123456789012",
            "logGroup": "/vpc/flows",
            "logStream": f"eni-{p % 2}",
            "subscriptionFilters": ["flows"],
            "logEvents": events,
        }
        out.append(gzip.compress(json.dumps(doc).encode(), mtime=0))
    return out


def _seen_tables(store: Store) -> list[str]:
    return sorted(t for t in store.db.table_names() if t.startswith("seen"))


@pytest.fixture
def v4_path(tmp_path: Path) -> Path:
    path = tmp_path / "v4.db"
    with gzip.open(FIXTURE) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def test_a_schema_4_store_upgrades_and_still_recognises_its_events(v4_path: Path) -> None:
    with pytest.raises(StoreError) as refused:
        Store(v4_path, readonly=True)
    assert str(refused.value) == (
        f"{v4_path} needs an upgrade (schema 4 → 9), which a reader cannot do: run `flowtui ingest` or `flowtui tail` on it once"
    )
    store = Store(v4_path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 9
    assert _seen_tables(store) == [schema.seen_table(DAY, schema.BLAKE_SEEN_PREFIX),
                                   schema.seen_table(DAY + 1, schema.BLAKE_SEEN_PREFIX)]
    assert store.flow_count() == 75
    pipeline = Pipeline(store)
    every = [(p, f"again#{n}") for n, p in enumerate(payloads())]
    # The three payloads stored before the upgrade are redelivered with a new one, in one batch.
    stats = pipeline.ingest_payloads(every, "test")
    assert (stats.stored, stats.duplicates) == (25, 75)
    stats = pipeline.ingest_payloads(every, "test")
    assert (stats.stored, stats.duplicates) == (0, 100)
    assert store.flow_count() == 100
    for r in schema.ROLLUPS:
        assert _rollup_rows(store.conn, r) == _summed_from_flows(store.conn, r)
    new_days = [schema.seen_table(DAY), schema.seen_table(DAY + 1)]
    assert _seen_tables(store) == sorted([*new_days, schema.seen_table(DAY, schema.BLAKE_SEEN_PREFIX),
                                          schema.seen_table(DAY + 1, schema.BLAKE_SEEN_PREFIX)])
    for table in new_days:  # the days written since hold each key once
        sql = store.conn.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (table,)).fetchone()[0]
        assert sql.endswith("WITHOUT ROWID")
    store.close()


def test_retention_drops_the_older_schemas_days_too(v4_path: Path) -> None:
    store = Store(v4_path, retention=Retention(max_age=86400, step_rows=1000))
    Pipeline(store).ingest_payloads([(payloads()[3], "new")], "test")
    store.prune(now=T0 + 86400 + 3600)  # the first day is over a day old
    assert _seen_tables(store) == [schema.seen_table(DAY + 1), schema.seen_table(DAY + 1, schema.BLAKE_SEEN_PREFIX)]


V5_FIXTURE = Path(__file__).parent / "data" / "store-v5.db.gz"  # the same three payloads, written at schema 5 (6930bc4)


def test_a_schema_5_store_upgrades_to_keep_closed_buckets_biggest_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollups, "TOPS_GRACE", 0)  # its last flows start as its first bucket ends: closed at once
    path = tmp_path / "v5.db"
    with gzip.open(V5_FIXTURE) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 9
    tables = set(store.db.table_names())
    assert {schema.TOPS_TABLE, schema.SEALS_TABLE} <= tables
    for r in schema.ROLLUPS:  # five-minute buckets keep no flows ids now; their rows are copied as they were
        assert [row[1] for row in store.conn.execute(f"PRAGMA table_info({r.table})")] == ["start", *r.dims, *r.metrics]
    # The upgrade sealed its closed bucket (1 minute, 50 flows, last id 50), as too small to keep rows of.
    seals = store.conn.execute(f'SELECT "start", minutes, flows, last_id FROM {schema.SEALS_TABLE}').fetchall()
    assert seals == [(1_779_926_100, 1, -1 - 50, 50)]
    assert rollups.stale_tops(store.conn) == []
    assert store.flow_count() == 75
    pipeline = Pipeline(store)
    stats = pipeline.ingest_payloads([(p, f"again#{n}") for n, p in enumerate(payloads())], "test")
    assert (stats.stored, stats.duplicates) == (25, 75)  # its event keys (xxh3, schema 5) are kept as they were
    for r in schema.ROLLUPS:
        assert _rollup_rows(store.conn, r) == _summed_from_flows(store.conn, r)
    store.close()


# Written at schema 7 (e2a1635): the same three payloads; a fourth, of eni-0, whose second line has
# log-status and action swapped (a dead letter of that payload); a file's line "junk" (one without origin).
V7_FIXTURE = Path(__file__).parent / "data" / "store-v7.db.gz"
V7_ORIGIN = ("/vpc/flows", "eni-0", None, "123456789012")


def test_a_schema_7_store_upgrades_to_find_dead_letters_by_where_from_and_keep_their_origin(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    with gzip.open(V7_FIXTURE) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    with Store(path, readonly=True) as reader:  # read as it is: what 8 adds is for writers
        assert [d["location"] for d in reader.dead_letters()] == ["/x.log:2", "v7#3 /vpc/flows/eni-0"]
        assert reader.flow_count() == 77
        assert reader.conn.execute("PRAGMA user_version").fetchone()[0] == 7
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 9
    with Store(tmp_path / "new.db") as new:  # upgraded, it is laid out as a new store
        assert _dead_letters_schema(store) == _dead_letters_schema(new)
    # The payload's dead letter took the origin its location ends with; the file's line has none.
    rows = store.conn.execute("SELECT id, location, origin FROM dead_letters ORDER BY id").fetchall()
    assert [(i, loc, store.origin(o)) for i, loc, o in rows] == [(1, "v7#3 /vpc/flows/eni-0", V7_ORIGIN), (2, "/x.log:2", None)]
    # The same two rejected again (a payload and a file read twice): copies, found through the index and dropped.
    again = [DeadLetter(src, loc, reason, data) for src, loc, reason, data in
             store.conn.execute("SELECT source, location, reason, data FROM dead_letters ORDER BY id")]
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    store.write(Batch(dead=again, tables=[drop_copies(len(again))]))
    store.conn.set_trace_callback(None)
    assert store.dead_letter_count() == 2
    (lookup,) = [sql for sql in statements if sql.startswith("SELECT source, location, reason, data FROM dead_letters WHERE")]
    plan = [row[-1] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {lookup}")]
    assert plan.count("SEARCH dead_letters USING INDEX dead_letters_source_location (source=? AND location=? AND rowid<?)") == 2
    stats = retry_dead_letters(store, None, LogFormat.from_spec(SWAPPED_SPEC))
    assert (stats.stored, stats.still_dead) == (1, 1)
    (origin, action) = store.conn.execute("SELECT origin, action FROM flows ORDER BY id DESC LIMIT 1").fetchone()
    assert (store.origin(origin), store.string(action)) == (V7_ORIGIN, "REJECT")
    for r in schema.ROLLUPS:
        assert _rollup_rows(store.conn, r) == _summed_from_flows(store.conn, r)
    store.close()


def test_a_dead_letter_of_schema_7_that_several_origins_could_have_sent_takes_none(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    with gzip.open(V7_FIXTURE) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    with sqlite3.connect(path) as conn:  # the same log stream also came through a Kinesis stream
        conn.execute("INSERT INTO origins VALUES (3, '/vpc/flows', 'eni-0', 'flows', '123456789012')")
    with Store(path) as store:
        assert store.conn.execute("SELECT origin FROM dead_letters ORDER BY id").fetchall() == [(None,), (None,)]


def _dead_letters_schema(store: Store) -> tuple[list[tuple[object, ...]], list[str]]:
    """The columns of dead_letters, and its indexes as created."""
    columns = store.conn.execute("PRAGMA table_info(dead_letters)").fetchall()
    indexes = store.conn.execute("SELECT sql FROM sqlite_schema WHERE tbl_name = 'dead_letters' AND type = 'index' ORDER BY name")
    return columns, [sql for (sql,) in indexes]
