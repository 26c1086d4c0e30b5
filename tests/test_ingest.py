"""The ingest pipeline on real files: every sample, payloads, re-ingest, dead letters."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flowtui.ingest import IngestError, Pipeline
from flowtui.store import Store

ROOT = Path(__file__).resolve().parents[1]


def _payload(events: list[tuple[str, int, str]], group: str = "/vpc/flows", stream: str = "eni-1-all") -> bytes:
    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": ["to-kinesis"],
        "logEvents": [{"id": i, "timestamp": ts, "message": m} for i, ts, m in events],
    }
    return gzip.compress(json.dumps(doc).encode())


CONTROL = gzip.compress(
    json.dumps(
        {
            "messageType": "CONTROL_MESSAGE",
            "owner": "CloudwatchLogs",
            "logGroup": "",
            "logStream": "",
            "subscriptionFilters": [],
            "logEvents": [{"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}],
        }
    ).encode()
)

LINE_A = "2 123456789010 eni-1 10.0.0.5 198.51.100.7 443 50000 6 10 8400 1700000000 1700000060 ACCEPT OK"
LINE_B = "2 123456789010 eni-1 198.51.100.7 10.0.0.5 50000 443 6 12 1200 1700000000 1700000060 ACCEPT OK"
LINE_BAD = "2 123456789010 eni-1 10.0.0.5 198.51.100.7 443 abc 6 10 8400 1700000000 1700000060 ACCEPT OK"


def _rows(store: Store) -> list[tuple]:
    out = []
    for src, dst, dport, nbytes, action in store.conn.execute(
        "SELECT src_addr, dst_addr, dst_port, bytes, action FROM flows ORDER BY id"
    ):
        out.append((
            store.address(src)[0] if src else None,
            store.address(dst)[0] if dst else None,
            dport,
            nbytes,
            store.string(action),
        ))
    return out


def test_every_sample_file_is_stored_and_a_second_run_adds_nothing(store: Store, shared_testdata: Path) -> None:
    pipeline = Pipeline(store)
    flowlogs = shared_testdata / "flowlogs"
    counts = {p.name: pipeline.ingest_path(str(p)).stored for p in sorted(flowlogs.glob("aws-docs-v*.log"))}
    assert counts == {"aws-docs-v2.log": 6, "aws-docs-v3.log": 2, "aws-docs-v5.log": 2}
    again = [pipeline.ingest_path(str(p)) for p in sorted(flowlogs.glob("aws-docs-v*.log"))]
    assert [s.stored for s in again] == [0, 0, 0]
    assert store.flow_count() == 10
    assert store.dead_letter_count() == 0


def test_a_grown_file_is_resumed_where_it_ended(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "flows.log"
    log.write_text(LINE_A + "\n")
    pipeline = Pipeline(store)
    assert pipeline.ingest_path(str(log)).stored == 1
    log.write_text(LINE_A + "\n" + LINE_B + "\n")
    stats = pipeline.ingest_path(str(log))
    assert (stats.stored, stats.skipped_lines) == (1, 1)
    assert _rows(store) == [
        ("10.0.0.5", "198.51.100.7", 50000, 8400, "ACCEPT"),
        ("198.51.100.7", "10.0.0.5", 443, 1200, "ACCEPT"),
    ]


def test_bad_lines_become_dead_letters_with_their_line_number(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "mixed.log.gz"
    log.write_bytes(gzip.compress(f"{LINE_A}\n{LINE_BAD}\nnot a flow\n\n{LINE_B}\n".encode()))
    stats = Pipeline(store).ingest_path(str(log))
    assert (stats.stored, stats.rejected) == (2, 2)
    letters = sorted((d["location"], d["data"]) for d in store.dead_letters())
    assert letters == [(f"{log}:2", LINE_BAD), (f"{log}:3", "not a flow")]
    assert all(d["reason"] for d in store.dead_letters())


def test_payload_file_with_a_corrupt_member_keeps_the_good_ones(store: Store, tmp_path: Path) -> None:
    good1 = _payload([("1", 1_700_000_000_000, LINE_A)])
    good2 = _payload([("2", 1_700_000_000_000, LINE_B), ("3", 1_700_000_001_000, LINE_BAD)])
    broken = gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEve')  # a JSON document cut short
    path = tmp_path / "payloads.gz"
    path.write_bytes(good1 + broken + CONTROL + good2)
    stats = Pipeline(store).ingest_path(str(path))
    assert (stats.stored, stats.rejected, stats.control_messages) == (2, 2, 1)
    assert _rows(store) == [
        ("10.0.0.5", "198.51.100.7", 50000, 8400, "ACCEPT"),
        ("198.51.100.7", "10.0.0.5", 443, 1200, "ACCEPT"),
    ]
    (group, stream, kinesis, owner), = [store.origin(o) for (o,) in store.conn.execute("SELECT DISTINCT origin FROM flows")]
    assert (group, stream, kinesis, owner) == ("/vpc/flows", "eni-1-all", None, "123456789012")
    # Delivered again: every event is known already.
    again = Pipeline(store).ingest_path(str(path))
    assert (again.stored, again.duplicates) == (0, 2)


def test_payloads_from_a_stream_store_the_checkpoint_with_the_rows(store: Store) -> None:
    pipeline = Pipeline(store)
    stats = pipeline.ingest_payloads(
        [(_payload([("1", 1_700_000_000_000, LINE_A)]), "shard-0:1"), (b"\x1f\x8b garbage", "shard-0:2"), (CONTROL, "shard-0:3")],
        "kinesis:flows/shard-0",
        checkpoint=("kinesis:flows/shard-0", "3"),
        kinesis_stream="flows",
    )
    assert (stats.stored, stats.rejected, stats.control_messages, stats.payloads) == (1, 1, 1, 3)
    assert store.checkpoint("kinesis:flows/shard-0") == "3"
    (dl,) = store.dead_letters()
    assert dl["location"] == "shard-0:2" and "gzip" in dl["reason"]
    (origin,) = [store.origin(o) for (o,) in store.conn.execute("SELECT origin FROM flows")]
    assert origin == ("/vpc/flows", "eni-1-all", "flows", "123456789012")


def test_custom_format_without_version(store: Store, shared_testdata: Path) -> None:
    from flowtui.formats import LogFormat

    flowlogs = shared_testdata / "flowlogs"
    fmt = LogFormat.from_spec((flowlogs / "nat-no-version.format").read_text())
    assert Pipeline(store, log_format=fmt).ingest_path(str(flowlogs / "nat-no-version.log")).stored == 1
    row = store.conn.execute("SELECT version, instance_id, pkt_srcaddr, pkt_dstaddr FROM flows").fetchone()
    assert row[0] is None and row[1] is None
    assert (store.address(row[2])[0], store.address(row[3])[0]) == ("10.0.1.5", "203.0.113.5")


def test_unreadable_paths_are_one_clear_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot read .*nope.log: No such file"):
        Pipeline(store).ingest_path(str(tmp_path / "nope.log"))
    with pytest.raises(IngestError, match="is a directory"):
        Pipeline(store).ingest_path(str(tmp_path))


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "flowtui", *args], cwd=ROOT, input=stdin, capture_output=True, timeout=60, check=False)


def test_cli_ingest_prints_a_summary_and_reads_stdin(tmp_path: Path) -> None:
    db = str(tmp_path / "f.db")
    result = _cli("ingest", "--db", db, "-", stdin=f"{LINE_A}\n{LINE_BAD}\n".encode())
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == "1 file: 1 flow stored, 1 rejected to dead letters\n"


def test_cli_ingest_errors_are_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "f.db")
    missing = _cli("ingest", "--db", db, str(tmp_path / "missing.log"))
    # A bad argument: one sentence, exit 2, no summary (was '0 files: 0 flows stored, …' and exit 1).
    assert (missing.returncode, missing.stdout.decode(), missing.stderr.decode()) == (
        2, "", f"flowtui: no such file: {tmp_path / 'missing.log'} (nothing was read)\n"
    )
    assert not Path(db).exists()  # no store made for a mistyped name
    badfmt = _cli("ingest", "--db", db, "--format", "${version} ${nonsense}", "-", stdin=b"")
    assert badfmt.returncode == 2
    assert badfmt.stderr.decode().startswith("flowtui: unknown flow-log field 'nonsense'")
    assert "Traceback" not in badfmt.stderr.decode()


def _flow_rows(db: Path) -> int:
    with Store(db, readonly=True) as s:
        return int(s.conn.execute("SELECT count(*) FROM flows").fetchone()[0])


def test_cli_ingest_of_a_file_in_another_format_exits_1_with_a_hint(tmp_path: Path, shared_testdata: Path) -> None:
    db = tmp_path / "c2.db"
    log = shared_testdata / "flowlogs" / "nat-no-version.log"
    result = _cli("ingest", "--db", str(db), str(log))
    assert result.returncode == 1
    assert result.stdout.decode() == "1 file: 0 flows stored, 1 line rejected and left unread\n"
    assert result.stderr.decode() == (
        f"flowtui: {log}: nothing stored and 1 line rejected, so it is left unread (line 1: expected 14 fields, found 6);"
        " a custom format is given with --format or [ingest] format\n"
    )
    with Store(db, readonly=True) as s:  # as if never read: no position, no dead letter to be stored twice later
        assert (s.dead_letter_count(), s.checkpoints()) == (0, {})
    # Following the advice stores the flow.
    fmt = (shared_testdata / "flowlogs" / "nat-no-version.format").read_text().strip()
    again = _cli("ingest", "--db", str(db), "--format", fmt, str(log))
    assert (again.returncode, again.stdout.decode()) == (0, "1 file: 1 flow stored, 0 rejected to dead letters\n")
    assert _flow_rows(db) == 1
    assert _cli("ingest", "--db", str(db), "--format", fmt, str(log)).stdout.decode() == (
        "1 file: 0 flows stored, 1 line read before, 0 rejected to dead letters\n"
    )


def test_the_format_hint_follows_the_kind_of_reject_not_its_wording(store: Store, tmp_path: Path, shared_testdata: Path) -> None:
    """Only flow-log lines the format did not fit call for --format; a damaged payload does not."""
    from flowtui.ingest import IngestStats

    lines = Pipeline(store).ingest_path(str(shared_testdata / "flowlogs" / "nat-no-version.log"))
    assert (lines.first_reject, lines.first_reject_kind) == ("line 1: expected 14 fields, found 6", "line")
    path = tmp_path / "payloads.gz"
    path.write_bytes(_payload([("1", 1_700_000_000_000, LINE_A)]) + gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEve'))
    payloads = Pipeline(store).ingest_path(str(path))
    assert payloads.first_reject_kind == "payload" and payloads.first_reject.startswith("payload 2: ")
    merged = IngestStats()
    merged.merge(IngestStats(first_reject="line 3: not a flow", first_reject_kind="payload"))
    merged.merge(lines)
    assert (merged.first_reject, merged.first_reject_kind) == ("line 3: not a flow", "payload")  # the first one kept
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEve'))
    result = _cli("ingest", "--db", str(tmp_path / "p.db"), str(broken))
    assert result.returncode == 1
    err = result.stderr.decode()
    assert err == f"flowtui: {broken}: could not be read to its end: document 1: not JSON (unexpected end of data at offset 39)\n"
    assert "--format" not in err


def test_cli_ingest_reads_every_path_and_exits_1_when_one_cannot_be_read(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    good = tmp_path / "good.log"
    good.write_text(f"{LINE_A}\n{LINE_B}\n")
    notgzip = tmp_path / "bad.gz"
    notgzip.write_bytes(b"\x1f\x8bxxxxxxxx")
    result = _cli("ingest", "--db", str(db), str(notgzip), str(good))
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"flowtui: {notgzip}: not a readable gzip file (Error -3 while decompressing data: unknown compression method)\n"
    )
    assert result.stdout.decode() == "1 file: 2 flows stored, 0 rejected to dead letters\n"
    assert _flow_rows(db) == 2


def test_cli_ingest_checks_every_path_exists_before_reading_any(tmp_path: Path) -> None:
    """Names are checked first, as tar does: a typo among them stores nothing, rather than half a run."""
    db = tmp_path / "f.db"
    good = tmp_path / "good.log"
    good.write_text(f"{LINE_A}\n{LINE_B}\n")
    missing = [str(tmp_path / "missing.log"), str(tmp_path / "gone.log.gz")]
    result = _cli("ingest", "--db", str(db), str(good), missing[0], "-", missing[1], stdin=f"{LINE_B}\n".encode())
    assert (result.returncode, result.stdout.decode(), result.stderr.decode()) == (
        2, "", f"flowtui: no such files: {missing[0]}, {missing[1]} (nothing was read)\n"
    )
    assert not db.exists()  # good.log, named first, was not read either
    assert _cli("ingest", "--db", str(db), str(good)).stdout.decode() == "1 file: 2 flows stored, 0 rejected to dead letters\n"


def test_cli_ingest_of_a_truncated_gzip_keeps_what_it_read_and_exits_1(tmp_path: Path) -> None:
    lines = [LINE_A.replace(" 50000 ", f" {40000 + n} ") for n in range(2000)]
    data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(data[: len(data) // 2])
    db = tmp_path / "f.db"
    result = _cli("ingest", "--db", str(db), str(cut))
    assert result.returncode == 1
    stored = _flow_rows(db)
    assert 0 < stored < 2000
    assert result.stdout.decode() == f"1 file: {stored:,} flows stored, 1 rejected to dead letters\n"
    assert result.stderr.decode() == (
        f"flowtui: {cut}: stopped at line {stored + 1}: Compressed file ended before the end-of-stream marker was reached\n"
    )


def test_cli_ingest_with_some_bad_lines_among_good_ones_exits_0(tmp_path: Path) -> None:
    result = _cli("ingest", "--db", str(tmp_path / "f.db"), "-", stdin=f"{LINE_A}\n{LINE_BAD}\n{LINE_B}\n".encode())
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == "1 file: 2 flows stored, 1 rejected to dead letters\n"


def test_the_summary_says_one_in_the_singular() -> None:
    from flowtui.ingest import IngestStats

    one = IngestStats(stored=1, cloudtrail=1, skipped_lines=1, rejected=1, payloads=1, control_messages=1)
    assert one.summary() == (
        "1 flow stored, 1 CloudTrail event stored, 1 line read before, 1 rejected to dead letters, 1 payload,"
        " 1 control message skipped"
    )
    two = IngestStats(stored=2, cloudtrail=2, skipped_lines=2, rejected=2, payloads=2, control_messages=2)
    assert two.summary() == (
        "2 flows stored, 2 CloudTrail events stored, 2 lines read before, 2 rejected to dead letters, 2 payloads,"
        " 2 control messages skipped"
    )


def test_a_format_without_start_places_file_flows_at_the_files_time_not_now(tmp_path: Path, shared_testdata: Path) -> None:
    import os

    flowlogs = shared_testdata / "flowlogs"
    log = tmp_path / "nat.log"
    log.write_bytes((flowlogs / "nat-no-version.log").read_bytes())
    os.utime(log, (1_700_000_000, 1_700_000_000))  # 2023-11-14T22:13:20Z
    db = tmp_path / "n.db"
    fmt = (flowlogs / "nat-no-version.format").read_text().strip()
    result = _cli("ingest", "--db", str(db), "--format", fmt, str(log))
    assert result.returncode == 0
    assert result.stdout.decode() == "1 file: 1 flow stored, 0 rejected to dead letters\n"
    assert result.stderr.decode() == (
        f"flowtui: {log}: the format has no ${{start}}, so its flows get the file's modification time,"
        " 2023-11-14T22:13:20Z as their start and timestamp\n"
    )
    recent = _cli("query", "--db", str(db), "--since", "15m", "--format", "json", "*")
    assert (recent.returncode, json.loads(recent.stdout)) == (0, [])
    every = _cli("query", "--db", str(db), "--all", "--format", "json", "--fields", "start,timestamp,end,src_addr", "*")
    assert json.loads(every.stdout) == [{"start": 1_700_000_000, "timestamp": 1_700_000_000, "end": None, "src_addr": "10.0.1.5"}]


def test_a_format_without_start_on_standard_input_says_it_uses_the_time_read(tmp_path: Path, shared_testdata: Path) -> None:
    flowlogs = shared_testdata / "flowlogs"
    fmt = (flowlogs / "nat-no-version.format").read_text().strip()
    result = _cli("ingest", "--db", str(tmp_path / "n.db"), "--format", fmt, "-", stdin=(flowlogs / "nat-no-version.log").read_bytes())
    assert result.returncode == 0
    assert result.stderr.decode() == (
        "flowtui: <stdin>: the format has no ${start}, so its flows get the time they were read as their start and timestamp\n"
    )


def test_a_payload_without_start_takes_the_cloudwatch_events_time(tmp_path: Path) -> None:
    from flowtui.formats import LogFormat

    fmt = LogFormat.from_spec("${interface-id} ${srcaddr} ${dstaddr} ${action}")
    with Store(tmp_path / "p.db") as s:
        Pipeline(s, log_format=fmt).ingest_payloads([(_payload([("1", 1_700_000_123_456, "eni-1 10.0.0.1 10.0.0.2 ACCEPT")]), "#1")], "test")
        assert s.conn.execute("SELECT start FROM flows").fetchall() == [(1_700_000_123,)]


def test_cli_ingest_of_a_gzip_cut_in_its_first_block_says_so_once(tmp_path: Path, shared_testdata: Path) -> None:
    """An unreadable file is one error and one message, not also 'nothing stored' as if its format were wrong."""
    db = tmp_path / "cut.db"
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress((shared_testdata / "flowlogs" / "aws-docs-v2.log").read_bytes())[:30])
    result = _cli("ingest", "--db", str(db), str(cut))
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"flowtui: {cut}: stopped at line "), lines
    assert "nothing stored" not in result.stderr.decode()


def _dead_letters(db: Path) -> list[tuple[str, str, str | None]]:
    with Store(db, readonly=True) as s:
        return [(d["location"], d["reason"], d["data"]) for d in reversed(s.dead_letters())]


def test_a_damaged_payload_among_good_ones_is_said_by_number_and_the_others_are_stored(tmp_path: Path) -> None:
    """Not 'could not be read to its end' when the end was read: which payload, why, and that the others
    were stored; the damaged one is a dead letter under that number, and the exit status 1 (part lost)."""
    good = [_payload([(str(n), 1_700_000_000_000, LINE_A.replace(" 8400 ", f" {n} "))]) for n in range(4)]
    lines = tmp_path / "lines.json"
    lines.write_bytes(b"\n".join(gzip.decompress(g) for g in good[:1]) + b'\n{"messageType": "DATA_MESSAGE", "logGroup": broken}\n' + gzip.decompress(good[1]) + b"\n")
    corrupt = bytearray(good[1])
    corrupt[15] ^= 0xFF  # inside the deflate data: the member cannot be inflated
    members = tmp_path / "members.gz"
    members.write_bytes(good[0] + bytes(corrupt) + good[2] + good[3])
    db = tmp_path / "p.db"
    result = _cli("ingest", "--db", str(db), str(lines))
    assert (result.returncode, result.stdout.decode()) == (1, "1 file: 2 flows stored, 1 rejected to dead letters, 2 payloads\n")
    # orjson's own words vary by version ('unexpected character', '…, expected a JSON value'): the rest is ours.
    assert re.fullmatch(
        re.escape(f"flowtui: {lines}: payload 2 could not be read (not JSON (unexpected character") + r"[^()]* at offset 44"
        + re.escape(f")) and went to the dead letters as {lines}#2; the 2 other payloads were read and stored\n"),
        result.stderr.decode(),
    ), result.stderr.decode()
    offset = len(good[0])
    result = _cli("ingest", "--db", str(db), str(members))
    assert (result.returncode, result.stdout.decode(), result.stderr.decode()) == (
        1,
        "1 file: 2 flows stored, 1 already stored, 1 rejected to dead letters, 3 payloads\n",
        (f"flowtui: {members}: payload 2 could not be read (gzip member at offset {offset} is corrupt (invalid code lengths set))"
        f" and went to the dead letters as {members}#2; the 3 other payloads were read and stored\n"),
    )
    (where, why, raw), corrupt_letter = _dead_letters(db)
    assert (where, raw, corrupt_letter) == (f"{lines}#2", None, (f"{members}#2", f"gzip member at offset {offset} is corrupt (invalid code lengths set)", None))
    assert re.fullmatch(r"document 2: not JSON \(unexpected character[^()]* at offset 44\)", why), why
    with Store(db, readonly=True) as s:
        assert s.flow_count() == 4  # payloads 0, 1 (from lines.json), 2 and 3: payload 0 of members.gz was stored already


def test_several_damaged_payloads_and_a_cut_end_are_said_apart(tmp_path: Path) -> None:
    """Damage that good payloads follow is counted (the first named); damage after the last good one is
    the file that could not be read to its end. No hint to list or retry rejected lines: there are none."""
    good = [_payload([(str(n), 1_700_000_000_000, LINE_A.replace(" 8400 ", f" {n} "))]) for n in range(3)]
    corrupt = bytearray(good[1])
    corrupt[15] ^= 0xFF
    path = tmp_path / "payloads.gz"
    path.write_bytes(good[0] + bytes(corrupt) + bytes(corrupt) + good[2] + good[1][:-12])
    first, cut = len(good[0]), len(good[0]) + 2 * len(corrupt) + len(good[2])
    db = tmp_path / "p.db"
    result = _cli("ingest", "--db", str(db), str(path))
    assert (result.returncode, result.stdout.decode(), result.stderr.decode()) == (
        1,
        "1 file: 2 flows stored, 3 rejected to dead letters, 2 payloads\n",
        (f"flowtui: {path}: 2 payloads could not be read and went to the dead letters (the first, {path}#2: gzip member at"
        f" offset {first} is corrupt (invalid code lengths set)); the 2 other payloads were read and stored\n"
        f"flowtui: {path}: could not be read to its end: gzip member at offset {cut} is truncated\n"),
    )
    assert [location for location, _, _ in _dead_letters(db)] == [f"{path}#2", f"{path}#3", f"{path}#5"]
