"""Exit codes and the last words of interrupted commands: 2 for bad arguments, 130 for Ctrl-C, quietly."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowtui.alerts import AlertEvaluator
from flowtui.cli import main
from flowtui.store import Store
from tests.alerts_helpers import T0, flow, rule, write
from tests.aws_server import moto_server  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("user_dirs")


@pytest.fixture
def fired(tmp_path: Path) -> Path:
    """A store where the rule "ssh" fired once."""
    path = tmp_path / "fired.db"
    with Store(path) as store:
        ev = AlertEvaluator(store, [rule(name="ssh", query="dst_port:22", condition="count > 1")], clock=lambda: T0 + 100.0).start()
        write(store, [flow(src="203.0.113.9", start=T0 + i) for i in range(3)])
        ev.close()
    return path


def test_alerts_list_of_an_unknown_rule_is_a_usage_error_with_a_suggestion(fired: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "list", "--db", str(fired), "--rule", "port-scna"]) == 2
    assert capsys.readouterr() == (
        "", "flowtui: no rule named 'port-scna' in the config, the example rules or the stored firings (did you mean port-scan?)\n"
    )
    assert main(["alerts", "list", "--db", str(fired), "--rule", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("flowtui: no rule named 'nosuch' in the config, the example rules or the stored firings; the examples: ")
    # A rule only the stored firings know, and an example rule that has not fired, are answered as before.
    assert main(["alerts", "list", "--db", str(fired), "--rule", "ssh", "--format", "json"]) == 0
    assert [f["rule"] for f in json.loads(capsys.readouterr().out)] == ["ssh"]
    assert main(["alerts", "list", "--db", str(fired), "--rule", "port-scan"]) == 0
    assert capsys.readouterr() == ("", "no firings\n")


def test_tail_with_a_start_it_cannot_read_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.db"
    assert main(["tail", "--no-ui", "--db", str(db), "--stream", "flows", "--start", "yesterday"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", "flowtui: bad start 'yesterday': use trim-horizon, latest, a time like 2024-05-01T12:00:00Z or an age like -2h\n")
    assert not db.exists()


def test_ctrl_c_while_the_commands_are_imported_exits_130_quietly(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import flowtui.cli

    def interrupted(name: str) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(flowtui.cli.importlib, "import_module", interrupted)
    assert main(["query", "--count"]) == 130
    assert capsys.readouterr() == ("", "")


def _lines(n: int, first: int = 0) -> bytes:
    return b"".join(
        f"2 123456789012 eni-0a1b2c3d4e5f60718 10.0.{i // 250 % 250}.{i % 250 + 1} 203.0.113.9 443 {1024 + i % 60000} 6 10 8400"
        f" {1767225600 + i} {1767225660 + i} ACCEPT OK\n".encode()
        for i in range(first, first + n)
    )


def _flows(db: Path) -> int:
    """The flows in ``db`` so far; 0 while the file is missing or not yet a store."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM flows").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_ctrl_c_during_ingest_says_what_was_stored(tmp_path: Path) -> None:
    db = tmp_path / "i.db"
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowtui", "ingest", "--db", str(db), "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write(_lines(300_000))
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until a batch is committed; the pipe stays open
        if _flows(db):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    with Store(db, readonly=True) as store:
        stored = store.flow_count()
    assert 0 < stored < 300_000
    assert proc.returncode == 130
    assert out == b""
    assert err.decode() == (
        f"flowtui: interrupted: {stored:,} flows stored, 0 rejected to dead letters;"
        " the same command again goes on where this one stopped\n"
    )


def test_ctrl_c_stops_a_headless_demo_with_its_summary_and_130(tmp_path: Path) -> None:
    """`demo --no-ui` exited 0 on Ctrl-C, while every other command (and the README) says 130."""
    db = tmp_path / "demo.db"
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowtui", "demo", "--no-ui", "--duration", "120", "--rate", "20", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _flows(db) < 18_000:  # the 15 minutes before, then live
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    with Store(db, readonly=True) as store:
        stored = store.flow_count()
    assert out.decode().endswith(" s elapsed (interrupted)\n")
    assert f"demo:1: {stored:,} flows stored" in out.decode()


def test_setup_takes_dry_run_as_its_default(moto_server: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    base = ["setup", "--log-group", "vpc-flow-logs", "--stream", "flows", "--region", "us-east-1", "--endpoint-url", moto_server]
    assert main(base) == 0
    plan = capsys.readouterr().out
    assert main([*base, "--dry-run"]) == 0
    assert capsys.readouterr().out == plan
    assert plan.endswith("Dry run: nothing was changed. Run again with --apply to create what is missing.\n")


@pytest.mark.parametrize(
    ("argv", "usage", "error"),
    [
        (["setup", "--log-group", "g", "--stream", "s", "--dry-run", "--apply"], "usage: flowtui setup ",
         "flowtui: error: argument --apply: not allowed with argument --dry-run\n"),
        (["setup", "--log-group", "g", "--stream", "s", "--dryrun"], "usage: flowtui setup ",
         "flowtui: error: unrecognized arguments: --dryrun\n"),
        (["alerts", "list", "--bogus"], "usage: flowtui alerts list ", "flowtui: error: unrecognized arguments: --bogus\n"),
        (["threat", "list", "--bogus"], "usage: flowtui threat list ", "flowtui: error: unrecognized arguments: --bogus\n"),
        (["--bogus"], "usage: flowtui [-h]", "flowtui: error: unrecognized arguments: --bogus\n"),
    ],
)
def test_a_bad_flag_prints_its_commands_usage(argv: list[str], usage: str, error: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(usage)
    assert err.endswith(error)
