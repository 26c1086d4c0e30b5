"""IngestWorker: ingestion in a child process beside the UI, status in the store, crashes reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flowtui.demo import DemoSource
from flowtui.store import Store
from flowtui.worker import IngestWorker, JobContext, run_job


def wait_for(what: Callable[[], Any], timeout: float = 15.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def status(db: Path, source: str) -> dict[str, Any] | None:
    if not db.exists():
        return None
    with Store(db, readonly=True) as store:
        return next((r for r in store.statuses() if r["source"] == source), None)


def flow_count(db: Path) -> int:
    with Store(db, readonly=True) as store:
        return store.flow_count()


# Jobs the tests run in the child; module level so that spawn can unpickle them.


class ExitJob:
    """Dies the hard way, without Python's clean-up: what a segfault or os._exit looks like."""

    name = "test:exit"

    def __init__(self, code: int) -> None:
        self.code = code

    def run(self, ctx: JobContext) -> None:
        ctx.set_state(self.name, "running", "about to die")
        time.sleep(0.3)
        os._exit(self.code)


class RaisingJob:
    name = "test:raise"

    def run(self, ctx: JobContext) -> None:
        raise RuntimeError("boom: the stream vanished")


class StubbornJob:
    """Ignores the stop request (a job stuck in a call that never returns)."""

    name = "test:stubborn"

    def run(self, ctx: JobContext) -> None:
        ctx.set_state(self.name, "running")
        while True:
            time.sleep(0.05)


# --------------------------------------------------------------------------- the demo in a worker


def test_demo_worker_reports_status_pauses_resumes_and_stops_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    exits: list[IngestWorker] = []
    worker = IngestWorker(DemoSource(seed=3, rate=200, backfill=120), db, status_interval=0.2, on_exit=exits.append)
    worker.start()
    try:
        row = wait_for(lambda: (s := status(db, "demo:3")) and s["state"] == "running" and s["records_per_s"] and s)
        assert row["detail"] == "synthetic traffic, seed 3, 200 records/s"
        assert row["errors"] == 0
        assert time.time() - row["updated"] < 2
        assert worker.state == "running" and worker.is_alive()

        worker.pause()
        wait_for(lambda: status(db, "demo:3")["state"] == "paused")  # type: ignore[index]
        paused_at = flow_count(db)
        time.sleep(1.2)
        assert flow_count(db) == paused_at
        assert worker.state == "paused"
        worker.resume()
        wait_for(lambda: flow_count(db) > paused_at)
        wait_for(lambda: status(db, "demo:3")["state"] == "running")  # type: ignore[index]
    finally:
        code = worker.stop(timeout=10)
    assert code == 0
    assert (worker.exitcode, worker.error, worker.state) == (0, None, "stopped")
    assert exits == [worker]
    final = status(db, "demo:3")
    assert final is not None and final["state"] == "stopped"
    assert flow_count(db) > 100
    assert not worker.is_alive()


def test_a_job_that_finishes_by_itself_ends_finished(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    worker = IngestWorker(DemoSource(seed=4, rate=100, duration=1, start_at=1_767_225_600, backfill=60), db)
    worker.start()
    assert worker.wait(timeout=20) == 0
    assert (worker.state, worker.error) == ("finished", None)
    assert status(db, "demo:4")["state"] == "finished"  # type: ignore[index]
    assert 6_100 <= flow_count(db) <= 6_130  # 60 s of backfill and 1 live s, at 100 per second (conversations come whole)


# --------------------------------------------------------------------------- crashes are reported


def test_a_child_that_dies_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    ended = threading.Event()
    worker = IngestWorker(ExitJob(3), db, status_interval=0.1, on_exit=lambda w: ended.set())
    worker.start()
    assert worker.wait(timeout=20) == 3
    assert ended.is_set()
    with pytest.raises(RuntimeError):
        worker.start()  # a worker runs once; make a new one to restart
    assert worker.state == "crashed"
    assert worker.error == "ingest process exited with code 3"
    row = status(db, "test:exit")
    assert row is not None
    assert (row["state"], row["detail"], row["records_per_s"]) == ("crashed", "ingest process exited with code 3", 0.0)


def test_a_child_that_raises_is_reported_with_the_reason_and_exit_code(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    log = tmp_path / "ingest.log"
    worker = IngestWorker(RaisingJob(), db, log_path=log)
    worker.start()
    assert worker.wait(timeout=20) == 1
    assert worker.state == "crashed"
    expected = "RuntimeError: boom: the stream vanished (ingest process exited with code 1)"
    assert worker.error == expected
    row = status(db, "test:raise")
    assert row is not None and (row["state"], row["detail"]) == ("error", expected)
    assert "RuntimeError: boom: the stream vanished" in log.read_text()  # the traceback, not on the dashboard


def test_a_child_killed_from_outside_is_reported(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    worker = IngestWorker(StubbornJob(), db, status_interval=0.1)
    worker.start()
    wait_for(lambda: status(db, "test:stubborn"))
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=10) == -signal.SIGKILL
    assert worker.error == "ingest process was killed by SIGKILL (exit code -9)"
    assert status(db, "test:stubborn")["state"] == "crashed"  # type: ignore[index]


def test_stop_terminates_then_kills_a_child_that_does_not_listen(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    worker = IngestWorker(StubbornJob(), db)
    worker.start()
    wait_for(lambda: status(db, "test:stubborn"))
    started = time.monotonic()
    code = worker.stop(timeout=0.3, grace=0.3)
    assert code == -signal.SIGKILL  # SIGTERM only asks the job to stop; it did not
    assert time.monotonic() - started < 3
    assert (worker.state, worker.error) == ("stopped", None)
    row = status(db, "test:stubborn")
    assert row is not None and row["state"] == "stopped"
    assert row["detail"] == "ingest process was killed by SIGKILL (exit code -9) after being asked to stop"


# --------------------------------------------------------------------------- in-process


def test_run_job_in_process_reports_like_a_worker(tmp_path: Path) -> None:
    db = tmp_path / "i.db"
    job = DemoSource(seed=5, rate=50, duration=2, start_at=1_767_225_600, backfill=30)
    ctx = run_job(job, db, status_interval=0.05)
    assert ctx.totals("demo:5") == (job.stored, 0)
    assert 1_600 <= job.stored <= 1_620  # 30 s of backfill and 2 live s, at 50 per second
    row = status(db, "demo:5")
    assert row is not None and row["state"] == "finished"
    with Store(db, readonly=True) as store:
        assert store.flow_count() == job.stored
        assert store.checkpoint("demo:5") == str(1_767_225_601)


def test_run_job_stops_on_request(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    run_job(DemoSource(seed=6, rate=100, backfill=0), db, stop_event=stop)
    assert time.monotonic() - started < 3
    assert status(db, "demo:6")["state"] == "stopped"  # type: ignore[index]


def test_a_child_whose_dashboard_dies_stops_by_itself(tmp_path: Path) -> None:
    """The parent is killed without stopping its worker: the child notices and ends, no orphan left."""
    db = tmp_path / "orphan.db"
    script = (
        "import os, sys, time\n"
        "from flowtui.demo import DemoSource\n"
        "from flowtui.worker import IngestWorker\n"
        "if __name__ == '__main__':\n"
        f"    w = IngestWorker(DemoSource(seed=8, rate=50, backfill=0), {str(db)!r}, status_interval=0.1)\n"
        "    w.start()\n"
        "    print(w.pid, flush=True)\n"
        "    time.sleep(1.0)\n"
        "    os._exit(0)\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(root)])))
    parent = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert parent.returncode == 0, parent.stderr
    child = int(parent.stdout.split()[0])

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie (its parent is gone, init reaps it soon) counts as gone too
            return Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"
        except FileNotFoundError:
            return True

    wait_for(gone, timeout=10)
    assert status(db, "demo:8")["state"] == "stopped"  # type: ignore[index]
