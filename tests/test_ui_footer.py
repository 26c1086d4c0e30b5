"""Every screen's footer: its own keys first, each whole, at 80 columns; the query bar's keys in the bar.

The address page, the alerts and a CloudTrail event had Textual's plain Footer: at 80
columns it cut '? Help' to '? Hel' on the address page. In the dashboard's query bar the
footer showed '^p Commands' alone, though Enter, Tab, ↑/↓, Escape and ctrl+t work there.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets._footer import FooterKey

from tests.cloudtrail_data import write_trail
from tests.test_cloudtrail_ui import address_page, open_event
from tests.test_ui_alerts import PORT_SCAN, SCAN, THREAT, TOR, alerts_screen, fire
from tests.ui_data import NOW, make_app, refreshed, until, write_flows

BAR_80 = ["⏎ Run", "tab Complete", "↑↓ History", "esc Leave", "^t CloudTrail", "^s Save", "^p Commands"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = write_flows(tmp_path / "flows.db")
    write_trail(path, NOW)
    fire(path, [PORT_SCAN, THREAT], SCAN, TOR)
    return path


def shown_keys(screen: Screen[Any]) -> list[str]:
    """The footer's keys on screen, left to right; each is whole inside the footer, none over another."""
    keys = sorted((k for k in screen.query(FooterKey) if k.display), key=lambda k: k.region.x)
    footer = screen.query_one("KeyFooter")
    for key, after in pairwise(keys):
        assert key.region.right <= after.region.x, (key.key, after.key)
    for key in keys:
        assert footer.region.x <= key.region.x and key.region.right <= footer.region.right, key.key
    return [f"{k.key_display} {k.description}" for k in keys]


async def test_address_page_footer_at_80_columns(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        screen = await address_page(pilot, "198.51.100.7")
        await pilot.pause()
        assert shown_keys(screen) == [
            "esc Back", "f Flows from", "t Flows to", "c Copy address", "? Help", "⏎ Open", "^p Commands",
        ]
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert shown_keys(screen) == [
            "esc Back", "f Flows from", "t Flows to", "c Copy address", "? Help", "⏎ Open", "q Quit", "y Copy",
            "/ Query", "w Window", "space Pause", "a Alerts", "^p Commands",
        ]


async def test_alerts_footer_at_80_columns(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        await alerts_screen(pilot)
        await pilot.pause()
        assert shown_keys(app.screen) == [
            "esc Back", "⏎ Flows", "A Acknowledge", "m Mute", "u Unacked only", "? Help", "q Quit", "^p Commands",
        ]


async def test_cloudtrail_event_footer_at_80_columns(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_event(pilot, "ev-delete-sg")
        await pilot.pause()
        assert shown_keys(screen) == [
            "esc Back", "f Flows of the source", "c Copy record", "⏎ Open", "? Help", "q Quit", "^p Commands",
        ]


async def test_the_dashboards_query_bar_shows_its_keys(db: Path) -> None:
    """ctrl+t's key says the scope it goes to; a label grown and shrunk back leaves no gap and
    cuts no key (the key kept 'CloudTrail''s width: '^o Sa' was cut at the edge)."""
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        screen = app.screen
        table_keys = shown_keys(screen)
        await pilot.press("slash")
        await pilot.pause()
        assert shown_keys(screen) == BAR_80
        await pilot.press("ctrl+t")  # '@cloudtrail ': ctrl+t goes back to flows
        await pilot.pause()
        assert shown_keys(screen) == [*BAR_80[:4], "^t Flows", "^s Save", "^o Saved", "^p Commands"]
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert shown_keys(screen) == BAR_80
        await pilot.press("escape")
        await pilot.pause()
        assert shown_keys(screen) == table_keys


async def test_pause_and_resume_keep_the_footer_in_place(db: Path) -> None:
    """Space relabels its key (Pause ⇄ Resume) without laying the line out each time; the key
    grew a cell at each Resume ('space Pause    w Window' after six presses)."""
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await refreshed(pilot)

        def window_key_x() -> int:
            return next(k.region.x for k in app.screen.query(FooterKey) if k.key == "w")

        await pilot.press("space")
        await pilot.pause()
        resumed = window_key_x()
        await pilot.press("space")
        await pilot.pause()
        paused = window_key_x()
        for _ in range(3):
            await pilot.press("space", "space")
            await pilot.pause()
        assert window_key_x() == paused
        await pilot.press("space")
        await pilot.pause()
        assert window_key_x() == resumed
        assert "space Resume" in shown_keys(app.screen)


async def test_the_first_slash_shows_the_bar_keys_built_with_the_first_line(db: Path) -> None:
    """The bar's keys are there, hidden, from the start (Textual focuses the bar's field as the
    screen mounts, then the screen focuses a table): '/' and Escape show and hide keys, the
    first time too, never rebuild the line."""
    from flowtui.ui.widgets.key_footer import KeyFooter

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.pause(0.2)
        footer = app.screen.query_one(KeyFooter)
        built = footer.recomposed
        hidden = [k.key for k in footer.query(FooterKey) if not k.display]
        assert hidden == ["enter", "tab", "up", "escape", "ctrl+t", "ctrl+s", "ctrl+o"]
        table_keys = shown_keys(app.screen)
        for _ in range(2):
            await pilot.press("slash")
            await pilot.pause()
            assert shown_keys(app.screen) == [*BAR_80[:5], "^s Save", "^o Saved", "^p Commands"]
            await pilot.press("escape")
            await pilot.pause()
            assert shown_keys(app.screen) == table_keys
        assert footer.recomposed == built


async def test_a_key_is_as_wide_as_it_renders(db: Path) -> None:
    """KeyFooter's keys count their width (Textual rendered each one to measure it)."""
    from rich.cells import cell_len

    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash")
        await pilot.pause()
        keys = list(app.screen.query(FooterKey))
        assert len(keys) == 15
        for key in keys:
            counted = key.get_content_width(key.parent.size, app.size)
            assert counted == cell_len(key.render().plain), key.key
            if key.display:
                assert key.content_region.width == counted


async def test_the_alerts_footer_at_200_columns_has_no_key_for_itself(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(200, 40)) as pilot:
        await refreshed(pilot)
        await alerts_screen(pilot)
        await pilot.pause()
        keys = shown_keys(app.screen)
        assert "q Quit" in keys and "w Window" in keys
        assert "a Alerts" not in keys
        await pilot.press("escape")
        await pilot.pause()
        assert "a Alerts" in shown_keys(app.screen)


@pytest.mark.parametrize(
    ("keys", "footer"),
    [
        (["w"], ["⏎ Apply", "esc Cancel"]),
        (["slash", *"action:REJECT", "ctrl+s"], ["⏎ Save", "esc Cancel"]),
        (["ctrl+o"], ["⏎ Run", "d Delete", "esc Cancel"]),
        (["o", "e"], ["⏎ Export", "esc Cancel"]),
    ],
    ids=["window", "save query", "saved queries", "export"],
)
async def test_a_dialogs_footer_shows_the_dialogs_keys(db: Path, keys: list[str], footer: list[str]) -> None:
    app = make_app(db)
    async with app.run_test(size=(200, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press(*keys)
        await until(pilot, lambda: "Dialog" in type(app.screen).__mro__[1].__name__)
        await pilot.pause()
        assert shown_keys(app.screen) == footer
