"""Alerts in the dashboard: the badge, the list of firings, a firing's flows, acknowledging and muting.

Firings are made the way ingest makes them: the real evaluator on a writing
store, with a frozen clock, while flows are written; the dashboard reads them
from its read-only lanes and writes acknowledgements and mutes through its one
writable connection. What it wrote is checked on a fresh connection, as the
CLI would see it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text

from flowtui.alerts import AlertEvaluator, AlertLog, Firing
from flowtui.alerts.rules import Rule
from flowtui.config import Config
from flowtui.store import Store
from flowtui.ui.alert_columns import AlertRoom, alert_columns, flow_parts, rule_least
from flowtui.ui.alert_watch import alert_watch
from flowtui.ui.screens.alerts import NO_RULES, AlertsScreen
from flowtui.ui.screens.mute import MuteScreen
from flowtui.ui.screens.results import ResultsScreen
from flowtui.ui.widgets.status_bar import StatusBar
from tests.alerts_helpers import enrich, flow, rule, write
from tests.ui_data import NOW, make_app, table_rows, until, write_flows

PORT_SCAN_TABLE: dict[str, Any] = {
    "name": "port-scan", "query": "action:REJECT", "window": "5m", "condition": "distinct(dst_port) > 20", "group_by": ["src_addr"],
}
PORT_SCAN = rule(**PORT_SCAN_TABLE)
THREAT = rule(
    name="threat-match", query="src_addr_threat_indicated:true", window="5m", condition="count > 0",
    group_by=["src_addr", "dst_port"],
)
BIG = rule(name="big-transfer", query="dst_addr:84.17.32.5", window="1m", condition="sum(bytes) > 1e6")
FIRED_AT = float(NOW - 30)  # 09:59:30 on the tests' clock

SCAN = [flow(src="203.0.113.9", dport=p, start=NOW - 200 + p) for p in range(1, 26)]
TOR = [flow(src="198.51.100.23", dport=443, start=NOW - 100, action="ACCEPT")]
BIG_FLOW = flow(src="10.0.1.10", dst="84.17.32.5", dport=443, start=NOW - 50, action="ACCEPT", nbytes=2_000_000)

# The list, newest first: fired, rule, group values, the condition with its value, state.
ROWS = [
    ["09:59:30", "threat-match", "198.51.100.23 · 443", "count 1 > 0", "1", "new"],
    ["09:59:30", "port-scan", "203.0.113.9", "distinct(dst_port) 25 > 20", "25", "new"],
]


def fire(db: Path, rules: Sequence[Rule], *batches: list[tuple[Any, ...]], fired_at: float = FIRED_AT) -> list[Firing]:
    """Write ``batches`` with ``rules`` evaluated on them, as the ingest process does; the firings."""
    with Store(db) as store:
        evaluator = AlertEvaluator(store, list(rules), clock=lambda: fired_at).start()
        fired: list[Firing] = []
        evaluator.on_fire.append(fired.append)
        for batch in batches:
            write(store, batch, enrich)
        evaluator.close()
    return fired


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = write_flows(tmp_path / "flows.db")
    fire(path, [PORT_SCAN, THREAT], SCAN, TOR)
    return path


def stored(db: Path) -> AlertLog:
    """The store's alerts on a connection of their own (the CLI's view)."""
    return AlertLog(Store(db, readonly=True))


def badge(app: Any) -> Text:
    bar = app.screen.query_one(StatusBar)
    return bar.status_text()


def badge_text(app: Any) -> str:
    text = badge(app).plain
    return text[: text.index(" alert") + 7].strip() if " alert" in text else ""


def last_toast(app: Any) -> str:
    return str([n.message for n in app._notifications][-1])


async def alerts_screen(pilot: Any) -> AlertsScreen:
    await pilot.press("a")
    await until(pilot, lambda: isinstance(pilot.app.screen, AlertsScreen) and pilot.app.screen.loads >= 1)
    return pilot.app.screen  # type: ignore[no-any-return]


async def reloaded(pilot: Any, screen: AlertsScreen, condition: Any) -> None:
    await until(pilot, lambda: not any(w.is_running for w in screen.workers) and condition())


# --- the badge --------------------------------------------------------------------------------


async def test_the_badge_counts_unacknowledged_firings_in_the_alarm_colour(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: badge_text(app) != "")
        line = badge(app)
        assert line.plain.startswith(" ▲ 2 alerts  ")
        (span,) = [s for s in line.spans if s.start == 0]
        assert (span.end, str(span.style)) == (len(" ▲ 2 alerts "), "bold #101418 on #ef5f5f")  # flowtui-dark's alarm


async def test_no_badge_without_firings_and_the_screen_says_how_to_add_rules(tmp_path: Path) -> None:
    db = write_flows(tmp_path / "flows.db")
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: alert_watch(app).state is not None and app.status is not None)
        assert badge_text(app) == ""
        screen = await alerts_screen(pilot)
        assert str(screen.query_one("#alerts-empty").render()) == NO_RULES
        assert NO_RULES == (
            "No alert rules: add [[alerts]] tables to the config file (config.example.toml has examples),"
            " and flowtui tail evaluates them as flows arrive."
        )
        assert not screen.table.display


async def test_configured_rules_that_have_not_fired_are_named(tmp_path: Path) -> None:
    db = write_flows(tmp_path / "flows.db")
    config = Config({"ui": {"refresh": 60}, "alerts": [{"name": "port-scan", "condition": "count > 5"}]})
    from flowtui.ui.app import FlowtuiApp

    app = FlowtuiApp(db, config, now=lambda: float(NOW))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await alerts_screen(pilot)
        assert str(screen.query_one("#alerts-empty").render()) == "No firings yet from the config's 1 rule (port-scan)."


async def test_a_firing_recorded_under_a_mute_is_listed_but_told_nobody(db: Path) -> None:
    with Store(db) as store:
        AlertLog(store).mute("big-transfer", NOW + 3600)
    fire(db, [BIG], [BIG_FLOW])
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await alerts_screen(pilot)
        assert badge_text(app) == "▲ 2 alerts"
        assert table_rows(screen.table)[0] == ["09:59:30", "big-transfer", "all flows", "sum(bytes) 2,000,000 > 1,000,000", "1", "muted until 11:00"]


# --- the list ---------------------------------------------------------------------------------


async def test_the_list_shows_each_firing_newest_first(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(160, 30)) as pilot:
        screen = await alerts_screen(pilot)
        await until(pilot, lambda: screen.flows_now.get(2) == 1)
        assert [str(c.label) for c in screen.table.columns.values()] == ["FIRED", "RULE", "GROUP", "CONDITION", "FLOWS", "STATE"]
        assert table_rows(screen.table) == ROWS
        assert str(screen.query_one("#alerts-summary").render()) == (
            "Alerts · 2 unacknowledged · 2 firings listed · u: unacked only"
        )
        assert str(screen.query_one("#alerts-detail").render()).splitlines() == [
            "#2 threat-match · count 1 > 0 · new · fired 09:59:30 · src_addr=198.51.100.23 dst_port=443 · 1 flow, 100 B · 09:54:00–09:59:00",
            (
                'Enter opens the 1 flow of (src_addr_threat_indicated:true) AND src_addr:"198.51.100.23" AND dst_port:443'
                " in 09:54:00–09:59:00 · 1 when it fired"
            ),
        ]


V6_SRC = "2a05:d018:1c4:3a00:1c4b:7e2a:90d3:a021"
V6_DST = "2001:db8:70:0:77:1c4b:7e2a:90d3"
V6_PAIR = rule(
    name="v6-pair", query=f'src_addr:"{V6_SRC}"', window="5m", condition="count > 0", group_by=["src_addr", "dst_addr"]
)


async def test_a_src_dst_group_an_acked_mute_and_the_flows_that_came_after_it_fired(tmp_path: Path) -> None:
    db = write_flows(tmp_path / "flows.db")
    pair = [flow(src=V6_SRC, dst=V6_DST, dport=443, start=NOW - 100, action="ACCEPT")]
    fire(db, [V6_PAIR], pair)
    with Store(db) as store:  # two more flows of its window arrive after it fired
        write(store, [flow(src=V6_SRC, dst=V6_DST, dport=443, start=NOW - 90 + i, action="ACCEPT") for i in range(2)], enrich)
        AlertLog(store).acknowledge([1])
        AlertLog(store).mute("v6-pair", NOW + 3600, {"src_addr": V6_SRC, "dst_addr": V6_DST})
    app = make_app(db)
    async with app.run_test(size=(100, 24)) as pilot:
        screen = await alerts_screen(pilot)
        await until(pilot, lambda: screen.flows_now.get(1) == 3)
        # Each address gives way in its own middle, by whole groups, an arrow between them; the row says its mute.
        assert table_rows(screen.table) == [
            ["09:59:30", "v6-pair", "2a05:d018:…:90d3:a021 → 2001:db8:…:7e2a:90d3", "count 1 > 0", "acked, muted→11:00"]
        ]
        detail = str(screen.query_one("#alerts-detail").render()).splitlines()
        # The firing's facts over two lines, most needed first; its two addresses whole (the row cuts them).
        assert detail[:2] == [
            "#1 v6-pair · count 1 > 0 · acked, muted until 11:00 · fired 09:59:30",
            f"{V6_SRC} → {V6_DST} · 1 flow, 100 B",
        ]
        # Enter's count is of now; the query gives way so that the window and the count at firing fit 100 columns.
        assert detail[2] == 'Enter opens the 3 flows of (src_addr:"2a05…:1c4b:7e2a:90d3" in 09:54:00–09:59:00 · 1 when it fired'
        assert len(detail[2]) == 100 - 2
        await pilot.resize_terminal(80, 24)  # narrower: the window goes (the line above says it), not the query
        await until(pilot, lambda: "when it fired" in str(screen.query_one("#alerts-detail").render()))
        await pilot.pause()
        detail = str(screen.query_one("#alerts-detail").render()).splitlines()
        assert detail == [
            "#1 v6-pair · count 1 > 0 · acked, muted until 11:00 · fired 09:59:30",
            f"{V6_SRC} → {V6_DST}",  # whole before the flow count (Enter's line says it)
            'Enter opens the 3 flows of (src_addr:"2a05:…:1c4b:7e2a:90d3" · 1 when it fired',
        ]


async def test_enter_opens_exactly_the_firings_flows(db: Path) -> None:
    (scan,) = [f for f in stored(db).recent() if f.rule == "port-scan"]
    with sqlite3.connect(db) as conn:
        ids = ",".join(map(str, scan.flow_ids))
        expected = sorted(conn.execute(f"SELECT start, dst_port FROM flows WHERE id IN ({ids})").fetchall())
    assert len(expected) == 25
    app = make_app(db)
    async with app.run_test(size=(140, 30)) as pilot:
        await alerts_screen(pilot)
        await pilot.press("j", "enter")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        results = app.screen
        assert isinstance(results, ResultsScreen)
        assert results.query_text == '(action:REJECT) AND src_addr:"203.0.113.9"'
        assert (results.window.start, results.window.end) == (scan.window_start, scan.window_end)
        page = results.page
        assert page is not None and page.total == 25
        assert sorted((r["timestamp"], r["dst_port"]) for r in page.rows) == expected
        assert {r["src_addr"] for r in page.rows} == {"203.0.113.9"}
        await pilot.press("escape")
        assert isinstance(app.screen, AlertsScreen)


async def test_u_hides_acknowledged_firings(db: Path) -> None:
    """u hides the acknowledged firings, and its footer label says what pressing it does now,
    as a k9s toggle does ('u Every firing' while they are hidden; it said 'Unacked only' then too)."""
    with Store(db) as store:
        AlertLog(store).acknowledge([2])
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await alerts_screen(pilot)
        assert [r[-1] for r in table_rows(screen.table)] == ["acked", "new"]
        assert "u Unacked only" in footer_keys(screen)
        await pilot.press("u")
        await reloaded(pilot, screen, lambda: screen.alerts is not None and screen.alerts.unacknowledged_only)
        assert table_rows(screen.table) == [ROWS[1]]
        assert str(screen.query_one("#alerts-summary").render()) == (
            "Alerts · 1 unacknowledged · 1 unacknowledged listed · u: every firing"
        )
        assert footer_keys(screen) == [
            "esc Back", "⏎ Flows", "A Acknowledge", "m Mute", "u Every firing", "? Help", "q Quit", "^p Commands",
        ]
        await pilot.press("u")
        await reloaded(pilot, screen, lambda: screen.alerts is not None and not screen.alerts.unacknowledged_only)
        assert len(table_rows(screen.table)) == 2
        assert "u Unacked only" in footer_keys(screen)


def footer_keys(screen: AlertsScreen) -> list[str]:
    """The footer's keys as it shows them."""
    from textual.widgets._footer import FooterKey

    return [f"{k.key_display} {k.description}".strip() for k in screen.query(FooterKey) if k.display]


# --- acknowledging and muting -------------------------------------------------------------------


async def test_acknowledging_changes_the_badge_and_is_in_the_store(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await alerts_screen(pilot)
        assert badge_text(app) == "▲ 2 alerts"
        await pilot.press("A")
        await until(pilot, lambda: badge_text(app) == "▲ 1 alert")
        await reloaded(pilot, screen, lambda: table_rows(screen.table)[0][-1] == "acked")
        assert last_toast(app) == "Acknowledged #2 threat-match"
        assert table_rows(screen.table)[1][-1] == "new"
        await pilot.press("A")  # twice: says so, writes nothing more
        await pilot.pause()
        assert last_toast(app) == "#2 is acknowledged already"
        await pilot.press("j", "A")
        await until(pilot, lambda: badge_text(app) == "")
    log = stored(db)
    assert [(f.id, f.acknowledged) for f in log.recent()] == [(2, True), (1, True)]
    assert log.unacknowledged() == 0
    acked_at = log.conn.execute("SELECT acknowledged_at FROM alerts ORDER BY id").fetchall()
    assert acked_at == [(NOW,), (NOW,)]  # the dashboard's clock


def column_widths(screen: AlertsScreen) -> dict[str, int]:
    return {str(key.value): column.get_render_width(screen.table) - 2 for key, column in screen.table.columns.items()}


async def test_column_widths_follow_the_data_after_acknowledging_at_80_columns(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await alerts_screen(pilot)
        # The rule gives way (the line under the table has it whole); the condition and the group do not.
        widths = {"fired": 8, "rule": 10, "group": 19, "measured": 26, "state": 5}
        assert column_widths(screen) == widths  # FLOWS gives way first at 80 columns
        await pilot.press("A")  # its toast covers the table's right-hand side
        await reloaded(pilot, screen, lambda: table_rows(screen.table)[0][-1] == "acked")
        await pilot.press("j", "A")
        await reloaded(pilot, screen, lambda: table_rows(screen.table)[1][-1] == "acked")
        assert app._notifications  # the toasts are up
        assert column_widths(screen) == widths
        assert table_rows(screen.table) == [
            ["09:59:30", "threat-ma…", "198.51.100.23 · 443", "count 1 > 0", "acked"],  # the address is whole
            ["09:59:30", "port-scan", "203.0.113.9", "distinct(dst_port) 25 > 20", "acked"],  # the threshold too
        ]


DB_EGRESS = rule(
    name="db-egress", query='src_addr:"10.0.2.20"', window="5m", condition="count > 0", group_by=["src_addr", "dst_addr"]
)
DB_ERRORS = rule(
    name="db-errors", query='dst_addr:"10.0.2.20" AND action:REJECT', window="5m", condition="count > 0",
    group_by=["src_addr", "dst_addr"],
)


@pytest.fixture
def pairs_db(tmp_path: Path) -> Path:
    """Two rules sharing a prefix, each fired by an IPv4 pair, and a pair of long IPv6 addresses."""
    path = write_flows(tmp_path / "flows.db")
    fire(
        path, [V6_PAIR, DB_EGRESS, DB_ERRORS],
        [flow(src=V6_SRC, dst=V6_DST, dport=443, start=NOW - 100, action="ACCEPT")],
        [flow(src="10.0.2.20", dst="84.17.32.5", dport=443, start=NOW - 90, action="ACCEPT")],
        [flow(src="198.51.100.23", dst="10.0.2.20", dport=5432, start=NOW - 80)],
    )
    return path


async def test_a_long_state_takes_no_room_from_every_rows_addresses_at_80_columns(pairs_db: Path) -> None:
    """After acknowledging and muting one group, STATE grew to 'acked, muted until 11:00' and
    GROUP shrank for every row, cutting IPv4 addresses ('10.…20 → 84.…5'). The state gives way
    first: the line under the table says the mute whole."""
    app = make_app(pairs_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await alerts_screen(pilot)
        rules = [f.rule for f in screen.alerts.firings] if screen.alerts is not None else []
        await pilot.press(*["j"] * rules.index("db-egress"), "A")
        await reloaded(pilot, screen, lambda: "acked" in table_rows(screen.table)[rules.index("db-egress")])
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MuteScreen))
        await pilot.press("enter")  # Enter alone: an hour, this group only
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen))
        await reloaded(pilot, screen, lambda: screen.alerts is not None and bool(screen.alerts.mutes))
        rows = dict(zip(rules, table_rows(screen.table)))
        assert rows["db-egress"][2:] == ["10.0.2.20 → 84.17.32.5", "count 1 > 0", "acked, muted"]
        assert rows["db-errors"][2:] == ["198.51.100.23 → 10.0.2.20", "count 1 > 0", "new"]
        assert rows["v6-pair"][2] == "2a05:…:a021 → 2001:…:90d3"  # an IPv6 address gives way, by whole groups
        detail = str(screen.query_one("#alerts-detail").render()).splitlines()
        assert detail[:2] == [  # the mute whole, its end too
            "#2 db-egress · count 1 > 0 · acked, muted until 11:00 · fired 09:59:30",
            "src_addr=10.0.2.20 dst_addr=84.17.32.5 · 1 flow, 100 B · 09:54:00–09:59:00",
        ]
        await pilot.resize_terminal(120, 30)  # room for the mute's end, then the addresses' middles
        await reloaded(pilot, screen, lambda: len(table_rows(screen.table)[0]) == 5 and screen.size.width == 120)
        await pilot.pause()
        rows = dict(zip(rules, table_rows(screen.table)))
        assert rows["db-egress"][2:] == ["10.0.2.20 → 84.17.32.5", "count 1 > 0", "acked, muted→11:00"]
        assert rows["v6-pair"][2] == "2a05:d018:1c4:…:7e2a:90d3:a021 → 2001:db8:70:…:1c4b:7e2a:90d3"


async def test_rule_names_are_whole_where_there_is_room(pairs_db: Path) -> None:
    """At 100 columns 'db-egress' and 'db-errors' were cut to 'db-egre…' and 'db-erro…' while
    the IPv6 pair took every cell left: the name is whole first, the addresses' middles after."""
    app = make_app(pairs_db)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await alerts_screen(pilot)
        rows = {row[1]: row[2] for row in table_rows(screen.table)}
        assert rows == {
            "v6-pair": "2a05:d018:1c4:…:90d3:a021 → 2001:db8:70:…:7e2a:90d3",
            "db-egress": "10.0.2.20 → 84.17.32.5",
            "db-errors": "198.51.100.23 → 10.0.2.20",
        }
        assert column_widths(screen) == {"fired": 8, "rule": 9, "group": 55, "measured": 11, "state": 5}


def test_rule_names_sharing_a_prefix_are_told_apart_before_the_addresses_middles() -> None:
    """A rule name is cut no shorter than its first letters tell it apart from the others."""
    assert rule_least(["threat-match-tor", "threat-match-spamhaus", "port-scan"]) == 15  # 'threat-match-t…'
    assert rule_least(["db-egress", "db-errors"]) == 8  # 'db-egre…', 'db-erro…'
    assert rule_least(["web", "db"]) == 3
    whole = {"fired": 8, "rule": 21, "group": 60, "measured": 12, "flows": 5, "state": 24}
    room = AlertRoom(whole, {"rule": 15, "group": 25, "state": 5}, state_short=18)
    width = (8 + 2) + (15 + 2) + (25 + 2) + (12 + 2) + (5 + 2)  # every least, padded
    assert alert_columns(room, width)[1] == {"fired": 8, "rule": 15, "group": 25, "measured": 12, "state": 5}
    # Room: the rule's whole name first, then the mute's end, then the group, then the whole state.
    assert alert_columns(room, width + 6)[1]["rule"] == 21
    assert alert_columns(room, width + 19)[1] == {"fired": 8, "rule": 21, "group": 25, "measured": 12, "state": 18}
    assert alert_columns(room, width + 60)[1] == {"fired": 8, "rule": 21, "group": 60, "measured": 12, "state": 24}
    assert alert_columns(room, width + 67)[0] == ["fired", "rule", "group", "measured", "flows", "state"]


async def test_ctrl_a_acknowledges_every_listed_firing(db: Path) -> None:
    fire(db, [BIG], [BIG_FLOW])
    with Store(db) as store:
        AlertLog(store).acknowledge([2], now=NOW - 10)
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await alerts_screen(pilot)
        assert badge_text(app) == "▲ 2 alerts"
        await pilot.press("ctrl+a")
        await until(pilot, lambda: badge_text(app) == "")
        await reloaded(pilot, screen, lambda: [r[-1] for r in table_rows(screen.table)] == ["acked"] * 3)
        assert last_toast(app) == "Acknowledged 2 firings"
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert last_toast(app) == "Nothing listed to acknowledge"
    acked_at = stored(db).conn.execute("SELECT id, acknowledged_at FROM alerts ORDER BY id").fetchall()
    assert acked_at == [(1, NOW), (2, NOW - 10), (3, NOW)]  # #2 keeps the time it was first acknowledged


async def test_muting_a_group_for_an_hour_is_in_the_store_with_its_expiry(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await alerts_screen(pilot)
        await pilot.press("j", "m")
        await until(pilot, lambda: isinstance(app.screen, MuteScreen))
        await pilot.click("#mute-1h")
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen))
        await reloaded(pilot, screen, lambda: table_rows(screen.table)[1][-1] == "muted until 11:00")
        assert last_toast(app) == "Muted port-scan for src_addr=203.0.113.9 until 11:00"
        assert str(screen.query_one("#alerts-summary").render()).endswith("· 1 mute in force · u: unacked only")
    assert stored(db).mutes(now=NOW) == [{"rule": "port-scan", "group": {"src_addr": "203.0.113.9"}, "until": NOW + 3600}]


async def test_muting_a_whole_rule_for_a_typed_duration_and_lifting_it(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await alerts_screen(pilot)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MuteScreen))
        await pilot.click("#scope-rule")
        await pilot.click("#mute-input")
        await pilot.press(*"soon", "enter")  # not a duration: said, nothing written
        error = app.screen.query_one(".dialog-error")
        assert (error.display, str(error.render())) == (
            True, "mute for 'soon' is not a duration: use e.g. 90s, 15m, 2h or 1d",
        )
        app.screen.query_one("#mute-input").value = "2h"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen))
        await reloaded(pilot, screen, lambda: table_rows(screen.table)[0][-1] == "muted until 12:00")
        assert stored(db).mutes(now=NOW) == [{"rule": "threat-match", "group": None, "until": NOW + 7200}]
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MuteScreen))
        await pilot.click("#scope-rule")
        await pilot.click("#mute-lift")
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen))
        await reloaded(pilot, screen, lambda: table_rows(screen.table)[0][-1] == "new")
    assert stored(db).mutes(now=NOW) == []


async def test_a_write_the_store_refuses_is_one_sentence_and_loses_nothing(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE UPDATE ON alerts BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END")
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await alerts_screen(pilot)
        await pilot.press("A")
        await until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        assert [n.message for n in app._notifications if n.severity == "error"] == [
            f"cannot acknowledge firing 2 in {db}: refused by a trigger"
        ]
        assert badge_text(app) == "▲ 2 alerts"
    assert [(f.id, f.acknowledged) for f in stored(db).recent()] == [(2, False), (1, False)]


# --- firings arriving while the dashboard runs -------------------------------------------------------


async def test_a_new_firing_updates_the_badge_and_raises_one_toast(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        watch = None
        await until(pilot, lambda: badge_text(app) == "▲ 2 alerts")
        watch = alert_watch(app)
        assert watch.toasts == 0  # firings from before the dashboard started: on the badge, no toast
        screen = await alerts_screen(pilot)
        # Another process (the ingest worker) writes flows that make a rule fire.
        fire(db, [BIG], [BIG_FLOW])
        await until(pilot, lambda: badge_text(app) == "▲ 3 alerts")
        await reloaded(pilot, screen, lambda: len(table_rows(screen.table)) == 3)
        assert table_rows(screen.table)[0] == ["09:59:30", "big-transfer", "all flows", "sum(bytes) 2,000,000 > 1,000,000", "1", "new"]
        first = watch.state
        await until(pilot, lambda: watch.state is not first or watch._worker is not None and watch._worker.is_finished)
        await pilot.pause(1.2)  # at least one more look: the firing is not told twice
        toasts = [(n.title, n.message, n.severity) for n in app._notifications]
        assert toasts == [("Alert: big-transfer", "all flows: sum(bytes) 2,000,000 > 1,000,000", "warning")]
        assert watch.toasts == 1


async def test_with_the_list_open_a_change_is_counted_once(db: Path) -> None:
    """The badge's look counts the unacknowledged firings; the list the screen then reads does not count them again."""
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: badge_text(app) == "▲ 2 alerts")
        screen = await alerts_screen(pilot)
        seen: list[str] = []
        with app.data.lane("alerts") as lane:
            lane.store.conn.set_trace_callback(seen.append)
        loads = screen.loads
        fire(db, [BIG], [BIG_FLOW])
        await until(pilot, lambda: badge_text(app) == "▲ 3 alerts")
        await reloaded(pilot, screen, lambda: screen.loads > loads and len(table_rows(screen.table)) == 3)
        watch = alert_watch(app)
        await until(pilot, lambda: watch._worker is not None and watch._worker.is_finished)
        with app.data.lane("alerts") as lane:
            lane.store.conn.set_trace_callback(None)
        looks = [s for s in seen if "max(id), 0) FROM alerts" in s]
        counts = [s for s in seen if "count(*) FROM alerts WHERE acknowledged = 0" in s]
        assert looks and len(counts) == len(looks)  # one count a look, none for the list
        assert str(screen.query_one("#alerts-summary").render()).startswith("Alerts · 3 unacknowledged · 3 firings listed")


async def test_late_firings_count_on_the_badge_and_a_burst_raises_one_toast(db: Path) -> None:
    burst = rule(name="burst", query="action:REJECT", window="1m", condition="count > 0", group_by=["src_addr"])
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: badge_text(app) == "▲ 2 alerts")
        watch = alert_watch(app)
        # A backfill: its window ended 11 minutes before it was recorded, at 10:00.
        fire(db, [BIG], [flow(src="10.0.1.10", dst="84.17.32.5", dport=443, start=NOW - 700, action="ACCEPT", nbytes=2_000_000)],
             fired_at=NOW)
        await until(pilot, lambda: badge_text(app) == "▲ 3 alerts")
        await pilot.pause(1.2)
        assert (watch.toasts, list(app._notifications)) == (0, [])
        # Three firings of now, in one write: one toast that counts them.
        fire(db, [burst], [flow(src=f"203.0.113.{i}", start=NOW - 20) for i in (21, 22, 23)], fired_at=NOW)
        await until(pilot, lambda: badge_text(app) == "▲ 6 alerts")
        await pilot.pause(1.2)
        toasts = [(n.title, n.message, n.timeout) for n in app._notifications]
        assert toasts == [("3 new alerts", "burst ×3 — a lists them", 5.0)]


async def test_help_and_the_command_palette_list_the_alerts(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        sections = {title: [(key, what) for key, what, _ in rows] for title, rows in app.help_sections()}
        assert ("a", "Alerts") in sections["everywhere"]
        assert sections["alerts"] == [
            ("⏎", "Flows"), ("A", "Acknowledge"), ("^a", "Acknowledge every listed firing"), ("m", "Mute"),
            ("u", "Unacked only"), ("esc", "Back"),
        ]
        from flowtui.ui.commands import FlowtuiCommands

        names = [name for name, _, _ in FlowtuiCommands(app.screen)._commands()]
        assert "Alerts: firings" in names


async def test_alerts_keys_can_be_remapped(db: Path) -> None:
    app = make_app(db, keys={"app.alerts": "!", "alerts.acknowledge": "ctrl+k"})
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("!")
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen) and app.screen.loads >= 1)
        await pilot.press("ctrl+k")
        await until(pilot, lambda: badge_text(app) == "▲ 1 alert")



def test_a_firing_shows_its_condition_with_the_value_it_measured() -> None:
    def shown(condition: str, value: float) -> str:
        return Firing("r", {}, value, NOW - 300, NOW, NOW, condition=condition).measured()

    assert shown("distinct(dst_port) > 20", 37) == "distinct(dst_port) 37 > 20"
    assert shown("sum(bytes) >= 1000000", 1_234_567.5) == "sum(bytes) 1,234,567.50 >= 1,000,000"
    assert shown("count > 0", 1) == "count 1 > 0"
    assert shown("", 3) == "3"  # a firing stored before conditions were kept


# --- the selected firing whole, at 80 and 200 columns ------------------------------------------


@pytest.fixture
def muted_db(db: Path) -> Path:
    """port-scan fires again at 09:59:50 and its whole rule is muted until 11:00 tomorrow; a
    big transfer fired yesterday, its group muted until 10:30 today."""
    again = rule(**{**PORT_SCAN_TABLE, "cooldown": "0s"})  # as soon as it holds again
    fire(db, [again], [flow(src="203.0.113.9", dport=p, start=NOW - 150 + p) for p in range(30, 60)], fired_at=NOW - 10)
    fire(db, [BIG], [BIG_FLOW], fired_at=NOW - 86400)
    with Store(db) as store:
        AlertLog(store).mute("port-scan", NOW + 90000)
        AlertLog(store).mute("big-transfer", NOW + 1800, {})
    return db


def detail_lines(screen: AlertsScreen) -> list[str]:
    return str(screen.query_one("#alerts-detail").render()).splitlines()


async def test_at_80_columns_the_selected_firing_says_its_condition_when_it_fired_and_its_mute(muted_db: Path) -> None:
    """At 80 columns the state column has room for 'muted' alone and the detail was one line cut
    at its end: the firing's facts wrap onto two lines, the condition, the mute with its end and
    when it fired (and fired again) first; the group, the flows and the window after."""
    app = make_app(muted_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await alerts_screen(pilot)
        # Newest recorded first; a time not today has its date (its seconds give way first at 80 columns).
        assert table_rows(screen.table) == [
            ["11-26 10:00", "big-…", "all flows", "sum(bytes) 2,000,000 > 1,000,000", "muted"],
            ["09:59:50", "port…", "203.0.113.9", "distinct(dst_port) 55 > 20", "muted"],
            ["09:59:30", "thre…", "198.…0.23 · 443", "count 1 > 0", "new"],  # the detail has it whole
            ["09:59:30", "port…", "203.0.113.9", "distinct(dst_port) 25 > 20", "muted"],
        ]
        await pilot.press("j", "j", "j")
        await until(pilot, lambda: screen.flows_now.get(1) is not None)
        assert detail_lines(screen) == [
            "#1 port-scan · distinct(dst_port) 25 > 20",
            "muted until 11-28 11:00 (whole rule) · fired 09:59:30, again 09:59:50",  # the group is in its row
            'Enter opens the 25 flows of (action:REJECT)…r:"203.0.113.9" · 25 when it fired',
        ]
        await pilot.press("g")
        await until(pilot, lambda: screen.flows_now.get(4) is not None)
        assert detail_lines(screen)[:2] == [  # a rule without groups: its mute is of the whole rule, unsaid
            "#4 big-transfer · sum(bytes) 2,000,000 > 1,000,000 · muted until 10:30",
            "fired 11-26 10:00:00 · all flows · 1 flow, 2.0 MB · 09:59:00–10:00:00",
        ]


async def test_at_200_columns_the_selected_firing_is_one_line_and_the_mute_is_in_its_row(muted_db: Path) -> None:
    app = make_app(muted_db)
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await alerts_screen(pilot)
        assert table_rows(screen.table) == [
            ["11-26 10:00:00", "big-transfer", "all flows", "sum(bytes) 2,000,000 > 1,000,000", "1", "muted until 10:30"],
            ["09:59:50", "port-scan", "203.0.113.9", "distinct(dst_port) 55 > 20", "55", "muted until 11-28 11:00"],
            ["09:59:30", "threat-match", "198.51.100.23 · 443", "count 1 > 0", "1", "new"],
            ["09:59:30", "port-scan", "203.0.113.9", "distinct(dst_port) 25 > 20", "25", "muted until 11-28 11:00"],
        ]
        await pilot.press("j", "j", "j")
        await until(pilot, lambda: screen.flows_now.get(1) is not None)
        assert detail_lines(screen) == [
            (
                "#1 port-scan · distinct(dst_port) 25 > 20 · muted until 11-28 11:00 (whole rule) · fired 09:59:30,"
                " again 09:59:50 · src_addr=203.0.113.9 · 25 flows, 2.5 kB · 09:53:00–09:58:00"
            ),
            'Enter opens the 25 flows of (action:REJECT) AND src_addr:"203.0.113.9" in 09:53:00–09:58:00 · 25 when it fired',
        ]


async def test_the_summary_and_the_empty_list_name_the_key_bound_to_unacked_only(db: Path) -> None:
    """The summary said 'u: unacked only' whatever [ui.keys] bound that toggle to."""
    app = make_app(db, keys={"alerts.unacknowledged": "x"})
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await alerts_screen(pilot)
        assert str(screen.query_one("#alerts-summary").render()) == (
            "Alerts · 2 unacknowledged · 2 firings listed · x: unacked only"
        )
        await pilot.press("ctrl+a")
        await reloaded(pilot, screen, lambda: [r[-1] for r in table_rows(screen.table)] == ["acked", "acked"])
        await pilot.press("x")
        await reloaded(pilot, screen, lambda: screen.alerts is not None and screen.alerts.unacknowledged_only)
        assert str(screen.query_one("#alerts-summary").render()) == (
            "Alerts · none to acknowledge · 0 unacknowledged listed · x: every firing"
        )
        assert str(screen.query_one("#alerts-empty").render()) == "Nothing left to acknowledge: x shows every firing."
        assert "x Every firing" in footer_keys(screen)


def test_facts_take_shorter_forms_then_the_last_give_way() -> None:
    parts = [["#1 port-scan"], ["count 5 > 0"], ["src_addr=10.0.0.1 dst_addr=10.0.0.2", "10.0.0.1 → 10.0.0.2"], ["09:54:00–09:59:00"]]
    assert flow_parts(parts, 90, 1) == [[(0, "#1 port-scan"), (1, "count 5 > 0"), (2, "src_addr=10.0.0.1 dst_addr=10.0.0.2"), (3, "09:54:00–09:59:00")]]
    assert flow_parts(parts, 60, 1) == [[(0, "#1 port-scan"), (1, "count 5 > 0"), (2, "10.0.0.1 → 10.0.0.2")]]
    assert flow_parts(parts, 40, 2) == [
        [(0, "#1 port-scan"), (1, "count 5 > 0")], [(2, "10.0.0.1 → 10.0.0.2"), (3, "09:54:00–09:59:00")]
    ]
    assert flow_parts([["a-rule-name-far-too-long"]], 10, 1) == [[(0, "a-rule-na…")]]
