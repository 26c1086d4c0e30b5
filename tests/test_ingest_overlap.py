"""Two runs of `flowtui ingest` over one file into one store (cron runs that overlap): each line stored once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowtui import ingest
from flowtui.ingest import CheckpointMoved, Expected, Pipeline
from flowtui.store import Batch, Store

LINE = "2 123456789012 eni-a 10.0.{a}.{b} 8.8.8.8 {port} 53 17 1 {n} 1700000000 1700000060 ACCEPT OK"


def _lines(count: int) -> list[str]:
    """Lines that differ in their bytes (n): a line stored twice shows as a repeated value."""
    return [LINE.format(a=(n // 250) % 250, b=n % 250, port=1024 + n % 60000, n=n) for n in range(count)]


def _stored(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT bytes) FROM flows").fetchone()


def test_a_batch_is_stored_only_after_the_checkpoint_it_was_read_after(store: Store) -> None:
    store.set_checkpoint("s", "2")
    with pytest.raises(CheckpointMoved) as moved:
        store.write(Batch(checkpoint=("s", "3"), tables=[Expected("1").check("s")]))
    assert (moved.value.position, store.checkpoint("s")) == ("2", "2")
    with pytest.raises(CheckpointMoved):
        store.write(Batch(checkpoint=("t", "1"), tables=[Expected("0").check("t")]))  # none held, one expected
    store.write(Batch(checkpoint=("s", "3"), tables=[Expected("2").check("s")]))
    store.write(Batch(checkpoint=("t", "1"), tables=[Expected(None).check("t")]))
    assert store.checkpoints() == {"s": "3", "t": "1"}


def test_a_run_whose_checkpoint_another_run_moves_goes_on_after_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run A stores lines 1-60; run B (another connection) then stores 61-90 (the file was 90 lines when
    it looked); A, holding lines 61-120 read after line 60, stores 91-120 and goes on: each line once."""
    monkeypatch.setattr(ingest, "FILE_BATCH_LINES", 60)
    lines = _lines(200)
    log = tmp_path / "grow.log"
    log.write_text("\n".join(lines) + "\n")
    assert len("\n".join(lines[:90])) > 4096  # B's file begins as A's does (the bytes that identify a file)
    db = tmp_path / "f.db"
    with Store(db) as a_store, Store(db) as b_store:
        seen: list[int] = []

        def other_run(result: object) -> None:
            seen.append(1)
            if len(seen) == 1:  # after A's first batch, while A holds the rest of the file in memory
                log.write_text("\n".join(lines[:90]) + "\n")
                b = Pipeline(b_store).ingest_path(str(log))
                assert (b.stored, b.skipped_lines) == (30, 60)
                log.write_text("\n".join(lines) + "\n")

        a_store.on_write.append(other_run)
        a = Pipeline(a_store).ingest_path(str(log))
    assert (a.stored, a.skipped_lines, a.rejected) == (170, 30, 0)
    assert _stored(db) == (200, 200)
    with Store(db) as s:
        assert s.checkpoint(f"file:{log}").startswith("200:")


def test_a_run_that_finds_its_batch_stored_skips_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "FILE_BATCH_LINES", 2)
    log = tmp_path / "f.log"
    log.write_text("\n".join(_lines(5)) + "\n")
    db = tmp_path / "f.db"
    with Store(db) as a_store, Store(db) as b_store:
        outcomes = []
        a_store.on_write.append(lambda r: outcomes or outcomes.append(Pipeline(b_store).ingest_path(str(log))))
        a = Pipeline(a_store).ingest_path(str(log))
    (b,) = outcomes
    assert (a.stored, a.skipped_lines) == (2, 3)
    assert (b.stored, b.skipped_lines) == (3, 2)
    assert _stored(db) == (5, 5)


def _ingest(db: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flowtui", "ingest", "--db", str(db), str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.mark.parametrize("stagger", ["together", "once the first has stored a batch"])
def test_two_processes_ingesting_one_file_store_each_line_once(tmp_path: Path, stagger: str) -> None:
    count = 3 * ingest.FILE_BATCH_LINES + 7  # four batches
    log = tmp_path / "conc.log"
    log.write_text("\n".join(_lines(count)) + "\n")
    db = tmp_path / "c.db"
    Store(db).close()
    first = _ingest(db, log)
    if stagger != "together":
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and first.poll() is None:
            with sqlite3.connect(db) as conn:
                if conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]:
                    break
            time.sleep(0.02)
    second = _ingest(db, log)
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    assert _stored(db) == (count, count)
    stored = 0
    for out, err in outs:
        assert err == b""
        summary = out.decode()
        stored += int(summary.split(": ")[1].split(" flow")[0].replace(",", ""))
    assert stored == count  # the two runs' summaries add up to the file
