"""Changes a key makes, painted in the frame of the key.

Textual paints a changed widget once the widget is next idle: it tells its screen
then, and the screen paints what it has been told of as soon as it is idle itself.
The widgets a key changes are idle one after the other, so the screen often
paints the first change alone and the others a frame or two later (Textual's frame
timer skips a frame after a long paint: 30–40 ms). A key's handler that changes a
widget the key's own events do not reach (a pane's border, a footer key, a label)
tells the screen now, and the change is painted with the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.widget import Widget

HOLD_AT_MOST = 0.1  # seconds a focus change may hold the screen's paint


def paint_with_the_key(widget: Widget) -> None:
    """Hand ``widget``'s pending repaint (or layout) to its screen now, not at its next idle."""
    if widget.is_attached:
        widget._check_refresh()  # what Widget._on_idle does


def hold_paint_for_focus(screen: Screen[Any], widget: Widget | None) -> None:
    """Paint ``screen`` no sooner than ``widget`` has heard it has the focus (its new look).

    What a focus change hands the screen at once (a pane's border, the footer's keys)
    would otherwise be painted alone, and the focused and blurred widgets' new look a
    frame later. Never longer than HOLD_AT_MOST (a widget that goes away first, a screen
    pushed over this one: its widgets hear nothing until it is in front again).
    """
    app = screen.app
    if widget is None or app.screen is not screen or not getattr(app, "refresh_count", 0):
        # A screen in the background (a focus set as another is pushed) does not paint; nor is
        # anything held while the app starts (Textual mounts it in batches of its own).
        return
    hold = _Hold(screen)
    hold.after(widget, hold.end)


class _Hold:
    """The screen's paint held (what App.batch_update does) until ``end``, HOLD_AT_MOST at most."""

    def __init__(self, screen: Screen[Any]) -> None:
        self.screen = screen
        self.ended = False
        screen.app._begin_batch()

    def after(self, node: MessagePump, callback: Callable[[], None]) -> None:
        """``callback`` at ``node``'s next turn (it ends the hold, now or later)."""
        if not node.call_later(callback):
            self.end()
        else:
            self.screen.app.set_timer(HOLD_AT_MOST, self.end)  # the app's timers run whichever screen is in front

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.screen.app._end_batch()
            self.screen.check_idle()  # the screen paints when next idle: make it look again
