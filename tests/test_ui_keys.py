"""Keys: help generated from the bindings, user keymaps, the command palette, quit and back."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandPalette

from flowtui.config import Config
from flowtui.errors import ConfigError
from flowtui.query.window import TimeWindow
from flowtui.ui.app import FlowtuiApp
from flowtui.ui.screens.help import HelpScreen
from tests.test_ui_address import plain
from tests.ui_data import fixed_clock, make_app, refreshed, until, write_flows


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


def help_rows(screen: HelpScreen) -> dict[str, list[tuple[str, str]]]:
    return {title: [(key, what) for key, what, _ in rows] for title, rows in screen.sections}


async def test_help_scrolls_with_the_table_keys(db: Path) -> None:
    from textual.containers import VerticalScroll

    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        await pilot.press("question_mark")
        body = app.screen.query_one("#help-body", VerticalScroll)
        assert body.max_scroll_y > 1
        await pilot.press("j")
        await pilot.pause()
        assert body.scroll_y == 1
        await pilot.press("G")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("g")
        await pilot.pause()
        assert body.scroll_y == 0


async def test_help_lists_the_bindings(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 50)) as pilot:
        await refreshed(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app.screen)
        assert rows["everywhere"] == [
            ("q", "Quit"), ("?", "Help"), ("/", "Query"), (":, ^p", "Commands"), ("space", "Pause"), ("w", "Window"), ("a", "Alerts"),
            ("[", "Earlier"), ("]", "Later"), ("+, =", "Refresh faster"), ("-", "Refresh slower"),
            ("^s", "Save query"), ("^o", "Saved queries"), ("esc", "Back"),
        ]
        assert rows["tables"] == [
            ("⏎", "Open the address / value"), ("j", "Down"), ("k", "Up"), ("h", "Left"), ("l", "Right"),
            ("g", "Top"), ("G", "Bottom"), ("y", "Copy"), ("Y", "Copy row"),
        ]
        assert rows["results"] == [
            ("n", "Next page"), ("p", "Prev page"), ("s", "Sort"), ("e", "Export"), ("x", "Cancel export"), ("r", "Re-run"),
            ("esc", "Back"),
        ]
        assert rows["address"] == [("f", "Flows from"), ("t", "Flows to"), ("c", "Copy address"), ("esc", "Back")]
        assert rows["dashboard"] == [("⏎", "Drill down"), ("o", "Pane as results"), ("1-9", "Go to pane 1-9")]
        left = plain(app.screen.query_one("#help-keys"), width=100).splitlines()
        right = plain(app.screen.query_one("#help-keys-2"), width=100).splitlines()
        assert "            space   Pause  app.pause" in left
        assert "tables      ⏎       Open the address / value" in left  # the alerts section moved it there
        assert right[0] == "results        n       Next page  results.next_page"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.parametrize("size", [(80, 24), (120, 50)])
async def test_help_shows_each_bindings_id_for_the_config(db: Path, size: tuple[int, int]) -> None:
    app = make_app(db, keys={"app.pause": "p"})
    async with app.run_test(size=size) as pilot:
        await refreshed(pilot)
        await pilot.press("question_mark")
        sections = dict(app.screen.sections)
        assert sections["everywhere"][:5] == [
            ("q", "Quit", "app.quit"), ("?", "Help", "app.help"), ("/", "Query", "app.query"),
            (":, ^p", "Commands", "app.commands"), ("p", "Pause", "app.pause"),
        ]
        assert sections["dashboard"][2] == ("1-9", "Go to pane 1-9", "dashboard.pane1-9")
        assert sections["tables"][:2] == [("⏎", "Open the address / value", ""), ("j", "Down", "table.down")]
        keys = app.screen.query_one("#help-keys")
        text = plain(keys, width=keys.content_region.width)
        assert "q       Quit  app.quit" in text
        assert "p       Pause  app.pause" in text
        ids = {binding_id for rows in sections.values() for _, _, binding_id in rows if binding_id}
        both = text + plain(app.screen.query_one("#help-keys-2"), width=keys.content_region.width)
        assert [i for i in sorted(ids) if i not in both] == []


async def test_keys_can_be_remapped_from_the_config(db: Path) -> None:
    app = make_app(db, keys={"app.pause": "p", "table.copy": "c"})
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("space")
        assert app.paused is False
        await pilot.press("p")
        assert app.paused is True
        await pilot.press("space")  # resuming moved with it
        assert app.paused is True
        await pilot.press("p")
        assert app.paused is False
        await pilot.press("c")
        assert app.clipboard == "203.0.113.5"
        await pilot.press("question_mark")
        rows = help_rows(app.screen)
        assert ("p", "Pause") in rows["everywhere"]
        assert ("c", "Copy") in rows["tables"]


def test_an_unknown_binding_id_is_a_config_error(db: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[ui.keys\]: no binding 'app.nope'"):
        FlowtuiApp(db, Config({"ui": {"keys": {"app.nope": "x"}}}), now=fixed_clock)


async def test_command_palette_has_flowtui_commands(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("colon")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"last 1h")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: app.window == TimeWindow.last(3600))
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"light")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: app.theme == "flowtui-light")


async def test_window_dialog_presets_and_typed_ranges(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("w")
        await pilot.click("#window-6h")
        assert app.window == TimeWindow.last(21600)
        await pilot.press("w")
        app.screen.query_one("#window-input").value = "2026-11-27T09:00:00Z to 2026-11-27T09:30:00Z"
        await pilot.press("enter")
        assert app.window == TimeWindow(1_795_770_000, 1_795_771_801)
        await pilot.press("w")
        await pilot.press("ctrl+u", *"soon", "enter")
        error = app.screen.query_one(".dialog-error")
        assert error.display and str(error.render()) == (
            "window 'soon' is not a duration: use e.g. 90s, 15m, 2h or 1d"
        )


async def test_q_quits(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_digits_go_to_a_pane_and_o_opens_it_as_results(db: Path) -> None:
    from flowtui.ui.screens.results import ResultsScreen
    from flowtui.ui.widgets.pane import Pane

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("4")
        assert app.focused is app.dashboard.pane("threat-matches").table
        assert app.focused.query_ancestor(Pane).spec.title == "Threat matches"
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        assert app.screen.query_text == "src_addr_threat_indicated:true OR dst_addr_threat_indicated:true"
        assert app.screen.page.total == 6
        # r runs it again: a flow arriving meanwhile shows up.
        from tests.ui_data import add_flows, flow

        add_flows(db, [flow("192.0.2.66", 999, "10.0.1.10", 22, 6, "REJECT", 40, 1, 5)])
        await pilot.press("r")
        await until(pilot, lambda: app.screen.page is not None and app.screen.page.total == 7)


async def test_a_saved_query_can_be_deleted(db: Path) -> None:
    from flowtui.query.history import QueryHistory
    from flowtui.store import Store

    with Store(db) as store:
        QueryHistory(store).save("ssh", "dst_port:22")
        QueryHistory(store).save("rdp", "dst_port:3389")
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.saved_queries) == 2)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: app.screen.__class__.__name__ == "SavedQueriesScreen")
        await pilot.press("d")  # the first, by name: rdp
        await until(pilot, lambda: not [w for w in app.workers if w.group == "history" and not w.is_finished])
        await pilot.press("escape")
        assert app.saved_queries == [("ssh", "dst_port:22")]
    with Store(db, readonly=True) as store:
        assert QueryHistory(store).saved() == [("ssh", "dst_port:22")]



async def test_the_footer_says_resume_while_paused(db: Path) -> None:
    from textual.widgets._footer import FooterKey

    app = make_app(db)
    async with app.run_test(size=(160, 40)) as pilot:
        await refreshed(pilot)

        def space() -> list[str]:
            return [k.description for k in app.screen.query(FooterKey) if k.key == "space" and k.display]

        assert space() == ["Pause"]
        await pilot.press("space")
        await pilot.pause(0.1)
        assert app.paused is True and space() == ["Resume"]
        await pilot.press("space")
        await pilot.pause(0.1)
        assert app.paused is False and space() == ["Pause"]


async def test_a_paint_hold_whose_end_is_lost_is_ended_at_the_next_key(db: Path) -> None:
    """A focus change holds the screen's paint until its widget's turn or a 0.1 s timer; a
    hold whose end never comes (both lost) would leave the screen unpainted for good."""
    from typing import Any

    from flowtui.ui.frames import HOLD_AT_MOST, _Hold

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.pause(0.2)
        _Hold(app.dashboard)  # begun, with neither its callback nor its timer
        assert app._batch_count == 1
        painted: list[Any] = []
        display = app._display

        def shown(screen: Any, update: Any) -> None:
            if update is not None and not app._batch_count:
                painted.append(update)
            display(screen, update)

        app._display = shown  # type: ignore[method-assign]
        await pilot.pause(HOLD_AT_MOST)
        await pilot.press("space")
        await pilot.pause(0.2)
        assert app.paused and app._batch_count == 0 and painted


async def test_the_refresh_worker_waits_for_a_keys_paint_before_each_pane(db: Path) -> None:
    """From a key's arrival until its change is painted (key_painted is clear then: see
    test_ui_quiet_gc), the refresh worker's pane queries wait, KEY_YIELD_AT_MOST at most each."""
    from flowtui.ui.app import KEY_YIELD_AT_MOST

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.pause(0.2)
        waits: list[float | None] = []
        wait = app.key_painted.wait

        def waited(timeout: float | None = None) -> bool:
            waits.append(timeout)
            return wait(timeout)

        app.key_painted.wait = waited  # type: ignore[method-assign]
        count = app.refresh_count
        app.request_refresh()
        await until(pilot, lambda: app.refresh_count > count)
        assert waits == [KEY_YIELD_AT_MOST] * len(app.panes)


@pytest.mark.parametrize("where", ["dashboard", "query bar", "help", "window dialog"])
async def test_ctrl_c_quits_with_130_from_any_screen(db: Path, where: str) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press({"dashboard": "j", "query bar": "slash", "help": "question_mark", "window dialog": "w"}[where])
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running
    assert app.return_value == 130


async def test_ctrl_c_in_the_query_bar_quits_even_with_text_selected(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash", *"action:REJECT", "shift+home")
        assert app.focused.selected_text == "action:REJECT"
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running
    assert app.return_value == 130
