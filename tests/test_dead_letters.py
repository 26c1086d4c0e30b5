"""`flowtui dead-letters`: what ingest rejected, where from and why, and a second try with --retry."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from flowtui.formats import LogFormat
from flowtui.ingest import Pipeline, retry_dead_letters
from flowtui.store import Batch, DeadLetter, Store
from tests.aws_server import moto_server  # noqa: F401 - the fixture

GOOD = "2 123456789010 eni-1 10.0.0.5 198.51.100.7 443 50000 6 10 8400 1700000000 1700000060 ACCEPT OK"
TYPO = GOOD.replace("ACCEPT", "ACCPT")
STATUS = GOOD.replace(" OK", " FAILED")
BACKWARDS = GOOD.replace("1700000060", "1699999999")
# The same flow in a custom format that puts log-status before action (a v2 line of it does not parse).
SWAPPED_SPEC = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol}"
    " ${packets} ${bytes} ${start} ${end} ${log-status} ${action}"
)
SWAPPED = "2 123456789010 eni-1 10.0.0.5 198.51.100.7 443 50000 6 10 8400 1700000000 1700000060 OK REJECT"


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "flowtui", *args], capture_output=True, timeout=120, check=False)


def _flows(db: Path) -> list[tuple]:
    with Store(db, readonly=True) as s:
        rows = s.conn.execute("SELECT start, duration, action, log_status, bytes FROM flows ORDER BY id").fetchall()
        return [(start, duration, s.string(a), s.string(st), b) for start, duration, a, st, b in rows]


def test_values_out_of_their_sets_are_dead_letters_with_their_reason_not_flows(tmp_path: Path) -> None:
    log = tmp_path / "typos.log"
    log.write_text(f"{GOOD}\n{TYPO}\n{STATUS}\n{BACKWARDS}\n")
    db = tmp_path / "t.db"
    result = _cli("ingest", "--db", str(db), str(log))
    assert result.returncode == 0
    assert result.stdout.decode() == "1 file: 1 flow stored, 3 rejected to dead letters\n"
    assert result.stderr.decode() == (
        "flowtui: `flowtui dead-letters` lists the rejected lines; `flowtui dead-letters --retry` parses them again\n"
    )
    assert _flows(db) == [(1700000000, 60, "ACCEPT", "OK", 8400)]
    listed = _cli("dead-letters", "--db", str(db), "--format", "jsonl")
    assert listed.returncode == 0
    rows = [json.loads(line) for line in listed.stdout.decode().splitlines()]
    assert [(r["id"], r["source"], r["location"], r["reason"], r["line"]) for r in rows] == [
        (3, f"file:{log}", f"{log}:4", "field end: 1699999999 is before start 1700000000", BACKWARDS),
        (2, f"file:{log}", f"{log}:3", "field log-status: 'FAILED' is not OK, NODATA, SKIPDATA or -", STATUS),
        (1, f"file:{log}", f"{log}:2", "field action: 'ACCPT' is not ACCEPT, REJECT or -", TYPO),
    ]
    assert all(r["received"].endswith("Z") for r in rows)
    # Every stored action is one a query can ask for.
    query = _cli("query", "--db", str(db), "--all", "--format", "json", "--fields", "action", "action:ACCEPT")
    assert (query.returncode, json.loads(query.stdout)) == (0, [{"action": "ACCEPT"}])


def test_the_table_shows_where_why_and_the_line_newest_first(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with Store(db) as s:
        s.write(Batch(dead=[DeadLetter("file:/x.log", "/x.log:2", "field action: 'ACCPT' is not ACCEPT, REJECT or -", TYPO)]))
        s.write(Batch(dead=[DeadLetter("kinesis:flows/shard-0", "shard-0:9 /vpc/flows/eni-1-all", "expected 14 fields, found 1", "junk")]))
        s.conn.execute("UPDATE dead_letters SET received = 1700000000")
        s.conn.commit()
    result = _cli("dead-letters", "--db", str(db), "--limit", "1")
    assert result.returncode == 0
    assert result.stdout.decode() == (
        "#2  2023-11-14T22:13:20Z  kinesis:flows/shard-0  shard-0:9 /vpc/flows/eni-1-all\n"
        "    expected 14 fields, found 1\n"
        "    junk\n"
        "1 of 2 dead letters, newest first; --limit 2 shows them all\n"
    )
    everything = json.loads(_cli("dead-letters", "--db", str(db), "--format", "json").stdout)
    assert [r["id"] for r in everything] == [2, 1]
    all_of_them = json.loads(_cli("dead-letters", "--db", str(db), "--format", "json", "--limit", "0").stdout)
    assert [r["id"] for r in all_of_them] == [2, 1]  # 0 is every one, as for query and alerts
    negative = _cli("dead-letters", "--db", str(db), "--limit", "-1")
    assert (negative.returncode, negative.stderr.decode()) == (2, "flowtui: --limit is a count: 0 lists every dead letter\n")
    bad = _cli("dead-letters", "--db", str(db), "--format", "csv")
    assert (bad.returncode, bad.stderr.decode()) == (
        2,
        "flowtui: --format is table, json or jsonl when listing (a flow-log format goes with --retry), not 'csv'\n",
    )
    empty = tmp_path / "e.db"
    Store(empty).close()
    assert _cli("dead-letters", "--db", str(empty)).stdout.decode() == "no dead letters\n"


def test_retry_with_the_right_format_stores_the_lines_and_removes_them(tmp_path: Path) -> None:
    log = tmp_path / "swapped.log"
    log.write_text("\n".join([SWAPPED, SWAPPED.replace(" 8400 ", " 99 "), SWAPPED.replace("REJECT", "DROP"), GOOD]) + "\n")
    db = tmp_path / "r.db"
    first = _cli("ingest", "--db", str(db), str(log))  # the default format: GOOD stored, the rest rejected
    assert first.stdout.decode() == "1 file: 1 flow stored, 3 rejected to dead letters\n"
    # A retry with the default format again changes nothing but the reasons, and says why they stay.
    same = _cli("dead-letters", "--db", str(db), "--retry")
    assert (same.returncode, same.stdout.decode()) == (0, "0 flows stored, 3 still rejected (field action: 'OK' is not ACCEPT, REJECT or -)\n")
    retried = _cli("dead-letters", "--db", str(db), "--retry", "--format", SWAPPED_SPEC)
    assert (retried.returncode, retried.stdout.decode()) == (0, "2 flows stored, 1 still rejected (field action: 'DROP' is not ACCEPT, REJECT or -)\n")
    assert _flows(db) == [
        (1700000000, 60, "ACCEPT", "OK", 8400),
        (1700000000, 60, "REJECT", "OK", 8400),
        (1700000000, 60, "REJECT", "OK", 99),
    ]
    (left,) = json.loads(_cli("dead-letters", "--db", str(db), "--format", "json").stdout)
    assert (left["location"], left["reason"]) == (f"{log}:3", "field action: 'DROP' is not ACCEPT, REJECT or -")
    # The rollups took the retried flows too (they are what the dashboard's panes read).
    with sqlite3.connect(db) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'rollup%' AND type = 'table'")]
        assert tables
        assert conn.execute(f'SELECT sum(flows) FROM "{tables[0]}"').fetchone()[0] == 3
    again = _cli("dead-letters", "--db", str(db), "--retry", "--format", SWAPPED_SPEC)
    assert again.stdout.decode() == "0 flows stored, 1 still rejected (field action: 'DROP' is not ACCEPT, REJECT or -)\n"
    assert len(_flows(db)) == 3


def test_retry_leaves_what_is_no_flow_log_line_as_it_was(store: Store) -> None:
    store.write(
        Batch(
            dead=[
                DeadLetter("file:/p.gz", "/p.gz#2", "gzip member at offset 10 is truncated", None),
                DeadLetter("kinesis:s/0", "0:1", "not a CloudWatch Logs payload", b"\x1f\x8b\x08garbage"),
                DeadLetter("file:/t.json", "/t.json#Records[0]", "no eventID", '{"eventName": "x"}'),
                DeadLetter("file:/c.gz", "/c.gz:7", "unreadable: cut short", None),
                DeadLetter("file:/x.log", "/x.log:2", "field action: 'ACCPT' is not ACCEPT, REJECT or -", TYPO),
            ]
        )
    )
    stats = retry_dead_letters(store, None, LogFormat.default())
    assert (stats.stored, stats.still_dead, stats.skipped) == (0, 1, 4)
    assert stats.summary() == (
        "0 flows stored, 1 still rejected (field action: 'ACCPT' is not ACCEPT, REJECT or -),"
        " 4 with no flow-log line to parse (a damaged file, a payload or an event), left as they were"
    )
    assert store.dead_letter_count() == 5


def test_a_garbage_line_of_a_file_is_parsed_again_and_keeps_the_reason_the_retry_found(tmp_path: Path) -> None:
    """A line of a file is a flow-log line that did not fit, whatever bytes it holds (an escape
    sequence, a stray JSON line): a retry parses it again, counts it among those still rejected
    and writes the reason it found; only payloads' bytes, CloudTrail records and damaged parts
    are left as they were."""
    log = tmp_path / "mixed.log"
    red = "\x1b[31mred"
    log.write_text(f"{GOOD}\n{red}\n{TYPO}\n{{\"eventName\": \"x\"}}\njunk\n")
    db = tmp_path / "g.db"
    assert _cli("ingest", "--db", str(db), str(log)).stdout.decode() == "1 file: 1 flow stored, 4 rejected to dead letters\n"
    same = _cli("dead-letters", "--db", str(db), "--retry")
    assert (same.returncode, same.stdout.decode()) == (0, "0 flows stored, 4 still rejected (2 of them: expected 14 fields, found 1)\n")
    five = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr}"
    other = _cli("dead-letters", "--db", str(db), "--retry", "--format", five)
    assert (other.returncode, other.stdout.decode()) == (0, "0 flows stored, 4 still rejected (2 of them: expected 5 fields, found 1)\n")
    rows = json.loads(_cli("dead-letters", "--db", str(db), "--format", "json").stdout)
    assert [(r["location"], r["reason"], r["line"]) for r in rows] == [
        (f"{log}:5", "expected 5 fields, found 1", "junk"),
        (f"{log}:4", "expected 5 fields, found 2", '{"eventName": "x"}'),
        (f"{log}:3", "expected 5 fields, found 14", TYPO),
        (f"{log}:2", "expected 5 fields, found 1", red),
    ]
    assert _flows(db) == [(1700000000, 60, "ACCEPT", "OK", 8400)]


def test_a_cloudtrail_record_among_a_payloads_flow_log_lines_keeps_saying_so(store: Store) -> None:
    record = '{"eventName": "x"}'
    why = "a CloudTrail record in a flow-log payload (the log group holds flow logs); "
    origin = ("/vpc/flows", "eni-1-all", "flows", "123456789010")
    store.write(Batch(dead=[DeadLetter("kinesis:flows/0", "0:9 /vpc/flows/eni-1-all", why + "expected 14 fields, found 2", record, origin)]))
    stats = retry_dead_letters(store, None, LogFormat.from_spec("${version} ${account-id} ${interface-id}"))
    assert stats.summary() == f"0 flows stored, 1 still rejected ({why}expected 3 fields, found 2)"
    assert [r["reason"] for r in store.dead_letters()] == [why + "expected 3 fields, found 2"]


def test_a_format_with_an_end_and_no_start_places_flows_at_their_end(tmp_path: Path) -> None:
    log = tmp_path / "ends.log"
    log.write_text("eni-1 10.0.0.1 10.0.0.2 1700000060 ACCEPT\neni-1 10.0.0.1 10.0.0.3 - ACCEPT\n")
    os.utime(log, (1_800_000_000, 1_800_000_000))
    db = tmp_path / "e.db"
    result = _cli("ingest", "--db", str(db), "--format", "${interface-id} ${srcaddr} ${dstaddr} ${end} ${action}", str(log))
    assert (result.returncode, result.stderr.decode()) == (0, "")
    # The first at its end, which it keeps (duration 0); the one without an end at the file's time, as before.
    assert _flows(db) == [(1700000060, 0, "ACCEPT", None, None), (1800000000, None, "ACCEPT", None, None)]
    fields = "dst_addr,start,end,timestamp,capture_window_duration_seconds"
    out = _cli("query", "--db", str(db), "--all", "--format", "json", "--fields", fields, "*")
    assert sorted(json.loads(out.stdout), key=lambda r: r["start"]) == [
        {"dst_addr": "10.0.0.2", "start": 1700000060, "end": 1700000060, "timestamp": 1700000060, "capture_window_duration_seconds": 0},
        {"dst_addr": "10.0.0.3", "start": 1800000000, "end": None, "timestamp": 1800000000, "capture_window_duration_seconds": None},
    ]
    for query in ("end:1700000060", "_exists_:end", "end:>=1700000000"):
        out = _cli("query", "--db", str(db), "--all", "--format", "json", "--fields", "dst_addr,end", query)
        assert json.loads(out.stdout) == [{"dst_addr": "10.0.0.2", "end": 1700000060}], query


def test_a_payload_with_an_end_and_no_start_is_placed_at_its_end(tmp_path: Path) -> None:
    doc = {
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/vpc/flows", "logStream": "eni-1-all",
        "subscriptionFilters": ["f"], "logEvents": [{"id": "1", "timestamp": 1_800_000_000_000, "message": "eni-1 1700000060 ACCEPT"}],
    }
    with Store(tmp_path / "p.db") as s:
        fmt = LogFormat.from_spec("${interface-id} ${end} ${action}")
        stats = Pipeline(s, log_format=fmt).ingest_payloads([(gzip.compress(json.dumps(doc).encode()), "#1")], "test")
        assert stats.stored == 1
        assert s.conn.execute("SELECT start, start + duration FROM flows").fetchall() == [(1700000060, 1700000060)]


def test_a_retry_with_an_end_and_no_start_keeps_the_end(store: Store) -> None:
    store.write(Batch(dead=[DeadLetter("file:/x.log", "x.log:1", "expected 14 fields, found 3", "eni-1 1700000060 ACCEPT")]))
    stats = retry_dead_letters(store, None, LogFormat.from_spec("${interface-id} ${end} ${action}"))
    assert stats.summary() == "1 flow stored, 0 still rejected"
    assert store.conn.execute("SELECT start, duration FROM flows").fetchall() == [(1700000060, 0)]


def _four_hundred_events() -> tuple[list[dict], dict]:
    events = [{"id": str(n), "timestamp": 1_700_000_000_000, "message": GOOD.replace(" 8400 ", f" {n} ")} for n in range(400)]
    doc = {
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/vpc/flows", "logStream": "eni-1-all",
        "subscriptionFilters": ["f"], "logEvents": events,
    }
    return events, doc


def _cut_short(doc: dict) -> bytes:
    whole = gzip.compress(json.dumps(doc).encode(), mtime=0)
    return whole[: len(whole) // 2]


def test_a_cut_short_gzip_of_payloads_exits_1_and_keeps_what_it_read(tmp_path: Path) -> None:
    events, doc = _four_hundred_events()
    payloads = tmp_path / "payloads.gz"
    payloads.write_bytes(gzip.compress(json.dumps({**doc, "logEvents": events[:1]}).encode(), mtime=0) + _cut_short(doc))
    db = tmp_path / "p.db"
    result = _cli("ingest", "--db", str(db), str(payloads))
    assert result.returncode == 1
    assert result.stdout.decode() == "1 file: 1 flow stored, 1 rejected to dead letters, 1 payload\n"
    err = result.stderr.decode()
    assert err.startswith(f"flowtui: {payloads}: could not be read to its end: gzip member at offset ") and err.count("\n") == 1
    assert len(_flows(db)) == 1


def _payloads_with_a_swapped_line(path: Path) -> None:
    doc = {
        "messageType": "DATA_MESSAGE", "owner": "123456789010", "logGroup": "/vpc/flows", "logStream": "eni-1-all",
        "subscriptionFilters": ["f"],
        "logEvents": [
            {"id": "1", "timestamp": 1_700_000_000_000, "message": GOOD},
            {"id": "2", "timestamp": 1_700_000_000_000, "message": SWAPPED},
        ],
    }
    path.write_bytes(gzip.compress(json.dumps(doc).encode(), mtime=0))


def test_a_payload_read_twice_keeps_one_dead_letter_per_line_and_a_retry_stores_it_once(tmp_path: Path) -> None:
    payloads = tmp_path / "payloads.json.gz"
    _payloads_with_a_swapped_line(payloads)
    db = tmp_path / "p.db"
    for _ in range(2):
        assert _cli("ingest", "--db", str(db), str(payloads)).returncode == 0
    (letter,) = json.loads(_cli("dead-letters", "--db", str(db), "--format", "json").stdout)
    assert (letter["location"], letter["line"]) == (f"{payloads}#1 /vpc/flows/eni-1-all", SWAPPED)
    retried = _cli("dead-letters", "--db", str(db), "--retry", "--format", SWAPPED_SPEC)
    assert (retried.returncode, retried.stdout.decode()) == (0, "1 flow stored, 0 still rejected\n")
    assert [f[2] for f in _flows(db)] == ["ACCEPT", "REJECT"]


def test_a_line_retried_from_a_payload_keeps_its_log_group_stream_and_owner(tmp_path: Path) -> None:
    payloads = tmp_path / "payloads.json.gz"
    _payloads_with_a_swapped_line(payloads)
    log = tmp_path / "swapped.log"
    log.write_text(f"{GOOD}\n{SWAPPED}\n")
    db = tmp_path / "o.db"
    assert _cli("ingest", "--db", str(db), str(payloads), str(log)).returncode == 0
    retried = _cli("dead-letters", "--db", str(db), "--retry", "--format", SWAPPED_SPEC)
    assert (retried.returncode, retried.stdout.decode()) == (0, "2 flows stored, 0 still rejected\n")
    fields = "action,aws_log_group,aws_log_stream,aws_owner"
    query = _cli("query", "--db", str(db), "--all", "--format", "json", "--fields", fields, "*")
    assert query.returncode == 0
    origin = {"aws_log_group": "/vpc/flows", "aws_log_stream": "eni-1-all", "aws_owner": "123456789010"}
    no_origin = dict.fromkeys(origin)  # a local file's lines have none
    stored = [{"action": a, **o} for a in ("ACCEPT", "REJECT") for o in (origin, no_origin)]
    assert sorted(json.loads(query.stdout), key=json.dumps) == sorted(stored, key=json.dumps)


def test_a_retry_stores_copies_of_one_dead_letter_once_and_removes_them_all(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    copy = DeadLetter("kinesis:flows/shard-0", "shard-0:9 /vpc/flows/eni-1-all", "expected 14 fields", SWAPPED)
    with Store(db) as s:  # copies as a store written before they were kept once holds them
        for _ in range(3):
            s.write(Batch(dead=[copy]))
        s.write(Batch(dead=[DeadLetter("file:/x", "/x:1", "unreadable: cut short", None)] * 2))
    retried = _cli("dead-letters", "--db", str(db), "--retry", "--format", SWAPPED_SPEC)
    assert (retried.returncode, retried.stdout.decode()) == (0, "1 flow stored, 0 still rejected, 1 with no flow-log line to parse (a damaged file, a payload or an event), left as it was\n")
    assert [f[2] for f in _flows(db)] == ["REJECT"]
    (left,) = json.loads(_cli("dead-letters", "--db", str(db), "--format", "json").stdout)
    assert left["reason"] == "unreadable: cut short"


def test_a_damaged_file_ingested_again_keeps_one_unreadable_dead_letter(tmp_path: Path) -> None:
    payloads = tmp_path / "payloads.gz"
    payloads.write_bytes(_cut_short(_four_hundred_events()[1]))
    db = tmp_path / "d.db"
    for _ in range(3):
        assert _cli("ingest", "--db", str(db), str(payloads)).returncode == 1
    listed = json.loads(_cli("dead-letters", "--db", str(db), "--format", "json").stdout)
    assert [r["location"] for r in listed] == [f"{payloads}#1"]


def test_the_table_escapes_control_characters_of_a_line(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with Store(db) as s:
        s.write(Batch(dead=[DeadLetter("file:/x.log", "/x.log:2", "expected 14 fields, found 2", "\x1b]0;owned\x07 \x1b[2J\rend")]))
    result = _cli("dead-letters", "--db", str(db))
    assert result.returncode == 0
    assert result.stdout.decode().splitlines()[2] == "    \\x1b]0;owned\\x07 \\x1b[2J\\rend"
    assert b"\x1b" not in result.stdout
    # JSON keeps the line as it was (escaped by JSON itself).
    (row,) = json.loads(_cli("dead-letters", "--db", str(db), "--format", "json").stdout)
    assert row["line"] == "\x1b]0;owned\x07 \x1b[2J\rend"


def test_a_retry_refuses_a_store_that_is_not_there(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = _cli("dead-letters", "--retry", "--db", str(missing))
    assert (result.returncode, result.stdout.decode()) == (1, "")
    assert result.stderr.decode() == f"flowtui: no store at {missing}: ingest something first (flowtui ingest, tail or demo)\n"
    assert not missing.exists()


def test_one_dead_letter_is_singular(tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    with Store(db) as s:
        s.write(Batch(dead=[DeadLetter("file:/x.log", "/x.log:2", "expected 14 fields, found 1", "junk")]))
    result = _cli("dead-letters", "--db", str(db))
    assert result.stdout.decode().splitlines()[-1] == "1 of 1 dead letter, newest first"  # was '1 of 1 dead letters'


def test_a_cloudwatch_tail_dead_letter_names_its_group_and_stream_once(moto_server: str, tmp_path: Path) -> None:  # noqa: F811
    """A rejected line of a tailed log group is located by its group/stream, said once (not twice), in
    `flowtui dead-letters`' table and JSON; a payload file's and a Kinesis record's keep their place first."""
    import time

    import boto3

    from tests.tail_helpers import REGION, log_group_spec, tail

    group, stream = "vpc-flow-logs", "eni-0a1b2c3d4e5f60718-all"
    logs = boto3.client("logs", endpoint_url=moto_server, region_name=REGION)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": GOOD}, {"timestamp": now + 1, "message": TYPO}])
    db = tmp_path / "t.db"
    assert tail([log_group_spec(group, moto_server)], db)[f"cwlogs:{group}"].stored == 1
    listed = json.loads(_cli("dead-letters", "--db", str(db), "--format", "json").stdout)
    assert [(r["source"], r["location"], r["line"]) for r in listed] == [(f"cwlogs:{group}", f"{group}/{stream}", TYPO)]
    table = _cli("dead-letters", "--db", str(db)).stdout.decode().splitlines()
    assert table[0].endswith(f"  cwlogs:{group}  {group}/{stream}") and table[0].count(stream) == 1

    with Store(tmp_path / "p.db") as s:  # the others: their place, then the group/stream
        doc = {
            "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/vpc/flows", "logStream": "eni-1-all",
            "subscriptionFilters": ["f"], "logEvents": [{"id": "1", "timestamp": 1_700_000_000_000, "message": TYPO}],
        }
        data = gzip.compress(json.dumps(doc).encode())
        Pipeline(s).ingest_payloads([(data, "flows/shardId-000000000000#4959")], "kinesis:flows/shardId-000000000000")
        Pipeline(s).ingest_payloads([(data, "p.gz#1")], "file:/p.gz")
        Pipeline(s).ingest_payloads([(data, "/vpc/flows/eni-1-all")], "cwlogs:/vpc/flows")
        assert [r["location"] for r in reversed(s.dead_letters())] == [
            "flows/shardId-000000000000#4959 /vpc/flows/eni-1-all",
            "p.gz#1 /vpc/flows/eni-1-all",
            "/vpc/flows/eni-1-all",
        ]
