"""The dashboard's panes: exact rows for a known store, in-place updates, the refresh loop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from flowtui.config import Config
from flowtui.errors import ConfigError
from flowtui.query.window import TimeWindow
from flowtui.ui.formatting import fit, human_bytes
from flowtui.ui.panes import DEFAULT_PANES, PaneSpec, panes_from_config
from flowtui.ui.widgets.pane import Pane
from tests.ui_data import MARKUP_NAME, NOW, add_flows, flow, make_app, refreshed, table_rows, until, write_flows


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


def pane_rows(app, key: str) -> list[list[str]]:
    return table_rows(app.dashboard.pane(key).table)


async def test_default_panes_show_the_known_rows(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        assert pane_rows(app, "top-talkers") == [
            ["203.0.113.5", "10.0.1.10", "4.0 MB", "3", "2,800"],
            ["10.0.1.10", "10.0.2.20", "500 kB", "2", "600"],
            ["10.0.1.11", "192.0.2.66", "40.0 kB", "1", "50"],
            ["198.51.100.7", "10.0.1.11", "600 B", "5", "10"],
            ["10.0.1.12", "8.8.8.8", "300 B", "1", "2"],
            ["203.0.113.5", "10.0.1.11", "60 B", "1", "1"],
        ]
        assert pane_rows(app, "rejects") == [
            ["198.51.100.7", "spamhaus · NL…", "22", "5", "600 B"],
            ["203.0.113.5", "US Example Net", "3389", "1", "60 B"],
        ]
        # The room whole IPv4 addresses leave (no label fits) shows a third metric.
        assert pane_rows(app, "external-ec2") == [
            ["198.51.100.7", "10.0.1.11", "5", "600 B", "10"],
            ["203.0.113.5", "10.0.1.10", "3", "4.0 MB", "2,800"],
            ["203.0.113.5", "10.0.1.11", "1", "60 B", "1"],
        ]
        assert pane_rows(app, "threat-matches") == [
            ["198.51.100.7", "10.0.1.11", "5", "600 B", "10"],
            ["10.0.1.11", "192.0.2.66", "1", "40.0 kB", "50"],
        ]


async def test_wide_panes_say_who_each_address_is(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(200, 50)) as pilot:
        await refreshed(pilot)
        table = app.dashboard.pane("threat-matches").table
        assert [str(c.label) for c in table.columns.values()] == [
            "src_addr", "who", "dst_addr", "who", "flows ▼", "bytes",
        ]
        assert pane_rows(app, "threat-matches") == [
            ["198.51.100.7", "spamhaus · NL Bad Hosting", "10.0.1.11", MARKUP_NAME, "5", "600 B"],
            ["10.0.1.11", MARKUP_NAME, "192.0.2.66", "tor · DE Relay GmbH", "1", "40.0 kB"],
        ]
        assert pane_rows(app, "top-talkers")[0] == ["203.0.113.5", "US Example Net", "10.0.1.10", "web-1", "4.0 MB", "3"]


async def test_rate_sparkline_covers_the_window(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        from textual.widgets import Sparkline

        result = app.dashboard.pane("rejects").result
        # Whole minutes, read from the rollups: NOW-15m up to NOW, in 15 one-minute buckets; the
        # minute NOW has just begun is not drawn (a few seconds of it would look like traffic stopping).
        assert result.bucket_seconds == 60.0
        assert len(result.rate) == 15
        assert sum(result.rate) == 6  # six rejected flows in the last 15 minutes
        spark = app.dashboard.pane("rejects").query_one(Sparkline)
        assert list(spark.data) == result.rate


async def test_threat_listed_addresses_are_coloured(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        table = app.dashboard.pane("threat-matches").table
        threat = app.theme_variables["threat"]
        first = table.get_row_at(0)
        assert first[0].plain == "198.51.100.7" and threat in str(first[0].style)
        assert threat not in str(first[1].style)
        second = table.get_row_at(1)
        assert second[1].plain == "192.0.2.66" and threat in str(second[1].style)


async def test_new_rows_are_highlighted_and_rows_update_in_place(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        table = app.dashboard.pane("rejects").table
        fresh = app.theme_variables["fresh"]
        assert all(fresh not in str(c.style) for row in range(table.row_count) for c in table.get_row_at(row))
        keys_before = list(table.rows)
        add_flows(db, [
            flow("192.0.2.66", 1000, "10.0.1.10", 23, 6, "REJECT", 40, 1, 10),
            flow("198.51.100.7", 1001, "10.0.1.11", 22, 6, "REJECT", 120, 2, 5),
        ])
        app.request_refresh(force=False)
        await refreshed(pilot, 2)
        assert pane_rows(app, "rejects") == [
            ["198.51.100.7", "spamhaus · NL…", "22", "6", "720 B"],
            ["192.0.2.66", "tor · DE Rela…", "23", "1", "40 B"],
            ["203.0.113.5", "US Example Net", "3389", "1", "60 B"],
        ]
        # The old rows kept their keys (updated, not rebuilt); only the new one is highlighted.
        assert set(keys_before) < set(table.rows)
        new_row = table.get_row("192.0.2.66\x1f23")
        assert all(fresh in str(c.style) for c in new_row)
        assert all(fresh not in str(c.style) for c in table.get_row("198.51.100.7\x1f22"))


async def test_cursor_stays_on_its_row_when_the_order_changes(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        table = app.dashboard.pane("rejects").table
        table.focus()
        table.move_cursor(row=1)  # 203.0.113.5 → 3389
        add_flows(db, [flow("203.0.113.5", 2000 + i, "10.0.1.11", 3389, 6, "REJECT", 60, 1, 20) for i in range(9)])
        app.request_refresh(force=False)
        await refreshed(pilot, 2)
        assert pane_rows(app, "rejects")[0][:4] == ["203.0.113.5", "US Example Net", "3389", "10"]
        assert table.cursor_coordinate.row == 0


async def test_no_store_change_means_no_pane_queries(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        for _ in range(3):
            app.request_refresh(force=False)
            await until(pilot, lambda: app._refresh_worker is not None and app._refresh_worker.is_finished)
        assert app.refresh_count == 1  # three ticks, the store unchanged: the panes were not re-run
        add_flows(db, [flow("192.0.2.66", 1000, "10.0.1.10", 23, 6, "REJECT", 40, 1, 10)])
        app.request_refresh(force=False)
        await refreshed(pilot, 2)


async def test_pause_stops_refresh_and_resume_catches_up(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("space")
        assert app.paused is True
        add_flows(db, [flow("192.0.2.66", 1000, "10.0.1.10", 23, 6, "REJECT", 40, 1, 10)])
        app.request_refresh(force=False)
        await until(pilot, lambda: app._refresh_worker is not None and app._refresh_worker.is_finished)
        await pilot.pause(0.1)
        assert app.refresh_count == 1
        assert len(pane_rows(app, "rejects")) == 2
        status = str(app.screen.query_one("#status-bar").render())
        assert "PAUSED" in status
        # Paused, the panes do not follow the clock: the bar does not also say "live".
        assert str(app.dashboard.query_bar.query_one(".query-window").render()) == " PAUSED  last 15m UTC"
        await pilot.press("space")
        assert app.paused is False
        await refreshed(pilot, 2)
        assert len(pane_rows(app, "rejects")) == 3


async def test_hidden_dashboard_is_not_refreshed(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("question_mark")
        add_flows(db, [flow("192.0.2.66", 1000, "10.0.1.10", 23, 6, "REJECT", 40, 1, 10)])
        app.request_refresh(force=False)
        await until(pilot, lambda: app._refresh_worker is not None and app._refresh_worker.is_finished)
        await pilot.pause(0.1)
        assert app.refresh_count == 1
        await pilot.press("escape")  # back on the dashboard: it catches up
        await refreshed(pilot, 2)
        assert len(pane_rows(app, "rejects")) == 3


async def test_window_shift_keys_change_the_window(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        assert app.window == TimeWindow.last(900)
        await pilot.press("left_square_bracket")
        assert app.window == TimeWindow(NOW - 1800, NOW - 900)
        await refreshed(pilot, 2)
        # 15 to 30 minutes ago there was nothing: the panes say so.
        assert pane_rows(app, "top-talkers") == []
        assert app.dashboard.pane("top-talkers").query_one(".pane-empty").display
        await pilot.press("left_square_bracket")
        assert app.window == TimeWindow(NOW - 2700, NOW - 1800)
        await pilot.press("right_square_bracket")
        assert app.window == TimeWindow(NOW - 1800, NOW - 900)
        await pilot.press("right_square_bracket")
        assert app.window == TimeWindow.last(900)  # back to live
        label = app.dashboard.query_bar.query_one(".query-window").render()
        assert str(label) == "○ viewer last 15m UTC"


async def test_fixed_window_is_not_refreshed_again(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        app.window = TimeWindow(NOW - 600, NOW)
        await refreshed(pilot, 2)
        add_flows(db, [flow("192.0.2.66", 1000, "10.0.1.10", 23, 6, "REJECT", 40, 1, 10)])
        app.request_refresh(force=False)
        await until(pilot, lambda: app._refresh_worker is not None and app._refresh_worker.is_finished)
        await pilot.pause(0.1)
        assert app.refresh_count == 2
        assert str(app.dashboard.query_bar.query_one(".query-window").render()).startswith("■ fixed")


async def test_refresh_interval_keys(db: Path) -> None:
    app = make_app(db, refresh=2)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.interval == 2.0
        await pilot.press("plus")  # faster: a shorter interval
        assert app.interval == 1.0
        await pilot.press("equals_sign", "plus")
        assert app.interval == 0.5  # the fastest there is
        await pilot.press("minus", "minus", "minus")  # slower
        assert app.interval == 5.0
        assert "every 5s" in str(app.screen.query_one("#status-bar").render())


async def test_ticks_never_pile_up(db: Path) -> None:
    """Each tick re-arms the timer when it ends: a slow tick delays the next, never overlaps it."""
    app = make_app(db, refresh=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        lock = threading.Lock()
        state = {"active": 0, "peak": 0, "calls": 0}
        status = app.data.status

        def slow_status():  # type: ignore[no-untyped-def]
            with lock:
                state["active"] += 1
                state["calls"] += 1
                state["peak"] = max(state["peak"], state["active"])
            time.sleep(0.15)  # longer than the refresh interval
            with lock:
                state["active"] -= 1
            return status()

        app.data.status = slow_status  # type: ignore[method-assign]
        for _ in range(5):
            app.request_refresh()
            await pilot.pause(0.05)
        await pilot.pause(0.8)
        assert state["calls"] >= 4
        assert state["peak"] == 1


@pytest.mark.parametrize(("size", "heights", "rooms"), [((80, 24), [5, 5, 5, 6], [2, 2, 2, 3]), ((100, 30), [6, 7, 7, 7], [3, 4, 4, 4])])
async def test_a_small_terminal_shows_all_four_panes_with_fewer_rows(
    tmp_path: Path, size: tuple[int, int], heights: list[int], rooms: list[int]
) -> None:
    from tests.ui_data import pair_flows

    db = write_flows(tmp_path / "flows.db", pair_flows(30))
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        await refreshed(pilot)
        panes = list(app.dashboard.query(Pane))
        await until(pilot, lambda: len(pane_rows(app, "top-talkers")) == panes[0].room())
        assert [p.region.height for p in panes] == heights
        assert all(p.region.bottom <= size[1] - 2 for p in panes)  # above the status line and the footer
        assert not any(p.query_one(".pane-rate").display for p in panes)  # the sparkline went
        assert [p.room() for p in panes] == rooms
        # Its top groups, no (other): too short for three groups above it (tests/test_ui_small_terminal.py).
        assert len(pane_rows(app, "top-talkers")) == rooms[0]
        assert "(other)" not in [row[0] for row in pane_rows(app, "top-talkers")]


async def test_narrow_terminal_stacks_panes_and_drops_columns(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        panes = list(app.dashboard.query(Pane))
        assert [p.region.x for p in panes] == [0, 0, 0, 0]  # one column
        assert [p.region.width for p in panes] == [80, 80, 80, 80]  # no scrollbar: all four on screen
        # Who each address is (tor, spamhaus) takes the room whole addresses leave.
        assert [str(c.label).strip() for c in panes[0].table.columns.values()] == [
            "src_addr", "who", "dst_addr", "who", "bytes ▼", "flows",
        ]
        await pilot.resize_terminal(60, 24)
        await pilot.pause(0.1)
        assert [str(c.label).strip() for c in panes[0].table.columns.values()] == [
            "src_addr", "dst_addr", "bytes ▼", "flows", "packets",
        ]
        assert pane_rows(app, "top-talkers")[0] == ["203.0.113.5", "10.0.1.10", "4.0 MB", "3", "2,800"]
        await pilot.resize_terminal(44, 24)
        await pilot.pause(0.1)
        assert [str(c.label).strip() for c in panes[0].table.columns.values()] == ["src_addr", "dst_addr", "bytes ▼", "flows"]


def test_panes_from_config() -> None:
    assert panes_from_config(Config()) == DEFAULT_PANES
    config = Config({"panes": [{"title": "SSH", "query": "dst_port:22", "by": "src_addr", "metric": "flows", "limit": 5}]})
    assert panes_from_config(config) == (PaneSpec("SSH", "dst_port:22", ("src_addr",), "flows", 5),)
    with pytest.raises(ConfigError, match="unknown field 'src'"):
        panes_from_config(Config({"panes": [{"title": "x", "by": ["src"]}]}))
    with pytest.raises(ConfigError, match="metric must be one of bytes, packets, flows"):
        panes_from_config(Config({"panes": [{"title": "x", "metric": "octets"}]}))


async def test_a_configured_pane_with_a_bad_query_says_where(tmp_path: Path) -> None:
    db = write_flows(tmp_path / "flows.db")
    from flowtui.ui.app import FlowtuiApp
    from tests.ui_data import fixed_clock

    config = Config({"ui": {"refresh": 60}, "panes": [{"title": "Broken", "query": "dst_port:(22", "by": "src_addr"}]})
    app = FlowtuiApp(db, config, now=fixed_clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await refreshed(pilot)
        empty = app.dashboard.pane("broken").query_one(".pane-empty")
        assert str(empty.render()).startswith("bad query at 10: ")


def test_fit_keeps_both_ends() -> None:
    assert fit("2a05:d018:1c4:3a00:a7d2:3e61:c05b:9023", 17) == "2a05:d018:…:9023"  # whole groups
    assert fit("10.0.0.1", 17) == "10.0.0.1"


async def test_a_resize_keeps_the_cursor_on_its_cell(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(200, 50)) as pilot:
        await refreshed(pilot)
        table = app.dashboard.pane("top-talkers").table
        table.focus()
        table.move_cursor(row=2, column=list(table.columns).index("dst_addr"))
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.1)
        assert "dst_addr.who" not in table.columns  # the layout did change
        assert table.cursor_coordinate.row == 2
        assert table.cursor_column_name() == "dst_addr"
        assert table.cursor_value().plain == "192.0.2.66"


def footer_keys(app) -> list[str]:  # type: ignore[no-untyped-def]
    from textual.widgets._footer import FooterKey

    return [f"{k.key_display} {k.description}".strip() for k in app.dashboard.query(FooterKey) if k.display]


async def test_moving_between_panes_leaves_the_footer_as_it_is(db: Path) -> None:
    """Its keys are the same in every pane: rebuilding them would lay the whole screen out again.
    The query bar's keys (the command palette's alone) and back are the same keys hidden and shown."""
    from flowtui.ui.widgets.key_footer import KeyFooter

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        footer = app.dashboard.query_one(KeyFooter)
        keys = footer_keys(app)
        assert keys == ["y Copy", "q Quit", "? Help", "/ Query", "space Pause", "w Window", "a Alerts", "^p Commands"]
        built, changed = footer.recomposed, footer.changed_in_place
        await pilot.press("tab", "tab", "2", "1")
        assert (footer.recomposed, footer.changed_in_place) == (built, changed)
        assert footer_keys(app) == keys
        await pilot.press("slash")  # the query bar's keys are others (built when it had the focus first)
        await pilot.pause()
        bar = ["⏎ Run", "tab Complete", "↑↓ History", "esc Leave", "^t CloudTrail", "^s Save", "^o Saved", "^p Commands"]
        assert footer_keys(app) == bar
        await pilot.press("escape")
        await pilot.pause()
        assert footer_keys(app) == keys
        await pilot.press("slash", "escape", "space")
        await pilot.pause()
        assert footer_keys(app) == [*keys[:4], "space Resume", *keys[5:]]
        assert (footer.recomposed, footer.changed_in_place) == (built, changed + 5)


async def test_a_refresh_is_shown_one_pane_per_frame(db: Path) -> None:
    """Painting four changed tables at once held keys up; between panes the app handles keys."""
    import dataclasses

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        panes = list(app.dashboard.query(Pane))
        first = [p.result for p in panes]
        second = [dataclasses.replace(r, window_label="second") for r in first]
        third = [dataclasses.replace(r, window_label="third") for r in first]
        shown: list[str] = []
        app.dashboard.show_results(second, done=lambda: shown.append("second"))
        assert [p.result.window_label for p in panes] == ["second", *(r.window_label for r in first[1:])]
        # A newer refresh coming meanwhile takes the place of what is left of the older one.
        app.dashboard.show_results(third, done=lambda: shown.append("third"))
        await until(pilot, lambda: len(shown) == 2)
        assert shown == ["second", "third"]
        assert [p.result.window_label for p in panes] == ["third"] * 4


async def test_a_refresh_renders_only_the_cells_that_changed(db: Path) -> None:
    """DataTable alone renders every cell again after any change; a pane's table keeps the rest."""
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        table = app.dashboard.pane("rejects").table
        await pilot.pause()
        before = table.cells_rendered
        rows = pane_rows(app, "rejects")
        # One more flow of the first row's pair: its flows, bytes and packets change, nothing else.
        add_flows(db, [flow("198.51.100.7", 61099, "10.0.1.11", 22, 6, "REJECT", 120, 2, 10)])
        app.request_refresh(force=False)
        await refreshed(pilot, 2)
        await pilot.pause()
        after = pane_rows(app, "rejects")
        changed = sum(a != b for old, new in zip(rows, after) for a, b in zip(old, new))
        assert (rows[0][:3], after[0][:3], changed) == (["198.51.100.7", "spamhaus · NL…", "22"], ["198.51.100.7", "spamhaus · NL…", "22"], 2)
        assert table.cells_rendered - before == 2


async def test_what_the_first_refresh_leaves_is_kept_from_the_cyclic_collector(db: Path) -> None:
    """A full collection walked every object of the app (~100 ms, keys waiting); after the first
    refresh those are frozen, and a collection walks only what came since."""
    import gc

    gc.unfreeze()
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        assert gc.get_freeze_count() > 0
        frozen = gc.get_freeze_count()
        app.request_refresh()
        await refreshed(pilot, 2)
        assert gc.get_freeze_count() <= frozen  # once only (it shrinks as frozen objects go): later garbage stays collectable
    gc.unfreeze()


def _top_talkers_config(**pane: object) -> Config:
    return Config({"ui": {"refresh": 60}, "panes": [{"title": "Top talkers", "query": "*", **pane}]})


async def test_a_pane_without_a_limit_shows_as_many_rows_as_fit(tmp_path: Path) -> None:
    """Like k9s: the rows follow the pane's height (the `(other)` row last); a resize re-queries."""
    from flowtui.ui.app import FlowtuiApp
    from tests.ui_data import fixed_clock, pair_flows, use_utc

    use_utc()
    db = write_flows(tmp_path / "flows.db", pair_flows(56))
    app = FlowtuiApp(db, _top_talkers_config(), now=fixed_clock)
    async with app.run_test(size=(200, 50)) as pilot:
        pane = app.dashboard.pane("top-talkers")
        await until(pilot, lambda: len(pane_rows(app, "top-talkers")) > 11)  # the first refresh may come before the layout
        rows = pane_rows(app, "top-talkers")
        assert pane.room() == 43
        assert len(rows) == 43 and rows[-1][0] == "(other)"
        assert rows[0] == ["10.0.1.10", "web-1", "10.0.1.11", MARKUP_NAME, "10.0 kB", "1"]
        assert pane.table.region.height == 44  # the header and every row: no blank lines, no scrolling
        await pilot.resize_terminal(200, 24)
        await until(pilot, lambda: len(pane_rows(app, "top-talkers")) < 43)
        rows = pane_rows(app, "top-talkers")
        assert pane.room() == 17
        assert len(rows) == 17 and rows[-1][0] == "(other)"
        assert pane.table.region.height == 18


async def test_a_configured_limit_wins_over_the_height(tmp_path: Path) -> None:
    from flowtui.ui.app import FlowtuiApp
    from tests.ui_data import fixed_clock, pair_flows, use_utc

    use_utc()
    db = write_flows(tmp_path / "flows.db", pair_flows(56))
    app = FlowtuiApp(db, _top_talkers_config(limit=5), now=fixed_clock)
    async with app.run_test(size=(200, 50)) as pilot:
        await refreshed(pilot)
        rows = pane_rows(app, "top-talkers")
        assert len(rows) == 6 and rows[-1][0] == "(other)"


async def test_ipv4_stays_whole_and_which_list_matched_beats_an_ipv6_middle(tmp_path: Path) -> None:
    """An address is what the user copies and queries: an IPv4 one is never cut. An IPv6 one
    keeps its network and host ('2a05:d018:…:9023') while who each address is (which threat
    list matched) gets its first cells; its middle comes back only with the room left."""
    from tests.ui_data import FLOWS, IPV6_TOR, IPV6_WEB

    assert IPV6_WEB == "2a05:d018:1c4:3a00:a7d2:3e61:c05b:9023"
    db = write_flows(tmp_path / "flows.db", [*FLOWS, flow(IPV6_TOR, 443, IPV6_WEB, 50000, 6, "ACCEPT", 9000, 9, 30)])
    app = make_app(db)
    async with app.run_test(size=(80, 40)) as pilot:
        await refreshed(pilot)
        pane = app.dashboard.pane("threat-matches")
        labels = [str(c.label).strip() for c in pane.table.columns.values()]
        assert labels == ["src_addr", "who", "dst_addr", "who", "flows ▼", "bytes"]
        assert pane_rows(app, "threat-matches") == [
            ["198.51.100.7", "spamhaus…", "10.0.1.11", f"{MARKUP_NAME[:9]}…", "5", "600 B"],
            ["10.0.1.11", f"{MARKUP_NAME[:9]}…", "192.0.2.66", "tor · DE…", "1", "40.0 kB"],
            ["2001:db8:70::77", "tor · NL…", "2a05:d018:…:9023", "web-3", "1", "9.0 kB"],
        ]
        await pilot.resize_terminal(200, 50)
        await pilot.pause(0.1)
        assert pane_rows(app, "threat-matches") == [
            ["198.51.100.7", "spamhaus · NL B…", "10.0.1.11", MARKUP_NAME, "5", "600 B"],
            ["10.0.1.11", MARKUP_NAME, "192.0.2.66", "tor · DE Relay…", "1", "40.0 kB"],
            ["2001:db8:70::77", "tor · NL Onion…", "2a05:d018:1c4:…:c05b:9023", "web-3", "1", "9.0 kB"],
        ]


async def test_a_stopped_source_shows_no_rate_or_lag_and_a_narrow_line_drops_its_detail(db: Path) -> None:
    from flowtui.store import Store

    with Store(db) as store:
        store.set_status("demo:1", "running", None, 612.0, 5)
        store.set_status("demo:1", "running", None, 612.0, 5)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        bar = app.screen.query_one("#status-bar")
        assert str(bar.render()).startswith("● demo:1 running 612/s lag 5ms │ dead 0 │")
        with Store(db) as store:
            store.set_status("demo:1", "stopped", None, 612.0, 5)
        app.request_refresh(force=False)
        await until(pilot, lambda: str(bar.render()).startswith("● demo:1 stopped │ dead 0 │"))
        detail = "synthetic traffic, seed 1, 500 records/s; making the first hour"
        with Store(db) as store:
            store.set_status("demo:1", "backfilling", detail, 41_400.0, 5)
        app.request_refresh(force=False)
        await until(pilot, lambda: "backfilling" in str(bar.render()))
        # 80 columns: the explanation goes whole (it was cut at 'records…' and took the rest of the line).
        size = human_bytes(app.status.size_bytes)
        assert str(bar.render()) == f"● demo:1 backfilling 41.4k/s lag 5ms │ dead 0 │ {size} │ UTC │ every 1m"
        assert bar.content_size.width == 78  # inside its padding


async def test_a_byte_rate_is_never_zero_over_visible_bars() -> None:
    from flowtui.ui.formatting import human_byte_rate

    assert [human_byte_rate(r) for r in (2_500_000.0, 3.0, 0.3, 0.05, 0.0001, 0.0)] == [
        "2.5 MB/s", "3 B/s", "18 B/min", "3 B/min", "8 B/d", "0 B/s",
    ]


async def test_a_new_source_shows_no_rate_until_one_is_measured(db: Path) -> None:
    """'running 0.0/s' in a source's (or a viewer's) first second is no rate: it says 'running'."""
    from flowtui.store import Store

    with Store(db) as store:
        store.set_status("demo:1", "running", None, 0.0, 4)
    app = make_app(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await refreshed(pilot)
        bar = app.screen.query_one("#status-bar")
        assert str(bar.render()).startswith("● demo:1 running lag 4ms │ dead 0 │")
        with Store(db) as store:
            store.set_status("demo:1", "running", None, 0.0, 4)  # a second update: 0/s is measured now
        app.request_refresh(force=False)
        await until(pilot, lambda: str(bar.render()).startswith("● demo:1 running 0.0/s lag 4ms │"))


async def test_a_pane_table_draws_each_cell_as_datatable_does(db: Path) -> None:
    """The table renders a cell's text once and lays its place, the row's style (the focused
    table's tint) and the cursor over it: every cell comes out as DataTable's own rendering."""
    from rich.segment import Segment
    from textual.widgets import DataTable

    def drawn(lines: list[list[Segment]]) -> list[list[tuple[str, object]]]:
        return [[(s.text, s.style) for s in Segment.simplify(line)] for line in lines]

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("l")  # the cursor on a second column
        checked = 0
        for focused in (True, False):
            for key in ("top-talkers", "rejects"):
                table = app.dashboard.pane(key).table
                base = table.rich_style
                for row in range(table.row_count):
                    for column, col in enumerate(table.ordered_columns):
                        width = col.get_render_width(table)
                        cursor = (row, column) == tuple(table.cursor_coordinate)
                        ours = table._render_cell(row, column, base, width, cursor=cursor)
                        theirs = DataTable._render_cell(table, row, column, base, width, cursor=cursor)
                        assert drawn(ours) == drawn(theirs), (key, row, column, cursor)
                        checked += 1
            if focused:
                await pilot.press("slash")  # no table has focus: no tint, the cursor blurred
        assert checked > 40


async def test_a_pane_table_draws_each_line_as_datatable_does(db: Path) -> None:
    """Lines are kept by what their cells hold: after a refresh changed some rows and the cursor
    moved, every line is still what DataTable draws, in the focused table and the other."""
    from rich.segment import Segment
    from textual.widgets import DataTable

    def drawn(strip: object) -> list[tuple[str, object]]:
        return [(s.text, s.style) for s in Segment.simplify(list(strip))]  # type: ignore[call-overload]

    def check() -> int:
        checked = 0
        for key in ("top-talkers", "rejects"):
            table = app.dashboard.pane(key).table
            base, width = table.rich_style, table.size.width
            for y in range(table.row_count + 1):
                ours = table._render_line(y, 0, width, base)
                theirs = DataTable._render_line(table, y, 0, width, base)
                assert drawn(ours) == drawn(theirs), (key, y)
                checked += 1
        return checked

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        assert check() > 6
        add_flows(db, [flow("198.51.100.7", 61099, "10.0.1.11", 22, 6, "REJECT", 120, 2, 10)])
        app.request_refresh(force=False)
        await refreshed(pilot, 2)
        await pilot.press("j", "l", "tab")
        await pilot.pause()
        drawn_before = app.dashboard.pane("rejects").table.lines_drawn
        assert check() > 6
        await pilot.press("tab")  # on to the next pane: Rejects looks as it did before it had focus
        await pilot.pause()
        assert check() > 6
        assert app.dashboard.pane("rejects").table.lines_drawn == drawn_before  # those lines were kept


async def test_the_pane_with_the_focused_table_has_the_bright_border(db: Path) -> None:
    """Pane sets it (no :focus-within rule): Tab moves it, and back is the screen as it was."""
    from textual.color import Color

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.pause()
        first = app.export_screenshot()
        bright = ("round", Color.parse(app.theme_variables["primary"]))

        def borders() -> list[bool]:
            return [pane.styles.border_top == bright for pane in app.dashboard.query(Pane)]

        assert borders() == [True, False, False, False]
        await pilot.press("tab")
        await pilot.pause()
        assert borders() == [False, True, False, False]
        assert app.export_screenshot() != first
        await pilot.press("slash")  # the query bar: no pane holds the focus
        await pilot.pause()
        assert borders() == [False, False, False, False]
        await pilot.press("escape")  # back to the first pane's table
        await pilot.pause()
        assert borders() == [True, False, False, False]
        assert app.export_screenshot() == first


async def test_a_focus_change_is_painted_once_with_the_borders_and_the_footer(db: Path) -> None:
    """Tab, '/' and Escape: the tables', the panes' and the footer's changes in one paint; the
    screen's paint is held only until the focused widget has heard of it (never for good)."""
    from textual.screen import Screen

    paints: list[set[str]] = []
    real = Screen._on_timer_update

    def counted(screen: Screen[object]) -> None:
        if screen._dirty_widgets or screen._layout_required:
            paints.append({type(w).__name__ for w in screen._dirty_widgets})
        real(screen)

    Screen._on_timer_update = counted  # type: ignore[method-assign]  # before the screen's frame timer is made
    try:
        app = make_app(db)
        async with app.run_test(size=(120, 40)) as pilot:
            await refreshed(pilot)
            await pilot.pause(0.3)
            paints.clear()
            # The bar's keys shown the first time: laid out, then painted again alone (and the
            # bar's cursor blinks): nothing else is painted twice.
            await pilot.press("slash")
            await pilot.pause(0.2)
            assert {"FooterKey", "Pane", "QueryInput"} <= paints[0]
            assert [kinds for kinds in paints[1:] if not kinds <= {"FooterKey", "QueryInput"}] == []
            await pilot.press("escape")
            await pilot.pause(0.6)
            for key in ("tab", "slash", "escape"):
                paints.clear()
                await pilot.press(key)
                await pilot.pause(0.2)
                assert app._batch_count == 0
                # The bar alone is its cursor blinking (0.5 s after it has the focus: a loaded
                # machine's press and pause can take that long); the key's change is one paint.
                changes = [kinds for kinds in paints if kinds != {"QueryInput"}]
                assert len(changes) == 1, (key, paints)
            assert {"PaneTable", "Pane", "QueryInput"} <= changes[0]  # Escape: out of the bar, into the table
            table = app.dashboard.pane("rejects").table
            app.dashboard.set_focus(table)
            await table.remove()  # gone before it heard of the focus: the paint is held 0.1 s, not for good
            await pilot.pause(0.2)
            assert app._batch_count == 0
    finally:
        Screen._on_timer_update = real  # type: ignore[method-assign]


async def test_a_focus_change_repaints_the_cursor_rows_and_the_borders_alone(db: Path) -> None:
    """Tab repaints each table's cursor row and each pane's four edges, and what is on the
    screen then is what a whole repaint of every widget paints (nothing left stale)."""
    from textual.geometry import Region
    from textual.widget import Widget

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.pause(0.3)
        first, second = app.dashboard.pane("top-talkers"), app.dashboard.pane("rejects")
        watched = {first: "first", second: "second", first.table: "first table", second.table: "second table"}
        asked: list[tuple[str, tuple[Region, ...]]] = []
        real = Widget.refresh

        def refresh(widget: Widget, *regions: Region, **kw: bool) -> Widget:
            if widget in watched:
                asked.append((watched[widget], regions))
            return real(widget, *regions, **kw)

        Widget.refresh = refresh  # type: ignore[method-assign]  # what reaches Textual's refresh
        try:
            await pilot.press("tab")
            await pilot.pause(0.2)
        finally:
            Widget.refresh = real  # type: ignore[method-assign]

        def edges(pane: Pane) -> tuple[Region, ...]:  # relative to the content, inside the border
            width, height = pane.outer_size
            return Region(-1, -1, width, 1), Region(-1, height - 2, width, 1), Region(-1, -1, 1, height), Region(width - 2, -1, 1, height)

        repaints = {name: regions for name, regions in asked if regions}
        assert not [name for name, regions in asked if not regions]  # no whole repaint
        assert (repaints["first"], repaints["second"]) == (edges(first), edges(second))
        assert [len(regions) for name, regions in asked if name.endswith("table")] == [1, 1]  # each cursor's row
        assert app.dashboard.focused is second.table
        shown = app.export_screenshot()
        for widget in app.screen.walk_children():
            widget.refresh()
        await pilot.pause(0.2)
        assert app.export_screenshot() == shown


async def test_a_metric_that_grows_later_is_not_cut() -> None:
    """A metric column is as wide as its widest value from the start: the '(other)' row
    growing from '467 kB' to '15.1 MB' keeps its last letter (DataTable sizes a column to the
    cells it first gets and never widens it for an updated cell)."""
    from textual.app import App, ComposeResult

    from flowtui.ui.data import PaneResult, PaneRow
    from flowtui.ui.panes import PaneSpec
    from flowtui.ui.widgets.pane import Pane

    spec = PaneSpec("Rejects", "action:REJECT", ("src_addr", "dst_port"), "flows")

    def result(other_bytes: int) -> PaneResult:
        rows = [
            PaneRow("198.51.100.7|22", ("198.51.100.7", 22), 9, 500_000, 9),
            PaneRow("(other)", ("(other)", None), 5_000, other_bytes, 5_000, other=True),
        ]
        return PaneResult(spec, rows, [], 60.0, "last 15m UTC")

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield Pane(spec)

    app = One()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = app.query_one(Pane)
        pane.show(result(467_000))
        await pilot.pause()
        pane.show(result(15_100_000))
        await pilot.pause()
        table = pane.table
        painted = table.render_line(table.row_count).text  # the header's line, then the rows
        assert painted.split() == ["(other)", "5,000", "15.1", "MB", "5,000"], painted  # no labels: packets too
