"""Changes a key makes, painted in the frame of the key.

Textual paints a changed widget once the widget is next idle: it tells its screen
then, and the screen paints what it has been told of as soon as it is idle itself.
The widgets a key changes are idle one after the other, so the screen often
paints the first change alone and the others a frame or two later (Textual's frame
timer skips a frame after a long paint: 30–40 ms). A key's handler that changes a
widget the key's own events do not reach (a pane's border, a footer key, a label)
tells the screen now, and the change is painted with the rest.

A focus change holds the screen's paint (App._begin_batch: while the count is above
zero, the screen's frame timer paints nothing and App._display drops what it is handed)
until the focused widget has heard of it. Each hold ends once, at the focused widget's
next turn (one callback in its queue) or at a timer. A hold for each key typed in the
query bar (c904e20) froze a real terminal: it ended when no queue had a message, looking
again from a callback posted to a busy queue; the keys of one paste or quick typing
each had such a look going, and each found the others' callback queued, posted its own
behind it, and so on for ever. Textual's message loop hands control back to asyncio
only when its queue is empty (Queue.get on a queue with a message does not wait), so
that one screen's loop spun (~20,000 looks a second): the timers that would have ended
the holds never ran, nor the terminal's input, and the batch count stayed up (13 after
'action:REJECT'), so nothing was painted again. Pilot sent one key at a time and let
each settle (one look at a time), and forces a paint in its pause: its tests passed.
A hold never posts itself again; any hold older than HOLD_AT_MOST is ended at the
next key or refresh too (end_overdue), should its callback and its timer both be lost
(a widget removed before its turn, a timer stopped with its owner).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.app import App
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


def end_overdue(app: App[Any]) -> int:
    """End every hold begun more than HOLD_AT_MOST ago (its end was lost); how many."""
    holds = _holds(app)
    if not holds:
        return 0
    now = time.monotonic()
    overdue = [hold for hold in holds if now - hold.began >= HOLD_AT_MOST]
    for hold in overdue:
        hold.end()
    return len(overdue)


def _holds(app: App[Any]) -> list[_Hold]:
    """The app's holds not ended yet, oldest first."""
    holds: list[_Hold] | None = getattr(app, "_paint_holds", None)
    if holds is None:
        holds = []
        setattr(app, "_paint_holds", holds)  # noqa: B010 - not an App attribute Textual knows
    return holds


class _Hold:
    """The screen's paint held (what App.batch_update does) until ``end``, HOLD_AT_MOST at most."""

    def __init__(self, screen: Screen[Any]) -> None:
        self.screen = screen
        self.app = screen.app
        self.ended = False
        self.began = time.monotonic()
        _holds(self.app).append(self)
        self.app._begin_batch()

    def after(self, node: MessagePump, callback: Callable[[], None]) -> None:
        """``callback`` at ``node``'s next turn (it ends the hold, now or later)."""
        if not node.call_later(callback):
            self.end()
        else:
            self.app.set_timer(HOLD_AT_MOST, self.end)  # the app's timers run whichever screen is in front

    def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        holds = _holds(self.app)
        if self in holds:
            holds.remove(self)
        try:
            self.app._end_batch()
        finally:
            self.screen.check_idle()  # the screen paints when next idle: make it look again
