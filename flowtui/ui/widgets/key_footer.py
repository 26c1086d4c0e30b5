"""The footer's key line: the keys that matter first, each whole, changed in place when they change.

A screen, and a widget that has keys of its own, may name its footer's keys
(``FOOTER_KEYS``: actions, most important first, with a footer label where the binding's
own is long or vague). The focused widget's come first (in the query bar, the bar's keys:
'q' and '?' type letters there), then its containers', then the screen's, in that order,
even a binding that does not show itself (the query bar's Enter and Tab, a table's Enter);
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
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey as TextualFooterKey

from flowtui.ui.frames import paint_with_the_key

# What one key of the line shows: key, key display, description, action, disabled, tooltip, classes.
Entry = tuple[str, str, str, str, bool, str, str]
PALETTE = "-command-palette"
_UNNAMED = (0, "", "")  # an action no FOOTER_KEYS names
_SLACK = 2  # cells a relabelled key may keep beyond its label rather than lay the line out
# A screen's or a widget's footer keys: (action, label), most important first. "" keeps the
# binding's own description; a label also brings in a binding that does not show itself
# (Enter: "Run"). A third item shows the key as that ("↑↓": up, with down beside it).
FooterKeys = Sequence[tuple[str, str] | tuple[str, str, str]]


class KeyFooter(Footer):
    """Textual's Footer recomposes on every focus change: it removes and mounts a widget
    per key, and the screen lays itself out again (15–30 ms on the dashboard). Moving
    between panes leaves the keys as they were, so this one keeps them; '/' and Escape
    (the query bar's keys ⇄ the view's), space (Pause ⇄ Resume) hide, show and relabel
    the keys it has. It recomposes only for a key it has never shown, or keys in another
    order, and keeps the keys it showed before, hidden: the query bar's keys are built
    with the first line (Textual focuses the bar's field as the screen mounts, before
    the screen gives the focus to a table), and '/' and Escape only show and hide."""

    _shown: tuple[Any, ...] | None = None
    _focused: Any = None  # the screen's focused widget when the keys were last read
    _had: tuple[Entry, ...] = ()  # the keys there when a recompose was asked for
    recomposed = 0  # times the keys were rebuilt (for tests and the curious)
    changed_in_place = 0  # times keys were shown, hidden or relabelled without a rebuild

    def compose(self) -> ComposeResult:
        entries = _entries(self) if self._bindings_ready else None
        if entries is None:  # grouped bindings: Footer's own line
            yield from super().compose()
            return
        shown = fitting(entries, self.size.width, compact=self.compact)
        keys = {entry[0] for entry in entries}
        # The keys shown before and not now, hidden, ahead of the palette's key (docked right).
        kept = [entry for entry in self._had if entry[0] not in keys and entry[6] != PALETTE]
        palette = [i for i, entry in enumerate(entries) if entry[6] == PALETTE]
        at = palette[0] if palette else len(entries)
        lined = [*zip(entries[:at], shown[:at]), *((entry, False) for entry in kept), *zip(entries[at:], shown[at:])]
        for entry, show in lined:
            key, display, description, action, disabled, tooltip, classes = entry
            widget = FooterKey(key, display, description, action, disabled=disabled, tooltip=tooltip, classes=classes)
            if classes != PALETTE:
                widget.data_bind(compact=Footer.compact)
            widget.display = show
            yield widget

    def on_resize(self) -> None:
        """Wider or narrower: show the keys that now fit (they are all here, some hidden)."""
        self._change_in_place()

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
        active = self.screen.active_bindings  # (each binding's check_action: read once)
        shown = _signature(self.screen, active)
        if shown == self._shown:
            return
        self._shown = shown
        if self._change_in_place(active):
            self.changed_in_place += 1
            return
        self.recomposed += 1
        self._had = tuple(_entry_of(child) for child in self.children if isinstance(child, FooterKey))
        self.call_next(self.recompose)

    def _change_in_place(self, active: dict[str, Any] | None = None) -> bool:
        """Show the keys Footer.compose would make with the FooterKeys already here:
        each new key is one of them (by its key), in the same order. False: recompose.
        ``active``: the screen's active bindings, when just read."""
        entries = _entries(self, active)
        if entries is None or any(not isinstance(child, FooterKey) for child in self.children):
            return False
        have = [child for child in self.children if isinstance(child, FooterKey)]
        slots = iter(have)
        placed: dict[int, Entry] = {}
        holders: list[FooterKey] = []  # the widget each entry goes to, in the entries' order
        for entry in entries:
            for widget in slots:
                if (widget.key, widget.has_class(PALETTE)) == (entry[0], entry[6] == PALETTE):
                    placed[id(widget)] = entry
                    holders.append(widget)
                    break
            else:
                return False
        least = _least(holders)
        fits = dict(zip(map(id, entries), fitting(entries, self.size.width, compact=self.compact, least=least)))
        with self.app.batch_update():
            for widget in have:
                shown = placed.get(id(widget))
                if shown is None:
                    widget.display = False
                else:
                    _relabel(widget, shown, self.compact)
                    widget.display = fits[id(shown)]
        for widget in have:
            paint_with_the_key(widget)
        return True


class FooterKey(TextualFooterKey):
    """Textual's footer key, whose width is counted, not rendered: the line is laid out
    whenever a key is shown, hidden or relabelled, and Textual measured each key by
    rendering it (FooterKey.render, its styles looked up again after every repaint)."""

    def get_content_width(self, container: Size, viewport: Size) -> int:
        width = cell_len(self.key_display)
        if self.description:  # as FooterKey.render: each part with its component's padding
            key = self._component_styles["footer-key--key"].padding
            description = self._component_styles["footer-key--description"].padding
            width += key.left + key.right + description.left + cell_len(self.description) + description.right
        if self.expand:
            width = max(container.width, width)
        if self.shrink:
            width = min(width, container.width)
        return width

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # A key's (virtual) size is its line's doing, never a reason to lay the line out again:
        # a key shown for the first time (the query bar's, at the first '/') had Textual lay
        # the whole screen out a second time for it.
        return super()._size_updated(size, virtual_size, container_size, layout=False)


def _entry_of(widget: FooterKey) -> Entry:
    classes = PALETTE if widget.has_class(PALETTE) else ""
    return (widget.key, widget.key_display, widget.description, widget.action, widget._disabled,
            str(widget.tooltip or ""), classes)


def _relabel(widget: FooterKey, entry: Entry, compact: bool) -> None:
    key, display, description, action, disabled, tooltip, _ = entry
    # A label that grows (Pause → Resume) lays the footer out, and the key keeps that width
    # (min-width): back to the shorter label and again is a repaint of the key alone. One
    # much shorter (ctrl+t's CloudTrail → Flows) lays it out narrower: no gap in the line.
    # The widths are the labels', not the key's size: a key kept wider is not a longer label
    # (space grew by a cell at each Pause → Resume, 'Pause    w Window' after six).
    old = _width(_entry_of(widget), compact)
    new = _width(entry, compact)
    kept = widget.styles.min_width
    shown = max(old, int(kept.value) + 1 if kept is not None and kept.is_cells else 0)
    layout = new > shown or shown - new > _SLACK
    if layout:
        widget.styles.min_width = new - 1 if new > shown else None  # less its margin cell
    elif new < old and kept is None:
        widget.styles.min_width = old - 1
    changed = (display, description) != (widget.key_display, widget.description)
    widget.key, widget.key_display, widget.description, widget.action = key, display, description, action
    if widget._disabled != disabled:
        widget._disabled = disabled
        widget.set_class(disabled, "-disabled")
    if (widget.tooltip or "") != tooltip:
        widget.tooltip = tooltip or None
    if changed:
        widget.refresh(layout=layout)


def fitting(entries: Sequence[Entry], width: int, *, compact: bool = True, least: Sequence[int] = ()) -> list[bool]:
    """Which of ``entries`` (in the order shown) the line shows ``width`` cells wide: the
    command palette's key, then the others whole, in order, until one has no room (a key
    of less worth never takes the place of one before it). Width 0 (not laid out): all.
    ``least``: the cells each key keeps whatever its label (a key relabelled shorter keeps
    its width: ctrl+t's 'CloudTrail' → 'Flows' left room for a key that was then cut)."""
    if width <= 0:
        return [True] * len(entries)
    room = width - sum(_width(e, compact) for e in entries if e[6] == PALETTE)
    shown: list[bool] = []
    full = False
    for i, entry in enumerate(entries):
        if entry[6] == PALETTE:
            shown.append(True)
            continue
        need = max(_width(entry, compact), least[i] if i < len(least) else 0)
        full = full or need > room
        room -= 0 if full else need
        shown.append(not full)
    return shown


def _least(widgets: Sequence[FooterKey]) -> list[int]:
    """The cells each key keeps (its min-width, set when a label grew, and its margin)."""
    kept = [w.styles.min_width for w in widgets]
    return [int(m.value) + 1 if m is not None and m.is_cells else 0 for m in kept]


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


def _footer_keys(screen: Screen[Any]) -> dict[str, tuple[int, str, str]]:
    """The FOOTER_KEYS of the focused widget, its containers and the screen, nearest first,
    as action -> (rank, label, key display): one action is ranked where it is named first."""
    named: dict[str, tuple[int, str, str]] = {}
    node: Any = screen.focused or screen
    while node is not None:
        for action, label, *display in getattr(node, "FOOTER_KEYS", ()):
            named.setdefault(action, (len(named), label, display[0] if display else ""))
        node = None if node is screen else node.parent
    return named


def _entries(footer: Footer, active: dict[str, Any] | None = None) -> list[Entry] | None:
    """The keys the line shows, in its order (the screen's FOOTER_KEYS first, by their
    rank); None when bindings are grouped (their KeyGroups are left to Footer)."""
    app = footer.app
    active = footer.screen.active_bindings if active is None else active
    named = _footer_keys(footer.screen)
    first: dict[str, tuple[Any, bool, str]] = {}
    for _, binding, enabled, tooltip in active.values():
        if binding.show or named.get(binding.action, _UNNAMED)[1]:
            if binding.group is not None:
                return None
            first.setdefault(binding.action, (binding, enabled, tooltip))
    last = (len(named), "", "")
    ranked = sorted(first.values(), key=lambda shown: named.get(shown[0].action, last)[0])
    entries: list[Entry] = []
    for b, enabled, tooltip in ranked:
        _, label, display = named.get(b.action, _UNNAMED)
        entries.append((b.key, display or app.get_key_display(b), label or b.description, b.action,
                        not enabled, tooltip or "", ""))
    if footer.show_command_palette and app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
        _, b, enabled, _ = active[app.COMMAND_PALETTE_BINDING]
        entries.append((b.key, app.get_key_display(b), b.description, b.action, not enabled, b.tooltip or b.description, PALETTE))
    return entries


def _signature(screen: Screen[Any], active: dict[str, Any]) -> tuple[Any, ...]:
    """What the line shows: each shown binding (the screen's named ones, the command palette's) as it would show it."""
    named = _footer_keys(screen)
    return tuple(
        (binding.key, binding.key_display, binding.action, binding.description, binding.group, enabled, tooltip,
         named.get(binding.action, _UNNAMED))
        for _, binding, enabled, tooltip in active.values()
        if binding.show or binding.action == "command_palette" or named.get(binding.action, _UNNAMED)[1]
    )
