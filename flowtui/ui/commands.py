"""flowtui's entries in the command palette (``:`` or ctrl+p)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from flowtui.query.window import TimeWindow
from flowtui.ui.screens.dialogs import WINDOW_PRESETS

if TYPE_CHECKING:
    from flowtui.ui.app import FlowtuiApp


class FlowtuiCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app: FlowtuiApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, Callable[[], object], str]] = []
        for label, seconds in WINDOW_PRESETS:
            out.append((f"Window: last {label}", partial(app.set_window, TimeWindow.last(seconds)), "live, refreshed"))
        out.append(("Window: all time", partial(app.set_window, TimeWindow.all()), "every stored flow"))
        out.append(("Window: type a range…", app.action_window, "a duration, or FROM to TO"))
        out.append(("Window: earlier", app.action_earlier, "shift back one window length ( [ )"))
        out.append(("Window: later", app.action_later, "shift forward one window length ( ] )"))
        out.append(("Resume refresh" if app.paused else "Pause refresh", app.action_toggle_pause, "space"))
        out.append(("Refresh now", partial(app.request_refresh, True), "run every pane's query now"))
        out.append(("Alerts: firings", app.action_alerts, "a: acknowledge, mute, open a firing's flows"))
        for spec in app.panes:
            out.append((f"Open pane: {spec.title}", partial(app.run_query, spec.query), spec.query))
        for name, query in app.saved_queries:
            out.append((f"Saved query: {name}", partial(app.run_query, query), query))
        out.append(("Save the current query…", app.action_save_query, "ctrl+s"))
        out.append(("Saved queries…", app.action_saved_queries, "ctrl+o"))
        for theme in app.flowtui_themes:
            out.append((f"Theme: {theme}", partial(setattr, app, "theme", theme), "colours"))
        out.append(("Help: keys and query syntax", app.action_help, "?"))
        return out

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
