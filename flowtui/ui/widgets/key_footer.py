"""The footer's key line, changed in place when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from flowtui.ui.frames import paint_with_the_key

# What one key of the line shows: key, key display, description, action, disabled, tooltip, classes.
Entry = tuple[str, str, str, str, bool, str, str]
PALETTE = "-command-palette"


class KeyFooter(Footer):
    """Textual's Footer recomposes on every focus change: it removes and mounts a widget
    per key, and the screen lays itself out again (15–30 ms on the dashboard). Moving
    between panes leaves the keys as they were, so this one keeps them; '/' (the query
    bar shows the command palette's key alone), Escape and space (Pause ⇄ Resume) hide,
    show and relabel the keys it has. It recomposes only for a key it has never shown,
    or keys in another order."""

    _shown: tuple[Any, ...] | None = None
    _focused: Any = None  # the screen's focused widget when the keys were last read
    recomposed = 0  # times the keys were rebuilt (for tests and the curious)
    changed_in_place = 0  # times keys were shown, hidden or relabelled without a rebuild

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            if self.app.screen is screen:
                # In front: now, in the same frame as the key's other changes (space: Pause ⇄
                # Resume, '/' and Escape: the query bar's keys), one layout and one paint.
                self._show_keys()
            else:  # a screen coming or going: when it has settled, as Footer
                self.call_after_refresh(self._show_keys)

    def _show_keys(self) -> None:
        """The keys are read when the footer would have been rebuilt, as Footer reads them;
        shown by changing the keys here, or (a key never shown) by a recompose."""
        if not self.is_attached:
            return
        self._focused = self.screen.focused
        shown = _signature(self.screen)
        if shown == self._shown:
            return
        self._shown = shown
        if self._change_in_place():
            self.changed_in_place += 1
            return
        self.recomposed += 1
        self.call_next(self.recompose)

    def _change_in_place(self) -> bool:
        """Show the keys Footer.compose would make with the FooterKeys already here:
        each new key is one of them (by its key), in the same order. False: recompose."""
        entries = _entries(self)
        if entries is None or any(not isinstance(child, FooterKey) for child in self.children):
            return False
        have = [child for child in self.children if isinstance(child, FooterKey)]
        slots = iter(have)
        placed: dict[int, Entry] = {}
        for entry in entries:
            for widget in slots:
                if (widget.key, widget.has_class(PALETTE)) == (entry[0], entry[6] == PALETTE):
                    placed[id(widget)] = entry
                    break
            else:
                return False
        with self.app.batch_update():
            for widget in have:
                shown = placed.get(id(widget))
                if shown is None:
                    widget.display = False
                else:
                    _relabel(widget, shown)
                    widget.display = True
        for widget in have:
            paint_with_the_key(widget)
        return True


def _relabel(widget: FooterKey, entry: Entry) -> None:
    key, display, description, action, disabled, tooltip, _ = entry
    # A label that grows (Pause → Resume) lays the footer out, and the key keeps that width
    # (min-width): back to the shorter label and again is a repaint of the key alone.
    grow = len(display) + len(description) - (len(widget.key_display) + len(widget.description))
    wider = grow > 0
    if wider and widget.size.width:
        widget.styles.min_width = widget.size.width + grow
    changed = (display, description) != (widget.key_display, widget.description)
    widget.key, widget.key_display, widget.description, widget.action = key, display, description, action
    if widget._disabled != disabled:
        widget._disabled = disabled
        widget.set_class(disabled, "-disabled")
    if (widget.tooltip or "") != tooltip:
        widget.tooltip = tooltip or None
    if changed:
        widget.refresh(layout=wider)


def _entries(footer: Footer) -> list[Entry] | None:
    """The keys Footer.compose shows, in its order; None when bindings are grouped (its
    KeyGroups are left to it)."""
    app = footer.app
    active = footer.screen.active_bindings
    first: dict[str, tuple[Any, bool, str]] = {}
    for _, binding, enabled, tooltip in active.values():
        if binding.show:
            if binding.group is not None:
                return None
            first.setdefault(binding.action, (binding, enabled, tooltip))
    entries: list[Entry] = [
        (b.key, app.get_key_display(b), b.description, b.action, not enabled, tooltip or "", "")
        for b, enabled, tooltip in first.values()
    ]
    if footer.show_command_palette and app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
        _, b, enabled, _ = active[app.COMMAND_PALETTE_BINDING]
        entries.append((b.key, app.get_key_display(b), b.description, b.action, not enabled, b.tooltip or b.description, PALETTE))
    return entries


def _signature(screen: Screen[Any]) -> tuple[Any, ...]:
    """What Footer.compose shows: each shown binding (and the command palette's) as it would show it."""
    return tuple(
        (binding.key, binding.key_display, binding.action, binding.description, binding.group, enabled, tooltip)
        for _, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show or binding.action == "command_palette"
    )
