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

from textual.widget import Widget


def paint_with_the_key(widget: Widget) -> None:
    """Hand ``widget``'s pending repaint (or layout) to its screen now, not at its next idle."""
    if widget.is_attached:
        widget._check_refresh()  # what Widget._on_idle does
