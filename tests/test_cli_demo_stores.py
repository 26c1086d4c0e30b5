"""Which stores ``flowtui demo`` fills: its own (marked) or empty ones, never one holding other data;
and the hint that points a reader at the demo's store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flowtui.cli import main
from flowtui.cli.demo import DEMO_MARK
from flowtui.store import Store
from tests import query_data

START = ["--no-ui", "--duration", "60", "--rate", "20", "--start-at", "1767225600"]


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLOWTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def _flows_and_firings(path: Path) -> tuple[int, int]:
    with Store(path, readonly=True) as store:
        firings = store.conn.execute("SELECT count(*) FROM alerts").fetchone()[0] if "alerts" in store.db.table_names() else 0
        return store.flow_count(), firings


def _summary_flows(out: str) -> int:
    """The flows count of the demo's summary line ('demo:1: 1,234 flows stored, …')."""
    line = out.splitlines()[-1]
    return int(line.split(": ")[1].split(" flows")[0].replace(",", ""))


def test_a_store_with_other_data_is_refused_and_left_as_it_was(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "real.db"
    query_data.build(real).close()
    before = real.read_bytes()
    assert main(["demo", "--db", str(real), *START]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"flowtui: {real} holds data the demo did not make, and the demo adds to no such store: give --db a new file,"
        f" or leave --db out to use {tmp_path / 'data' / 'flowtui' / 'demo.db'}\n"
    )
    assert real.read_bytes() == before
    assert _flows_and_firings(real) == (16, 0)


def test_a_file_that_is_no_store_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("not SQLite\n")
    assert main(["demo", "--db", str(notes), *START]) == 2
    assert capsys.readouterr().err.startswith(f"flowtui: {notes} holds data the demo did not make")
    assert notes.read_text() == "not SQLite\n"


def test_a_store_the_demo_made_is_emptied_at_each_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "mine.db"
    assert main(["demo", "--db", str(db), *START]) == 0
    first = _summary_flows(capsys.readouterr().out)
    once = _flows_and_firings(db)
    assert once[0] == first > 0
    assert main(["demo", "--db", str(db), *START]) == 0
    assert _summary_flows(capsys.readouterr().out) == first
    assert _flows_and_firings(db) == once  # the same run again: the same store, not twice its rows
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = ?", (DEMO_MARK,)).fetchone() == (1,)


def test_an_empty_store_is_filled_and_marked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "empty.db"
    Store(db).close()
    assert main(["demo", "--db", str(db), *START]) == 0
    assert _flows_and_firings(db)[0] == _summary_flows(capsys.readouterr().out)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = ?", (DEMO_MARK,)).fetchone() == (1,)


def test_without_the_default_store_a_reader_is_pointed_at_the_demos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flows = tmp_path / "data" / "flowtui" / "flows.db"
    demo = tmp_path / "data" / "flowtui" / "demo.db"
    assert main(["query", "--count", "action:REJECT"]) == 1
    assert capsys.readouterr().err == f"flowtui: no store at {flows}: ingest something first (flowtui ingest, tail or demo)\n"
    assert main(["demo", *START]) == 0
    capsys.readouterr()
    assert main(["query", "--since", "1h", "action:REJECT AND dst_port:22"]) == 1
    assert capsys.readouterr().err == (
        f"flowtui: no store at {flows}: ingest something first (flowtui ingest or tail), or read the demo's with --db {demo}\n"
    )
    assert main(["top", "--by", "src_addr"]) == 1
    assert capsys.readouterr().err.endswith(f"or read the demo's with --db {demo}\n")
    assert not flows.exists()
