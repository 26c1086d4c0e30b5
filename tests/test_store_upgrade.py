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
from pathlib import Path

import pytest

from flowtui import rollups, schema
from flowtui.ingest import Pipeline
from flowtui.store import Retention, Store, StoreError
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
        f"{v4_path} needs an upgrade (schema 4 → 7), which a reader cannot do: run `flowtui ingest` or `flowtui tail` on it once"
    )
    store = Store(v4_path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 7
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
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 7
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
