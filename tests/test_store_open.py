"""Opening a store that several processes create or upgrade at the same moment."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowtui import schema
from flowtui.store import Batch, Part, Store
from tests import query_data

ROOT = Path(__file__).resolve().parents[1]


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


# --- a store this user can read but not write ---------------------------------------------------------

_SETPRIV = shutil.which("setpriv")


def _without_write_rights(argv: list[str]) -> list[str]:
    """``argv`` as a user whom file modes bind: root gives up its capabilities (CAP_DAC_OVERRIDE …)."""
    if os.geteuid() != 0:
        return argv
    if _SETPRIV is None:
        pytest.skip("running as root without setpriv: file modes do not bind root")
    return [_SETPRIV, "--inh-caps=-all", "--bounding-set=-all", "--", *argv]


def _flowtui(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = _without_write_rights([sys.executable, "-m", "flowtui", *args])
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, input=stdin, check=False)


@pytest.fixture
def locked_store(tmp_path: Path) -> Iterator[Path]:
    """The query tests' store (16 flows, 2 REJECT), the file and its directory read-only (0444, 0555), no -wal or -shm."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "flows.db"
    query_data.build(db).close()
    assert sorted(p.name for p in folder.iterdir()) == ["flows.db"]
    db.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield db
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)


def test_query_and_top_read_a_store_in_a_directory_they_cannot_write(locked_store: Path) -> None:
    count = _flowtui("query", "--db", str(locked_store), "--count", "action:REJECT")
    assert (count.returncode, count.stdout, count.stderr) == (0, "2\n", "")
    top = _flowtui("top", "--db", str(locked_store), "--by", "action", "--metric", "flows", "--format", "json")
    assert top.returncode == 0, top.stderr
    assert [(r["action"], r["flows"]) for r in json.loads(top.stdout)] == [("ACCEPT", 12), ("REJECT", 2), (None, 2)]
    alerts = _flowtui("alerts", "list", "--db", str(locked_store), "--format", "json")
    assert (alerts.returncode, alerts.stdout) == (0, "[]\n")
    assert sorted(p.name for p in locked_store.parent.iterdir()) == ["flows.db"]  # nothing written beside it


def test_a_wal_left_without_its_shm_in_a_locked_directory_is_one_sentence(locked_store: Path) -> None:
    locked_store.parent.chmod(0o755)
    (locked_store.parent / "flows.db-wal").write_bytes(b"")
    locked_store.parent.chmod(0o555)
    done = _flowtui("query", "--db", str(locked_store), "--count")
    assert done.returncode == 1
    assert done.stderr == (
        f"flowtui: cannot read {locked_store}: its write-ahead log has no -shm file and {locked_store.parent} is not"
        " writable to create one; run any flowtui command on it once as its owner\n"
    )


_READ_THEN_SYNC = """
import sys
from flowtui.store import Store
store = Store(sys.argv[1], readonly=True)
print(store.immutable, store.flow_count(), flush=True)
sys.stdin.readline()
try:
    store.sync()
    print(store.immutable, store.flow_count())
except Exception as exc:
    print(exc)
"""


def test_a_reader_without_locks_reads_with_them_once_a_writer_opens_the_store(locked_store: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = _without_write_rights([sys.executable, "-c", _READ_THEN_SYNC, str(locked_store)])
    reader = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert reader.stdout is not None and reader.stdin is not None
    assert reader.stdout.readline() == "True 16\n"
    locked_store.parent.chmod(0o755)
    locked_store.chmod(0o644)
    with Store(locked_store) as writer:  # its -wal and -shm now stand beside the file
        out, _ = reader.communicate("go\n", timeout=60)
        assert writer.flow_count() == 16
    assert out == "False 16\n"  # its -shm is readable: the reader takes locks like any other


_READ_WRITE_READ = """
import sys
from flowtui.query.engine import QueryEngine as Engine
from flowtui.store import Store
store = Store(sys.argv[1], readonly=True)
engine = Engine(store)
print(store.immutable, engine.count(""), engine.count("action:REJECT"), flush=True)
sys.stdin.readline()
print(store.immutable, engine.count(""), engine.count("action:REJECT"), flush=True)
"""


def test_a_reader_without_locks_sees_what_a_writer_added_and_closed_between_two_reads(locked_store: Path) -> None:
    """A cron ``flowtui ingest`` opens, commits and closes: its -wal and -shm are gone again by the next read."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = _without_write_rights([sys.executable, "-c", _READ_WRITE_READ, str(locked_store)])
    reader = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert reader.stdout is not None and reader.stdin is not None
    assert reader.stdout.readline() == "True 16 2\n"
    locked_store.parent.chmod(0o755)
    locked_store.chmod(0o644)
    with Store(locked_store) as writer:
        writer.write(Batch([Part(list(query_data.V2.values()) * 40, query_data.V2_PRESENT)]), enrich=query_data.enrich)
    assert sorted(p.name for p in locked_store.parent.iterdir()) == ["flows.db"]
    locked_store.chmod(0o444)
    locked_store.parent.chmod(0o555)
    out, err = reader.communicate("go\n", timeout=60)
    assert (reader.returncode, out, err) == (0, "True 616 82\n", "")  # 16 + 40 × 15, 2 + 40 × 2; immutable again


def test_a_readable_shm_beside_a_read_only_store_is_used_with_locks(locked_store: Path) -> None:
    locked_store.parent.chmod(0o755)
    locked_store.chmod(0o644)
    with Store(locked_store) as writer:  # a writer running: -wal and -shm exist
        locked_store.parent.chmod(0o555)
        done = _flowtui("query", "--db", str(locked_store), "--count")
        assert (done.returncode, done.stdout, done.stderr) == (0, "16\n", "")
        assert writer.flow_count() == 16


def test_a_damaged_store_is_one_sentence_not_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "flows.db"
    query_data.build(db).close()
    with Store(db, readonly=True) as store:
        root = store.conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'flows'").fetchone()[0]
    with db.open("r+b") as f:  # the flows table's root page: a leaf header, then garbage
        f.seek((root - 1) * 8192)
        f.write(b"\x0d" + b"\xff" * 200)
    done = _flowtui("query", "--db", str(db), "action:REJECT")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "flowtui: the store could not be read (database disk image is malformed); run the command again,"
        " and if it fails alike the file is damaged\n"
    )
