"""The real command in a real terminal: ``flowtui --db`` and ``flowtui demo`` inside tmux.

Keys go in with ``send-keys``; the screen comes back with ``capture-pane -p``.
Each test has its own tmux server (``-L flowtui-test-<pid>-<n>``), killed at the end.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flowtui.store import Store
from tests.ui_data import MARKUP_NAME, flows_at, write_flows

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
ROOT = Path(__file__).resolve().parents[1]
_counter = itertools.count()


class Terminal:
    def __init__(self, socket: str, width: int, height: int, config: Path) -> None:
        self.socket = socket
        self.width = width
        self.height = height
        # A server of our own, deaf to ~/.tmux.conf, whose detached window keeps its size
        # (tmux would shrink a window no client looks at to default-size, 80x24).
        config.write_text(f"set -g default-size {width}x{height}\n")
        self.config = config
        self.socket_path = ""

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.config), *args],
            check=True, capture_output=True, text=True, timeout=10,
        ).stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        self.tmux(
            "new-session", "-d", "-x", str(self.width), "-y", str(self.height),
            f"cd {ROOT} && env {exports} {command}; echo EXITED $?; sleep 30",
        )
        self.socket_path = self.tmux("display", "-p", "#{socket_path}").strip()
        size = self.tmux("display", "-p", "#{window_width}x#{window_height}").strip()
        assert size == f"{self.width}x{self.height}", size

    def screen(self) -> list[str]:
        return [line.rstrip() for line in self.tmux("capture-pane", "-p").splitlines()]

    def styled(self) -> list[str]:
        """The screen with its colours (SGR sequences), each line as tmux writes it."""
        return self.tmux("capture-pane", "-p", "-e").splitlines()

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)

    def wait(self, what: Callable[[list[str]], bool], timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen()
            if what(lines):
                return lines
            if time.monotonic() > deadline:
                size = self.tmux("display", "-p", "#{window_width}x#{window_height}").strip()
                raise AssertionError(f"the screen ({size}) never showed what was expected:\n" + "\n".join(lines))
            time.sleep(0.1)

    def wait_for(self, text: str, timeout: float = 30.0) -> list[str]:
        return self.wait(lambda lines: any(text in line for line in lines), timeout)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(f"flowtui-test-{os.getpid()}-{next(_counter)}", 120, 40, tmp_path / "tmux.conf")
    try:
        yield term
    finally:
        subprocess.run(["tmux", "-L", term.socket, "kill-server"], check=False, capture_output=True, timeout=10)
        if term.socket_path:
            Path(term.socket_path).unlink(missing_ok=True)


def env(home: Path) -> dict[str, str]:
    """UTC, a 256-colour terminal, and no user config or themes from the developer's home."""
    return {"TZ": "UTC", "TERM": "xterm-256color", "PYTHONPATH": str(ROOT), "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data")}


def line_with(lines: list[str], text: str) -> str:
    return next(line for line in lines if text in line)


PANES = ("Top talkers", "Rejects", "External → EC2", "Threat matches")


def lit_pane(terminal: Terminal) -> str | None:
    """The pane whose border has the focus's colour (the one of the four that differs), or
    None when all four are alike (the focus is elsewhere: the query bar)."""
    colours = {}
    for line in terminal.styled():
        for title in PANES:
            at = line.find(f" {title} ")
            if at >= 0:  # the border's colour: the first foreground set after the title
                rest = line[at + len(title) + 2 :]
                colours[title] = re.search(r"\x1b\[(?:[0-9;]*;)?38;((?:5;\d+)|(?:2;\d+;\d+;\d+))", rest).group(1)
    assert sorted(colours) == sorted(PANES), colours
    odd = [title for title, colour in colours.items() if list(colours.values()).count(colour) == 1]
    return odd[0] if odd else None


def wait_lit(terminal: Terminal, title: str | None) -> None:
    deadline = time.monotonic() + 10
    while (lit := lit_pane(terminal)) != title:
        assert time.monotonic() < deadline, f"the lit pane is {lit!r}, not {title!r}:\n" + "\n".join(terminal.screen())
        time.sleep(0.1)


def test_viewer_query_help_address_and_quit(tmp_path: Path, terminal: Terminal) -> None:
    now = int(time.time())
    db = write_flows(tmp_path / "flows.db", flows_at(now))
    config = tmp_path / "flowtui.toml"
    config.write_text("")
    terminal.start(f"{sys.executable} -m flowtui --db {db} --config {config}", env(tmp_path))
    top = " / e.g. action:REJECT AND dst_port:22  (Tab completes, ↑ history)" + " " * 33 + "○ viewer last 15m UTC"
    panes = [
        "│ src_addr      dst_addr    bytes ▼    flows    packets   │ │ src_addr      who             dst_port  flows ▼    bytes │",
        "│ 203.0.113.5   10.0.1.10    4.0 MB        3      2,800   │ │ 198.51.100.7  spamhaus · NL…  22              5    600 B │",
        "│ 10.0.1.10     10.0.2.20    500 kB        2        600   │ │ 203.0.113.5   US Example Net  3389            1     60 B │",
        "│ 10.0.1.11     192.0.2.66  40.0 kB        1         50   │ │                                                          │",
        "│ 198.51.100.7  10.0.1.11     600 B        5         10   │ │                                                          │",
        "│ 10.0.1.12     8.8.8.8       300 B        1          2   │ │                                                          │",
    ]
    # Whole addresses leave room for who an address is, or for a third metric.
    lower = [
        "│ src_addr      dst_addr   flows ▼    bytes    packets    │ │ src_addr      dst_addr    flows ▼    bytes    packets    │",
        "│ 198.51.100.7  10.0.1.11        5    600 B         10    │ │ 198.51.100.7  10.0.1.11         5    600 B         10    │",
        "│ 203.0.113.5   10.0.1.10        3   4.0 MB      2,800    │ │ 10.0.1.11     192.0.2.66        1  40.0 kB         50    │",
        "│ 203.0.113.5   10.0.1.11        1     60 B          1    │ │                                                          │",
    ]
    # The screen settles on exactly this (the first frames may still be laying out).
    lines = terminal.wait(lambda lines: lines[0] == top and lines[3:9] == panes and lines[21:25] == lower)
    assert lines[1] == "╭─ Top talkers " + "─" * 43 + "╮ ╭─ Rejects " + "─" * 48 + "╮"
    assert re.fullmatch(r" ○ viewer \(no sources\) │ dead 0 │ flows.db \d+ kB │ last 15m UTC │ every 2s", lines[-2])

    terminal.keys("/")
    terminal.type("action:REJECT")
    terminal.keys("Enter")
    # The summary can be painted a frame before the rows are measured to their widest
    # value (the rows are drawn at their header's width until then): wait for the rows.
    lines = terminal.wait(lambda lines: any("6 flows" in line for line in lines) and "198.51.100.7" in lines[3])
    assert lines[0].startswith(" / action:REJECT ")
    assert lines[1] == " 6 flows · last 15m · rows 1–6 (page 1 of 1) · sorted by timestamp ↓"
    assert re.split(r"\s+", lines[2].strip()) == [
        "timestamp", "▼", "interface_id", "src_addr", "src_port", "dst_addr", "dst_port", "protocol", "action",
        "packets", "bytes",
    ]
    assert re.split(r"\s+", lines[3].strip())[1:] == [
        "eni-0a1b2c3d", "198.51.100.7", "61000", "10.0.1.11", "22", "TCP", "REJECT", "2", "120", "B",
    ]

    terminal.keys("l", "l", "l", "l", "Enter")  # the cursor to dst_addr, and in
    title = f"  10.0.1.11  EC2  {MARKUP_NAME}  internal"  # the page's first line, above what scrolls
    lines = terminal.wait_for(title)
    assert line_with(lines, "╭─ Address 10.0.1.11 ─")
    # The Name tag is shown as the characters it is, not as markup.
    assert lines[0].rstrip() == title
    assert re.sub(r"\s+", " ", line_with(lines, "│ name ")) == f"│ name {MARKUP_NAME} city - │"

    terminal.keys("?")
    lines = terminal.wait_for("Keys — Escape closes")
    assert "│ everywhere q Quit app.quit results n Next page results.next_page │" in re.sub(r"\s+", " ", line_with(lines, "everywhere"))
    terminal.keys("Escape")
    terminal.wait(lambda lines: not any("Keys — Escape closes" in line for line in lines))
    terminal.keys("q")
    lines = terminal.wait_for("EXITED")
    assert "EXITED 0" in lines


def test_demo_runs_the_pipeline_beside_the_dashboard(tmp_path: Path, terminal: Terminal) -> None:
    db = tmp_path / "demo.db"
    config = tmp_path / "flowtui.toml"
    config.write_text("")
    terminal.start(f"{sys.executable} -m flowtui demo --db {db} --rate 50 --config {config}", env(tmp_path))
    lines = terminal.wait(lambda lines: any("● demo:1 running" in line for line in lines)
                          and any("(other)" in line for line in lines), timeout=60)
    assert lines[1].startswith("╭─ Top talkers ─")
    assert any(line.startswith("╭─ External → EC2 ─") and "╭─ Threat matches ─" in line for line in lines)
    # The demo's example alert rules fire on its backfill: the badge comes first, the line's end gives
    # way (and the toasts of new firings may cover it).
    badge = re.match(r"  ▲ [\d,]+ alerts?  ", lines[-2])
    status = lines[-2][badge.end():] if badge else lines[-2][1:]
    whole = r"● demo:1 running [\d.,k]+/s( lag \S+)? │ dead \d+ │ demo.db [\d.]+ [kM]?B │ last 15m UTC │ every 2s$"
    assert re.match(r"● demo:1 running [\d.,k]+/s" if badge else whole, status)

    terminal.keys("/")
    terminal.type("action:REJECT AND dst_port:22")
    terminal.keys("Enter")
    lines = terminal.wait(lambda lines: bool(re.match(r" [\d,]+ flows · last 15m · rows 1–", lines[1])))
    rows = [re.split(r"\s+", line.strip()) for line in lines[3:10]]
    assert all(row[-3:-2] == ["REJECT"] or "REJECT" in row for row in rows)
    terminal.keys("?")
    terminal.wait_for("Keys — Escape closes")
    terminal.keys("Escape")  # alone: ESC and a key in one burst would read as alt+key
    terminal.wait(lambda lines: not any("Keys — Escape closes" in line for line in lines))
    # The alerts: the example rules' firings, newest first.
    terminal.keys("a")
    lines = terminal.wait(lambda lines: lines[0].startswith(" Alerts · ") and " FIRED " in lines[1], timeout=30)
    assert re.match(r" FIRED +RULE +GROUP +CONDITION ", lines[1])
    terminal.keys("Escape")
    terminal.wait(lambda lines: not lines[0].startswith(" Alerts · "))
    terminal.keys("q")
    lines = terminal.wait_for("EXITED", timeout=30)
    assert "EXITED 0" in lines
    # The ingest process was stopped with the dashboard, and said so.
    with Store(db, readonly=True) as store:
        assert [(s["source"], s["state"]) for s in store.statuses()] == [("demo:1", "stopped")]


def test_focus_query_bar_drill_and_back_each_painted(tmp_path: Path, terminal: Terminal) -> None:
    """Each key's change reaches a real terminal: the lit pane follows Tab, text typed after
    '/' shows (a paint hold per typed key once froze the screen here, not under Pilot), Escape
    brings the table's keys back, Enter on a row opens it and Escape comes back to it."""
    db = write_flows(tmp_path / "flows.db", flows_at(int(time.time())))
    config = tmp_path / "flowtui.toml"
    config.write_text("")
    terminal.start(f"{sys.executable} -m flowtui --db {db} --config {config}", env(tmp_path))
    table_keys = "y Copy q Quit ? Help / Query space Pause w Window a Alerts"
    terminal.wait(lambda lines: lines[-1].startswith(table_keys) and "198.51.100.7" in lines[4])
    wait_lit(terminal, "Top talkers")
    for title in ("Rejects", "External → EC2", "Threat matches"):
        terminal.keys("Tab")
        wait_lit(terminal, title)

    terminal.keys("/")
    lines = terminal.wait(lambda lines: lines[-1].startswith("⏎ Run tab Complete ↑↓ History esc Leave"))
    assert lines[0].startswith(" / e.g. action:REJECT")
    wait_lit(terminal, None)  # no table has the focus
    terminal.type("dst_port:22 AND action:REJECT")  # one burst, as a paste
    lines = terminal.wait(lambda lines: lines[0].startswith(" / dst_port:22 AND action:REJECT "))
    assert lines[-1].startswith("⏎ Run tab Complete")
    terminal.keys("Escape")  # alone: ESC and a key in one burst would read as alt+key
    lines = terminal.wait(lambda lines: lines[-1].startswith(table_keys))
    assert lines[0].startswith(" / e.g. action:REJECT")  # the typed text, not run, is gone
    wait_lit(terminal, "Top talkers")  # the bar gives the focus to the first table
    terminal.keys("Tab")
    wait_lit(terminal, "Rejects")

    terminal.keys("Enter")  # the first row's src_addr: its address page
    lines = terminal.wait_for("╭─ Address 198.51.100.7 ─")
    assert not any("╭─ Top talkers" in line for line in lines)
    terminal.keys("Escape")
    lines = terminal.wait(lambda lines: lines[-1].startswith(table_keys) and "╭─ Top talkers" in lines[1])
    wait_lit(terminal, "Rejects")
    terminal.keys("Tab")
    wait_lit(terminal, "External → EC2")
    terminal.keys("q")
    assert "EXITED 0" in terminal.wait_for("EXITED")
