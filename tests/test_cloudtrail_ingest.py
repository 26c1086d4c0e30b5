"""CloudTrail through the ingest paths: its own files, payload files, mixed and malformed input, dedupe, retention."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pytest

from flowtui.cli import main
from flowtui.cloudtrail.search import TrailSearch
from flowtui.ingest import Pipeline
from flowtui.store import Batch, Retention, Store
from tests.cloudtrail_data import GROUP, LOG_FILE, NAMES, compact, records, trail_file, trail_payload
from tests.tail_helpers import flow_line, payload


def events(db: Path) -> list[tuple[str, str]]:
    with Store(db) as store:
        return store.conn.execute("SELECT event_id, event_name FROM cloudtrail ORDER BY time").fetchall()


def dead(db: Path) -> list[tuple[str, str, str | None]]:
    with Store(db) as store:
        return [(d["location"], d["reason"], d["data"]) for d in reversed(store.dead_letters())]


def test_a_log_file_plain_or_gzip_is_stored_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ct.db"
    gz = tmp_path / LOG_FILE.name.replace(".json", ".json.gz")
    gz.write_bytes(gzip.compress(LOG_FILE.read_bytes()))
    assert main(["ingest", "--db", str(db), str(gz)]) == 0
    assert capsys.readouterr().out == "1 file: 0 flows stored, 6 CloudTrail events stored, 0 rejected to dead letters\n"
    assert [name for _, name in events(db)] == NAMES
    assert main(["ingest", "--db", str(db), str(LOG_FILE)]) == 0  # the same content unzipped: a copy, not read again
    assert capsys.readouterr().out == "0 files read (1 copy already stored): 0 flows stored, 0 rejected to dead letters\n"
    respaced = tmp_path / "respaced.json"  # the same events in other bytes: read, each known by its eventID
    respaced.write_text(json.dumps(json.loads(LOG_FILE.read_text()), indent=1))
    assert main(["ingest", "--db", str(db), str(respaced)]) == 0
    assert capsys.readouterr().out == "1 file: 0 flows stored, 6 already stored, 0 rejected to dead letters\n"
    assert len(events(db)) == 6


def test_digest_files_are_skipped_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    digest = tmp_path / "111122223333_CloudTrail-Digest_us-east-2_trail_us-east-2_20261127T1100Z.json.gz"
    digest.write_bytes(gzip.compress(json.dumps({"awsAccountId": "111122223333", "digestStartTime": "2026-11-27T10:00:00Z", "logFiles": []}).encode()))
    db = tmp_path / "ct.db"
    assert main(["ingest", "--db", str(db), str(digest)]) == 0
    out = capsys.readouterr()
    assert out.err == f"flowtui: {digest}: a CloudTrail-Digest file (hashes, not events); skipped\n"
    assert out.out == "1 file: 0 flows stored, 0 rejected to dead letters\n"


def test_a_bad_record_in_a_file_loses_only_itself(tmp_path: Path) -> None:
    recs = records()
    del recs[2]["eventTime"]
    path = tmp_path / "trail.json.gz"
    path.write_bytes(trail_file([*recs[:3], "not a record", *recs[3:]]))  # type: ignore[list-item]
    db = tmp_path / "ct.db"
    assert main(["ingest", "--db", str(db), str(path)]) == 0
    assert len(events(db)) == 5
    assert [(loc, reason) for loc, reason, _ in dead(db)] == [
        (f"{path}#Records[2]", "not a CloudTrail record: it has no eventTime"),
        (f"{path}#Records[3]", "CloudTrail record is a string, not an object"),
    ]


def test_a_file_that_is_not_a_trail_file_is_a_dead_letter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cut.json.gz"
    path.write_bytes(gzip.compress(LOG_FILE.read_bytes())[:-40])
    db = tmp_path / "ct.db"
    assert main(["ingest", "--db", str(db), str(path)]) == 1  # nothing stored from it
    assert capsys.readouterr().err == (
        f"flowtui: {path}: nothing stored and 1 rejected to dead letters (truncated gzip data: the file ends early)\n"
    )
    assert [(loc, reason) for loc, reason, _ in dead(db)] == [(str(path), "truncated gzip data: the file ends early")]


def test_payload_files_are_told_apart_per_log_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A payload file (Firehose-style, gzip members back to back) with a flow-log group and a CloudTrail group."""
    path = tmp_path / "payloads.gz"
    trail = [compact(r) for r in records()]
    path.write_bytes(payload([flow_line(1), flow_line(2)]) + trail_payload(trail[:4]) + trail_payload(trail[4:], first_id=4))
    db = tmp_path / "ct.db"
    assert main(["ingest", "--db", str(db), str(path)]) == 0
    assert capsys.readouterr().out == (
        "1 file: 2 flows stored, 6 CloudTrail events stored, 0 rejected to dead letters, 3 payloads\n"
    )


def test_a_payload_mixing_both_kinds_keeps_the_good_ones(tmp_path: Path) -> None:
    db = tmp_path / "ct.db"
    trail = [compact(r) for r in records()]
    with Store(db) as store:
        pipeline = Pipeline(store)
        stats = pipeline.ingest_payloads(
            [
                (trail_payload([trail[0], flow_line(3), trail[1], '{"eventVersion": "1.08"}']), "rec#1"),
                (payload([flow_line(4), trail[2], flow_line(5)], group="vpc-flow-logs"), "rec#2"),
            ],
            "test",
        )
    assert (stats.stored, stats.cloudtrail, stats.rejected) == (2, 2, 3)
    assert [name for _, name in events(db)] == ["StartInstances", "DeleteBucketPolicy"]
    assert [(loc, reason.split(";")[0], data) for loc, reason, data in dead(db)] == [
        (
            f"rec#1 {GROUP}/111122223333_CloudTrail_us-east-2 event 1",
            f"a flow-log line in a CloudTrail payload (log group {GROUP})",
            flow_line(3),
        ),
        (
            f"rec#1 {GROUP}/111122223333_CloudTrail_us-east-2 event 3",
            "not a CloudTrail record: it has no eventSource, eventName, eventTime",
            '{"eventVersion": "1.08"}',
        ),
        (
            "rec#2 vpc-flow-logs/eni-0a1b2c3d4e5f60718-all",
            "a CloudTrail record in a flow-log payload (the log group holds flow logs)",
            trail[2],
        ),
    ]


def test_a_redelivered_batch_stores_nothing_twice_and_moves_the_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "ct.db"
    batch = [(trail_payload([compact(r) for r in records()]), "shard-0#1")]
    with Store(db) as store:
        pipeline = Pipeline(store)
        first = pipeline.ingest_payloads(batch, "kinesis:trail/shard-0", checkpoint=("kinesis:trail/shard-0", "100"))
        again = pipeline.ingest_payloads(batch, "kinesis:trail/shard-0", checkpoint=("kinesis:trail/shard-0", "101"))
        assert (first.cloudtrail, first.duplicates) == (6, 0)
        assert (again.cloudtrail, again.duplicates) == (0, 6)
        assert store.checkpoint("kinesis:trail/shard-0") == "101"
    assert len(events(db)) == 6


def test_events_and_checkpoint_commit_together(tmp_path: Path) -> None:
    """A write that fails part-way leaves neither the events nor the checkpoint."""
    from flowtui.cloudtrail.records import parse_record
    from flowtui.cloudtrail.table import TrailWrite

    def broken(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    with Store(tmp_path / "ct.db") as store:
        batch = Batch(checkpoint=("kinesis:trail/shard-0", "7"), tables=[TrailWrite([parse_record(records()[0])]), broken])
        with pytest.raises(sqlite3.OperationalError):
            store.write(batch)
        assert store.checkpoint("kinesis:trail/shard-0") is None
        assert store.conn.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'cloudtrail'").fetchone()[0] == 0


def test_retention_prunes_events_in_small_steps(tmp_path: Path) -> None:
    db = tmp_path / "ct.db"
    with Store(db, retention=Retention(max_age=180.0, step_rows=2)) as store:
        Pipeline(store).ingest_trail_file(LOG_FILE.read_bytes(), "f", "file:f")
        now = 1_795_773_945 + 180  # ConsoleLogin (10:05:45) is the oldest kept
        store.prune(now)
        assert [n for _, n in store.conn.execute("SELECT time, event_name FROM cloudtrail ORDER BY time")] == [
            "DeleteSecurityGroup",
            "AssumeRole",
            "ConsoleLogin",
            "ListUsers",
        ]
        store.prune(now)
        store.prune(now)
        assert [n for (n,) in store.conn.execute("SELECT event_name FROM cloudtrail ORDER BY time")] == [
            "ConsoleLogin",
            "ListUsers",
        ]


def test_a_store_without_cloudtrail_answers_empty(tmp_path: Path) -> None:
    db = tmp_path / "flows.db"
    with Store(db) as store:
        Pipeline(store).ingest_lines([flow_line(1)], "test", "x")
    with Store(db, readonly=True) as store:
        search = TrailSearch(store)
        assert not search.available()
        assert search.search("eventName:*") == []
        assert search.count("*") == 0
        assert search.from_address("10.0.1.25") == []
        assert search.event("e0a1b2c3-0001-4000-8000-000000000001") is None
