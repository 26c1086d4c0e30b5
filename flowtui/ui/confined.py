"""A screen compositor that draws only the widgets under what changed.

Textual paints a partial update by drawing every widget inside the rectangle around
all the changed regions, whole, then keeping the lines that changed. A key that changes
the top and the bottom of the dashboard (space: the query bar's label, the status bar
and the footer) drew the four panes' tables and borders in between; a focus change
(Tab: the left and right edges of two panes, every line of them) drew the tables those
edges surround. Here a widget is drawn only when a changed region overlaps it, and only
its lines from the first changed one to the last: what reaches the terminal is the same.

It also leaves one of Textual's self-references out: ``Strip.divide`` caches ``[self]``
in the strip when the cut is its whole width, so every line the compositor painted
whole was a reference cycle, garbage only a full collection frees. A strip that is one
piece is used as it is here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from textual._compositor import ChopsUpdate, Compositor, ReflowResult
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

Span = tuple[int, int, int]  # (y, x1, x2), as Compositor._regions_to_spans makes them


class ConfinedCompositor(Compositor):
    """Compositor whose partial updates draw only the widgets (and lines) that changed."""

    def reflow(self, parent: Widget, size: Size) -> ReflowResult:
        """Textual's reflow, after which the map it made is known to be whole.

        A widget repainted as it is shown or hidden (a footer key) marks the map as stale
        just before the layout (``update_widgets``); the reflow then builds it whole but
        leaves the mark, and the next look-up of a widget's region arranged every widget
        of the screen a second time (~2 ms on the dashboard, for each '/', Escape, space).
        """
        result = super().reflow(parent, size)
        self._full_map_invalidated = False
        return result

    def render_partial_update(self) -> ChopsUpdate | None:
        regions = self._dirty_regions.copy()
        self._dirty_regions.clear()
        if not regions:
            return None
        spans = list(self._regions_to_spans(regions))
        chops = self._render_spans(regions, spans)
        chop_ends = [cut_set[1:] for cut_set in self.cuts]
        return ChopsUpdate(chops, spans, chop_ends)

    def _render_spans(self, regions: Iterable[Region], spans: Sequence[Span]) -> Sequence[Mapping[int, Strip]]:
        """What ``_render_chops`` makes for ``spans``' lines, drawing only widgets under a span."""
        cuts = self.cuts
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
        rows: dict[int, list[tuple[int, int]]] = {}
        for y, x1, x2 in spans:
            rows.setdefault(y, []).append((x1, x2))
        changed = list(regions)
        height = len(cuts)
        for widget, (region, clip) in self.visible_widgets.items():  # front to back
            visible = region.intersection(clip)
            if not visible or not any(visible.overlaps(r) for r in changed):
                continue
            left, right = visible.x, visible.right
            lines = [
                y
                for y in range(max(visible.y, 0), min(visible.bottom, height))
                if any(x1 < right and x2 > left for x1, x2 in rows.get(y, ()))
            ]
            if not lines:
                continue
            first = lines[0]
            strips = widget.render_lines(
                Region(left - region.x, first - region.y, visible.width, lines[-1] - first + 1)
            )
            for y in lines:
                strip = strips[y - first]
                line_cuts = [cut for cut in cuts[y] if right >= cut >= left]
                ends = [cut - left for cut in line_cuts[1:]]
                pieces = [strip] if ends == [strip.cell_length] else strip.divide(ends)
                line = chops[y]
                for cut, piece in zip(line_cuts, pieces):
                    if line.get(cut) is None:  # the front widget's piece wins
                        line[cut] = piece
        return chops  # type: ignore[return-value]  # a cut no widget covers stays None, as in Textual
