"""The footer's key line: the keys that matter first, each whole, changed in place when they change.

A screen may name its footer's keys (``FOOTER_KEYS``: actions, most important first,
with a footer label where the binding's own is long or vague). Those keys come first,
in that order, even a binding that does not show itself (the query bar's Enter and Tab);
the line shows them whole, as many as fit left of the command palette's key, and the
rest of the screen's keys after them while there is room. Textual's Footer lays every
key out in binding order and lets the ones past the edge fall off, cut mid-label
('q' without 'Quit') while the screen's own keys took the room.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from flowtui.ui.frames import paint_with_the_key

# What one key of the line shows: key, key display, description, action, disabled, tooltip, classes.
Entry = tuple[str, str, str, str, bool, str, str]
PALETTE = "-command-palette"
# A screen's footer keys: (action, label), most important first. "" keeps the binding's own
# description; a label also brings in a binding that does not show itself (Enter: "Run").
FooterKeys = Sequence[tuple[str, str]]


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

    def compose(self) -> ComposeResult:
        entries = _entries(self) if self._bindings_ready else None
        if entries is None:  # grouped bindings: Footer's own line
            yield from super().compose()
            return
        shown = fitting(entries, self.size.width, compact=self.compact)
        for entry, show in zip(entries, shown):
            key, display, description, action, disabled, tooltip, classes = entry
            widget = FooterKey(key, display, description, action, disabled=disabled, tooltip=tooltip, classes=classes)
            if classes != PALETTE:
                widget.data_bind(compact=Footer.compact)
            widget.display = show
            yield widget

    def on_resize(self) -> None:
        """Wider or narrower: show the keys that now fit (they are all here, some hidden)."""
        entries = _entries(self)
        have = [child for child in self.children if isinstance(child, FooterKey)]
        if entries is None or len(entries) != len(have):
            return
        for widget, show in zip(have, fitting(entries, self.size.width, compact=self.compact)):
            widget.display = show

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
        fits = dict(zip(map(id, entries), fitting(entries, self.size.width, compact=self.compact)))
        with self.app.batch_update():
            for widget in have:
                shown = placed.get(id(widget))
                if shown is None:
                    widget.display = False
                else:
                    _relabel(widget, shown)
                    widget.display = fits[id(shown)]
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


def fitting(entries: Sequence[Entry], width: int, *, compact: bool = True) -> list[bool]:
    """Which of ``entries`` (in the order shown) the line shows ``width`` cells wide: the
    command palette's key, then the others whole, in order, until one has no room (a key
    of less worth never takes the place of one before it). Width 0 (not laid out): all."""
    if width <= 0:
        return [True] * len(entries)
    room = width - sum(_width(e, compact) for e in entries if e[6] == PALETTE)
    shown: list[bool] = []
    full = False
    for entry in entries:
        if entry[6] == PALETTE:
            shown.append(True)
            continue
        need = _width(entry, compact)
        full = full or need > room
        room -= 0 if full else need
        shown.append(not full)
    return shown


def _width(entry: Entry, compact: bool) -> int:
    """The cells a FooterKey takes with its margin (Footer's CSS and flowtui.tcss's palette key)."""
    display, description, classes = entry[1], entry[2], entry[6]
    if classes == PALETTE:  # its border on the left, one cell of padding on the right
        return 1 + cell_len(display) + (1 + cell_len(description) if description else 0) + 1
    if not description:
        return cell_len(display) + (1 if compact else 0)
    if compact:  # 'y Copy' and a margin cell
        return cell_len(display) + 1 + cell_len(description) + 1
    return 1 + cell_len(display) + 1 + cell_len(description) + 1  # ' y Copy '


def _footer_keys(screen: Screen[Any]) -> dict[str, tuple[int, str]]:
    """The screen's FOOTER_KEYS as action -> (rank, label)."""
    named: FooterKeys = getattr(screen, "FOOTER_KEYS", ())
    return {action: (rank, label) for rank, (action, label) in enumerate(named)}


def _entries(footer: Footer) -> list[Entry] | None:
    """The keys the line shows, in its order (the screen's FOOTER_KEYS first, by their
    rank); None when bindings are grouped (their KeyGroups are left to Footer)."""
    app = footer.app
    active = footer.screen.active_bindings
    named = _footer_keys(footer.screen)
    first: dict[str, tuple[Any, bool, str]] = {}
    for _, binding, enabled, tooltip in active.values():
        if binding.show or named.get(binding.action, (0, ""))[1]:
            if binding.group is not None:
                return None
            first.setdefault(binding.action, (binding, enabled, tooltip))
    last = len(named)
    ranked = sorted(first.values(), key=lambda shown: named.get(shown[0].action, (last, ""))[0])
    entries: list[Entry] = [
        (b.key, app.get_key_display(b), named.get(b.action, (0, ""))[1] or b.description, b.action,
         not enabled, tooltip or "", "")
        for b, enabled, tooltip in ranked
    ]
    if footer.show_command_palette and app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
        _, b, enabled, _ = active[app.COMMAND_PALETTE_BINDING]
        entries.append((b.key, app.get_key_display(b), b.description, b.action, not enabled, b.tooltip or b.description, PALETTE))
    return entries


def _signature(screen: Screen[Any]) -> tuple[Any, ...]:
    """What the line shows: each shown binding (the screen's named ones, the command palette's) as it would show it."""
    named = _footer_keys(screen)
    return tuple(
        (binding.key, binding.key_display, binding.action, binding.description, binding.group, enabled, tooltip)
        for _, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show or binding.action == "command_palette" or named.get(binding.action, (0, ""))[1]
    )
