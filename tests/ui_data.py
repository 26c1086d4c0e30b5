"""A store with known flows for the UI tests, at fixed times around a frozen NOW.

Every pane of the default dashboard has an exact expected content here:
top talkers by bytes, rejects by (src_addr, dst_port), external → EC2 and
threat matches. One instance's Name tag is ``[bold red]x[/`` with an escape
sequence in another's, to prove data is always shown as text.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from flowtui import catalog
from flowtui.store import Batch, Part, Store
from tests.conftest import V2_PRESENT, make_record

NOW = 1_795_773_600  # 2026-11-27T10:00:00Z: the tests' frozen clock
ACCOUNT = "123456789012"
ORIGIN = ("/aws/vpc/flows", "eni-web-all", "flowstream", ACCOUNT)
MARKUP_NAME = "[bold red]x[/"
ESCAPE_NAME = "evil\x1b[31mred"


def _p(
    internal: bool,
    entity: str | None = None,
    name: str | None = None,
    kind: str | None = None,
    country: str | None = None,
    city: str | None = None,
    asn: int | None = None,
    org: str | None = None,
    threat_by: str | None = None,
) -> tuple[Any, ...]:
    geo = "40.71,-74.00" if country else None
    return (internal, entity, name, kind, geo, country, city, asn, org, threat_by is not None, threat_by)


PROFILES: dict[str, tuple[Any, ...]] = {
    "10.0.1.10": _p(True, "ec2:i-0web1", "web-1", "EC2"),
    "10.0.1.11": _p(True, "ec2:i-0web2", MARKUP_NAME, "EC2"),
    "10.0.1.12": _p(True, "ec2:i-0esc", ESCAPE_NAME, "EC2"),
    "10.0.2.20": _p(True, "rds:orders", "orders db", "RDS"),
    "203.0.113.5": _p(False, None, None, None, "US", "New York", 64500, "Example Net"),
    "198.51.100.7": _p(False, None, None, None, "NL", "Amsterdam", 64501, "Bad Hosting", "spamhaus"),
    "192.0.2.66": _p(False, None, None, None, "DE", "Berlin", 64502, "Relay GmbH", "tor"),
    "8.8.8.8": _p(False, None, None, None, "US", None, 15169, "GOOGLE"),
}
IPV6_TOR = "2001:db8:70::77"
IPV6_WEB = "2a05:d018:1c4:3a00:a7d2:3e61:c05b:9023"
PROFILES[IPV6_TOR] = _p(False, None, None, None, "NL", None, 64503, "Onion Relay", "tor")
PROFILES[IPV6_WEB] = _p(True, "ec2:i-0web3", "web-3", "EC2")


def enrich(ip: str, ts: int) -> tuple[Any, ...]:
    return PROFILES[ip]


def flow(src: str, sport: int, dst: str, dport: int, proto: int, action: str, nbytes: int, packets: int, ago: int,
         iface: str = "eni-0a1b2c3d", now: int = NOW) -> tuple[Any, ...]:
    start = now - ago
    return make_record(
        version=2, account_id=ACCOUNT, interface_id=iface, src_addr=src, dst_addr=dst, src_port=sport,
        dst_port=dport, protocol_number=proto, packets=packets, bytes=nbytes, start=start, end=start + 60,
        action=action, log_status="OK",
    )


# (src, sport, dst, dport, proto, action, bytes, packets, seconds before NOW)
FLOWS: list[tuple[Any, ...]] = [
    flow("203.0.113.5", 50000, "10.0.1.10", 443, 6, "ACCEPT", 1_500_000, 1000, 60),
    flow("203.0.113.5", 50001, "10.0.1.10", 443, 6, "ACCEPT", 1_500_000, 1000, 120),
    flow("203.0.113.5", 50002, "10.0.1.10", 443, 6, "ACCEPT", 1_000_000, 800, 180),
    flow("10.0.1.10", 40000, "10.0.2.20", 5432, 6, "ACCEPT", 250_000, 300, 90),
    flow("10.0.1.10", 40001, "10.0.2.20", 5432, 6, "ACCEPT", 250_000, 300, 150),
    *[flow("198.51.100.7", 61000 + i, "10.0.1.11", 22, 6, "REJECT", 120, 2, 30 + 60 * i) for i in range(5)],
    flow("10.0.1.11", 45000, "192.0.2.66", 9001, 6, "ACCEPT", 40_000, 50, 240),
    flow("203.0.113.5", 50100, "10.0.1.11", 3389, 6, "REJECT", 60, 1, 300),
    flow("10.0.1.12", 53000, "8.8.8.8", 53, 17, "ACCEPT", 300, 2, 400),
    # An hour ago: outside the default 15-minute window.
    flow("10.0.1.10", 53001, "8.8.8.8", 53, 17, "ACCEPT", 999, 3, 3600),
]


def flows_at(now: int) -> list[tuple[Any, ...]]:
    """FLOWS as if NOW were ``now`` (for the real command, which reads the real clock)."""
    i_start = catalog.RECORD_INDEX["start"]
    i_end = catalog.RECORD_INDEX["end"]
    out = []
    for record in FLOWS:
        r = list(record)
        r[i_start] += now - NOW
        r[i_end] += now - NOW
        out.append(tuple(r))
    return out


def pair_flows(n: int) -> list[tuple[Any, ...]]:
    """``n`` flows, each between another pair of the known addresses (up to 56), bytes falling
    from 10_000 by 10 each: a top-talkers pane with one group per flow, in this order."""
    ips = list(PROFILES)[:8]
    pairs = [(a, b) for a in ips for b in ips if a != b][:n]
    return [flow(a, 40000 + i, b, 443, 6, "ACCEPT", 10_000 - 10 * i, 10, 120) for i, (a, b) in enumerate(pairs)]


def write_flows(path: Path, flows: list[tuple[Any, ...]] | None = None) -> Path:
    with Store(path) as store:
        store.write(Batch(parts=[Part(list(FLOWS if flows is None else flows), V2_PRESENT, ORIGIN)]), enrich)
    return path


def add_flows(path: Path, flows: list[tuple[Any, ...]]) -> None:
    """More flows from "another process" (its own connection), as ingestion would."""
    write_flows(path, flows)


def fixed_clock() -> float:
    return float(NOW)


def use_utc() -> None:
    """TZ=UTC for the tests (times on screen are UTC whatever TZ says: test_ui_timezone runs under Asia/Tokyo)."""
    os.environ["TZ"] = "UTC"
    time.tzset()


def ui_config(**ui: Any) -> Any:
    """A Config with a slow refresh (tests refresh on demand) and the given [ui] keys."""
    from flowtui.config import Config

    return Config({"ui": {"refresh": 60, **ui}})


def make_app(path: Path, **ui: Any) -> Any:
    from flowtui.ui.app import FlowtuiApp

    use_utc()
    return FlowtuiApp(path, ui_config(**ui), now=fixed_clock)


async def until(pilot: Any, condition: Any, timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds (workers are threads: poll, briefly)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.02)
    await pilot.pause()


async def refreshed(pilot: Any, count: int = 1) -> None:
    """Until the app has applied ``count`` pane refreshes."""
    await until(pilot, lambda: pilot.app.refresh_count >= count)


def table_rows(table: Any) -> list[list[str]]:
    """A DataTable's rows as the text each cell shows, top to bottom."""
    out = []
    for i in range(table.row_count):
        out.append([c.plain if hasattr(c, "plain") else str(c) for c in table.get_row_at(i)])
    return out


async def enter_query(pilot: Any, query: str) -> None:
    """'/', the query put in the bar whole (typing is what test_ui_query_bar tests), Enter."""
    from flowtui.ui.widgets.query_bar import QueryBar

    await pilot.press("slash")
    bar = pilot.app.screen.query_one(QueryBar)
    bar.input.value = query
    bar.input.cursor_position = len(query)
    await pilot.press("enter")
