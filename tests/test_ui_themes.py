"""Themes: the shipped three, user themes, --theme and [ui] theme, colours from theme variables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flowtui.config import Config
from flowtui.errors import ConfigError
from flowtui.ui.app import FlowtuiApp
from flowtui.ui.themes import PACKAGED_DIR, load_theme_file, load_themes, resolve_theme_name
from tests.ui_data import fixed_clock, make_app, refreshed, write_flows

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


def test_the_shipped_themes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert PACKAGED_DIR.resolve() == (ROOT / "themes").resolve()
    themes = load_themes()
    assert sorted(themes) == ["flowtui-256", "flowtui-dark", "flowtui-light"]
    assert themes["flowtui-dark"].dark and not themes["flowtui-light"].dark
    for theme in themes.values():
        assert set(theme.variables) >= {"reject", "threat", "fresh", "internal", "external", "muted"}
    assert themes["flowtui-256"].variables["reject"] == "#ff5f5f"


def test_names_resolve_short_and_long() -> None:
    names = ["flowtui-dark", "flowtui-light", "flowtui-256", "nord"]
    assert resolve_theme_name("256", names) == "flowtui-256"
    assert resolve_theme_name("flowtui-light", names) == "flowtui-light"
    assert resolve_theme_name("nord", names) == "nord"
    with pytest.raises(ConfigError, match=r"^no theme 'pink': use 256, dark, light or a Textual theme name$"):
        resolve_theme_name("pink", names)


def test_a_user_theme_is_loaded_and_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "flowtui" / "themes"
    folder.mkdir(parents=True)
    (folder / "night.toml").write_text('name = "night"\nprimary = "#224466"\n[variables]\nreject = "#ff0000"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_themes()["night"].variables == {"reject": "#ff0000"}
    bad = folder / "bad.toml"
    bad.write_text('name = "bad"\nprimary = "#000000"\nsparkle = true\n')
    with pytest.raises(ConfigError, match="unknown theme keys sparkle"):
        load_theme_file(bad)


async def test_config_theme_and_its_colours(db: Path) -> None:
    app = make_app(db, theme="light")
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        assert app.theme == "flowtui-light"
        assert app.theme_variables["reject"] == "#c62828"
        title = app.dashboard.pane("rejects")
        assert title.styles.border_title_color.hex.lower() == "#c62828"
        # Switching theme restyles the tables (the colours are in the cells).
        app.theme = "flowtui-dark"
        await pilot.pause()
        cell = app.dashboard.pane("threat-matches").table.get_row_at(0)[0]
        assert "#ff5fd7" in str(cell.style)


async def test_a_textual_theme_gets_flowtui_defaults(db: Path) -> None:
    app = FlowtuiApp(db, Config({"ui": {"refresh": 60, "theme": "nord"}}), now=fixed_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        assert app.theme == "nord"
        assert app.theme_variables["threat"] == "#ff5fd7"


def test_a_bad_theme_is_one_sentence_before_the_screen_is_taken(db: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flowtui", "--db", str(db), "--theme", "pink"],
        check=False, capture_output=True, text=True, timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert done.stderr == "flowtui: no theme 'pink': use 256, dark, light or a Textual theme name\n"
    assert done.stdout == ""
