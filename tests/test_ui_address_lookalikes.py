"""A list of flows never shows two rows alike when their records differ: one conversation between
two of the account's interfaces is a record at each ENI, and at 80 columns the address page
dropped interface_id and listed it as the same row twice (the demo's 10.0.10.37 ⇄ 23.54.234.239)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowtui.store import Batch, Part, Store
from flowtui.ui.columns import FLOW_FIELDS
from flowtui.ui.flow_list import plan_flow_list
from flowtui.ui.screens.address import AddressScreen
from flowtui.ui.screens.results import ResultsScreen
from tests.conftest import V2_PRESENT
from tests.ui_data import ORIGIN, PROFILES, _p, enter_query, flow, make_app, refreshed, table_rows, until

ENI_A = "eni-0d1f3b5a7c9e2d4f6"
ENI_B = "eni-08e4a2c6f0b8d3e17"
OUTSIDE = "195.201.182.126"  # 15 cells: an IPv4 address is never cut


def write_any(path: Path, flows: list[tuple[Any, ...]]) -> Path:
    """Like ui_data.write_flows, for addresses it has no profile of (outside, unnamed)."""
    with Store(path) as store:
        store.write(Batch(parts=[Part(flows, V2_PRESENT, ORIGIN)]), lambda ip, ts: PROFILES.get(ip, _p(False)))
    return path


def both_enis(src: str, dst: str, dport: int, action: str = "ACCEPT", ago: int = 30, sport: int = 37237) -> list[Any]:
    """One conversation as AWS logs it at two interfaces: two records alike but for the ENI."""
    return [flow(src, sport, dst, dport, 6, action, 70_600, 53, ago, iface=eni) for eni in (ENI_A, ENI_B)]


def texts(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[str(row.get(name, "")) for name in FLOW_FIELDS] for row in rows]


def row(iface: str, src: str, sport: str, dst: str, dport: str, action: str = "ACCEPT", packets: str = "53") -> dict[str, Any]:
    return {"timestamp": "17:50:55", "interface_id": iface, "src_addr": src, "src_port": sport, "dst_addr": dst,
            "dst_port": dport, "protocol": "TCP", "action": action, "packets": packets, "bytes": "70.6 kB"}


@pytest.mark.parametrize(
    ("rows", "headers", "cells"),
    [
        # Room for the interface's fewest telling cells: as before.
        (
            [row(ENI_A, "23.54.234.239", "443", "10.0.10.37", "37237"), row(ENI_B, "23.54.234.239", "443", "10.0.10.37", "37237")],
            ["timestamp", "eni", "src_addr", "dst_addr", "dst_port", "action", "bytes"],
            ["eni-0d1…", "eni-08e…"],
        ),
        # Both addresses 15 cells: the interface without its 'eni-', then 'time' and 'port' (headers
        # wider than their values); the action and the bytes stay whole.
        (
            [row(ENI_A, OUTSIDE, "443", "192.168.100.200", "37237"), row(ENI_B, OUTSIDE, "443", "192.168.100.200", "37237")],
            ["time", "eni", "src_addr", "dst_addr", "port", "action", "bytes"],
            ["0d1f…", "08e4…"],
        ),
        # Told apart by the source port alone (the same ENI, the same second): it comes back.
        (
            [row(ENI_A, "10.0.0.45", "50001", "10.0.1.22", "80"), row(ENI_A, "10.0.0.45", "50002", "10.0.1.22", "80")],
            ["timestamp", "src_addr", "src_port", "dst_addr", "dst_port", "action", "bytes"],
            ["50001", "50002"],
        ),
    ],
)
def test_the_column_that_tells_rows_apart_is_kept(rows: list[dict[str, Any]], headers: list[str], cells: list[str]) -> None:
    plan = plan_flow_list(FLOW_FIELDS, texts(rows), 75)  # 80 columns, less the box and scrollbars
    assert [plan.headers[name] for name in plan.shown] == headers
    told = plan.shown[headers.index("eni")] if "eni" in headers else "src_port"
    assert [plan.text(told, r[told]) for r in rows] == cells
    assert sum(plan.caps[name] + 2 for name in plan.shown) <= 75  # nothing past the edge: numbers whole
    shown = {tuple(plan.text(name, str(r[name])) for name in plan.shown) for r in rows}
    assert len(shown) == 2


def test_rows_that_are_the_same_record_twice_change_nothing() -> None:
    same = [row(ENI_A, OUTSIDE, "443", "10.0.0.45", "37237")] * 2
    plan = plan_flow_list(FLOW_FIELDS, texts(same), 75)
    assert "interface_id" not in plan.shown
    assert plan.shown == plan_flow_list(FLOW_FIELDS, texts(same[:1]), 75).shown


async def test_the_demos_conversation_at_two_enis_reads_as_two_rows_at_80_columns(tmp_path: Path) -> None:
    """As the demo showed it: the interface dropped, two rows read the same. Now 'eni' shows the
    fewest cells that tell them apart; with no room even for that, the action goes and a reject
    says so in the reject colour across its row."""
    db = write_any(tmp_path / "flows.db", [
        *both_enis(OUTSIDE, "10.0.10.37", 443),
        *both_enis("10.0.10.37", "192.168.100.200", 5432, action="REJECT", ago=40, sport=40001),
    ])
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_address("10.0.10.37")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen.info is not None)
        table = app.screen.query_one("#address-flows")
        rows = table_rows(table)
        assert [str(c.label) for c in table.columns.values()] == ["time", "eni", "src_addr", "dst_addr", "port", "action", "bytes"]
        assert sorted(rows) == [
            ["09:59:20", "08e4a…", "10.0.10.37", "192.168.100.200", "5432", "REJECT", "70.6 kB"],
            ["09:59:20", "0d1f3…", "10.0.10.37", "192.168.100.200", "5432", "REJECT", "70.6 kB"],
            ["09:59:30", "08e4a…", OUTSIDE, "10.0.10.37", "443", "ACCEPT", "70.6 kB"],
            ["09:59:30", "0d1f3…", OUTSIDE, "10.0.10.37", "443", "ACCEPT", "70.6 kB"],
        ]
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= table.size.width
        # Narrower still: the action goes, and a reject's cells take the reject colour.
        await pilot.resize_terminal(72, 24)
        await pilot.pause()
        await until(pilot, lambda: "action" not in table.columns)
        assert [str(c.label) for c in table.columns.values()] == ["time", "eni", "src_addr", "dst_addr", "port", "bytes"]
        assert len({tuple(r) for r in table_rows(table)}) == 4
        reject = app.theme_variables["reject"]
        styles = {r[0]: {str(cell.style) for cell in table.get_row_at(i)} for i, r in enumerate(table_rows(table))}
        assert styles["09:59:20"] == {f"bold {reject}"}
        assert f"bold {reject}" not in styles["09:59:30"]


async def test_the_results_view_tells_the_two_records_apart_too(tmp_path: Path) -> None:
    """The query bar's results at 80 columns dropped interface_id as the address page did: a
    conversation between two interfaces listed as the same row twice. The same rule now holds
    there, the sort arrow and the query's own fields kept; at 200 columns nothing changes."""
    db = write_any(tmp_path / "flows.db", [*both_enis(OUTSIDE, "10.0.10.37", 443), *both_enis("10.0.10.37", OUTSIDE, 37237, ago=40, sport=443)])
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        await enter_query(pilot, "dst_port:443 OR dst_port:37237")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None and not app.screen._loading)
        table = app.screen.table
        assert [str(c.label).strip() for c in table.columns.values()] == [
            "time ▼", "eni", "src_addr", "dst_addr", "dst_port", "action", "bytes",  # the query's dst_port keeps its name
        ]
        assert table_rows(table) == [
            ["09:59:30", "08e4…", OUTSIDE, "10.0.10.37", "443", "ACCEPT", "70.6 kB"],
            ["09:59:30", "0d1f…", OUTSIDE, "10.0.10.37", "443", "ACCEPT", "70.6 kB"],
            ["09:59:20", "08e4…", "10.0.10.37", OUTSIDE, "37237", "ACCEPT", "70.6 kB"],
            ["09:59:20", "0d1f…", "10.0.10.37", OUTSIDE, "37237", "ACCEPT", "70.6 kB"],
        ]
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= table.size.width
        await pilot.resize_terminal(200, 40)
        await until(pilot, lambda: "src_port" in table.columns)
        assert list(table.columns) == list(FLOW_FIELDS)
        assert [r[1] for r in table_rows(table)] == [ENI_B, ENI_A, ENI_B, ENI_A]


async def test_the_action_gives_way_to_the_interface_unless_the_query_names_it(tmp_path: Path) -> None:
    db = write_any(tmp_path / "flows.db", both_enis(OUTSIDE, "10.0.10.37", 443, action="REJECT"))
    app = make_app(db)
    async with app.run_test(size=(68, 24)) as pilot:
        await refreshed(pilot)
        shown, styles = [], []
        for query in ("dst_addr:10.0.10.37", "action:REJECT"):
            await enter_query(pilot, query)
            await until(pilot, lambda q=query: isinstance(app.screen, ResultsScreen) and app.screen.page is not None and app.screen.page.query == q and not app.screen._loading)
            table = app.screen.table
            shown.append(([str(c.label).strip() for c in table.columns.values()], table_rows(table)))
            styles.append({str(cell.style) for cell in table.get_row_at(0)})
            await pilot.press("escape")
        assert shown == [
            (["timestamp ▼", "eni", "src_addr", "dst_addr", "dst_port", "bytes"], [
                ["09:59:30", "08…", OUTSIDE, "10.0.10.37", "443", "70.6 kB"],
                ["09:59:30", "0d…", OUTSIDE, "10.0.10.37", "443", "70.6 kB"],
            ]),
            # The query is about the action: it stays, and with no room left for the interface the
            # two rows read alike (numbers and IPv4 addresses are never cut to make room).
            (["timestamp ▼", "src_addr", "dst_addr", "dst_port", "action", "bytes"], [
                ["09:59:30", OUTSIDE, "10.0.10.37", "443", "REJECT", "70.6 kB"],
            ] * 2),
        ]
        reject = f"bold {app.theme_variables['reject']}"
        assert styles[0] == {reject}  # without its column, a reject says so in every cell
        assert reject in styles[1] and len(styles[1]) > 1  # with it, in the action's cell


async def test_a_dated_page_fits_80_columns_with_its_port_and_bytes_whole(tmp_path: Path) -> None:
    """Window "all" at 80 columns: the year on every row (2026-11-28 23:07:55) left the bytes cut
    ('byt'), and telling rows apart by src_port had pushed out the dst_port a reject was refused on."""
    from flowtui.query.window import TimeWindow

    v6 = "2400:cb00:1f23:7475:2008:7497:97f2:a703"
    db = write_any(tmp_path / "flows.db", [
        flow(v6, 40001, "2a05:d018:1c4:7a00:9b1e:4c2d:5e6f:a021", 22, 6, "REJECT", 64, 1, 30),
        flow(v6, 40002, "2a05:d018:1c4:7a00:9b1e:4c2d:5e6f:a021", 22, 6, "REJECT", 64, 1, 30),
        flow("61.177.172.113", 50000, "10.0.1.22", 3389, 6, "REJECT", 13_200, 3, 40),
    ])
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        app.push_screen(ResultsScreen("action:REJECT", TimeWindow.all()))
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None and not app.screen._loading)
        table = app.screen.table
        # The two IPv6 rows differ only in their source port, which has no room beside the port they
        # were refused on: that one stays, and they read alike (the rule's documented limit).
        assert [str(c.label).strip() for c in table.columns.values()] == ["timestamp ▼", "src_addr", "dst_addr", "dst_port", "action", "bytes"]
        assert table_rows(table) == [
            ["11-27 09:59:30", "2400:cb00:…:a703", "2a05:d018:…:a021", "22", "REJECT", "64 B"],
            ["11-27 09:59:30", "2400:cb00:…:a703", "2a05:d018:…:a021", "22", "REJECT", "64 B"],
            ["11-27 09:59:20", "61.177.172.113", "10.0.1.22", "3389", "REJECT", "13.2 kB"],
        ]
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= table.scrollable_content_region.width
