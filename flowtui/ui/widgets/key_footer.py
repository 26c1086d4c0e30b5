"""The footer's key line, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer recomposes on every focus change: it removes and mounts a widget
    per key, and the screen lays itself out again (~30 ms on the dashboard). Moving
    between panes leaves the keys as they were, so this one keeps them."""

    _shown: tuple[Any, ...] | None = None
    recomposed = 0  # times the keys were rebuilt (for tests and the curious)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        """The keys are read when the footer would have been rebuilt, as Footer reads them."""
        if not self.is_attached:
            return
        shown = _signature(self.screen)
        if shown != self._shown:
            self._shown = shown
            self.recomposed += 1
            await self.recompose()


def _signature(screen: Screen[Any]) -> tuple[Any, ...]:
    """What Footer.compose shows: each shown binding (and the command palette's) as it would show it."""
    return tuple(
        (binding.key, binding.key_display, binding.action, binding.description, binding.group, enabled, tooltip)
        for _, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show or binding.action == "command_palette"
    )
