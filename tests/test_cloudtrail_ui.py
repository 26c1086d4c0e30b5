"""CloudTrail in the dashboard: an address's calls, an event's page with its address's flows, the @cloudtrail scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from flowtui.ui.screens.address import AddressScreen
from flowtui.ui.screens.results import ResultsScreen
from flowtui.ui.screens.trail_event import TrailEventScreen
from flowtui.ui.widgets.query_bar import QueryBar
from tests.cloudtrail_data import write_trail
from tests.test_ui_address import plain
from tests.test_ui_snapshots import make_app as snapshot_app
from tests.test_ui_snapshots import settled
from tests.ui_data import FLOWS, NOW, enter_query, flow, make_app, refreshed, table_rows, until, write_flows


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = write_flows(tmp_path / "flows.db")
    write_trail(path, NOW)
    return path


async def address_page(pilot: Any, address: str) -> AddressScreen:
    pilot.app.open_address(address)
    await until(pilot, lambda: isinstance(pilot.app.screen, AddressScreen) and pilot.app.screen.info is not None)
    return pilot.app.screen


async def open_event(pilot: Any, event_id: str) -> TrailEventScreen:
    await refreshed(pilot)
    pilot.app.push_screen(TrailEventScreen(event_id))
    return await event_page(pilot)


async def event_page(pilot: Any) -> TrailEventScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, TrailEventScreen) and pilot.app.screen.page is not None)
    return pilot.app.screen


async def test_a_narrow_address_page_fits_its_calls_and_marks_the_cuts(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(60, 30)) as pilot:
        await refreshed(pilot)
        screen = await address_page(pilot, "198.51.100.7")
        table = screen.query_one("#address-calls")
        assert [str(c.label) for c in table.columns.values()] == ["time", "eventName", "user", "errorCode"]
        assert table_rows(table) == [
            ["09:59:15", "DeleteBucketPol…", "Deployer", ""],
            ["09:56:40", "DeleteSecurityG…", "Bob", "Client.Unauthori…"],
        ]
        assert table.virtual_size.width <= table.size.width  # nothing runs past the box
        table.focus()
        table.move_cursor(row=1, column=1)
        await pilot.press("enter")
        assert (await event_page(pilot)).event_id == "ev-delete-sg"


async def test_the_address_page_lists_its_calls_and_enter_opens_one(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 50)) as pilot:
        await refreshed(pilot)
        screen = await address_page(pilot, "198.51.100.7")
        box = screen.query_one("#address-calls-box")
        assert box.display
        assert str(box.border_title) == "CloudTrail calls from this address"
        assert table_rows(screen.query_one("#address-calls")) == [
            ["09:59:15", "s3.amazonaws.com", "DeleteBucketPolicy", "Deployer", ""],
            ["09:56:40", "ec2.amazonaws.com", "DeleteSecurityGroup", "Bob", "Client.UnauthorizedOperation"],
        ]  # newest first; the call an hour ago is outside the 15-minute window

        table = screen.query_one("#address-calls")
        table.focus()
        table.move_cursor(row=1, column=2)
        await pilot.press("enter")
        event = await event_page(pilot)
        assert event.event_id == "ev-delete-sg"
        title = plain(event.query_one("#trail-title", Static))
        assert title == "2026-11-27 09:56:40  DeleteSecurityGroup   Client.UnauthorizedOperation"
        facts = plain(event.query_one("#trail-facts", Static), width=140).splitlines()
        assert facts[0].split() == ["service", "ec2.amazonaws.com", "region", "us-east-2"]
        assert facts[1].split() == ["user", "Bob", "type", "IAMUser"]
        # Next to the source, who it is: the label the panes show, from its newest flow.
        assert facts[3].split() == [
            "source", "198.51.100.7", "spamhaus", "·", "NL", "Bad", "Hosting", "access", "key", "AKIAEXAMPLEKEYID0003"
        ]
        assert facts[-1].split()[:3] == ["message", "You", "are"]
        # The source's flows from 5 minutes before the call (09:51:40) to 5 minutes after (10:01:40),
        # oldest first, the cursor on the first one at or after the call.
        assert [r[:6] for r in table_rows(event.query_one("#trail-flows"))] == [
            ["09:55:30", "eni-0a1b2c3d", "198.51.100.7", "61004", "10.0.1.11", "22"],
            ["09:56:30", "eni-0a1b2c3d", "198.51.100.7", "61003", "10.0.1.11", "22"],
            ["09:57:30", "eni-0a1b2c3d", "198.51.100.7", "61002", "10.0.1.11", "22"],
            ["09:58:30", "eni-0a1b2c3d", "198.51.100.7", "61001", "10.0.1.11", "22"],
            ["09:59:30", "eni-0a1b2c3d", "198.51.100.7", "61000", "10.0.1.11", "22"],
        ]
        assert event.query_one("#trail-flows").cursor_row == 2
        assert str(event.query_one("#trail-flows-box").border_subtitle) == "5 flows in 10m around 09:56:40"
        assert '"eventName": "DeleteSecurityGroup"' in plain(event.query_one("#trail-record", Static))

        flows = event.query_one("#trail-flows")
        flows.focus()
        flows.move_cursor(row=0, column=4)  # dst_addr
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen.address == "10.0.1.11")
        await until(pilot, lambda: app.screen.info is not None)
        assert not app.screen.query_one("#address-calls-box").display  # no calls from 10.0.1.11


async def test_a_busy_source_lists_the_flows_nearest_the_call_not_the_newest(tmp_path: Path) -> None:
    """305 flows in the call's ten minutes: the page lists the 100 before the call and the 100
    from it on, oldest first, the cursor on the call's second; the subtitle says which they are."""
    busy = [flow("198.51.100.7", 40000 + i, "10.0.1.11", 443, 6, "ACCEPT", 500, 5, 200 + 150 - i) for i in range(300)]  # ev-delete-sg is at 09:56:40
    path = write_flows(tmp_path / "flows.db", FLOWS + busy)  # 150 flows each second before the call, 150 from it
    write_trail(path, NOW)
    app = make_app(path)
    async with app.run_test(size=(140, 50)) as pilot:
        event = await open_event(pilot, "ev-delete-sg")
        table = event.query_one("#trail-flows")
        times = [r[0] for r in table_rows(table)]
        assert len(times) == 200
        # Before the call: its 150 flows and two of FLOWS' (09:55:30, 09:56:30): the nearest 100 reach back to 09:55:02.
        assert times[0] == "09:55:02" and times[99] == "09:56:39"
        assert times[100] == "09:56:40" and times[-1] == "09:58:18"
        assert times == sorted(times)
        assert table.cursor_row == 100
        assert str(event.query_one("#trail-flows-box").border_subtitle) == (
            "200 of 305 flows in 10m: the 100 before 09:56:40 and 100 from it"
        )


def _inside(widget: Any, outer: Any) -> bool:
    """The widget's whole box is on screen within ``outer``'s visible region."""
    region, box = widget.region, outer.region
    return region.height > 0 and box.contains_region(region)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_address_page_fits_a_small_terminal_and_tab_reaches_the_calls(db: Path, size: tuple[int, int]) -> None:
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        await refreshed(pilot)
        screen = await address_page(pilot, "198.51.100.7")
        await pilot.pause()
        width, height = size
        assert screen.query_one("#status-bar").region.y == height - 2  # the status bar and footer stay on screen
        body = screen.query_one("#address-body")
        assert screen.query_one("#address-flows-box").region.height == 8  # 5 recent flows, never fewer
        ports = screen.query_one("#address-ports")
        assert [str(c.label) for c in ports.columns.values()] == ["", "port", "proto", "flows", "bytes"]
        if width >= 80:
            assert ports.virtual_size.width <= ports.scrollable_content_region.width  # no column cut off
        assert app.focused is screen.query_one("#address-flows")
        await pilot.press("tab")
        await pilot.pause()
        calls_box = screen.query_one("#address-calls-box")
        assert app.focused is screen.query_one("#address-calls")
        assert _inside(calls_box, body)  # scrolled into view, its 2 calls on show
        assert calls_box.region.height == 7
        await pilot.press("shift+tab", "shift+tab")  # the recent flows, then the top ports
        await pilot.pause()
        assert app.focused is ports
        assert _inside(screen.query_one("#address-ports-box"), body)


async def test_the_event_page_at_80_columns_keeps_its_labels_and_wraps_long_values(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        event = await open_event(pilot, "ev-delete-sg")
        await pilot.pause()
        assert event.query_one("#status-bar").region.y == 22  # the status bar and footer stay on screen
        facts_widget = event.query_one("#trail-facts", Static)
        facts = plain(facts_widget, width=facts_widget.content_region.width)
        assert facts.splitlines() == [  # every label kept, long values wrapped whole
            "service   ec2.amazonaws.com               region      us-east-2",
            "user      Bob                             type        IAMUser",
            "arn       arn:aws:iam::111122223333:user  account     111122223333",
            "          /Bob",
            "source    198.51.100.7  spamhaus · NL     access key  AKIAEXAMPLEKEYID0003",
            "          Bad Hosting",
            "error     Client.UnauthorizedOperation    read only   no",
            "agent     aws-cli/2.15.30 Python/3.11.8   event type  AwsApiCall",
            "          Linux/6.1",
            "          command/ec2.delete-security-gr",
            "          oup",
            "resource  -                               event id    ev-delete-sg",
            "message   You are not authorized to perform this operation.",
        ]
        await pilot.press("tab")  # the record, below the flows: scrolled into view
        await pilot.pause()
        record_box = event.query_one("#trail-record-box")
        assert app.focused is record_box
        assert event.query_one("#trail-body").region.contains_region(record_box.region)


async def test_a_service_name_source_has_no_flows(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 50)) as pilot:
        event = await open_event(pilot, "ev-assume")
        assert event.page is not None and event.page.address is None
        assert event.query_one("#trail-flows").row_count == 0
        box = event.query_one("#trail-flows-box")
        assert str(box.border_subtitle) == "ec2.amazonaws.com is not an address: no flows"


async def test_the_query_bar_searches_cloudtrail_with_the_scope_prefix(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(200, 45)) as pilot:
        await refreshed(pilot)
        await enter_query(pilot, "@cloudtrail eventName:Delete* OR userIdentity.type:AWSService")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        screen = app.screen
        assert screen.page.total == 3
        assert plain(screen.query_one("#results-summary", Static), 140).startswith(
            "3 CloudTrail events · last 15m · rows 1–3 (page 1 of 1) · sorted by eventTime ↓"
        )
        rows = table_rows(screen.table)
        # The fields the query names come right after the time, as for flows.
        assert [r[:5] for r in rows] == [
            ["09:59:15", "AssumedRole", "198.51.100.7", "s3.amazonaws.com", "DeleteBucketPolicy"],
            ["09:58:20", "AWSService", "ec2.amazonaws.com", "sts.amazonaws.com", "AssumeRole"],
            ["09:56:40", "IAMUser", "198.51.100.7", "ec2.amazonaws.com", "DeleteSecurityGroup"],
        ]
        assert str(screen.query_one(".query-prompt", Static).render()) == "CloudTrail /"

        screen.table.move_cursor(row=1, column=4)
        await pilot.press("enter")
        event = await event_page(pilot)
        assert event.event_id == "ev-assume"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)

        screen.table.move_cursor(row=0, column=2)  # sourceIPAddress: Enter opens the address
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AddressScreen) and app.screen.address == "198.51.100.7")


async def test_scope_errors_point_into_the_whole_text_and_ctrl_t_toggles(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 45)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash")
        bar = app.screen.query_one(QueryBar)
        await pilot.press(*"@cloudtrail evntName:x")
        await pilot.pause()
        assert bar.error is not None
        assert (bar.error.start, bar.error.end) == (12, 20)
        assert bar.error.message == "unknown field 'evntName' (did you mean eventName?)"
        bar.input.value = "action:REJECT"
        await pilot.press("ctrl+t")
        assert bar.value == "@cloudtrail action:REJECT"
        await pilot.pause()
        assert bar.error is not None and bar.error.start == 12  # action is a flow field
        await pilot.press("ctrl+t")
        assert bar.value == "action:REJECT"
        await pilot.pause()
        assert bar.error is None


async def test_completion_offers_the_scope_then_cloudtrail_names(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(140, 45)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash")
        bar = app.screen.query_one(QueryBar)
        await pilot.press("@", "c")
        await until(pilot, lambda: bar.suggesting)
        assert [s.insert for s in bar._suggestions] == ["@cloudtrail "]
        await pilot.press("tab")
        await pilot.press(*"eventN")
        await until(pilot, lambda: bar.suggesting and bar._suggestions[0].insert == "eventName:")
        await pilot.press("tab")
        await until(pilot, lambda: bar.suggesting)
        assert [s.insert for s in bar._suggestions][:3] == ["AssumeRole", "DeleteBucketPolicy", "DeleteSecurityGroup"]


def test_snapshot_address_page_with_calls(db: Path, snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await settled(pilot)
        pilot.app.open_address("198.51.100.7")
        await until(pilot, lambda: isinstance(pilot.app.screen, AddressScreen) and pilot.app.screen.info is not None)
        await settled(pilot)

    assert snap_compare(snapshot_app(db), terminal_size=(120, 48), run_before=run_before)


def test_snapshot_event_page(db: Path, snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await settled(pilot)
        pilot.app.push_screen(TrailEventScreen("ev-delete-policy"))
        await until(pilot, lambda: isinstance(pilot.app.screen, TrailEventScreen) and pilot.app.screen.page is not None)
        await settled(pilot)

    assert snap_compare(snapshot_app(db), terminal_size=(120, 48), run_before=run_before)
