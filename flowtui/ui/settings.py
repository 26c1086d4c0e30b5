"""The ``[ui]`` section of the config, and how the time window is labelled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text

from flowtui.config import Config
from flowtui.errors import ConfigError, FlowtuiError
from flowtui.query.window import TimeWindow
from flowtui.ui.formatting import time_zone_setting, window_text, zone_name
from flowtui.ui.widgets.status_bar import Feed

Colours = Mapping[str, str] | None

DEFAULT_WINDOW = TimeWindow.last(900)
DEFAULT_INTERVAL = 2.0


@dataclass(frozen=True, slots=True)
class UiSettings:
    """``[ui]`` of the config, checked."""

    theme: str | None = None
    refresh: float = DEFAULT_INTERVAL
    window: TimeWindow = DEFAULT_WINDOW
    keys: dict[str, str] | None = None
    timezone: str = "UTC"  # of every time on screen: "UTC" or "local" (formatting.use_time_zone)

    @classmethod
    def from_config(cls, config: Config) -> UiSettings:
        from flowtui.ui.screens.dialogs import parse_window

        ui = config.section("ui")
        theme = config.get("ui", "theme", None, str)
        refresh = config.get("ui", "refresh", DEFAULT_INTERVAL, (int, float))
        if refresh <= 0:
            raise ConfigError(f"{config.path or 'config'}: [ui] refresh must be more than 0 seconds")
        timezone = time_zone_setting(config.get("ui", "timezone", "UTC"), f"{config.path or 'config'}: [ui]")
        typed = config.get("ui", "window", None, str)
        try:  # a window's times are read in the zone the screen shows
            window = parse_window(typed, local=timezone == "local") if typed else DEFAULT_WINDOW
        except FlowtuiError as exc:
            raise ConfigError(f"{config.path or 'config'}: [ui] window: {exc}") from None
        keys = ui.get("keys", {})
        if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
            raise ConfigError(f"{config.path or 'config'}: [ui.keys] maps binding ids to keys, e.g. \"app.quit\" = \"ctrl+q\"")
        return cls(theme, float(refresh), window, dict(keys), timezone)


def window_label(
    window: TimeWindow,
    paused: bool,
    live_colour: str = "green",
    feed: Feed | None = None,
    colours: Colours = None,
    viewer: bool = False,
) -> Text:
    """``● live last 15m``: 'live' only while a source reads (``feed``: None when unknown);
    ``○ viewer`` when no source is known and this process runs none (the panes follow a store
    another process may fill). A pause stops the refresh, not the news: a failing or stopped
    source is still said."""
    text = Text(no_wrap=True)
    warning = (colours or {}).get("warning", "yellow")
    if paused:
        text.append(" PAUSED ", style="reverse bold")
        text.append(" ")
    if not window.live:
        text.append("■ fixed ", style="bold")
    elif feed is None:
        if not paused:  # paused, the panes do not follow the clock: neither 'live' nor a viewer
            text.append("○ viewer " if viewer else "● live ", style="bold dim" if viewer else f"bold {live_colour}")
    else:
        if feed.reading and not paused:
            text.append("● live ", style=f"bold {live_colour}")
        elif not feed.reading and not feed.failing:
            text.append("■ stopped ", style=f"bold {warning}")
        if feed.failing:
            total = feed.reading + feed.failing
            colour = warning if feed.reading else (colours or {}).get("error", "red")
            failing = f"⚠ {feed.failing} of {total} source{'s' if total != 1 else ''} failing "
            text.append(failing, style=f"bold {colour}")
    text.append(f"{window_text(window)} {zone_name()}")  # the header is never cut: the zone of every time shown
    return text
