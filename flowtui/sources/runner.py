"""Running sources: one event loop for the network, one writer thread for the store.

:func:`run_sources` is the synchronous entry point: ``flowtui tail`` calls it,
and the dashboard can use it as a ``multiprocessing.Process`` target so that
ingestion never competes with the UI for the GIL. :func:`tail_sources` is the
same thing as a coroutine (tests use it to wrap the AWS clients).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from flowtui.config import Config
from flowtui.errors import FlowtuiError, SourceError
from flowtui.ingest import IngestStats
from flowtui.sources.aws import ClientWrapper
from flowtui.sources.backoff import Backoff, Pause, sleep
from flowtui.sources.cloudwatch import LogGroupTail
from flowtui.sources.health import HealthReporter, SourceHealth, log_line
from flowtui.sources.kinesis import KinesisTail
from flowtui.sources.spec import KinesisSpec, LogGroupSpec, SourceSpec, parse_source
from flowtui.sources.writer import StoreWriter
from flowtui.store import Enrich, Retention, Store

log = logging.getLogger("flowtui.sources")


class StopFlag(Protocol):
    """threading.Event, multiprocessing.Event or anything with ``is_set()``."""

    def is_set(self) -> bool: ...


def run_sources(
    config_sources: Sequence[Mapping[str, Any] | SourceSpec],
    db_path: str | os.PathLike[str],
    stop_event: StopFlag | None = None,
    until_caught_up: bool = False,
    *,
    config_path: str | os.PathLike[str] | None = None,
    log_interval: float | None = None,
    pause_event: StopFlag | None = None,
) -> dict[str, IngestStats]:
    """Read the sources into the store at ``db_path`` until ``stop_event`` is set (or all are caught up).

    ``config_sources`` are ``[[sources]]`` tables (or parsed specs); the enricher
    is built from the config file at ``config_path`` (the default file when None).
    While ``pause_event`` is set, no source calls AWS. Returns what each source stored.

    Each source runs on its own: one that cannot be read (no such stream, access
    denied, a bug) shows why in its status row, is logged once (again when the
    reason changes) and is tried again with backoff, while the others go on.
    With ``until_caught_up`` a failure is final: the others are read until caught
    up, then SourcesFailed (a SourceError) says what failed, or a bug is raised.
    SIGTERM stops it cleanly when it runs in a main thread.
    """
    specs = [s if isinstance(s, (KinesisSpec, LogGroupSpec)) else parse_source(s) for s in config_sources]
    path = None if config_path is None else str(config_path)
    factory = functools.partial(enricher_from_config, path)
    retention = Retention.from_config(Config.load(path))  # flows kept as [store] says, by this writer too
    return asyncio.run(
        tail_sources(
            specs,
            db_path,
            stop_event,
            until_caught_up,
            enrich_factory=factory,
            log_interval=log_interval,
            pause_event=pause_event,
            alerts_factory=functools.partial(alerts_for_store, path),
            retention=retention,
        )
    )


def alerts_for_store(config_path: str | None, store: Store) -> Any:
    """The config file's alert rules, evaluated on each write to the writer's store (None: no rules)."""
    from flowtui.alerts import alerts_for_store as attach

    return attach(config_path, store)


def enricher_from_config(config_path: str | None) -> Enrich | None:
    """The enricher of the config file (runs on the writer thread, in the ingesting process)."""
    from flowtui.enrich import Enricher

    config = Config.load(config_path)
    return Enricher.from_config(config).profile


async def tail_sources(
    specs: Sequence[SourceSpec],
    db_path: str | os.PathLike[str],
    stop_event: StopFlag | None = None,
    until_caught_up: bool = False,
    *,
    enrich_factory: Callable[[], Enrich | None] | None = None,
    log_interval: float | None = None,
    client_wrapper: ClientWrapper | None = None,
    pause_event: StopFlag | None = None,
    alerts_factory: Callable[[Store], Any] | None = None,
    retention: Retention | None = None,
) -> dict[str, IngestStats]:
    if not specs:
        raise SourceError("no sources: pass --stream or --log-group, or add [[sources]] to the config file")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    lock = SourceLock(db_path)
    lock.acquire([s.name for s in specs])
    writer = StoreWriter(db_path, enrich_factory, alerts_factory, retention)
    watcher: asyncio.Task[None] | None = None
    restore_signal = _stop_on_sigterm(loop, stop)
    try:
        await writer.start()
        healths = [SourceHealth(s.name) for s in specs]
        pause = Pause()
        interval = min(s.status_interval for s in specs)
        reporter = HealthReporter(writer, healths, interval, log_interval)
        if stop_event is not None or pause_event is not None:
            watcher = loop.create_task(_watch(stop_event, pause_event, stop, pause))
        reporting = loop.create_task(reporter.run(stop))
        runs = [
            SourceRun(s, h, functools.partial(_make_tail, s, writer, h, stop, until_caught_up, client_wrapper, pause))
            for s, h in zip(specs, healths)
        ]
        tasks = [
            loop.create_task(r.run(stop, pause, until_caught_up, alone=len(runs) == 1), name=f"flowtui-{r.spec.name}")
            for r in runs
        ]
        try:
            await asyncio.wait(tasks)  # each source on its own: one that fails never ends the others
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(reporting, return_exceptions=True)
            await writer.drain()
            for run in runs:
                run.finish()
            await reporter.report(final=True)
        results = {s.name: writer.totals.get(s.name, IngestStats()) for s in specs}
        failures = {r.spec.name: r.failure for r in runs if r.failure is not None}
        bug = next((e for e in failures.values() if not isinstance(e, FlowtuiError)), None)
        if bug is not None:
            raise bug
        if failures:
            raise SourcesFailed({n: str(e) for n, e in failures.items()}, results)
        return results
    finally:
        if watcher is not None:
            watcher.cancel()
        restore_signal()
        await writer.close()
        lock.release()


class SourcesFailed(SourceError):
    """The sources that could not be read in an ``until_caught_up`` run (the others were read to the end)."""

    def __init__(self, failures: Mapping[str, str], results: Mapping[str, IngestStats]) -> None:
        self.failures = dict(failures)
        self.results = dict(results)
        reasons = list(self.failures.values())
        if len(reasons) == 1:
            message = reasons[0]
        else:
            message = f"{len(reasons)} sources failed: " + "; ".join(f"{n}: {m}" for n, m in self.failures.items())
        super().__init__(message)


class SourceRun:
    """One source's tail, started again with backoff after it fails, whatever the other sources do.

    A source that fails (no such stream, access denied for good, a bug) says why
    in its status row (state ``error``) and in the log, once per reason, and is
    tried again: first after ``retry_base``, doubling up to ``denied_retry``, so a
    stream created later is read within that. With ``until_caught_up`` its first
    failure is final and kept in ``failure``, for the run to end with once the
    others are caught up.
    """

    def __init__(self, spec: SourceSpec, health: SourceHealth, make: Callable[[], Tail]) -> None:
        self.spec = spec
        self.health = health
        self.make = make
        self.failure: BaseException | None = None
        self.reason: str | None = None  # why it last failed, while it has not read since

    async def run(self, stop: asyncio.Event, pause: Pause, until_caught_up: bool, alone: bool) -> None:
        name = self.spec.name
        backoff = Backoff(self.spec.retry_base, max(self.spec.retry_base, self.spec.denied_retry))
        while not stop.is_set():
            try:
                await self.make().run()
                return
            except Exception as exc:  # noqa: BLE001 - told and retried: it must not end the other sources
                error: BaseException = exc
            if self.health.state != "error":  # it had got going: a new fault, told even if said before
                backoff.reset()
                self.reason = None
            message = str(error) if isinstance(error, FlowtuiError) else f"stopped by a bug: {error!r}"
            self._failed(message)
            bug = None if isinstance(error, FlowtuiError) else error
            if until_caught_up:
                self.failure = error
                if not alone:  # told now, while the others are read (alone, it is just the run's end)
                    log.error("%s: %s; the other sources are read until caught up", name, message, exc_info=bug)
                return
            delay = backoff.next_delay()
            if message != self.reason:
                log.error("%s: %s; trying again in %.2gs, then less often", name, message, delay, exc_info=bug)
            self.reason = message
            self.health.detail = f"{message}; retrying"
            if await sleep(delay, stop):
                return
            await pause.wait(stop)

    def _failed(self, message: str) -> None:
        """Its row says why; the parts it was reading are read no more."""
        self.health.state, self.health.detail = "error", message
        self.health.errors += 1
        for part in self.health.parts.values():
            if part.state != "finished":
                part.state = "stopped"

    def finish(self) -> None:
        """The run is over: what each row says last (a failing source keeps its reason, without 'retrying')."""
        h = self.health
        if h.state == "error":
            h.detail = self.reason or h.detail
        else:
            h.state, h.detail = "stopped", None
        for p in h.parts.values():
            if p.state != "finished":
                p.state = "stopped"


Tail = KinesisTail | LogGroupTail


def _make_tail(
    spec: SourceSpec,
    writer: StoreWriter,
    health: SourceHealth,
    stop: asyncio.Event,
    until_caught_up: bool,
    wrapper: ClientWrapper | None,
    pause: Pause,
) -> KinesisTail | LogGroupTail:
    if isinstance(spec, KinesisSpec):
        return KinesisTail(spec, writer, health, stop, until_caught_up, wrapper, pause)
    return LogGroupTail(spec, writer, health, stop, until_caught_up, wrapper, pause)


async def _watch(flag: StopFlag | None, pause_flag: StopFlag | None, stop: asyncio.Event, pause: Pause) -> None:
    """Carry the other thread's (or process's) stop and pause requests into the event loop."""
    while not stop.is_set():
        if flag is not None and flag.is_set():
            stop.set()
            return
        if pause_flag is not None:
            pause.set(pause_flag.is_set())
        await asyncio.sleep(0.1)


def _stop_on_sigterm(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        return lambda: None
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        return lambda: None  # someone (the dashboard's worker) already turns SIGTERM into a stop
    try:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    except (NotImplementedError, RuntimeError):
        return lambda: None

    def restore() -> None:
        loop.remove_signal_handler(signal.SIGTERM)

    return restore


class SourceLock:
    """One reader per source per store: a second ``flowtui tail`` of the same stream into the same file is refused.

    POSIX record locks on one byte per source in ``<db>.sources.lock``; the
    kernel drops them when the process dies, even by ``kill -9``.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.path = Path(f"{os.fspath(db_path)}.sources.lock")
        self._fh: IO[bytes] | None = None

    def acquire(self, names: Sequence[str]) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not a POSIX system
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")  # noqa: SIM115 - held until release()
        except OSError as exc:
            raise SourceError(f"cannot create {self.path}: {exc.strerror}") from None
        for name in names:
            offset = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big") & 0x3FFFFFFF
            try:
                fcntl.lockf(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
            except OSError:
                self.release()
                raise SourceError(
                    f"another flowtui is already reading {name} into {os.fspath(self.path)[: -len('.sources.lock')]}"
                ) from None

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass
class TailJob:
    """The sources as a ``flowtui.worker.IngestJob``: the dashboard runs it in its ingestion process."""

    sources: Sequence[Mapping[str, Any] | SourceSpec]
    config_path: str | None = None
    until_caught_up: bool = False
    name: str = "tail"  # its status row appears only if it fails: each source writes its own
    reports_own_status: bool = True

    def run(self, ctx: Any) -> None:
        run_sources(
            self.sources,
            ctx.db_path,
            ctx.stop_event,
            self.until_caught_up,
            config_path=self.config_path,
            pause_event=getattr(ctx, "pause_event", None),
        )


def summary_lines(results: Mapping[str, IngestStats]) -> list[str]:
    return [f"{name}: {stats.summary()}" for name, stats in results.items()]


__all__ = ["TailJob", "log_line", "run_sources", "summary_lines", "tail_sources"]
