"""The same content under another name (a copied file, standard input given twice) is stored once.

A file's checkpoint is kept by its path, and flow-log lines carry no ids to tell a copy by, so
`flowtui ingest` remembers what it read whole by its content (size and SHA-256) and reads no
copy of it again, saying so. What was not read whole and clean is not remembered.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
from pathlib import Path

from flowtui import copies
from flowtui.ingest import FILE_BATCH_LINES
from flowtui.store import Store
from tests.test_ingest import LINE_A, LINE_B, LINE_BAD

ROOT = Path(__file__).resolve().parents[1]
LINES = f"{LINE_A}\n{LINE_B}\n{LINE_BAD}\n"


def ingest(db: Path, *paths: str, stdin: str | None = None, fmt: str | None = None) -> tuple[int, str, str]:
    args = ["ingest", "--db", str(db), *(["--format", fmt] if fmt else []), *paths]
    done = subprocess.run(
        [sys.executable, "-m", "flowtui", *args], cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    return done.returncode, done.stdout, done.stderr


def counts(db: Path) -> tuple[int, int]:
    """Flows and dead letters in the store."""
    with Store(db, readonly=True) as store:
        return store.flow_count(), store.dead_letter_count()


def test_a_copy_at_another_path_is_not_stored_again(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    first, copy = tmp_path / "a.log", tmp_path / "copy-of-a.log"
    first.write_text(LINES)
    copy.write_text(LINES)
    assert ingest(db, str(first)) == (0, "1 file: 2 flows stored, 1 rejected to dead letters\n", "flowtui: `flowtui dead-letters` lists the rejected lines; `flowtui dead-letters --retry` parses them again\n")
    assert ingest(db, str(copy)) == (
        0,
        "0 files read (1 copy already stored): 0 flows stored, 0 rejected to dead letters\n",
        f"flowtui: {copy}: not read again: the same content was stored from {first}\n",
    )
    assert counts(db) == (2, 1)
    # The file itself, read again, resumes as before (nothing new in it).
    assert ingest(db, str(first))[1] == "1 file: 0 flows stored, 3 lines read before, 0 rejected to dead letters\n"
    assert counts(db) == (2, 1)


def test_copies_named_in_one_run_and_gzip_copies(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    for name in ("x.log.gz", "y.log.gz"):
        (tmp_path / name).write_bytes(gzip.compress(LINES.encode(), mtime=0))
    code, out, err = ingest(db, str(tmp_path / "x.log.gz"), str(tmp_path / "y.log.gz"))
    assert (code, out) == (0, "1 file read (1 copy already stored): 2 flows stored, 1 rejected to dead letters\n")
    assert f"flowtui: {tmp_path / 'y.log.gz'}: not read again: the same content was stored from {tmp_path / 'x.log.gz'}\n" in err
    assert counts(db) == (2, 1)


def test_standard_input_given_twice_is_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    assert ingest(db, "-", stdin=LINES)[:2] == (0, "1 file: 2 flows stored, 1 rejected to dead letters\n")
    assert ingest(db, "-", stdin=LINES) == (
        0,
        "0 files read (1 copy already stored): 0 flows stored, 0 rejected to dead letters\n",
        "flowtui: standard input: not read again: the same content was stored from standard input\n",
    )
    same = tmp_path / "saved.log"
    same.write_text(LINES)
    assert ingest(db, str(same))[2] == f"flowtui: {same}: not read again: the same content was stored from standard input\n"
    assert counts(db) == (2, 1)


def test_the_summary_counts_copies_apart_from_the_files_read(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    for name in ("a.log", "b.log", "c.log"):
        (tmp_path / name).write_text(LINES)
    (tmp_path / "other.log").write_text(f"{LINE_A}\n")
    paths = [str(tmp_path / n) for n in ("a.log", "b.log", "c.log", "other.log")]
    code, out, err = ingest(db, *paths)
    assert (code, out) == (0, "2 files read (2 copies already stored): 3 flows stored, 1 rejected to dead letters\n")
    assert err.count("not read again") == 2
    assert ingest(db, str(tmp_path / "b.log"), str(tmp_path / "c.log"))[1] == (
        "0 files read (2 copies already stored): 0 flows stored, 0 rejected to dead letters\n"
    )
    assert counts(db) == (3, 1)


def test_other_content_is_read_even_when_it_begins_alike(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    (tmp_path / "a.log").write_text(f"{LINE_A}\n")
    (tmp_path / "b.log").write_text(f"{LINE_A}\n{LINE_B}\n")  # a grown copy: only its new line is new content
    assert ingest(db, str(tmp_path / "a.log"))[:2] == (0, "1 file: 1 flow stored, 0 rejected to dead letters\n")
    assert ingest(db, str(tmp_path / "b.log"))[:2] == (0, "1 file: 2 flows stored, 0 rejected to dead letters\n")
    assert ingest(db, "-", stdin=f"{LINE_B}\n")[:2] == (0, "1 file: 1 flow stored, 0 rejected to dead letters\n")
    assert counts(db) == (4, 0)  # lines carry no ids: the same line in other content is another flow


def test_an_input_not_read_whole_and_clean_is_not_remembered(tmp_path: Path) -> None:
    """Nothing of it fitted the format (left unread), or it was cut short: its copy is read."""
    db = tmp_path / "f.db"
    custom = "${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action}"
    lines = "10.0.0.5 198.51.100.7 443 50000 6 10 8400 1700000000 1700000060 ACCEPT\n"
    (tmp_path / "c.log").write_text(lines)
    (tmp_path / "d.log").write_text(lines)
    code, out, _ = ingest(db, str(tmp_path / "c.log"))  # the format not given: nothing stored
    assert (code, out) == (1, "1 file: 0 flows stored, 1 line rejected and left unread\n")
    assert ingest(db, str(tmp_path / "d.log"), fmt=custom)[:2] == (0, "1 file: 1 flow stored, 0 rejected to dead letters\n")
    whole = gzip.compress(LINES.encode(), mtime=0)
    (tmp_path / "cut.log.gz").write_bytes(whole[:-12])  # its end (CRC and size) missing
    (tmp_path / "whole.log.gz").write_bytes(whole)
    assert ingest(db, str(tmp_path / "cut.log.gz"))[0] == 1
    stored = counts(db)[0]
    assert ingest(db, str(tmp_path / "whole.log.gz"))[0] == 0  # another content, read as new
    assert counts(db)[0] == stored + 2
    (tmp_path / "cut-again.log.gz").write_bytes(whole[:-12])
    code, _, err = ingest(db, str(tmp_path / "cut-again.log.gz"))
    assert code == 1 and "not read again" not in err  # the cut one was not remembered: read (and reported) again


# `flowtui ingest` in a process that dies right after a write that stored flows commits: after its last batch.
_DIES_AFTER_A_BATCH = """
import os, sys
from flowtui.cli import common, main
common.written.add = lambda result: os._exit(9) if result.stored else None  # a listener of every write's commit
main(sys.argv[1:])
"""


def _dies_after_its_last_batch(db: Path, path: str, stdin: str | None = None) -> None:
    args = [sys.executable, "-c", _DIES_AFTER_A_BATCH, "ingest", "--db", str(db), path]
    done = subprocess.run(args, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode, done.stdout) == (9, ""), done.stderr


def test_a_crash_after_the_last_batch_leaves_the_content_known(tmp_path: Path) -> None:
    """The content checkpoint is written in the last batch's transaction, not after it: a run that dies
    right after that commit has said both that the lines are stored and that their content is."""
    db = tmp_path / "f.db"
    (tmp_path / "a.log").write_text(LINES)
    (tmp_path / "copy.log").write_text(LINES)
    _dies_after_its_last_batch(db, str(tmp_path / "a.log"))
    assert counts(db) == (2, 1)
    assert ingest(db, str(tmp_path / "copy.log"))[:2] == (
        0, "0 files read (1 copy already stored): 0 flows stored, 0 rejected to dead letters\n"
    )
    assert counts(db) == (2, 1)
    _dies_after_its_last_batch(db, "-", stdin=f"{LINE_B}\n")
    assert ingest(db, "-", stdin=f"{LINE_B}\n")[1].startswith("0 files read (1 copy already stored)")
    assert counts(db) == (3, 1)


def test_a_file_of_whole_batches_writes_its_content_with_the_last_lines(tmp_path: Path) -> None:
    """A file of exactly FILE_BATCH_LINES lines: its batch is the last, and carries the content (a
    batch is stored once a line follows it, so no empty batch after it says it alone)."""
    lines = "".join(f"{LINE_A.replace(' 8400 ', f' {n} ')}\n" for n in range(FILE_BATCH_LINES))
    (tmp_path / "full.log").write_text(lines)
    (tmp_path / "full-copy.log").write_text(lines)
    db = tmp_path / "f.db"
    _dies_after_its_last_batch(db, str(tmp_path / "full.log"))
    assert counts(db) == (FILE_BATCH_LINES, 0)
    assert ingest(db, str(tmp_path / "full-copy.log"))[1].startswith("0 files read (1 copy already stored)")
    assert counts(db) == (FILE_BATCH_LINES, 0)


def test_standard_input_longer_than_the_bound_streams_on_without_a_key() -> None:
    """Beyond STDIN_WHOLE it is streamed, batches stored as they come (a pipe may stay open)."""
    data = LINES.encode()
    content, stream = copies.standard_input(io.BytesIO(data), limit=len(data))
    assert content is not None and content.size == len(data) and stream.read() == data  # ends within: a key
    content, stream = copies.standard_input(io.BytesIO(data), limit=10)
    assert content is None and stream.read() == data  # every byte, the first 10 read before the rest
    assert copies.STDIN_WHOLE == 4 << 20


def test_a_gzip_copy_of_plain_lines_is_the_same_content(tmp_path: Path) -> None:
    """The key is what ingest reads (the decompressed lines), not the file's bytes: x.log and x.log.gz
    of the same lines are one content, whichever comes first, and a gzip header's name and time do not
    make two copies differ."""
    db = tmp_path / "f.db"
    (tmp_path / "x.log").write_text(LINES)
    (tmp_path / "x.log.gz").write_bytes(gzip.compress(LINES.encode(), mtime=0))
    assert ingest(db, str(tmp_path / "x.log"))[:2] == (0, "1 file: 2 flows stored, 1 rejected to dead letters\n")
    assert ingest(db, str(tmp_path / "x.log.gz")) == (
        0,
        "0 files read (1 copy already stored): 0 flows stored, 0 rejected to dead letters\n",
        f"flowtui: {tmp_path / 'x.log.gz'}: not read again: the same content was stored from {tmp_path / 'x.log'}\n",
    )
    assert counts(db) == (2, 1)

    other = tmp_path / "other.db"  # the other way round, with gzip headers that differ, and standard input
    (tmp_path / "y.log.gz").write_bytes(gzip.compress(LINES.encode(), mtime=1_700_000_000))
    assert ingest(other, str(tmp_path / "x.log.gz"), str(tmp_path / "y.log.gz"), str(tmp_path / "x.log"))[:2] == (
        0, "1 file read (2 copies already stored): 2 flows stored, 1 rejected to dead letters\n"
    )
    assert ingest(other, "-", stdin=LINES)[1].startswith("0 files read (1 copy already stored)")
    assert counts(other) == (2, 1)


def test_the_content_key_is_the_decompressed_lines_read_in_chunks(tmp_path: Path) -> None:
    """The gzip file's key equals its plain twin's (size and SHA-256 of the lines), also for a file of
    several gzip members and one larger than a read chunk; a damaged gzip file has no key (never remembered)."""
    lines = "".join(f"{LINE_A.replace(' 8400 ', f' {n} ')}\n" for n in range(30_000)).encode()  # over 1 MiB
    (tmp_path / "big.log").write_bytes(lines)
    half = len(lines) // 2
    (tmp_path / "big.log.gz").write_bytes(gzip.compress(lines[:half]) + gzip.compress(lines[half:]))
    plain, packed = copies.of_file(tmp_path / "big.log"), copies.of_file(tmp_path / "big.log.gz")
    assert plain is not None and packed is not None
    assert len(lines) > 1 << 20 and plain.size == packed.size == len(lines)
    assert packed.key == plain.key == f"content:{len(lines)}:{hashlib.sha256(lines).hexdigest()}"
    raw = (tmp_path / "big.log.gz").read_bytes()
    assert plain.raw_key is None and packed.raw_key == f"content:{len(raw)}:{hashlib.sha256(raw).hexdigest()}"
    (tmp_path / "cut.log.gz").write_bytes(raw[:-12])
    assert copies.of_file(tmp_path / "cut.log.gz") is None


def test_a_gzip_copy_remembered_by_its_raw_bytes_before_is_still_known(tmp_path: Path) -> None:
    """Stores written before the key was the decompressed content hold a gzip file's raw-bytes key:
    a copy of that file is still not read again."""
    db = tmp_path / "f.db"
    data = gzip.compress(LINES.encode(), mtime=0)
    (tmp_path / "old.log.gz").write_bytes(data)
    (tmp_path / "copy.log.gz").write_bytes(data)
    assert ingest(db, str(tmp_path / "old.log.gz"))[0] == 0
    with Store(db) as store:  # as an older flowtui left it: the raw bytes' key only
        store.conn.execute("DELETE FROM checkpoints WHERE source LIKE 'content:%'")
        store.set_checkpoint(f"content:{len(data)}:{hashlib.sha256(data).hexdigest()}", f"file:{tmp_path / 'old.log.gz'}")
    assert ingest(db, str(tmp_path / "copy.log.gz"))[:2] == (
        0, "0 files read (1 copy already stored): 0 flows stored, 0 rejected to dead letters\n"
    )
    assert counts(db) == (2, 1)
