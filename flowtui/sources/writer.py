"""The writer: one thread that owns the store, so network reads never wait for SQLite.

Readers hand over batches as :class:`WriteJob`s. Each job names the position
it follows (``prev``) and the position after it; the writer stores a job only
when ``prev`` is the position it holds for that source, and writes rows and the
new position in one transaction. A batch that failed therefore can never be
skipped over by the batches behind it: they are refused as stale, and the
reader starts again from the stored position. Consecutive jobs of one source
that queue up while the writer is busy are stored in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flowtui.ingest import CheckpointMoved, Expected, IngestStats, Pipeline
from flowtui.store import Enrich, Retention, Store

log = logging.getLogger("flowtui.sources")

T = TypeVar("T")
MAX_PAYLOADS_PER_WRITE = 5_000


def _retrieved(future: asyncio.Future[IngestStats]) -> None:
    """Outcomes nobody awaits any more (a reader was stopped) are not worth a warning."""
    if not future.cancelled():
        future.exception()


class StaleBatch(Exception):
    """A job that does not follow the stored position (a batch before it failed)."""


@dataclass(slots=True)
class WriteJob:
    source: str  # the checkpoint source (a shard, a log group)
    prev: str | None  # the position these payloads follow
    position: str  # the position after them
    payloads: list[tuple[bytes, str]]
    owner: str = ""  # the spec these belong to, for accounting
    log_format: str | None = None
    kinesis_stream: str | None = None
    future: asyncio.Future[IngestStats] | None = None


@dataclass(slots=True)
class _Chain:
    jobs: list[WriteJob] = field(default_factory=list)

    @property
    def first(self) -> WriteJob:
        return self.jobs[0]

    @property
    def last(self) -> WriteJob:
        return self.jobs[-1]


class StoreWriter:
    """Owns the Store and the pipelines; every use of them runs on its one thread."""

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        enrich_factory: Callable[[], Enrich | None] | None = None,
        alerts_factory: Callable[[Store], Any] | None = None,
        retention: Retention | None = None,
    ):
        self.db_path = db_path
        self.retention = retention  # [store] retain / max_size: enforced by whoever writes
        self._enrich_factory = enrich_factory
        # Given the writer's store, starts what listens to its writes (alert rules); has close().
        self._alerts_factory = alerts_factory
        self._alerts: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowtui-writer")
        self._queue: asyncio.Queue[WriteJob | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.store: Store | None = None
        self._enrich: Enrich | None = None
        self._pipelines: dict[str | None, Pipeline] = {}
        self._positions: dict[str, str | None] = {}  # writer thread only
        self.totals: dict[str, IngestStats] = {}  # per owner, updated on the event loop
        self.pending = 0  # jobs queued or being written

    # --- life cycle ------------------------------------------------------------------
    async def start(self) -> None:
        await self.call(self._open)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="flowtui-writer")

    def _open(self) -> None:
        self.store = Store(self.db_path, retention=self.retention)
        self._enrich = self._enrich_factory() if self._enrich_factory is not None else None
        if self._alerts_factory is not None:
            self._alerts = self._alerts_factory(self.store)

    async def close(self) -> None:
        """Store what is queued, then close the store."""
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        await self.call(self._close)
        self._executor.shutdown(wait=True)

    async def drain(self) -> None:
        """Wait until every queued batch is stored (or refused)."""
        while self.pending and self._task is not None and not self._task.done():
            await asyncio.sleep(0.005)

    def _close(self) -> None:
        if self._alerts is not None:
            self._alerts.close()
            self._alerts = None
        closer = getattr(getattr(self._enrich, "__self__", None), "close", None)
        if callable(closer):
            closer()
        if self.store is not None:
            self.store.close()
            self.store = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the writer thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # --- store access for readers ---------------------------------------------------------
    async def position(self, source: str) -> str | None:
        """The stored position of ``source`` (what the next job must follow)."""
        return await self.call(self._position, source)

    def _position(self, source: str) -> str | None:
        if source not in self._positions:
            assert self.store is not None
            self._positions[source] = self.store.checkpoint(source)
        return self._positions[source]

    async def checkpoints(self, prefix: str) -> dict[str, str]:
        def read() -> dict[str, str]:
            assert self.store is not None
            return self.store.checkpoints(prefix)

        return await self.call(read)

    async def set_checkpoint(self, source: str, position: str) -> None:
        def write() -> None:
            assert self.store is not None
            self.store.set_checkpoint(source, position)
            self._positions[source] = position

        await self.call(write)

    async def set_status(
        self, source: str, state: str, detail: str | None, rate: float | None, lag_ms: int | None, errors: int
    ) -> None:
        def write() -> None:
            assert self.store is not None
            self.store.set_status(source, state, detail, rate, lag_ms, errors)

        await self.call(write)

    # --- batches ---------------------------------------------------------------------------
    def submit(self, job: WriteJob) -> asyncio.Future[IngestStats]:
        """Queue a batch; the future is the outcome (IngestStats, StaleBatch or the store's error)."""
        job.future = asyncio.get_running_loop().create_future()
        job.future.add_done_callback(_retrieved)
        self.pending += 1
        self._queue.put_nowait(job)
        return job.future

    async def _run(self) -> None:
        closing = False
        while not closing:
            job = await self._queue.get()
            if job is None:
                break
            jobs = [job]
            count = len(job.payloads)
            while count < MAX_PAYLOADS_PER_WRITE and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    closing = True
                    break
                jobs.append(more)
                count += len(more.payloads)
            outcomes = await self.call(self._write_jobs, jobs)
            for j, outcome in zip(jobs, outcomes):
                self.pending -= 1
                if isinstance(outcome, BaseException):
                    if j.future is not None and not j.future.done():
                        j.future.set_exception(outcome)
                    continue
                if outcome is not None:
                    self.totals.setdefault(j.owner, IngestStats()).merge(outcome)
                if j.future is not None and not j.future.done():
                    j.future.set_result(outcome or IngestStats())

    def _write_jobs(self, jobs: list[WriteJob]) -> list[IngestStats | BaseException | None]:
        """Writer thread: one transaction per chain of consecutive jobs of one source."""
        chains: list[_Chain] = []
        open_chain: dict[str, _Chain] = {}
        for job in jobs:
            chain = open_chain.get(job.source)
            if (
                chain is not None
                and chain.last.position == job.prev
                and chain.last.log_format == job.log_format
                and chain.last.kinesis_stream == job.kinesis_stream
            ):
                chain.jobs.append(job)
            else:
                chain = _Chain([job])
                chains.append(chain)
                open_chain[job.source] = chain
        outcomes: dict[int, IngestStats | BaseException | None] = {}
        for chain in chains:
            result = self._write_chain(chain)
            for job in chain.jobs:
                outcomes[id(job)] = result if (job is chain.last or isinstance(result, BaseException)) else None
        return [outcomes[id(j)] for j in jobs]

    def _write_chain(self, chain: _Chain) -> IngestStats | BaseException:
        first, last = chain.first, chain.last
        try:
            held = self._position(first.source)
            if held != first.prev:
                return StaleBatch(f"{first.source}: batch follows {first.prev!r}, store holds {held!r}")
            payloads = [p for job in chain.jobs for p in job.payloads]
            pipeline = self._pipeline(first.log_format)
            # Compared again inside the transaction: another process (a second tail) may have moved it.
            stats = pipeline.ingest_payloads(
                payloads,
                first.source,
                checkpoint=(first.source, last.position),
                kinesis_stream=first.kinesis_stream,
                expect=Expected(first.prev),
            )
            self._positions[first.source] = last.position
            return stats
        except Exception as exc:  # handed to the reader, which retries from the stored position
            self._positions.pop(first.source, None)  # re-read the truth next time
            if isinstance(exc, CheckpointMoved):  # the reader goes on from where the other process got to
                exc = StaleBatch(str(exc))
            if not isinstance(exc, StaleBatch):
                log.debug("write of %s failed", first.source, exc_info=True)
            return exc

    def _pipeline(self, log_format: str | None) -> Pipeline:
        pipeline = self._pipelines.get(log_format)
        if pipeline is None:
            from flowtui.formats import LogFormat

            assert self.store is not None
            fmt = LogFormat.from_spec(log_format) if log_format else None
            pipeline = Pipeline(self.store, self._enrich, fmt)
            self._pipelines[log_format] = pipeline
        return pipeline
