"""Ctrl-C in a real terminal: the dashboard quits with 130, as the README says Ctrl-C does."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.test_tmux_dashboard import Terminal, env, pytestmark, terminal  # noqa: F401  (the fixture)
from tests.ui_data import flows_at, write_flows


def test_ctrl_c_quits_the_dashboard_with_130_from_a_dialog(tmp_path: Path, terminal: Terminal) -> None:  # noqa: F811
    db = write_flows(tmp_path / "flows.db", flows_at(int(time.time())))
    config = tmp_path / "flowtui.toml"
    config.write_text("")
    terminal.start(f"{sys.executable} -m flowtui --db {db} --config {config}", env(tmp_path))
    terminal.wait_for("Top talkers")
    terminal.keys("w")
    terminal.wait_for("Time window")
    terminal.keys("C-c")
    lines = terminal.wait_for("EXITED")
    assert "EXITED 130" in lines
    assert not any("Do you want to quit" in line for line in lines)
