"""The SQLite store: layout, interning, atomic batches, de-duplication, migrations."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from flowtui import catalog, schema
from flowtui.store import Batch, DeadLetter, Part, Store, StoreError, event_key
from tests.conftest import V2_PRESENT, make_record

I = catalog.RECORD_INDEX


def _flow(src: str = "10.0.0.1", dst: str = "203.0.113.9", start: int = 1_700_000_000, **kw: object) -> tuple:
    values = dict(
        version=2, account_id="123456789012", interface_id="eni-1", src_addr=src, dst_addr=dst,
        src_port=44321, dst_port=443, protocol_number=6, packets=10, bytes=5000,
        start=start, end=start + 60, action="ACCEPT", log_status="OK",
    )
    values.update(kw)
    return make_record(**values)


def test_new_store_is_private_wal_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "flows.db"
    Store(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION


def test_a_writer_copies_its_log_into_the_file_every_64_mb(tmp_path: Path) -> None:
    """Not every 8 MB (SQLite's default): a write at 50,000 records/s dirties ~900 pages, mostly the last ones'."""
    with Store(tmp_path / "flows.db") as store:
        assert store.conn.execute("PRAGMA page_size").fetchone()[0] == 8192
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 8192


def test_the_log_file_is_cut_back_after_each_copy_not_kept_at_its_high_point(tmp_path: Path) -> None:
    """With a reader open (a dashboard), closing the writer leaves the -wal file: it must not stay at its peak."""
    path = tmp_path / "flows.db"
    with Store(path) as store:
        assert store.conn.execute("PRAGMA journal_size_limit").fetchone()[0] == 4 << 20
        reader = sqlite3.connect(path)
        reader.execute("SELECT count(*) FROM flows").fetchone()
        store.conn.execute("PRAGMA wal_autocheckpoint = 768")  # copy every 6 MB here, not 64
        peak = 0
        for n in range(20):
            flows = [_flow(src=f"10.{n}.{i >> 8}.{i & 255}", start=1_700_000_000 + i) for i in range(5000)]
            store.write(Batch([Part(flows, V2_PRESENT)]))
            peak = max(peak, os.path.getsize(f"{path}-wal"))
        wal = os.path.getsize(f"{path}-wal")
        assert store.size_bytes() == os.path.getsize(path) + wal
    assert os.path.getsize(f"{path}-wal") == 0  # the closing writer cut it back, the reader open all along
    reader.close()
    assert peak > 6 << 20  # the log grew past a copy's worth
    assert wal < peak


def test_rows_are_narrow_integers_and_decode_back(store: Store) -> None:
    result = store.write(Batch([Part([_flow(), _flow(dst="2001:db8::7")], V2_PRESENT)]))
    assert (result.stored, result.duplicates, result.dead) == (2, 0, 0)
    rows = store.conn.execute("SELECT src_addr, dst_addr, action, start, duration, interface_id FROM flows").fetchall()
    assert all(isinstance(v, int) for row in rows for v in row)
    (src, dst1, action, start, duration, iface), (_, dst2, *_rest) = rows
    assert store.address(src)[0] == "10.0.0.1"
    assert store.address(dst1)[0] == "203.0.113.9"
    assert store.address(dst2)[0] == "2001:db8::7"
    assert (store.string(action), store.string(iface), start, duration) == ("ACCEPT", "eni-1", 1_700_000_000, 60)
    keys = dict(store.conn.execute("SELECT ip, ipkey FROM addrs"))
    assert keys["10.0.0.1"] == 167772161
    assert keys["2001:db8::7"] == bytes.fromhex("20010db8000000000000000000000007")


def test_missing_values_are_null_never_zero(store: Store) -> None:
    nodata = make_record(version=2, account_id="1", interface_id="eni-1", start=100, end=160, log_status="NODATA")
    store.write(Batch([Part([nodata], V2_PRESENT)]))
    row = store.conn.execute("SELECT src_addr, dst_port, packets, bytes, action FROM flows").fetchone()
    assert row == (None, None, None, None, None)


def test_version_ports_and_protocol_are_packed_in_one_integer_and_read_back_exactly(store: Store, tmp_path: Path) -> None:
    edges = [  # (version, src_port, dst_port, protocol_number): bounds, zeros, missing ones, versions that spill
        (2, 65535, 0, 255), (None, None, None, None), (0, 1, 2, 0), (16, None, 443, 6), (15, 40000, None, None),
        (1, 0, 65535, None), (2**40, 80, 80, 17),
    ]
    flows = [_flow(start=1_700_000_000 + i, version=v, src_port=s, dst_port=d, protocol_number=p)
             for i, (v, s, d, p) in enumerate(edges)]
    store.write(Batch([Part(flows, V2_PRESENT)]))
    got = store.conn.execute("SELECT version, src_port, dst_port, protocol_number FROM flows ORDER BY start").fetchall()
    assert got == edges
    stored = [row[1] for row in store.conn.execute('PRAGMA table_info("flows")')]
    assert schema.PACKED in stored and not {"version", "src_port", "dst_port", "protocol_number"} & set(stored)
    # Through the bulk path too, and the same answers from a query (the rollups sum the generated columns).
    bulk = Store(tmp_path / "bulk.db")
    cols = ("start", "version", "src_port", "dst_port", "protocol_number")
    bulk.write_rows(cols, [(1_700_000_000 + i, *e) for i, e in enumerate(edges)])
    assert bulk.conn.execute("SELECT version, src_port, dst_port, protocol_number FROM flows ORDER BY start").fetchall() == edges
    ports = bulk.conn.execute("SELECT dst_port, flows FROM rollup_ports_5m_v ORDER BY 1").fetchall()
    assert ports == [(None, 2), (0, 1), (2, 1), (80, 1), (443, 1), (65535, 1)]


def test_same_address_with_a_new_owner_gets_its_own_profile(store: Store) -> None:
    owners = {100: "ec2:i-old", 200: "ec2:i-new"}

    def enrich(ip: str, ts: int) -> tuple:
        entity = owners[100 if ts < 200 else 200] if ip == "10.0.0.1" else None
        return (True, entity, None, "EC2" if entity else None, None, None, None, None, None, False, None)

    store.write(Batch([Part([_flow(start=100), _flow(start=150), _flow(start=250)], V2_PRESENT)]), enrich)
    entities = [
        store.address(a)[1][1] for (a,) in store.conn.execute("SELECT src_addr FROM flows ORDER BY id")
    ]
    assert entities == ["ec2:i-old", "ec2:i-old", "ec2:i-new"]
    assert store.conn.execute("SELECT count(*) FROM addrs WHERE ip = '10.0.0.1'").fetchone()[0] == 2


def test_an_enrichers_answers_are_reused_over_the_times_they_hold_and_no_longer(store: Store) -> None:
    """Columnar parts enriched by an Enricher take an address's id from the span its answer holds for:
    a flow after the address changed hands, or after the inventory changed, gets the new owner."""
    from flowtui.enrich import Enricher, Inventory
    from flowtui.enrich.inventory import Snapshot

    t0 = 1_790_000_000
    old, new = ("ec2:i-old", "old-web", "EC2"), ("ec2:i-new", "new-web", "EC2")
    handed = Inventory.from_snapshot(Snapshot(holders={"10.0.0.1": (old, t0)}), t0).updated(
        Snapshot(holders={"10.0.0.1": (new, t0 + 3600)}), t0 + 3660
    )
    enricher = Enricher(inventory=handed)

    def write(*starts: int) -> list[str | None]:
        records = [_flow(start=t) for t in starts]
        before = store.conn.execute("SELECT coalesce(max(id), 0) FROM flows").fetchone()[0]
        store.write(Batch([Part([], V2_PRESENT, columns=_columns_of(records, V2_PRESENT))]), enricher.profile)
        rows = store.conn.execute("SELECT src_addr FROM flows WHERE id > ? ORDER BY id", (before,))
        return [store.address(a)[1][1] for (a,) in rows]

    assert write(t0, t0 + 3599, t0 + 3600, t0 + 10, t0 + 7200) == ["ec2:i-old", "ec2:i-old", "ec2:i-new", "ec2:i-old", "ec2:i-new"]
    assert write(t0 + 20) == ["ec2:i-old"]
    enricher.set_inventory(Inventory.from_snapshot(Snapshot(holders={"10.0.0.1": (new, t0 - 60)}), t0 - 60))
    assert write(t0 + 20, t0 + 3700) == ["ec2:i-new", "ec2:i-new"]  # a new generation: nothing kept from before
    ids = store.conn.execute("SELECT src_addr FROM flows ORDER BY id").fetchall()
    assert len({a for (a,) in ids}) == 2  # one addrs row per (address, profile), reused


def test_event_seen_before_is_not_stored_twice(store: Store) -> None:
    keys = [event_key("g", "s", "1", 1000, "a"), event_key("g", "s", "2", 1000, "b")]
    part = Part([_flow(), _flow(src="10.0.0.2")], V2_PRESENT, origin=("g", "s", None, "1"), event_keys=keys)
    assert store.write(Batch([part])).stored == 2
    again = store.write(Batch([part]))
    assert (again.stored, again.duplicates) == (0, 2)
    # The same id in one batch twice (a redelivered record) is stored once.
    dup = Part([_flow(), _flow()], V2_PRESENT, event_keys=[event_key("x", "y", "1", 5, "m")] * 2)
    assert store.write(Batch([dup])).stored == 1
    assert store.flow_count() == 3


def test_checkpoint_and_rows_commit_together_or_not_at_all(store: Store) -> None:
    store.write(Batch([Part([_flow()], V2_PRESENT)], checkpoint=("kinesis:s/shard-0", "100")))
    bad = _flow(src="not-an-address", account_id="999")  # fails inside the transaction
    with pytest.raises(ValueError):
        store.write(Batch([Part([_flow(account_id="777"), bad], V2_PRESENT)], checkpoint=("kinesis:s/shard-0", "200")))
    assert store.checkpoint("kinesis:s/shard-0") == "100"
    assert store.flow_count() == 1
    assert store.conn.execute("SELECT count(*) FROM strings WHERE value = '777'").fetchone()[0] == 0
    # Ids interned by the failed transaction are forgotten, so later writes stay consistent.
    store.write(Batch([Part([_flow(account_id="777")], V2_PRESENT)], checkpoint=("kinesis:s/shard-0", "300")))
    (acct,) = store.conn.execute("SELECT account_id FROM flows ORDER BY id DESC LIMIT 1").fetchone()
    assert store.string(acct) == "777"
    assert store.checkpoints("kinesis:") == {"kinesis:s/shard-0": "300"}


def test_custom_format_columns_are_added_when_first_seen(store: Store) -> None:
    assert not store.has_column("vpc_id")
    present = (I["version"], I["vpc_id"], I["src_addr"], I["start"], I["tcp_flags"])
    rec = make_record(version=5, vpc_id="vpc-1", src_addr="10.0.0.1", start=10, tcp_flags=19)
    store.write(Batch([Part([rec], present)]))
    assert store.has_column("vpc_id") and store.has_column("tcp_flags")
    vpc, flags = store.conn.execute("SELECT vpc_id, tcp_flags FROM flows").fetchone()
    assert (store.string(vpc), flags) == ("vpc-1", 19)


def test_dead_letters_keep_where_and_why(store: Store) -> None:
    store.write(Batch(dead=[DeadLetter("file:x", "x.log:3", "expected 14 fields, found 3", "a b c")]))
    (dl,) = store.dead_letters()
    assert (dl["source"], dl["location"], dl["reason"], dl["data"]) == (
        "file:x", "x.log:3", "expected 14 fields, found 3", "a b c",
    )
    assert store.dead_letter_count() == 1


def test_a_second_process_sees_new_interned_values(tmp_path: Path) -> None:
    writer = Store(tmp_path / "f.db")
    reader = Store(tmp_path / "f.db", readonly=True)
    writer.write(Batch([Part([_flow(src="10.9.9.9")], V2_PRESENT)]))
    (src,) = reader.conn.execute("SELECT src_addr FROM flows").fetchone()
    assert reader.address(src)[0] == "10.9.9.9"


def test_files_that_are_not_stores_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="cannot open store"):
        Store(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a flowtui store"):
        Store(other)
    newer = tmp_path / "newer.db"
    Store(newer).close()
    c = sqlite3.connect(newer)
    c.execute("PRAGMA user_version = 99")
    c.close()
    with pytest.raises(StoreError, match="newer flowtui"):
        Store(newer)
    with pytest.raises(StoreError, match="no store at"):
        Store(tmp_path / "missing.db", readonly=True)


def test_a_store_upgraded_by_a_newer_flowtui_while_open_refuses_writes_with_the_same_error(tmp_path: Path) -> None:
    path = tmp_path / "flows.db"
    store = Store(path)
    store.write(Batch([Part([_flow()], V2_PRESENT)]))
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE added_by_schema_99 (x)")
    other.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    other.commit()
    other.close()
    message = f"{path} was written by a newer flowtui (schema {schema.SCHEMA_VERSION + 1}); upgrade flowtui"
    for _ in range(2):  # refused again, not left inside a transaction
        with pytest.raises(StoreError) as caught:
            store.write(Batch([Part([_flow(start=1_700_000_060)], V2_PRESENT)]))
        assert str(caught.value) == message
    assert store.flow_count() == 1
    store.close()


def test_packed_ports_and_protocols_stay_in_their_fields_at_and_past_their_bounds(store: Store) -> None:
    store.write(Batch([Part([_flow(src_port=65535, dst_port=0, protocol_number=255)], V2_PRESENT)]))
    store.write(Batch([Part([_flow(src_port=0, dst_port=65535, protocol_number=0, start=1_700_000_060)], V2_PRESENT)]))
    rows = store.conn.execute("SELECT src_port, dst_port, protocol_number, version FROM flows ORDER BY id").fetchall()
    assert rows == [(65535, 0, 255, 2), (0, 65535, 0, 2)]
    # Past the bounds (a bulk writer's bad row): each field is masked to its own bits, its neighbours kept.
    store.write_rows(["start", "src_port", "dst_port", "protocol_number", "version"], [(1_700_000_120, 1 << 17, 80, 1 << 9, 2)])
    last = store.conn.execute("SELECT src_port, dst_port, protocol_number, version FROM flows ORDER BY id DESC LIMIT 1").fetchone()
    assert last == (0, 80, 0, 2)  # 2**17 + 1 and 2**9 + 1 masked: 1, stored as 0


def test_retention_by_age_deletes_in_small_steps_and_drops_old_days(tmp_path: Path) -> None:
    from flowtui.store import Retention

    day = 86400
    store = Store(tmp_path / "r.db", retention=Retention(max_age=2 * day, step_rows=3, interval=3600))
    now = 20_000 * day
    old = [_flow(start=now - 5 * day + i) for i in range(5)]
    new = [_flow(start=now - 100 + i) for i in range(4)]
    keys = [event_key("g", "s", str(i), 0, "m") for i in range(9)]
    store.write(Batch([Part(old + new, V2_PRESENT, event_keys=keys)]))
    store.write(Batch(dead=[DeadLetter("x", None, "bad", None)]))
    store.conn.execute("UPDATE dead_letters SET received = ?", (now - 3 * day,))
    seen = sorted(t for t in store.db.table_names() if t.startswith("seen_"))
    assert seen == [schema.seen_table(now // day - 5), schema.seen_table(now // day - 1)]
    assert store.prune(now) == 3  # one step
    assert store.prune(now) == 2
    assert store.prune(now) == 0
    assert sorted(s for (s,) in store.conn.execute("SELECT start FROM flows")) == [now - 100 + i for i in range(4)]
    assert [t for t in store.db.table_names() if t.startswith("seen_")] == [schema.seen_table(now // day - 1)]
    assert store.dead_letter_count() == 0
    # Events of the days still kept are still recognised.
    again = store.write(Batch([Part(new, V2_PRESENT, event_keys=keys[5:])]))
    assert (again.stored, again.duplicates) == (0, 4)


def test_retention_by_size_deletes_the_oldest_first(tmp_path: Path) -> None:
    from flowtui.store import Retention

    store = Store(tmp_path / "s.db", retention=Retention(max_bytes=1, step_rows=10, interval=3600))
    store.write(Batch([Part([_flow(start=1000 + i) for i in range(25)], V2_PRESENT)]))
    assert store.prune() == 10
    assert min(s for (s,) in store.conn.execute("SELECT start FROM flows")) == 1010
    assert store.prune() == 10 and store.prune() == 5 and store.flow_count() == 0


def test_a_writer_shorter_than_a_step_interval_catches_retention_up_as_it_closes(tmp_path: Path) -> None:
    """A cron ingest that ends within seconds never reached its first step (every 5 s): the flows
    past [store] retain stayed for ever. Closing takes the steps left (for up to a second)."""
    from flowtui.store import Retention

    now = int(time.time())
    retention = Retention(max_age=3600, step_rows=10)
    with Store(tmp_path / "c.db", retention=retention) as store:
        store.write(Batch([Part([_flow(start=now - 7200 + i) for i in range(25)] + [_flow(start=now - 60)], V2_PRESENT)]))
        assert store.flow_count() == 26  # no step yet: the first is 5 s after opening
    with Store(tmp_path / "c.db", readonly=True) as store:
        assert [s for (s,) in store.conn.execute("SELECT start FROM flows")] == [now - 60]  # three steps of 10, 10, 5


def test_retention_settings_come_from_the_config() -> None:
    from flowtui.config import Config
    from flowtui.errors import ConfigError
    from flowtui.store import Retention

    r = Retention.from_config(Config({"store": {"retain": "7d", "max_size": "20GB"}}))
    assert (r.max_age, r.max_bytes) == (7 * 86400, 20 * 1024**3)
    assert not Retention.from_config(Config()).active
    with pytest.raises(ConfigError, match="bad \\[store\\] retain 'forever'"):
        Retention.from_config(Config({"store": {"retain": "forever"}}))


def test_a_batch_over_two_days_with_one_old_event_keeps_the_new_ones(store: Store) -> None:
    day = 86400
    t = 20_000 * day - 30  # the batch straddles midnight
    old_key = event_key("g", "s", "1", 0, "a")
    store.write(Batch([Part([_flow(start=t + 40)], V2_PRESENT, event_keys=[old_key])]))
    keys = [event_key("g", "s", "2", 0, "b"), old_key, event_key("g", "s", "3", 0, "c")]
    again = store.write(Batch([Part([_flow(start=t), _flow(start=t + 40), _flow(start=t + 50)], V2_PRESENT, event_keys=keys)]))
    assert (again.stored, again.duplicates) == (2, 1)
    assert sorted(s for (s,) in store.conn.execute("SELECT start FROM flows")) == [t, t + 40, t + 50]


def test_event_keys_are_ordered_by_time_within_a_day() -> None:
    keys = [schema.seen_key(h, start) for start, h in ((86400 * 5 + 10, 2**64 - 1), (86400 * 7 + 11, 0), (86400 + 12, 7))]
    assert keys == sorted(keys)
    assert all(-(2**63) <= k < 2**63 for k in keys)


def _columns_of(records: list[tuple], present: tuple[int, ...]) -> list[list]:
    """Records as the columnar parser gives them: one list per present field."""
    return [[r[i] for r in records] for i in present]


def _decoded(store: Store, table: str, by_profile: bool = False) -> list[tuple]:
    """The rows of a flows-like table with ids turned back into values (ids depend on the order of interning)."""
    cursor = store.conn.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cursor.description]
    profiles = {row[0]: row[1:] for row in store.conn.execute("SELECT * FROM profiles")}
    out = []
    for row in cursor:
        values = []
        for name, value in zip(names, row):
            kind = schema.STORAGE_BY_COLUMN.get(name)
            if name == "id" or name == "origin":
                value = store.origin(value) if name == "origin" else value
            elif kind == "string":
                value = store.string(value)
            elif kind == "address" and value:
                value = profiles[value] if by_profile else store.address(value)
            values.append(value)
        out.append(tuple(values))
    return sorted(out, key=repr)


def test_a_columnar_part_stores_what_the_same_records_store(tmp_path: Path) -> None:
    nodata = make_record(version=2, account_id="1", interface_id="eni-1", start=100, end=160, log_status="NODATA")
    records = [_flow(), _flow(dst="2001:db8::7", action="REJECT"), nodata, _flow(start=1_700_000_061)]
    origin = ("g", "s", None, "1")
    keys = [event_key("g", "s", str(i), 1000, "m") for i in range(len(records))]
    by_rows, by_columns = Store(tmp_path / "rows.db"), Store(tmp_path / "columns.db")
    by_rows.write(Batch([Part(records, V2_PRESENT, origin, event_keys=keys)]))
    part = Part([], V2_PRESENT, origin, event_keys=keys, columns=_columns_of(records, V2_PRESENT))
    assert len(part) == 4 and part.full_records() == records
    result = by_columns.write(Batch([part]))
    assert (result.stored, result.first_id, result.last_id) == (4, 1, 4)
    assert _decoded(by_columns, "flows") == _decoded(by_rows, "flows")
    for r in schema.ROLLUPS:
        assert _decoded(by_columns, r.table, r.by_profile) == _decoded(by_rows, r.table, r.by_profile), r.table
    # Delivered again: every event is known, whichever way its part holds the records.
    again = by_columns.write(Batch([part]))
    assert (again.stored, again.duplicates) == (0, 4)
    # The part's lists are its own still (a batch can be written again after a failure).
    assert part.columns == _columns_of(records, V2_PRESENT)


def test_columnar_and_record_parts_of_one_format_in_one_write(store: Store) -> None:
    first = [_flow(), _flow(src="10.0.0.2")]
    second = [_flow(src="10.0.0.3")]
    part = Part([], V2_PRESENT, columns=_columns_of(first, V2_PRESENT))
    result = store.write(Batch([part, Part(second, V2_PRESENT), Part([], V2_PRESENT, columns=_columns_of(first, V2_PRESENT))]))
    assert result.stored == 5
    srcs = [store.address(a)[0] for (a,) in store.conn.execute("SELECT src_addr FROM flows ORDER BY id")]
    assert sorted(srcs) == ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3"]
    assert store.conn.execute("SELECT sum(flows) FROM rollup_minutes").fetchone()[0] == 5


def test_a_part_without_start_takes_its_fallback(store: Store) -> None:
    present = tuple(i for i in V2_PRESENT if i != I["start"] and i != I["end"])
    records = [make_record(version=2, account_id="1", interface_id="eni-1", src_addr="10.0.0.1", action="ACCEPT")]
    part = Part([], present, columns=_columns_of(records, present), fallback_start=1234)
    assert part.starts(99) == [99]
    store.write(Batch([part]))
    assert store.conn.execute("SELECT start, duration FROM flows").fetchone() == (1234, None)
