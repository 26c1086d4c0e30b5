"""Ingestion beside the dashboard, in a process of its own.

Parsing, enrichment and SQLite writes are CPU work; in the UI's process they
would compete with it for the GIL and stall the screen. :class:`IngestWorker`
runs an :class:`IngestJob` (the demo generator, the Kinesis/CloudWatch sources)
in a ``spawn``-ed child process that writes to the same store file (WAL mode
lets the UI read meanwhile). The UI talks to the child through the store:
the child reports its state and rates to ``source_status`` every second, and
the parent adds the one thing the child cannot report itself, its death: a
child that exits with an error or is killed is recorded with its exit code.

A job is any picklable object with a ``name`` (its row in ``source_status``)
and a ``run(ctx)`` method; :func:`run_job` runs one in the current process
(``flowtui demo --no-ui`` does), with the same status reporting. A job that
writes its own rows (one per stream, say) sets ``reports_own_status = True``:
its name then gets a row only when it fails.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

from flowtui.errors import FlowtuiError
from flowtui.ingest import IngestStats
from flowtui.store import Store

log = logging.getLogger(__name__)

STATUS_INTERVAL = 1.0
STOP_TIMEOUT = 5.0
EventLike = threading.Event | MpEvent

# States a job's row in source_status goes through.
STARTING, RUNNING, PAUSED, STOPPED, FINISHED, ERROR, CRASHED = (
    "starting",
    "running",
    "paused",
    "stopped",
    "finished",
    "error",
    "crashed",
)


@runtime_checkable
class IngestJob(Protocol):
    """What a worker runs: built in the parent, pickled into the child, run there."""

    @property
    def name(self) -> str: ...

    def run(self, ctx: JobContext) -> None: ...


@dataclass
class _Counters:
    state: str = STARTING
    detail: str | None = None
    stored: int = 0
    errors: int = 0
    lag_ms: int | None = None
    # for the rate: (time, stored) at the previous report
    last: tuple[float, int] = (0.0, 0)
    rate: float | None = None


@dataclass
class JobContext:
    """What a running job sees: the store, the stop and pause requests, and where to report."""

    db_path: Path
    stop_event: EventLike = field(default_factory=threading.Event)
    pause_event: EventLike = field(default_factory=threading.Event)
    status_interval: float = STATUS_INTERVAL
    _store: Store | None = None
    _sources: dict[str, _Counters] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def store(self) -> Store:
        """The job's own connection to the store (opened on first use, in the job's thread)."""
        if self._store is None:
            self._store = Store(self.db_path)
        return self._store

    # --- requests from outside ----------------------------------------------------
    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    @property
    def paused(self) -> bool:
        return self.pause_event.is_set()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless asked to stop; False when a stop was requested."""
        return not self.stop_event.wait(max(0.0, seconds))

    def wait_while_paused(self, source: str | None = None) -> bool:
        """Block while paused (reporting it); True if a pause happened. Returns early on stop."""
        if not self.paused:
            return False
        previous = None
        if source is not None:
            previous = self._counters(source).state
            self.set_state(source, PAUSED)
        while self.paused and not self.stopping:
            self.stop_event.wait(0.1)
        if source is not None and previous is not None and not self.stopping:
            self.set_state(source, previous)
        return True

    # --- reporting -------------------------------------------------------------------
    def _counters(self, source: str) -> _Counters:
        c = self._sources.get(source)
        if c is None:
            with self._lock:
                c = self._sources.setdefault(source, _Counters(last=(time.monotonic(), 0)))
        return c

    def set_state(self, source: str, state: str, detail: str | None = None) -> None:
        c = self._counters(source)
        c.state = state
        if detail is not None:
            c.detail = detail

    def add(self, source: str, stats: IngestStats, lag_ms: int | None = None) -> None:
        """Count what a batch stored (and dead-lettered); ``lag_ms`` is how far behind the source is."""
        c = self._counters(source)
        c.stored += stats.stored
        c.errors += stats.rejected
        if lag_ms is not None:
            c.lag_ms = lag_ms

    def totals(self, source: str) -> tuple[int, int]:
        c = self._counters(source)
        return c.stored, c.errors

    def report(self, store: Store) -> None:
        """Write every source's row; called by the reporter thread with its own connection."""
        now = time.monotonic()
        with self._lock:
            items = list(self._sources.items())
        for source, c in items:
            t0, n0 = c.last
            if now - t0 >= 0.2:
                c.rate = (c.stored - n0) / (now - t0)
                c.last = (now, c.stored)
            store.set_status(source, c.state, c.detail, c.rate, c.lag_ms, c.errors)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


class _Reporter(threading.Thread):
    """Writes the job's status rows every ``interval`` seconds, on its own connection."""

    def __init__(self, ctx: JobContext, watch_parent: bool) -> None:
        super().__init__(name="flowtui-status", daemon=True)
        self.ctx = ctx
        self.done = threading.Event()
        self.watch_parent = watch_parent

    def run(self) -> None:
        store = Store(self.ctx.db_path)
        parent = multiprocessing.parent_process() if self.watch_parent else None
        try:
            while not self.done.wait(self.ctx.status_interval):
                if parent is not None and not parent.is_alive():
                    # The dashboard went away without stopping us: do not run on as an orphan.
                    self.ctx.stop_event.set()
                try:
                    self.ctx.report(store)
                except Exception as exc:  # noqa: BLE001 - a busy store must not kill reporting
                    log.warning("cannot write source status: %s", exc)
            self.ctx.report(store)
        finally:
            store.close()


def run_job(
    job: IngestJob,
    db_path: str | os.PathLike[str],
    stop_event: EventLike | None = None,
    pause_event: EventLike | None = None,
    status_interval: float = STATUS_INTERVAL,
    _watch_parent: bool = False,
) -> JobContext:
    """Run ``job`` in this process until it returns or ``stop_event`` is set, reporting its status.

    The job's row ends as ``finished`` (it returned by itself), ``stopped`` (asked
    to) or ``error`` (it raised; the exception propagates).
    """
    ctx = JobContext(Path(db_path), stop_event or threading.Event(), pause_event or threading.Event(), status_interval)
    own_rows = bool(getattr(job, "reports_own_status", False))
    if not own_rows:
        ctx.set_state(job.name, RUNNING)
    ctx.store  # noqa: B018 - create the file and its schema before the reporter opens it too
    reporter = _Reporter(ctx, _watch_parent)
    reporter.start()
    try:
        job.run(ctx)
    except BaseException as exc:
        own_rows = False  # whatever the job reports, its end is reported under its name
        if isinstance(exc, KeyboardInterrupt):
            ctx.set_state(job.name, STOPPED, "interrupted")
        else:
            what = str(exc) if isinstance(exc, FlowtuiError) else f"{type(exc).__name__}: {exc}"
            ctx.set_state(job.name, ERROR, what)
        raise
    else:
        if own_rows:
            pass
        elif ctx.stopping:
            ctx.set_state(job.name, STOPPED)
        else:
            ctx.set_state(job.name, FINISHED)
    finally:
        reporter.done.set()
        reporter.join(10)
        ctx.close()
    return ctx


# --------------------------------------------------------------------------- the child process


def _child_main(
    job: IngestJob,
    db_path: str,
    stop_event: MpEvent,
    pause_event: MpEvent,
    status_interval: float,
    log_path: str | None,
) -> None:
    if log_path is not None:
        # Everything the child prints, C-level crash output included, goes to the log, not the dashboard.
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The parent decides when we stop: Ctrl-C in its terminal must not kill us mid-batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    try:
        run_job(job, db_path, stop_event, pause_event, status_interval, _watch_parent=True)
    except FlowtuiError as exc:
        print(f"flowtui: {job.name}: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception:  # noqa: BLE001 - the child's last word: its traceback, then a non-zero exit code
        traceback.print_exc()
        sys.exit(1)


# --------------------------------------------------------------------------- the parent's handle


class IngestWorker:
    """A job running in a child process, with stop, pause and crash reporting.

    ``on_exit(worker)`` (optional) runs in a watcher thread when the child ends,
    however it ends; the dashboard can post a message from it.
    """

    def __init__(
        self,
        job: IngestJob,
        db_path: str | os.PathLike[str],
        *,
        status_interval: float = STATUS_INTERVAL,
        log_path: str | os.PathLike[str] | None = None,
        on_exit: Callable[[IngestWorker], None] | None = None,
    ) -> None:
        self.job = job
        self.name = job.name
        self.db_path = Path(db_path)
        self.status_interval = status_interval
        self.log_path = Path(log_path) if log_path is not None else None
        self.on_exit = on_exit
        self._mp = multiprocessing.get_context("spawn")
        self._stop = self._mp.Event()
        self._pause = self._mp.Event()
        self._process: Any = None
        self._watcher: threading.Thread | None = None
        self._stop_requested = False
        self.exitcode: int | None = None
        self.error: str | None = None  # why the child ended badly, in one sentence
        self.exited = threading.Event()

    # --- life cycle ----------------------------------------------------------------------
    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("an IngestWorker starts once")
        # Create the store (and its schema) before the child and the dashboard both try to.
        Store(self.db_path).close()
        self._process = self._mp.Process(
            target=_child_main,
            args=(
                self.job,
                str(self.db_path),
                self._stop,
                self._pause,
                self.status_interval,
                str(self.log_path) if self.log_path else None,
            ),
            name=f"flowtui-ingest-{self.name}",
            daemon=True,
        )
        self._process.start()
        self._watcher = threading.Thread(target=self._watch, name=f"flowtui-watch-{self.name}", daemon=True)
        self._watcher.start()

    def stop(self, timeout: float = STOP_TIMEOUT, grace: float = 2.0) -> int | None:
        """Ask the child to finish its batch and exit within ``timeout``; then SIGTERM, and
        ``grace`` seconds later SIGKILL. Returns the exit code."""
        process = self._process
        if process is None:
            return None
        self._stop_requested = True
        self._stop.set()
        self._pause.clear()
        # Only the watcher thread reaps the child (two threads waiting on one pid race);
        # here we wait for the watcher to have seen the end.
        if not self.exited.wait(timeout):
            log.warning("ingest process %s did not stop in %.0f s; terminating it", self.name, timeout)
            process.terminate()
            if not self.exited.wait(grace):
                process.kill()
                self.exited.wait(5.0)
        if self._watcher is not None:
            self._watcher.join(5.0)
        return self.exitcode

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_alive(self) -> bool:
        return self._process is not None and not self.exited.is_set()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the child to end by itself (e.g. a job with a duration); its exit code or None."""
        self.exited.wait(timeout)
        return self.exitcode

    @property
    def state(self) -> str:
        if self._process is None:
            return "new"
        if not self.exited.is_set():
            return PAUSED if self.paused else RUNNING
        if self.error is not None:
            return CRASHED
        return STOPPED if self._stop_requested else FINISHED

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- noticing the child's end ------------------------------------------------------
    def _watch(self) -> None:
        process = self._process
        multiprocessing.connection.wait([process.sentinel])  # does not reap: join() below does, once
        process.join()
        code = process.exitcode
        self.exitcode = code
        try:
            if code != 0 and not (self._stop_requested and code in (-signal.SIGTERM, -signal.SIGKILL)):
                self.error = _describe_exit(code)
                self._record_crash(code)
            elif code != 0:
                self._record(STOPPED, f"{_describe_exit(code)} after being asked to stop")
        except Exception as exc:  # noqa: BLE001 - the report is best effort; the attributes hold it too
            log.warning("cannot record the end of ingest process %s: %s", self.name, exc)
        finally:
            self.exited.set()
            if self.on_exit is not None:
                self.on_exit(self)

    def _record_crash(self, code: int | None) -> None:
        with Store(self.db_path) as store:
            row = next((r for r in store.statuses() if r["source"] == self.name), None)
            why = self.error or "ingest process ended"
            if row is not None and row["state"] == ERROR and row["detail"]:
                # The child said why before it died; keep that and add how it ended.
                self.error = f"{row['detail']} ({why})"
                store.set_status(self.name, ERROR, self.error, 0.0, row["lag_ms"], row["errors"] or 0)
            else:
                errors = row["errors"] if row is not None else 0
                lag = row["lag_ms"] if row is not None else None
                store.set_status(self.name, CRASHED, why, 0.0, lag, errors or 0)
        log.error("ingest process %s: %s", self.name, self.error)

    def _record(self, state: str, detail: str) -> None:
        with Store(self.db_path) as store:
            store.set_status(self.name, state, detail, 0.0)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "ingest process did not report an exit code"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"ingest process was killed by {name} (exit code {code})"
    return f"ingest process exited with code {code}"
