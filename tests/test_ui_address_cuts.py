"""Addresses that do not fit: an IPv4 one is never cut, an IPv6 one keeps its network and its
host by whole groups, a pane's "who" (which threat list matched) gets room before an IPv6
address's middle, and a cut value is still copied whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtui.ui.columns import LABEL_FIRST, LABEL_MAX, plan_pane
from flowtui.ui.formatting import fit, shorten_ipv6
from flowtui.ui.panes import DEFAULT_PANES
from flowtui.ui.screens.results import ResultsScreen
from tests.ui_data import IPV6_TOR, IPV6_WEB, enter_query, flow, make_app, refreshed, until, write_flows

THREATS = DEFAULT_PANES[3]  # Threat matches: by src_addr, dst_addr; flows
TALKERS = DEFAULT_PANES[0]  # Top talkers: bytes


@pytest.mark.parametrize(
    ("width", "shown"),
    [
        (38, IPV6_WEB),
        (37, "2a05:d018:1c4:3a00:…:3e61:c05b:9023"),
        (25, "2a05:d018:1c4:…:c05b:9023"),
        (24, "2a05:d018:…:c05b:9023"),
        (20, "2a05:d018:…:9023"),
        (16, "2a05:d018:…:9023"),
        (15, "2a05:…:9023"),
    ],
)
def test_an_ipv6_address_is_cut_between_whole_groups(width: int, shown: str) -> None:
    assert fit(IPV6_WEB, width) == shown


def test_a_compressed_ipv6_address_keeps_its_ends_and_other_text_its_middle_cut() -> None:
    assert fit("2001:db8:bad::15", 14) == "2001:db8:…:15"  # the '::' beside the cut is part of it
    assert fit("fe80::1:2:3:4:5", 12) == "fe80:…:4:5"
    assert shorten_ipv6(IPV6_WEB, 10) is None  # no group each side fits: cut by characters
    assert fit(IPV6_WEB, 10) == "2a05…:9023"
    assert fit("ec2:i-0123456789abcdef0", 12) == "ec2:i…bcdef0"  # not an address: as before


def test_ipv4_panes_are_laid_out_as_before() -> None:
    """Addresses whole, then who they are up to LABEL_MAX, then the third metric."""
    assert plan_pane(TALKERS.by, "bytes", [15, 13], 77) == (("bytes", "flows"), (15, 13), 11)
    assert plan_pane(TALKERS.by, "bytes", [15, 13], 95) == (("bytes", "flows"), (15, 13), 20)
    assert plan_pane(TALKERS.by, "bytes", [15, 13], 150) == (("bytes", "flows", "packets"), (15, 13), LABEL_MAX)
    assert plan_pane(THREATS.by, "flows", [15, 15], 77) == (("flows", "bytes"), (15, 15), 10)
    # Other values widen in order, the first as far as it wants; a column is as wide as its header.
    assert plan_pane(("protocol", "src_addr_country_code"), "bytes", [0, 0], 62) == (("bytes", "flows"), (19, 21), 0)


def test_the_threat_list_gets_room_before_the_middle_of_an_ipv6_address() -> None:
    """Threat matches between two whole IPv6 addresses at 200×50 showed both addresses and no
    'who' (the list that matched); now the addresses' short forms, the list, then the rest."""
    # 200×50: each pane 97 cells inside. Both short forms ('2a05:d018:…:9023'), who at 16.
    metrics, widths, label = plan_pane(THREATS.by, "flows", [38, 38], 97)
    assert (metrics, label) == (("flows", "bytes"), LABEL_FIRST)
    assert [fit(IPV6_WEB, w) for w in widths] == ["2a05:d018:…:9023", "2a05:d018:…:9023"]
    # 80 columns, stacked (77 inside): who still shows which list ('spamhaus…').
    metrics, widths, label = plan_pane(THREATS.by, "flows", [38, 38], 77)
    assert (metrics, widths, label) == (("flows", "bytes"), (17, 16), 9)
    assert fit("spamhaus · RU Neva Bulletproof", label, middle=False) == "spamhaus…"
    # Wider: the addresses grow toward whole, alike, before who grows past LABEL_FIRST.
    assert plan_pane(THREATS.by, "flows", [38, 38], 130) == (("flows", "bytes"), (36, 36), LABEL_FIRST)
    assert plan_pane(THREATS.by, "flows", [38, 38], 150) == (("flows", "bytes"), (38, 38), 24)
    # One IPv6 side: it takes the room, the IPv4 side stays whole.
    assert plan_pane(THREATS.by, "flows", [38, 15], 97) == (("flows", "bytes"), (24, 15), LABEL_FIRST)
    # A short IPv6 address ('2001:db8:70::77') is whole from the start.
    assert plan_pane(THREATS.by, "flows", [len(IPV6_TOR), 15], 77) == (("flows", "bytes"), (15, 15), 10)


# The demo's Threat matches: who talked to whom, IPv4 and IPv6, each address on some list.
DEMO_SRC = ["10.0.10.37", "198.51.100.23", "192.0.2.66", "2001:db8:70::77", IPV6_WEB, "2001:db8:bad::15"]
DEMO_DST = ["198.51.100.23", "10.0.10.37", "10.0.0.10", IPV6_WEB, "2001:db8:70::77", "2a05:d018:1c4:3a00:1c4b:7e2a:90d3:a021"]
SPAMHAUS = "spamhaus · RU Neva Bulletproof"


def test_spare_cells_go_to_address_groups_and_label_text() -> None:
    """200×50, Threat matches (98 cells inside): the plan gave the addresses widths that show no
    more groups (an IPv6 address is cut between groups) and kept the rest, ~9 cells blank at the
    right, while the list was cut at 16 ('2a05:d018:…:9023', 'spamhaus · RU N…'). Knowing the
    values, an address grows only to a width that shows another group, and the label takes the rest."""
    by = THREATS.by
    metrics, widths, label = plan_pane(by, "flows", [38, 38], 98, values=[DEMO_SRC, DEMO_DST], labels=[30, 30])
    assert (metrics, widths, label) == (("flows", "bytes"), (21, 16), 17)
    assert [fit(IPV6_WEB, w) for w in widths] == ["2a05:d018:…:c05b:9023", "2a05:d018:…:9023"]
    assert fit(SPAMHAUS, label, middle=False) == "spamhaus · RU Ne…"
    shown = sum(max(len(fit(v, w)) for v in column) + 2 for column, w in zip((DEMO_SRC, DEMO_DST), widths))
    assert 98 - (shown + 2 * (label + 2) + 9 + 9) == 1  # a label a cell wider takes two: one cell is left
    # Wider: both addresses whole before the labels grow past LABEL_FIRST's share.
    assert plan_pane(by, "flows", [38, 38], 140, values=[DEMO_SRC, DEMO_DST], labels=[30, 30]) == (("flows", "bytes"), (38, 38), 19)


def test_a_label_takes_no_more_than_its_text_and_none_without_one() -> None:
    """Who an address is is as long as the longest label the rows have: the rest goes elsewhere."""
    v4 = [["203.0.113.5", "10.0.1.10"], ["10.0.1.10", "10.0.2.20"]]
    # 'web-1' and 'orders db' are short: the labels stop at 9 and the third metric fits.
    assert plan_pane(TALKERS.by, "bytes", [11, 9], 77, values=v4, labels=[9, 9]) == (("bytes", "flows", "packets"), (11, 9), 9)
    # No row has a label (a store without enrichment): no 'who' columns at all.
    assert plan_pane(TALKERS.by, "bytes", [11, 9], 77, values=v4, labels=[0, 0]) == (("bytes", "flows", "packets"), (11, 9), 0)


async def test_a_cut_address_is_copied_whole(tmp_path: Path) -> None:
    db = write_flows(tmp_path / "v6.db", [flow(IPV6_TOR, 443, IPV6_WEB, 50000, 6, "ACCEPT", 900, 3, 60)])
    app = make_app(db)
    async with app.run_test(size=(60, 24)) as pilot:
        await refreshed(pilot)
        await enter_query(pilot, f'dst_addr:"{IPV6_WEB}"')
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        screen = app.screen
        await until(pilot, lambda: not screen._loading and screen.table.row_count == 1)
        column = list(screen.table.columns).index("dst_addr")
        assert screen.table.get_row_at(0)[column].plain == "2a05:d018:…:9023"
        screen.table.move_cursor(row=0, column=column)
        await pilot.press("y")
        assert app.clipboard == IPV6_WEB


async def test_a_cut_address_in_a_pane_is_copied_and_opened_whole(tmp_path: Path) -> None:
    from flowtui.ui.screens.address import AddressScreen

    db = write_flows(tmp_path / "v6.db", [flow(IPV6_TOR, 443, IPV6_WEB, 50000, 6, "ACCEPT", 900, 3, 60)])
    app = make_app(db)
    async with app.run_test(size=(60, 24)) as pilot:
        await refreshed(pilot)
        pane = app.dashboard.pane("top-talkers")
        await until(pilot, lambda: pane.table.row_count == 1)
        column = list(pane.table.columns).index("dst_addr")
        assert pane.table.get_row_at(0)[column].plain.startswith("2a05:d018:…:")  # cut between groups
        pane.table.focus()
        pane.table.move_cursor(row=0, column=column)
        await pilot.press("y")
        assert app.clipboard == IPV6_WEB
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen))
        assert app.screen.address == IPV6_WEB


def pane_lines(pane: object) -> list[str]:
    """A pane's table as painted: the header's line, then the rows (trailing blanks kept)."""
    table = pane.table  # type: ignore[attr-defined]
    return [table.render_line(y).text for y in range(table.row_count + 1)]


async def test_spare_cells_in_a_pane_go_to_address_groups_not_to_empty_labels(tmp_path: Path, shared_testdata: Path) -> None:
    """A store from flowtui ingest of AWS's example lines has no labels: at 100×30 Top talkers cut
    both IPv6 addresses to their short form for 'who' columns with nothing in them, and left
    ~37 cells blank after the row ('2001:db8:…:f105       2001:db8:…:4071        8.9 kB        1').
    Now the addresses are whole, in the pane's whole width (98 cells inside its edges)."""
    from flowtui.cli import main

    db = tmp_path / "aws.db"
    assert main(["ingest", "--db", str(db), str(shared_testdata / "flowlogs" / "aws-docs-v2.log")]) == 0
    app = make_app(db, window="all")
    async with app.run_test(size=(100, 30)) as pilot:
        await refreshed(pilot)
        pane = app.dashboard.pane("top-talkers")
        await until(pilot, lambda: pane.table.row_count == 3)
        await pilot.pause()
        assert [line.rstrip() for line in pane_lines(pane)] == [
            " src_addr                                dst_addr                                bytes ▼    flows",
            " 2001:db8:1234:a100:8d6e:3477:df66:f105  2001:db8:1234:a102:3304:8879:34cf:4071   8.9 kB        1",
            " 172.31.16.139                           172.31.16.21                             4.2 kB        1",
            " 172.31.9.69                             172.31.9.12                              4.2 kB        1",
        ]
        assert {len(line) for line in pane_lines(pane)} == {98}
