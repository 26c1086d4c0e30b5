"""Rollups: per-minute sums kept with the rows, and answers that do not depend on them.

Every test here compares the engine answering from the rollups with the same
engine reading only the raw flows (``QueryEngine(store, rollups=False)``), on
demo traffic ingested the real way (payloads, parser, demo enricher).
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowtui import rollups, schema
from flowtui.demo.environment import demo_config
from flowtui.demo.traffic import generate_payloads
from flowtui.enrich import Enricher
from flowtui.ingest import Pipeline
from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Batch, Part, Retention, Store, _blake_hashes, event_key
from tests.conftest import V2_PRESENT, make_record

T0 = 1_795_773_617  # 17 s past a minute: data and windows rarely line up with minutes
SPAN = 1_500
PANES = [
    ("*", ["src_addr", "dst_addr"], "bytes"),
    ("action:REJECT", ["src_addr", "dst_port"], "flows"),
    ("dst_addr_entity_aws_type:EC2 AND src_addr_internal:false", ["src_addr", "dst_addr"], "flows"),
    ("src_addr_threat_indicated:true OR dst_addr_threat_indicated:true", ["src_addr", "dst_addr"], "flows"),
]
# What the dashboard adds to a pane's fields to label addresses (grouped on the same ids).
LABELS = ["threat_indicated", "threat_indicated_by", "internal", "entity", "entity_description", "country_code"]
QUERIES = [
    "*",
    "action:REJECT",
    "action:REJECT AND dst_port:22",
    "action:REJECT AND NOT dst_port:[1 TO 1024]",
    "protocol:udp",
    "NOT action:ACCEPT",
    "_exists_:src_addr",
    "dst_addr:10.0.0.0/8 AND src_addr_internal:true",
    "src_addr_threat_indicated_tor:true",
    "dst_addr_country_code:(NL OR RU)",
    "src_addr_entity_aws_type:RDS AND dst_addr_internal:false",
    'src_addr_entity:"ec2:i-04a7c1e9d2b3f5a61"',
    "bytes:>100000",  # not in any rollup: raw flows only
    # Ports, protocol and action alone: the five-minute ports rollup.
    "dst_port:443",
    "dst_port:3389 AND protocol:udp",
    "dst_port:[1 TO 1024] AND action:ACCEPT",
    "protocol:tcp AND NOT dst_port:(80 OR 443)",
]


def _ingest(store: Store, n: int, seed: int, start: int, end: int) -> None:
    pipeline = Pipeline(store, Enricher.from_config(demo_config(), background=False).profile)
    payloads = list(generate_payloads(n, seed, start, end))
    for i in range(0, len(payloads), 20):
        pipeline.ingest_payloads([(p, f"t:{i + j}") for j, p in enumerate(payloads[i : i + 20])], "t:0")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = Store(Path(tmp_path_factory.mktemp("rollups")) / "flows.db")
    _ingest(s, 8_000, 7, T0, T0 + SPAN)
    yield s
    s.close()


@pytest.fixture(scope="module")
def engines(store: Store) -> tuple[QueryEngine, QueryEngine]:
    return QueryEngine(store), QueryEngine(store, rollups=False)


def _windows() -> list[TimeWindow]:
    m0 = T0 - T0 % 60 + 120
    rnd = random.Random(3)
    out = [
        TimeWindow(),  # all time
        TimeWindow(m0, m0 + 600),  # whole minutes
        TimeWindow(m0 + 17, m0 + 613),  # partial minutes at both ends
        TimeWindow(m0 + 17, None),  # open end: the running minute is read from the rollup
        TimeWindow(None, m0 + 613),
        TimeWindow(T0 - 3600, T0 + 7200),  # wider than the data
        TimeWindow(m0 + 5, m0 + 50),  # inside one minute
        TimeWindow(T0 + SPAN + 60, T0 + SPAN + 600),  # after the data
    ]
    for _ in range(4):
        a = rnd.randrange(T0 - 100, T0 + SPAN)
        out.append(TimeWindow(a, a + rnd.randrange(1, 900)))
    return out


def _rollup_rows(conn: sqlite3.Connection, r: schema.Rollup) -> set[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in ("start", *r.dims))
    return set(conn.execute(f"SELECT {cols}, {', '.join(r.metrics)} FROM {r.view}"))


def _summed_from_flows(conn: sqlite3.Connection, r: schema.Rollup) -> set[tuple[Any, ...]]:
    """What the rollup should hold, summed straight from flows (a profiles rollup: by the addresses' profiles)."""

    def dim(c: str) -> str:
        if r.by_profile and c.endswith("_addr"):
            return f'(SELECT profile FROM addrs WHERE id = flows."{c}") AS k_{c}'
        return f'"{c}" AS k_{c}'

    dims = "".join(f", {dim(c)}" for c in r.dims)
    where = ""
    if r.only is not None:
        where = f'WHERE "{r.only[0]}" = (SELECT id FROM strings WHERE value = \'{r.only[1]}\')'
    sql = (
        f'SELECT "start" - "start" % {r.seconds} AS m{dims}, count(*), coalesce(sum(bytes), 0), coalesce(sum(packets), 0)'
        f"{', min(id), max(id)' if r.ids else ''} FROM flows {where} GROUP BY m{''.join(f', k_{c}' for c in r.dims)}"
    )
    return set(conn.execute(sql))


def test_each_rollup_holds_the_sums_of_the_stored_flows(store: Store) -> None:
    for r in schema.ROLLUPS:
        rows = _rollup_rows(store.conn, r)
        assert rows and rows == _summed_from_flows(store.conn, r), r.table
    # NODATA rows (no addresses, no action) are summed under NULL keys, not under 0.
    nulls = store.conn.execute("SELECT count(*) FROM rollup_pairs_v WHERE src_addr IS NULL AND action IS NULL")
    assert nulls.fetchone()[0] > 0


def test_rollups_are_much_smaller_than_the_flows(store: Store) -> None:
    flows = store.flow_count()
    pairs = store.conn.execute("SELECT count(*) FROM rollup_pairs").fetchone()[0]
    assert pairs < flows / 2


@pytest.mark.parametrize("query,by,metric", PANES)
def test_panes_answer_the_same_with_and_without_rollups(
    engines: tuple[QueryEngine, QueryEngine], query: str, by: list[str], metric: str
) -> None:
    fast, raw = engines
    labelled = [*by, *(f"{b}_{s}" for b in by if b.endswith("_addr") for s in LABELS)]
    for window in _windows():
        for limit in (10, 1000):
            got = fast.top(query, window, labelled, metric, limit)  # type: ignore[arg-type]
            assert got == raw.top(query, window, labelled, metric, limit), (query, window, limit)  # type: ignore[arg-type]
        assert fast.count(query, window) == raw.count(query, window)


@pytest.mark.parametrize("query", QUERIES)
def test_top_count_and_histogram_agree_for_any_query(engines: tuple[QueryEngine, QueryEngine], query: str) -> None:
    fast, raw = engines
    for window in _windows():
        assert fast.count(query, window) == raw.count(query, window), (query, window)
        for by in (["src_addr"], ["dst_port", "protocol"], ["action", "dst_addr_country_code"]):
            assert fast.top(query, window, by, "packets", 5) == raw.top(query, window, by, "packets", 5)
    m0 = T0 - T0 % 60
    for start, end, buckets in ((m0, m0 + 1800, 30), (m0 + 60, m0 + 1260, 10), (m0 + 7, m0 + 907, 60), (m0, m0 + 600, 7)):
        window = TimeWindow(start, end)
        assert fast.histogram(query, window, buckets) == raw.histogram(query, window, buckets), (query, start, buckets)


def _sources(engine: QueryEngine, fn: Any) -> set[str]:
    """The tables and views the statements ``fn`` runs read flows or sums from (``… FROM x f``)."""
    seen: list[str] = []
    engine.store.conn.set_trace_callback(seen.append)
    try:
        fn()
    finally:
        engine.store.conn.set_trace_callback(None)
    return {m for s in seen if "LIMIT 1" not in s for m in re.findall(r"(?:FROM|JOIN) (\w+) f\b", s)}


def test_whole_buckets_come_from_the_rollups_and_only_edges_from_flows(
    engines: tuple[QueryEngine, QueryEngine],
) -> None:
    fast, _ = engines
    m0 = T0 - T0 % 300 + 300  # on five minutes
    # 2 minutes, then a five-minute bucket, then 1 minute; the totals (for "other") per profile.
    aligned = _sources(fast, lambda: fast.top("action:REJECT", TimeWindow(m0 + 120, m0 + 720), ["src_addr", "dst_port"]))
    assert aligned == {"rollup_rejects_5m_v", "rollup_rejects_v", "rollup_profiles_v"}
    ragged = _sources(fast, lambda: fast.top("*", TimeWindow(m0 + 17, m0 + 613), ["src_addr", "dst_addr"]))
    assert ragged == {"flows", "rollup_pairs_5m_v", "rollup_pairs_v"}  # the partial minutes from flows
    live = _sources(fast, lambda: fast.histogram("*", TimeWindow.last(1199), 10, now=m0 + 1199))
    assert live == {"rollup_minutes_v"}
    hist = _sources(fast, lambda: fast.histogram("dst_addr_entity_aws_type:EC2 AND src_addr_internal:false",
                                                 TimeWindow(m0, m0 + 900), 15))
    assert hist == {"rollup_profiles_v"}
    # A field no rollup holds: the flows.
    assert _sources(fast, lambda: fast.top("bytes:>100", TimeWindow(m0, m0 + 600), ["src_addr"])) == {"flows"}
    # Ports alone: five-minute buckets, the rest of the window from flows; all time from the rollup alone.
    ports = _sources(fast, lambda: fast.top("*", TimeWindow(m0 + 120, m0 + 720), ["dst_port"], "bytes"))
    assert ports == {"flows", "rollup_ports_5m_v"}
    assert _sources(fast, lambda: fast.top("*", TimeWindow(m0, m0 + 600), ["dst_port"])) == {"rollup_ports_5m_v", "rollup_minutes_v"}
    assert _sources(fast, lambda: fast.top("*", None, ["dst_port", "protocol"])) == {"rollup_ports_5m_v", "rollup_minutes_v"}
    assert _sources(fast, lambda: fast.count("dst_port:3389 AND protocol:udp", None)) == {"rollup_ports_5m_v"}


def test_top_groups_found_from_each_buckets_biggest_are_exact_when_nothing_stands_out(tmp_path: Path) -> None:
    """Flat traffic (every pair alike, ties everywhere): the bound never settles early, the answer stays exact."""
    store = Store(tmp_path / "flat.db")
    m0 = T0 - T0 % 300
    flows = [_flow(m0 + (i % 600), src=f"10.0.{i % 7}.{i % 53 + 1}", action="ACCEPT", bytes=100 + i % 3)
             for i in range(6_000)]
    store.write(Batch([Part(flows, V2_PRESENT)]))
    fast, raw = QueryEngine(store), QueryEngine(store, rollups=False)
    for metric in ("bytes", "flows"):
        for limit in (1, 5, 40):
            window = TimeWindow(m0, m0 + 600)
            assert fast.top("*", window, ["src_addr", "dst_addr"], metric, limit) == raw.top(  # type: ignore[arg-type]
                "*", window, ["src_addr", "dst_addr"], metric, limit  # type: ignore[arg-type]
            )


@pytest.mark.parametrize(
    "query",
    [
        "src_addr_threat_indicated:true",
        "action:REJECT AND dst_port:3389",
        "src_addr_entity_aws_type:RDS AND dst_addr_internal:false",
        "dst_addr_threat_indicated_spamhaus:true",
        "protocol:icmp",
        'src_addr_entity:"ec2:i-nosuch"',
        "dst_port:3389 AND protocol:udp",
        "dst_port:3389",
        "dst_port:53 AND action:ACCEPT",
    ],
)
def test_first_pages_found_through_the_rollups_are_the_pages_of_the_walk(
    engines: tuple[QueryEngine, QueryEngine], query: str
) -> None:
    fast, raw = engines
    fields = ["timestamp", "src_addr", "dst_addr", "dst_port", "bytes"]
    for window in _windows():
        for order in ("-timestamp", "timestamp"):
            for limit in (1, 7, 100):
                got = fast.search(query, window, fields, limit=limit, order=order, with_id=True)
                assert got == raw.search(query, window, fields, limit=limit, order=order, with_id=True), (window, order)


def _snapshot(conn: sqlite3.Connection) -> dict[str, set[tuple[Any, ...]]]:
    return {r.table: _rollup_rows(conn, r) for r in schema.ROLLUPS}


def _flow(start: int, src: str = "10.0.0.1", action: str = "REJECT", **kw: Any) -> tuple[Any, ...]:
    values: dict[str, Any] = {
        "version": 2, "account_id": "1", "interface_id": "eni-1", "src_addr": src, "dst_addr": "203.0.113.9",
        "src_port": 40000, "dst_port": 22, "protocol_number": 6, "packets": 2, "bytes": 120, "start": start,
        "end": start + 10, "action": action, "log_status": "OK",
    }
    values.update(kw)
    return make_record(**values)


def test_a_failed_write_adds_nothing_to_the_rollups(tmp_path: Path) -> None:
    store = Store(tmp_path / "f.db")
    store.write(Batch([Part([_flow(T0 + i) for i in range(5)], V2_PRESENT)]))
    before = _snapshot(store.conn)
    bad = [_flow(T0 + 1, action="NEWACTION"), _flow(T0 + 2, src="not-an-address")]
    with pytest.raises(ValueError):
        store.write(Batch([Part([_flow(T0 + 3)], V2_PRESENT), Part(bad, V2_PRESENT)]))
    assert _snapshot(store.conn) == before
    store.write(Batch([Part([_flow(T0 + 3, action="NEWACTION"), _flow(T0 + 70)], V2_PRESENT)]))
    for r in schema.ROLLUPS:
        assert _rollup_rows(store.conn, r) == _summed_from_flows(store.conn, r)
    assert QueryEngine(store).top("*", None, ["action"], "flows") == QueryEngine(store, rollups=False).top(
        "*", None, ["action"], "flows"
    )


def _prune_all(store: Store, now: int) -> None:
    """Retention steps until one changes nothing (a step returns the flows it deleted, rollups go too)."""
    while True:
        before = (store.flow_count(), rollups.horizons(store.conn))
        store.prune(now)
        if (store.flow_count(), rollups.horizons(store.conn)) == before:
            return


def test_rollups_outlive_the_flows_retention_deletes(tmp_path: Path) -> None:
    day = 86400
    now = T0 + 10 * day
    retention = Retention(max_age=2 * day, step_rows=50, interval=3600, rollup_max_age=5 * day)
    store = Store(tmp_path / "r.db", retention=retention)
    _ingest(store, 1_500, 11, now - 3 * day, now - 3 * day + 600)  # old: past retain, within rollup_retain
    _ingest(store, 1_500, 12, now - 600, now)
    fast, raw = QueryEngine(store), QueryEngine(store, rollups=False)
    old_start = now - 3 * day - (now - 3 * day) % 60
    old = TimeWindow(old_start, old_start + 600)
    recent = TimeWindow(now - 550, now - 10)
    want = {q: raw.top(q, old, by, m, 10) for q, by, m in PANES}
    want_ports = raw.top("*", old, ["dst_port", "protocol"], "bytes", 10)
    want_hist = raw.histogram("action:REJECT", old, 10)
    _prune_all(store, now)
    assert rollups.horizons(store.conn)[0] >= now - 2 * day  # raw_from: every flow from there on is kept
    assert raw.count("*", old) == 0
    for q, by, m in PANES:
        assert fast.top(q, old, by, m, 10) == want[q]  # type: ignore[arg-type]
        assert fast.top(q, recent, by, m, 10) == raw.top(q, recent, by, m, 10)  # type: ignore[arg-type]
    assert fast.histogram("action:REJECT", old, 10) == want_hist
    assert fast.top("*", old, ["dst_port", "protocol"], "bytes", 10) == want_ports
    whole = TimeWindow(now - 540 - now % 60, now - 60 - now % 60)
    want_recent = raw.top("*", whole, ["src_addr"], "bytes", 10)
    # Past rollup_retain, the old buckets go too, whole buckets at a time; the recent ones stay.
    before = _snapshot(store.conn)
    later = now + 3 * day
    _prune_all(store, later)
    assert store.flow_count() == 0 and fast.count("*", old) == 0
    assert fast.top("*", whole, ["src_addr"], "bytes", 10) == want_recent
    _, rollup_from = rollups.horizons(store.conn)
    after = _snapshot(store.conn)
    oldest = min(row[0] for rows in after.values() for row in rows)
    assert rollup_from % schema.ROLLUP_ALIGN == 0 and rollup_from <= oldest
    assert oldest >= later - 5 * day - schema.ROLLUP_ALIGN
    for table, rows in before.items():
        assert after[table] == {row for row in rows if row[0] >= rollup_from}


def test_rollup_retain_comes_from_the_config_and_is_never_shorter_than_retain() -> None:
    from flowtui.config import Config

    r = Retention.from_config(Config({"store": {"retain": "7d", "rollup_retain": "90d"}}))
    assert (r.max_age, r.rollup_max_age, r.rollup_age) == (7 * 86400, 90 * 86400, 90 * 86400)
    r = Retention.from_config(Config({"store": {"retain": "60d"}}))
    assert r.rollup_age == 60 * 86400  # the default 30d is raised to what the flows keep
    assert Retention.from_config(Config()).rollup_age is None  # nothing configured: nothing pruned


def test_a_schema_1_store_gets_rollups_and_keeps_recognising_its_events(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = Store(path)
    keys = [event_key("g", "s", str(i), 0, "m") for i in range(3)]
    flows = [_flow(T0 + i * 30, action="ACCEPT" if i else "REJECT") for i in range(3)]
    store.write(Batch([Part(flows, V2_PRESENT)]))
    store.close()
    # Make it a schema-1 file: no rollups or meta, event hashes stored plain.
    conn = sqlite3.connect(path, isolation_level=None)
    for r in schema.ROLLUPS:
        conn.execute(f"DROP VIEW {r.view}")
        conn.execute(f"DROP TABLE {r.table}")
    conn.execute("DROP TABLE meta")
    conn.execute("DROP TABLE profiles")
    conn.execute("ALTER TABLE addrs DROP COLUMN profile")
    day = schema.seen_table(T0 // 86400)
    conn.execute(f"CREATE TABLE {day} (h INTEGER PRIMARY KEY)")
    conn.executemany(f"INSERT INTO {day} VALUES (?)", [(h - 2**64 if h >= 2**63 else h,) for h in _blake_hashes(keys)])
    conn.execute("PRAGMA user_version = 1")
    conn.close()

    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    for r in schema.ROLLUPS:
        assert _rollup_rows(store.conn, r) == _summed_from_flows(store.conn, r)
    again = store.write(Batch([Part(flows, V2_PRESENT, event_keys=keys)]))
    assert (again.stored, again.duplicates) == (0, 3)
    new = store.write(Batch([Part([_flow(T0 + 5)], V2_PRESENT, event_keys=[event_key("g", "s", "9", 0, "m")])]))
    assert new.stored == 1


def test_opening_reads_no_addresses_until_a_row_needs_them(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    store.write(Batch([Part([_flow(T0, src=f"10.0.0.{i}") for i in range(1, 50)], V2_PRESENT)]))
    store.close()
    reader = Store(tmp_path / "a.db", readonly=True)
    assert not reader._addr_rows
    (aid,) = reader.conn.execute("SELECT src_addr FROM flows ORDER BY id LIMIT 1").fetchone()
    assert reader.address(aid) == ("10.0.0.1", (None,) * 11)
    assert reader.address(10**9) is None
    # A writer that has never seen an address finds the id an earlier run gave it.
    writer = Store(tmp_path / "a.db")
    writer.write(Batch([Part([_flow(T0 + 1, src="10.0.0.1")], V2_PRESENT)]))
    assert writer.conn.execute("SELECT count(*) FROM addrs WHERE ip = '10.0.0.1'").fetchone()[0] == 1


def test_a_live_pane_on_whole_minutes_reads_only_rollups(engines: tuple[QueryEngine, QueryEngine]) -> None:
    fast, raw = engines
    now = T0 + SPAN - 200  # flows go on after now: the pinned window must not take them
    for since, buckets in ((900, 60), (3600, 60), (1200, 7)):
        window, n = TimeWindow.last(since).on_minutes(now, buckets)
        assert window.start is not None and window.end is not None
        assert window.start <= now - since and window.end > now and window.start % 60 == window.end % 60 == 0
        assert n <= buckets and (window.end - window.start) % (60 * n) == 0
        for query, by, metric in PANES:
            read = _sources(fast, lambda q=query, b=by, m=metric, w=window, n=n: (fast.top(q, w, b, m, 10),  # type: ignore[misc]
                                                                                    fast.histogram(q, w, n, now=now)))
            assert "flows" not in read, (query, since)
            assert fast.top(query, window, by, metric, 10) == raw.top(query, window, by, metric, 10)  # type: ignore[arg-type]
            assert fast.histogram(query, window, n, now=now) == raw.histogram(query, window, n, now=now)


def _make_schema_3(path: Path) -> None:
    """The store at ``path`` as schema 3 wrote it: no ports rollup, the rejects keyed by dst_addr before dst_port."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"DROP VIEW {schema.TOPS_VIEW}")  # schema 6's
    conn.execute(f"DROP TABLE {schema.TOPS_TABLE}")
    conn.execute(f"DROP TABLE {schema.SEALS_TABLE}")
    conn.execute("DROP VIEW rollup_ports_5m_v")
    conn.execute("DROP TABLE rollup_ports_5m")
    old = ("start", "src_addr", "dst_addr", "dst_port", "protocol_number", "action")
    for table in ("rollup_rejects", "rollup_rejects_5m"):
        conn.execute(f"DROP VIEW {table}_v")
        conn.execute(f"ALTER TABLE {table} RENAME TO {table}_4")
        keys = ", ".join(f"{c} INTEGER NOT NULL" for c in old)
        conn.execute(f"CREATE TABLE {table} ({keys}, flows INTEGER NOT NULL, bytes INTEGER NOT NULL, packets INTEGER NOT NULL, "
                     f"first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, PRIMARY KEY ({', '.join(old)})) WITHOUT ROWID")
        ids = ("first_id", "last_id") if table == "rollup_rejects" else ("0", "0")  # schema 6 keeps none in 5m buckets
        cols = ", ".join((*old, "flows", "bytes", "packets", *ids))
        conn.execute(f"INSERT INTO {table} SELECT {cols} FROM {table}_4")
        conn.execute(f"DROP TABLE {table}_4")
        view = ", ".join(f"nullif({c}, {schema.rollup_null(c)}) AS {c}, {c} AS _{c}" for c in old[1:])
        conn.execute(f"CREATE VIEW {table}_v AS SELECT start, {view}, flows, bytes, packets, first_id, last_id FROM {table}")
    conn.execute("PRAGMA user_version = 3")
    conn.close()


def test_a_schema_3_store_gets_the_ports_rollup_from_its_flows_in_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flowtui.store

    path = tmp_path / "v3.db"
    store = Store(path)
    _ingest(store, 2_000, 5, T0, T0 + 900)
    raw = QueryEngine(store, rollups=False)
    windows = [TimeWindow(), TimeWindow(T0 + 100, T0 + 700), TimeWindow(T0 - T0 % 300 + 300, T0 - T0 % 300 + 900)]
    want = [(raw.top("*", w, ["dst_port", "protocol"], "bytes", 10), raw.count("dst_port:443", w)) for w in windows]
    want_rejects = [raw.top("action:REJECT", w, ["src_addr", "dst_port"], "flows", 10) for w in windows]
    rows = _snapshot(store.conn)
    store.close()
    _make_schema_3(path)

    monkeypatch.setattr(flowtui.store, "_REBUILD_STEP", 97)  # many steps, each summing a stretch of ids
    with pytest.raises(Exception, match="needs an upgrade"):
        Store(path, readonly=True)
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 9
    ports = schema.ROLLUPS[-1]
    assert ports.table == "rollup_ports_5m"
    assert _rollup_rows(store.conn, ports) == rows[ports.table] == _summed_from_flows(store.conn, ports)
    assert _snapshot(store.conn) == rows  # the rejects' rows kept, in the new key order
    keys = [row[1] for row in store.conn.execute("PRAGMA table_info(rollup_rejects_5m)")][:3]
    assert keys == ["start", "src_addr", "dst_port"]
    fast = QueryEngine(store)
    assert [(fast.top("*", w, ["dst_port", "protocol"], "bytes", 10), fast.count("dst_port:443", w)) for w in windows] == want
    assert [fast.top("action:REJECT", w, ["src_addr", "dst_port"], "flows", 10) for w in windows] == want_rejects
    assert rollups.horizons(store.conn, ports) == (0, 0)
    # It is kept up as flows arrive, like the rest.
    _ingest(store, 300, 6, T0 + 900, T0 + 1000)
    assert _rollup_rows(store.conn, ports) == _summed_from_flows(store.conn, ports)


def test_after_retention_a_schema_3_store_trusts_its_new_rollup_from_the_oldest_whole_bucket_of_flows(
    tmp_path: Path,
) -> None:
    day = 86400
    now = T0 + 10 * day
    retention = Retention(max_age=2 * day, step_rows=50, interval=3600, rollup_max_age=5 * day)
    path = tmp_path / "kept.db"
    store = Store(path, retention=retention)
    _ingest(store, 800, 11, now - 3 * day, now - 3 * day + 600)
    _ingest(store, 1_500, 12, now - 2 * day - 200, now - 2 * day + 1200)  # retention cuts through these
    _prune_all(store, now)
    raw_from = rollups.horizons(store.conn)[0]
    assert raw_from % schema.ROLLUP_ALIGN and store.flow_count()  # a cut inside a bucket, flows left after it
    raw = QueryEngine(store, rollups=False)
    windows = [TimeWindow(), TimeWindow(now - 3 * day - 60, now - 3 * day + 700), TimeWindow(raw_from - 400, raw_from + 900)]
    want = [raw.top("*", w, ["dst_port"], "flows", 10) for w in windows]
    store.close()
    _make_schema_3(path)

    store = Store(path, retention=retention)
    bound = raw_from - raw_from % schema.ROLLUP_ALIGN + schema.ROLLUP_ALIGN
    ports = schema.ROLLUPS[-1]
    assert rollups.horizons(store.conn, ports) == (raw_from, bound)
    assert rollups.horizons(store.conn)[1] < bound  # the other rollups keep their older buckets
    kept = {row for row in _summed_from_flows(store.conn, ports) if row[0] >= bound}
    assert _rollup_rows(store.conn, ports) == kept
    fast = QueryEngine(store)
    assert [fast.top("*", w, ["dst_port"], "flows", 10) for w in windows] == want


def test_closed_buckets_biggest_rows_kept_by_the_writer_give_the_panes_the_same_answers(tmp_path: Path) -> None:
    """Panes read a closed bucket's biggest rows from the writer's table, however few it keeps, and late flows undo that."""
    store = Store(tmp_path / "tops.db")
    _ingest(store, 6_000, 5, T0, T0 + SPAN)
    m0 = rollups.ceil(T0, 300)
    window = TimeWindow(m0, m0 + 600)
    kept = store.conn.execute(f"SELECT count(*) FROM {schema.SEALS_TABLE}").fetchone()[0]
    assert kept  # kept by the writer as they closed, one a write
    store.keep_all_tops()  # all of them, and again after the late flows that came since
    assert rollups.stale_tops(store.conn) == []
    sealed = [b for (b,) in store.conn.execute(f'SELECT "start" FROM {schema.SEALS_TABLE} ORDER BY 1')]
    assert {m0, m0 + 300} <= set(sealed)
    raw = QueryEngine(store, rollups=False)
    labelled = {q: [*by, *(f"{b}_{s}" for b in by if b.endswith("_addr") for s in LABELS)] for q, by, _ in PANES}
    want = {(q, limit): raw.top(q, window, labelled[q], m, limit) for q, _, m in PANES for limit in (1, 10, 1000)}  # type: ignore[arg-type]

    def statements() -> list[str]:
        seen: list[str] = []
        store.conn.set_trace_callback(seen.append)
        QueryEngine(store).top("*", window, ["src_addr", "dst_addr"], "bytes", 10)
        store.conn.set_trace_callback(None)
        return seen

    # Buckets this small are sorted in a few ms: nothing is kept for them (it would take room, not time).
    assert store.conn.execute(f"SELECT count(*) FROM {schema.TOPS_TABLE}").fetchone()[0] == 0
    assert not any(f"FROM {schema.TOPS_VIEW} f" in s for s in statements())
    for keep in (1, 3, schema.TOPS_KEEP):  # few rows kept: the bound of those left out decides more often
        with store.transaction():
            for b in sealed:
                rollups.keep_tops(store.conn, b, rollups.seal(store.conn, b, 300), keep, min_rows=0, max_share=float("inf"))
        read = statements()
        assert sum(f"FROM {schema.TOPS_VIEW} f" in s for s in read) == 2  # each bucket's rows first
        if keep == schema.TOPS_KEEP:  # and enough of them: no sort of a bucket (fewer may need the second round)
            assert not any(f"FROM {schema.TOPS_OF.view} f WHERE" in s and "ORDER BY" in s for s in read)
        fast = QueryEngine(store)
        for q, _, m in PANES:
            for limit in (1, 10, 1000):
                assert fast.top(q, window, labelled[q], m, limit) == want[q, limit], (keep, q, limit)  # type: ignore[arg-type]
    # Late flows into a kept bucket, less than _TOPS_AGAIN after it was kept: it stays as it was (stale),
    # and readers sort the bucket themselves until the writer keeps it anew.
    for n in (1, 2, 3):
        if n == 3:
            store.keep_all_tops()
        else:
            late = _flow(m0 + 5, src=f"198.51.100.{70 + n}", dst_addr="10.0.1.20", action="ACCEPT", bytes=10**9 * n)
            store.write(Batch([Part([late], V2_PRESENT)]))
        assert [b for b, _, _ in rollups.stale_tops(store.conn)] == ([] if n == 3 else [m0])
        for q, _, m in PANES:
            got = QueryEngine(store).top(q, window, labelled[q], m, 10)  # type: ignore[arg-type]
            assert got == raw.top(q, window, labelled[q], m, 10), (n, q)  # type: ignore[arg-type]
    top = QueryEngine(store).top("*", window, ["src_addr"], "bytes", 2)
    assert [r["src_addr"] for r in top[:2]] == ["198.51.100.72", "198.51.100.71"]


def _reads_kept_tops(store: Store, window: TimeWindow) -> int:
    """How many statements a pane's query reads the kept biggest rows with."""
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    QueryEngine(store).top("*", window, ["src_addr", "dst_addr"], "bytes", 10)
    store.conn.set_trace_callback(None)
    return sum(f"FROM {schema.TOPS_VIEW} f" in s for s in seen)


def test_a_schema_6_store_keeps_its_closed_buckets_biggest_rows_again_in_the_layout_of_7(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollups, "TOPS_MIN_ROWS", 0)  # small buckets kept too: their rows are read below
    monkeypatch.setattr(rollups, "TOPS_MAX_SHARE", float("inf"))
    path = tmp_path / "v6.db"
    store = Store(path)
    _ingest(store, 3_000, 9, T0, T0 + SPAN)
    m0 = rollups.ceil(T0, 300)
    store.write(Batch([Part([_flow(m0 + 660, src="198.51.100.8")], V2_PRESENT)]))  # closes the buckets read below
    store.keep_all_tops()
    store.close()
    conn = sqlite3.connect(path, isolation_level=None)  # as schema 6 left it: its own table, and its seals
    conn.execute(f"DROP VIEW {schema.TOPS_VIEW}")
    conn.execute(f"DROP TABLE {schema.TOPS_TABLE}")
    conn.execute(f"CREATE TABLE {schema.TOPS_TABLE} (a, b, c, d, e, f, g, h, i, j)")
    conn.execute(f"CREATE VIEW {schema.TOPS_VIEW} AS SELECT * FROM {schema.TOPS_TABLE}")
    sealed = conn.execute(f"SELECT count(*) FROM {schema.SEALS_TABLE}").fetchone()[0]
    conn.execute("PRAGMA user_version = 6")
    conn.close()
    assert sealed
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 9
    m0 = rollups.ceil(T0, 300)
    assert rollups.stale_tops(store.conn) == []  # every closed bucket kept again, in the new layout
    seals = store.conn.execute(f'SELECT "start", minutes, flows, last_id FROM {schema.SEALS_TABLE} ORDER BY 1').fetchall()
    assert len(seals) >= sealed
    assert [(b, *rollups.seal(store.conn, b, 300)) for b, *_ in seals] == seals  # seals readers match
    assert store.conn.execute(f"SELECT count(DISTINCT start) FROM {schema.TOPS_TABLE}").fetchone()[0] == len(seals)
    window = TimeWindow(m0, m0 + 600)
    assert _reads_kept_tops(store, window) == 1  # its one bucket with flows (they end before m0 + 300)
    fast, raw = QueryEngine(store), QueryEngine(store, rollups=False)
    for q, by, m in PANES:
        assert fast.top(q, window, by, m, 10) == raw.top(q, window, by, m, 10)  # type: ignore[arg-type]


def test_a_late_flow_into_a_kept_bucket_is_kept_anew_one_bucket_a_write_and_answers_stay_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollups, "TOPS_MIN_ROWS", 0)
    monkeypatch.setattr(rollups, "TOPS_MAX_SHARE", float("inf"))
    store = Store(tmp_path / "late.db")
    _ingest(store, 3_000, 11, T0, T0 + SPAN)
    m0 = rollups.ceil(T0, 300)
    store.write(Batch([Part([_flow(m0 + 660, src="198.51.100.8")], V2_PRESENT)]))  # closes the buckets read below
    store.keep_all_tops()
    window = TimeWindow(m0, m0 + 600)
    raw = QueryEngine(store, rollups=False)

    def exact() -> None:
        for q, by, m in PANES:
            assert QueryEngine(store).top(q, window, by, m, 10) == raw.top(q, window, by, m, 10), q  # type: ignore[arg-type]

    late = [_flow(b + 7, src="198.51.100.9", dst_addr="10.0.1.20", bytes=10**9) for b in (m0, m0 + 300)]
    store.write(Batch([Part(late, V2_PRESENT)]))  # just after all were kept: not kept anew yet
    assert [b for b, _, _ in rollups.stale_tops(store.conn)] == [m0, m0 + 300]
    assert _reads_kept_tops(store, window) == 0  # seals differ: readers sort both buckets
    exact()
    store._tops_again_at = 0.0  # as after _TOPS_AGAIN seconds
    store.write(Batch([Part([_flow(m0 + 600, src="198.51.100.10")], V2_PRESENT)]))
    assert [b for b, _, _ in rollups.stale_tops(store.conn)] == [m0 + 300]  # one bucket a write, then a pause
    assert _reads_kept_tops(store, window) == 1
    exact()
    store.write(Batch([Part([_flow(m0 + 610, src="198.51.100.11")], V2_PRESENT)]))
    assert [b for b, _, _ in rollups.stale_tops(store.conn)] == [m0 + 300]
    store._tops_again_at = 0.0
    store.write(Batch([Part([_flow(m0 + 620, src="198.51.100.12")], V2_PRESENT)]))
    assert rollups.stale_tops(store.conn) == []
    assert _reads_kept_tops(store, window) == 2
    exact()


def test_a_future_dated_flow_closes_no_bucket_and_a_bucket_closes_a_full_grace_after_its_end(tmp_path: Path) -> None:
    store = Store(tmp_path / "future.db")
    b = rollups.ceil(T0, 300)
    flows = [_flow(b - 290), _flow(b + 5), _flow(b + 86_400, src="10.9.9.9")]  # the last dated a day ahead
    store.write(Batch([Part(flows, V2_PRESENT)]))
    store.conn.execute(f"DELETE FROM {schema.SEALS_TABLE}")  # as if none were kept yet

    def closed(now: int) -> list[int]:
        return [bucket for bucket, _, _ in rollups.stale_tops(store.conn, now=now)]

    assert closed(b + 30) == [b - 300]  # the open bucket stays open whatever the future flow says
    grace = rollups.TOPS_GRACE - rollups.TOPS_CLOCK_SLACK
    assert closed(b + 300 + grace - 1) == [b - 300]  # newest (the clock's limit) 59 s past b's end
    assert closed(b + 300 + grace) == [b - 300, b]  # 60 s past it
