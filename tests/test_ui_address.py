"""The address page: who the address is, its peers, ports, rate and flows; flows from/to; copy."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Sparkline, Static

from flowtui.ui.screens.address import AddressScreen
from flowtui.ui.screens.results import ResultsScreen
from tests.ui_data import IPV6_WEB, MARKUP_NAME, flow, make_app, refreshed, table_rows, until, write_flows


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


def plain(widget: Static, width: int = 100) -> str:
    """What a Static shows, as text."""
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(widget.content)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())  # type: ignore[attr-defined]


async def open_address(pilot: Any, pane: str, row: int, column: str) -> AddressScreen:
    app = pilot.app
    table = app.dashboard.pane(pane).table
    table.focus()
    table.move_cursor(row=row, column=list(table.columns).index(column))  # by name: a 'who' column may come between
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen.info is not None)
    return app.screen


async def test_address_page_contents(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 45)) as pilot:
        await refreshed(pilot)
        screen = await open_address(pilot, "threat-matches", 0, "dst_addr")  # 198.51.100.7 → [10.0.1.11]
        assert screen.address == "10.0.1.11"
        assert plain(screen.query_one("#address-title", Static)) == f"10.0.1.11  EC2  {MARKUP_NAME}  internal"
        assert plain(screen.query_one("#address-facts", Static)).splitlines() == [
            "entity    ec2:i-0web2    country       -",
            f"name      {MARKUP_NAME}  city          -",
            "type      EC2            ASN           -",
            "internal  yes            threat lists  none",
        ]
        assert table_rows(screen.query_one("#address-peers")) == [
            ["→", "192.0.2.66", "40.0 kB", "1"],
            ["←", "198.51.100.7", "600 B", "5"],
            ["←", "203.0.113.5", "60 B", "1"],
        ]
        assert table_rows(screen.query_one("#address-ports")) == [
            ["←", "22", "TCP", "5", "600 B"],
            ["→", "9001", "TCP", "1", "40.0 kB"],
            ["←", "3389", "TCP", "1", "60 B"],
        ]
        flows = table_rows(screen.query_one("#address-flows"))
        assert len(flows) == 7
        assert flows[0] == ["09:59:30", "eni-0a1b2c3d", "198.51.100.7", "61000", "10.0.1.11", "22", "TCP", "REJECT", "2", "120 B"]
        assert flows[-1] == ["09:55:00", "eni-0a1b2c3d", "203.0.113.5", "50100", "10.0.1.11", "3389", "TCP", "REJECT", "1", "60 B"]
        assert sum(screen.query_one(Sparkline).data) == 40_000 + 600 + 60


async def test_an_external_threat_address(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 45)) as pilot:
        await refreshed(pilot)
        screen = await open_address(pilot, "rejects", 0, "src_addr")  # [198.51.100.7] → 22
        assert plain(screen.query_one("#address-title", Static)) == "198.51.100.7  external   THREAT"
        assert plain(screen.query_one("#address-facts", Static)).splitlines() == [
            "entity    -   country       NL",
            "name      -   city          Amsterdam",
            "type      -   ASN           AS64501 Bad Hosting",
            "internal  no  threat lists  spamhaus",
        ]


async def test_flows_from_flows_to_and_copy(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 45)) as pilot:
        await refreshed(pilot)
        await open_address(pilot, "top-talkers", 0, "dst_addr")  # 203.0.113.5 → [10.0.1.10]
        await pilot.press("c")
        assert app.clipboard == "10.0.1.10"
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        assert app.screen.query_text == 'src_addr:"10.0.1.10"'
        assert app.screen.page.total == 2
        await pilot.press("escape")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        assert app.screen.query_text == 'dst_addr:"10.0.1.10"'
        assert app.screen.page.total == 3


async def test_enter_on_a_peer_opens_the_peer(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 45)) as pilot:
        await refreshed(pilot)
        screen = await open_address(pilot, "top-talkers", 0, "dst_addr")
        peers = screen.query_one("#address-peers")
        peers.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen is not screen and app.screen.info is not None)
        assert app.screen.address == "203.0.113.5"
        assert len(app.screen_stack) == 3  # the dashboard, two address pages


async def test_enter_on_a_non_address_cell_narrows_the_pane(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 45)) as pilot:
        await refreshed(pilot)
        table = app.dashboard.pane("rejects").table
        table.focus()
        table.move_cursor(row=0, column=list(table.columns).index("dst_port"))  # 22
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        assert app.screen.query_text == '(action:REJECT) AND src_addr:"198.51.100.7" AND dst_port:"22"'
        assert app.screen.page.total == 5


@pytest.mark.parametrize(
    ("width", "columns"),
    [
        (140, ["timestamp", "interface_id", "src_addr", "src_port", "dst_addr", "dst_port", "protocol", "action", "packets", "bytes"]),
        # Narrow, the interface stays: without it the two rows read the same; others give way.
        (80, ["timestamp", "interface_id", "src_addr", "dst_addr", "dst_port", "action", "bytes"]),
    ],
)
async def test_a_flow_logged_at_both_interfaces_says_which(tmp_path: Path, width: int, columns: list[str]) -> None:
    """Between two instances, one conversation is two records (one per ENI): the interface tells them apart."""
    db = write_flows(tmp_path / "flows.db", [
        flow("10.0.1.10", 40000, "10.0.2.20", 5432, 6, "ACCEPT", 250_000, 300, 90, iface="eni-0web1"),
        flow("10.0.1.10", 40000, "10.0.2.20", 5432, 6, "ACCEPT", 250_000, 300, 90, iface="eni-0rds1"),
    ])
    app = make_app(db)
    async with app.run_test(size=(width, 45)) as pilot:
        app.open_address("10.0.2.20")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen.info is not None)
        table = app.screen.query_one("#address-flows")
        assert [c.value for c in table.columns] == columns
        rows = table_rows(table)
        assert sorted(r[1] for r in rows) == ["eni-0rds1", "eni-0web1"]  # the same time: either first
        assert [r[columns.index("src_addr")] for r in rows] == ["10.0.1.10", "10.0.1.10"]


@pytest.mark.parametrize(
    ("extra", "columns", "interfaces"),
    [
        # Long ids: the interface gives way to the room left (at least the cells that tell them apart), under a short header.
        ([], ["timestamp", "eni", "src_addr", "dst_addr", "dst_port", "action", "bytes"], ["eni-07c3e5…", "eni-0a3c5e…"]),
        # An IPv6 address's short form leaves no room even so: the interface goes without its
        # 'eni-' (it went whole, and the two rows read the same), the bytes stay whole.
        (
            [flow("10.0.1.10", 50000, IPV6_WEB, 443, 6, "ACCEPT", 100, 1, 200)],
            ["timestamp", "eni", "src_addr", "dst_addr", "dst_port", "action", "bytes"],
            ["07c…", "0a3…"],  # (the third row's eni-0a1b2c3d needs a cell more)
        ),
    ],
)
async def test_the_bytes_stay_whole_beside_a_kept_interface_at_80_columns(
    tmp_path: Path, extra: list[Any], columns: list[str], interfaces: list[str]
) -> None:
    """Kept to tell two records of one conversation apart, interface_id pushed the bytes past the
    box's edge at 80 columns: 'ACCEPT   7' for 7.2 kB."""
    db = write_flows(tmp_path / "flows.db", [
        flow("10.0.1.10", 40000, "198.51.100.7", 22, 6, "ACCEPT", 7_200, 10, 90, iface="eni-0a3c5e7b9d1f2a4c6"),
        flow("10.0.1.10", 40000, "198.51.100.7", 22, 6, "ACCEPT", 7_200, 10, 90, iface="eni-07c3e5a9b1d2f4a6c"),
        *extra,
    ])
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_address("10.0.1.10")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen.info is not None)
        table = app.screen.query_one("#address-flows")
        assert [str(c.label) for c in table.columns.values()] == columns
        rows = table_rows(table)
        assert [r[-1] for r in rows][:2] == ["7.2 kB", "7.2 kB"]  # the newest, at both interfaces
        assert sorted(r[1] for r in rows[:2]) == interfaces
        assert len({tuple(r) for r in rows}) == len(rows)  # no two rows read the same
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= table.size.width


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_the_address_stays_on_screen_while_the_page_scrolls(db: Path, size: tuple[int, int]) -> None:
    """At 80×24 the page opened scrolled down to the flows that take the focus: its first line
    read '│ entity – country RU' and nothing said which address it was."""
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        app.open_address("10.0.1.11")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen.info is not None)
        screen = app.screen
        title = f"10.0.1.11  EC2  {MARKUP_NAME}  internal"
        shown = []
        for keys in ((), ("j", "j", "j"), ("tab",), ("tab", "tab"), ("end",)):
            await pilot.press(*keys)
            await pilot.pause()
            shown.append((plain(screen.query_one("#address-title", Static)).strip(), screen.query_one("#address-title").region.y))
        assert shown == [(title, 0)] * 5
