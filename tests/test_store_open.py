"""Opening a store that several processes create or upgrade at the same moment."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from flowtui import schema
from flowtui.store import Store


def _open_and_count(path: str, start: multiprocessing.synchronize.Event, out: multiprocessing.Queue) -> None:
    start.wait()
    try:
        with Store(path) as store:
            out.put(("ok", store.flow_count()))
    except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def test_processes_creating_one_new_store_at_once_all_open_it(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(3):
        path = tmp_path / f"new-{round_}.db"
        start, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_open_and_count, args=(str(path), start, out)) for _ in range(6)]
        for p in procs:
            p.start()
        start.set()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        assert results == [("ok", 0)] * 6
        with Store(path, readonly=True) as store:
            assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
