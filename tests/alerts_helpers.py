"""Flows with known values for the alert tests, and the small servers notifiers talk to."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from flowtui.alerts.rules import Rule, parse_rule
from flowtui.store import Batch, Part, Store, WriteResult
from tests.conftest import V2_PRESENT, make_record

T0 = 1_795_773_600  # 2026-11-27T10:00:00Z, a whole minute


def flow(
    src: str = "203.0.113.9",
    dst: str = "10.0.1.10",
    dport: int = 22,
    start: int = T0,
    action: str = "REJECT",
    nbytes: int = 100,
    packets: int = 2,
    sport: int = 40000,
) -> tuple[Any, ...]:
    return make_record(
        version=2, account_id="123456789012", interface_id="eni-1", src_addr=src, dst_addr=dst,
        src_port=sport, dst_port=dport, protocol_number=6, packets=packets, bytes=nbytes,
        start=start, end=start + 10, action=action, log_status="OK",
    )


def write(store: Store, records: Sequence[tuple[Any, ...]], enrich: Any = None) -> WriteResult:
    return store.write(Batch([Part(list(records), V2_PRESENT)]), enrich)


def rule(**table: Any) -> Rule:
    table.setdefault("name", "r")
    return parse_rule(table)


# Enrichment by address, for rules on entity types, internal/external and threat lists.
def profile(internal: bool, aws_type: str | None = None, threat_by: str | None = None) -> tuple[Any, ...]:
    entity = f"{aws_type.lower()}:x" if aws_type else None
    return (internal, entity, None, aws_type, None, None, None, None, None, threat_by is not None, threat_by)


PROFILES: dict[str, tuple[Any, ...]] = {
    "10.0.1.10": profile(True, "EC2"),
    "10.0.1.11": profile(True, "EC2"),
    "10.0.2.20": profile(True, "RDS"),
    "10.0.3.30": profile(True, "ELB"),
    "84.17.32.5": profile(False),
    "203.0.113.9": profile(False),
    "198.51.100.23": profile(False, threat_by="tor"),
}


def enrich(ip: str, start: int) -> tuple[Any, ...]:
    return PROFILES.get(ip, profile(ip.startswith("10.")))


# --- HTTP -----------------------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        srv = self.server
        with srv.lock:
            srv.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            delay = srv.delays.pop(0) if srv.delays else srv.delay
            status = srv.statuses.pop(0) if srv.statuses else 200
        if delay:
            time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        try:
            self.wfile.write(b"ok")
        except OSError:
            pass  # the client gave up waiting

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.delay = 0.0  # seconds every answer waits
        self.delays: list[float] = []  # per request, first
        self.statuses: list[int] = []  # per request, first; then 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def bodies(self) -> list[Any]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def wait_for(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.01)
        with self.lock:
            raise AssertionError(f"{len(self.requests)} requests, expected {n}")


@contextmanager
def http_server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
