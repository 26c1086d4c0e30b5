"""``flowtui threat update`` against a local HTTP server, and ``flowtui threat list``."""

from __future__ import annotations

import argparse
import email.utils
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from flowtui.cli import threat as threat_cli
from flowtui.errors import UsageError

DROP = b"; Spamhaus DROP List\n198.51.100.0/25 ; SBL000101\n203.0.113.128/26 ; SBL000102\n45.140.0.0/22 ; SBL000103\n"
DROP_MODIFIED = "Sun, 01 Nov 2026 10:00:00 GMT"
OLD_COPY = b"192.0.2.66\n192.0.2.77\n"  # what each failing list had before the update
GARBAGE = b"<html><body><h1>Rate limited</h1></body></html>\n"
BIG = b"203.0.113.1\n" * 400  # 4,800 bytes, over the 1,024-byte limit below


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[dict[str, dict[str, str]]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, length: bool = True) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout case): that is the point

    def do_GET(self) -> None:
        _Handler.seen[self.path] = dict(self.headers)
        if self.path == "/drop.txt":
            since = self.headers.get("If-Modified-Since")
            if since and email.utils.parsedate_to_datetime(since) >= email.utils.parsedate_to_datetime(DROP_MODIFIED):
                self.send_response(304)
                self.end_headers()
                return
            self._send(200, DROP, {"Last-Modified": DROP_MODIFIED, "Content-Type": "text/plain"})
        elif self.path == "/slow.txt":
            time.sleep(2)
            try:
                self._send(200, b"192.0.2.1\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/big.txt":
            self._send(200, BIG)
        elif self.path == "/big-unannounced.txt":
            self.close_connection = True
            self._send(200, BIG, length=False)
        elif self.path == "/garbage.txt":
            self._send(200, GARBAGE, {"Content-Type": "text/html"})
        else:
            self._send(500, b"oops")


@pytest.fixture
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    _Handler.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="flowtui")
    sub = parser.add_subparsers(dest="command")
    threat_cli.register(sub, parser)
    args = parser.parse_args(list(argv))
    return args.run(args)


def _write_config(tmp_path: Path, url: str, lists: list[tuple[str, str]]) -> Path:
    body = '[threat]\ncache_dir = "cache"\nmax_size = 1024\ntimeout = 0.5\n'
    for list_id, path in lists:
        body += f'\n[[threat.lists]]\nid = "{list_id}"\nurl = "{url}{path}"\n'
    config = tmp_path / "flowtui.toml"
    config.write_text(body, encoding="utf-8")
    return config


def test_update_fetches_then_asks_if_modified_since(
    tmp_path: Path, http_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write_config(tmp_path, http_server, [("spamhaus", "/drop.txt")])
    cached = tmp_path / "cache" / "spamhaus.txt"

    assert _run("threat", "update", "--config", str(config)) == 0
    assert capsys.readouterr().out == f"spamhaus: updated, 3 entries ({len(DROP)} bytes)\n"
    assert cached.read_bytes() == DROP
    assert cached.stat().st_mtime == email.utils.parsedate_to_datetime(DROP_MODIFIED).timestamp()
    assert "If-Modified-Since" not in _Handler.seen["/drop.txt"]
    assert [p.name for p in cached.parent.iterdir()] == ["spamhaus.txt"]  # no temporary file left behind

    assert _run("threat", "update", "--config", str(config)) == 0
    assert capsys.readouterr().out == "spamhaus: not modified (3 entries)\n"
    assert _Handler.seen["/drop.txt"]["If-Modified-Since"] == DROP_MODIFIED
    assert cached.read_bytes() == DROP


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/slow.txt", "timed out after 0.5 s"),
        ("/big.txt", f"{len(BIG)} bytes is over the 1024-byte limit"),
        ("/big-unannounced.txt", "the body is over the 1024-byte limit"),
        ("/garbage.txt", f"the {len(GARBAGE)} bytes received hold no addresses (garbage, not plain)"),
        ("/missing.txt", "HTTP 500 Internal Server Error"),
    ],
)
def test_failed_update_keeps_the_old_copy(
    tmp_path: Path, http_server: str, capsys: pytest.CaptureFixture[str], path: str, reason: str
) -> None:
    config = _write_config(tmp_path, http_server, [("feed", path)])
    cached = tmp_path / "cache" / "feed.txt"
    cached.parent.mkdir()
    cached.write_bytes(OLD_COPY)
    os.utime(cached, (1_700_000_000, 1_700_000_000))

    assert _run("threat", "update", "--config", str(config)) == 1
    assert capsys.readouterr().out == f"feed: FAILED: {reason}; kept the old copy (2 entries)\n"
    assert cached.read_bytes() == OLD_COPY
    assert cached.stat().st_mtime == 1_700_000_000
    assert [p.name for p in cached.parent.iterdir()] == ["feed.txt"]


def test_one_line_per_list_and_failure_without_a_copy(
    tmp_path: Path, http_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write_config(tmp_path, http_server, [("spamhaus", "/drop.txt"), ("junk", "/garbage.txt")])
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[[threat.lists]]\nid = "mine"\npath = "{tmp_path / "mine.txt"}"\n')
    (tmp_path / "mine.txt").write_text("203.0.113.9\n", encoding="utf-8")  # a missing local list stops every command
    assert _run("threat", "update", "--config", str(config)) == 1
    assert capsys.readouterr().out == (
        f"spamhaus: updated, 3 entries ({len(DROP)} bytes)\n"
        f"junk: FAILED: the {len(GARBAGE)} bytes received hold no addresses (garbage, not plain); no copy in the cache yet\n"
        f"mine: local file {tmp_path / 'mine.txt'}, nothing to fetch\n"
    )
    assert not (tmp_path / "cache" / "junk.txt").exists()
    # only the lists named on the command line
    assert _run("threat", "update", "--config", str(config), "spamhaus") == 0
    assert capsys.readouterr().out == "spamhaus: not modified (3 entries)\n"
    with pytest.raises(UsageError, match="no threat list with the id nope"):
        _run("threat", "update", "--config", str(config), "nope")


def test_list_shows_id_format_entries_age_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "spamhaus.txt").write_bytes(DROP)
    (cache / "tor.txt").write_text(
        "ExitNode AB\nExitAddress 192.0.2.66 2026-11-01 10:05:11\nExitAddress 2001:db8:70::77 2026-11-01 10:05:11\n",
        encoding="utf-8",
    )
    now = time.time()
    os.utime(cache / "spamhaus.txt", (now, now - 3 * 3600 - 60))
    os.utime(cache / "tor.txt", (now, now - 3 * 86400 - 60))
    mine = tmp_path / "mine.netset"
    mine.write_text("# ipv4 hash:net ipset\n198.51.100.0/24\n203.0.113.9\n", encoding="utf-8")
    os.utime(mine, (now, now - 600))
    config = tmp_path / "flowtui.toml"
    config.write_text(
        '[threat]\ncache_dir = "cache"\n'
        '[[threat.lists]]\nid = "spamhaus"\nurl = "https://www.spamhaus.org/drop/drop.txt"\n'
        '[[threat.lists]]\nid = "tor"\nurl = "https://check.torproject.org/exit-addresses"\n'
        '[[threat.lists]]\nid = "feodo"\nurl = "https://feodotracker.abuse.ch/downloads/ipblocklist.txt"\n'
        '[[threat.lists]]\nid = "mine"\npath = "mine.netset"\n',
        encoding="utf-8",
    )
    assert _run("threat", "list", "--config", str(config)) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ID        FORMAT              ENTRIES  AGE  PATH",
        f"spamhaus  spamhaus                  3   3h  {cache / 'spamhaus.txt'}",
        f"tor       tor-exit-addresses        2   3d  {cache / 'tor.txt'}",
        f"feodo     auto                      0    -  {cache / 'feodo.txt'}  (not downloaded yet: run 'flowtui threat update')",
        f"mine      netset                    2  10m  {mine}",
    ]


def test_no_lists_and_no_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "flowtui.toml"
    config.write_text("", encoding="utf-8")
    assert _run("threat", "list", "--config", str(config)) == 0
    assert capsys.readouterr().err == f"no threat lists configured: add [[threat.lists]] tables to {config}\n"
    with pytest.raises(UsageError, match="threat needs an action"):
        _run("threat")


def test_a_list_of_one_entry_is_singular(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """'updated, 1 entry (12 bytes)', was '1 entries'; a file: URL is fetched as any other."""
    source = tmp_path / "one.txt"
    source.write_text("203.0.113.9\n", encoding="utf-8")
    config = tmp_path / "flowtui.toml"
    config.write_text(f'[threat]\ncache_dir = "cache"\n[[threat.lists]]\nid = "one"\nurl = "{source.as_uri()}"\n')
    assert _run("threat", "update", "--config", str(config)) == 0
    assert capsys.readouterr().out == "one: updated, 1 entry (12 bytes)\n"
