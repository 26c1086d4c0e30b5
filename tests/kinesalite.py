"""kinesalite (npm) for the tests: a second, independent Kinesis on 127.0.0.1, with real resharding.

Install it once in the repository root (node_modules/ is git-ignored)::

    npm install --no-save kinesalite

or point ``FLOWTUI_KINESALITE_DIR`` at a directory whose ``node_modules``
holds it. Without node or kinesalite the tests that use the fixture skip and
say why. One server runs per test process; each test gets fake credentials.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aws_server import fake_aws_env

REPO = Path(__file__).resolve().parents[1]
# Streams become ACTIVE at once, and reshards complete at once.
_SCRIPT = (
    "require('kinesalite')({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100})"
    ".listen(Number(process.argv[1]), '127.0.0.1', function (err) {"
    " if (err) { console.error(err); process.exit(1) } console.log('listening') })"
)

_lock = threading.Lock()
_url: str | None = None


def kinesalite_dir() -> Path | None:
    """The directory whose node_modules holds kinesalite, if any."""
    candidates = [os.environ.get("FLOWTUI_KINESALITE_DIR"), str(REPO)]
    for c in candidates:
        if c and (Path(c) / "node_modules" / "kinesalite" / "package.json").is_file():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_kinesalite() -> str:
    """The endpoint of this process's kinesalite, started on first use (skips the test if it cannot run)."""
    global _url
    with _lock:
        if _url is not None:
            return _url
        node = shutil.which("node")
        if node is None:
            pytest.skip("node is not installed (kinesalite needs it)")
        where = kinesalite_dir()
        if where is None:
            pytest.skip("kinesalite is not installed: run `npm install --no-save kinesalite` in the repository root")
        port = _free_port()
        proc = subprocess.Popen(
            [node, "-e", _SCRIPT, str(port)],
            cwd=where,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        atexit.register(_stop, proc)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"kinesalite exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            _stop(proc)
            raise RuntimeError("kinesalite did not start listening within 15 s")
        _url = f"http://127.0.0.1:{port}"
        return _url


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def kinesalite(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The endpoint URL of kinesalite, with fake credentials in the environment. Streams persist: name them uniquely."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in fake_aws_env().items():
        monkeypatch.setenv(key, value)
    yield start_kinesalite()
