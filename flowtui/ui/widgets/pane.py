"""A dashboard pane: a top-N table and the rate sparkline of one query.

Rows are keyed by their group values and updated cell by cell, so a refresh
over SSH repaints only what changed and the cursor stays on the row it was on.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.cache import LRUCache
from textual.color import Color
from textual.containers import Horizontal, Vertical
from textual.geometry import Region
from textual.widgets import DataTable, Sparkline, Static
from textual.widgets.data_table import CellDoesNotExist

from flowtui import catalog
from flowtui.ui.columns import IPV4_WIDTH, is_ip, pane_metric_width, plan_pane
from flowtui.ui.data import PaneResult, PaneRow
from flowtui.ui.formatting import METRIC_FORMAT, MISSING, MISSING_STYLE, SortableText, fit, peak_text
from flowtui.ui.frames import paint_with_the_key
from flowtui.ui.panes import PaneSpec
from flowtui.ui.widgets.flow_table import CACHE_FLOOR, CACHE_TIMES, FlowTable

_EDGES = ("border_top", "border_right", "border_bottom", "border_left")
_UNDRAWN = ("", "none", "hidden", "blank")  # edge types that draw no line to colour


_METRIC_KEY = "metric:"  # a metric column's key: never a field's name


class PaneTable(FlowTable):
    """A pane's table, whose focus change repaints the cursor's line, not the table.

    Textual repaints a widget whole when it gains or loses the focus (``Widget._on_focus``)
    and when restyling it for ``:focus`` changes any of its styles or component styles
    (DataTable also forgets its caches then): on Tab both tables, ~40 lines through the
    compositor. A pane's table has no focus tint (flowtui.tcss), so only the cursor's look
    depends on the focus: while the focus changes, a whole repaint is narrowed to the
    cursor's row. Should the table's own look change with the focus after all (a theme or
    stylesheet that tints it), it is repainted whole as before.
    """

    _narrowing = False  # a focus change is being applied: whole repaints become the cursor's row

    def _on_focus(self, event: events.Focus) -> None:
        event.prevent_default()  # Widget's handler: the same, with a whole repaint
        self._focus_changed(True)

    def _on_blur(self, event: events.Blur) -> None:
        event.prevent_default()
        self._focus_changed(False)

    def _focus_changed(self, focused: bool) -> None:
        # Whether the focus changes more than the cursor is the stylesheet's doing, the same
        # at every Tab: looked at once (the dozen component styles, read again after the
        # restyle, were ~1.5 ms of each focus change).
        key = self._focus_look_key(focused)
        known = _looks_changed(self.app).get(key)
        before = self._focus_free_look() if known is None else None
        self._narrowing = True
        try:
            self.has_focus = focused  # restyles the table for :focus / :blur
        finally:
            self._narrowing = False
        if known is None:
            known = _looks_changed(self.app)[key] = self._focus_free_look() != before
        if known:
            self.refresh()
        else:
            self.refresh_row(self.cursor_coordinate.row)
        if self.parent is not None:
            message = events.DescendantFocus(self) if focused else events.DescendantBlur(self)
            self.parent.post_message(message)

    def _focus_look_key(self, focused: bool) -> tuple[Any, ...]:
        """What decides whether gaining (losing) the focus changes the table's look, besides
        the stylesheet (any other restyle forgets the answers): the classes of the table and
        all it is inside, by type, id and classes."""
        return (focused, tuple((type(node).__name__, node.id, frozenset(node.classes)) for node in self.ancestors_with_self))

    def _focus_free_look(self) -> tuple[Any, ...]:
        """Everything of the table's look but its cursor's (on a fixed row or column too, when there are none)."""
        cursors = {"datatable--cursor"} if self.fixed_rows or self.fixed_columns else {"datatable--cursor", "datatable--fixed-cursor"}
        parts = sorted(self.COMPONENT_CLASSES - cursors)
        return (self.rich_style, self.background_colors, *(self.get_component_rich_style(c, partial=True) for c in parts))

    def _fit_caches(self) -> None:
        """DataTable's own caches too: it keeps up to 1,000 rows' renderables and 10,000 cells,
        keyed by a count every refresh moves on, all walked by each full garbage collection."""
        room = self._cache_room
        super()._fit_caches()
        if self._cache_room != room:
            rows = max(CACHE_FLOOR, CACHE_TIMES * self.size.height)
            self._row_renderable_cache = LRUCache(rows)
            self._row_render_cache = LRUCache(rows)
            self._line_cache = LRUCache(rows)
            self._cell_render_cache = LRUCache(rows * max(1, len(self.columns)))

    def notify_style_update(self) -> None:
        if not self._narrowing:
            _looks_changed(self.app).clear()  # restyled by something else (a theme, the stylesheet, a class): ask again
            super().notify_style_update()
            return
        # DataTable's forgets its caches and the widget's rendered lines, all to be drawn again
        # at the next paint: only the caches of how a cell is styled are forgotten here (the
        # cursor's style is among them); FlowTable keys the lines it keeps by those styles.
        super(DataTable, self).notify_style_update()
        self._get_styles_to_render_cell.cache_clear()
        self._row_render_cache.clear()
        self._cell_render_cache.clear()
        self._line_cache.clear()

    def focus(self, scroll_visible: bool = True) -> PaneTable:
        self._narrowing = True  # Widget.focus repaints the table whole before the focus moves
        try:
            return super().focus(scroll_visible)
        finally:
            self._narrowing = False

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False) -> PaneTable:
        if self._narrowing and not regions and not layout and not recompose:
            return self  # _focus_changed repaints what changed
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


_LOOKS_CHANGED: WeakKeyDictionary[Any, dict[tuple[Any, ...], bool]] = WeakKeyDictionary()


def _looks_changed(app: Any) -> dict[tuple[Any, ...], bool]:
    """The app's answers to 'does this focus change change more than the cursor' (PaneTable)."""
    return _LOOKS_CHANGED.setdefault(app, {})


class Pane(Vertical):
    """One ``[[panes]]`` entry on the dashboard."""

    can_focus = False

    def __init__(self, spec: PaneSpec, *, accent: str | None = None) -> None:
        super().__init__(id=f"pane-{spec.key}", classes="pane")
        self.spec = spec
        self.accent = accent  # theme variable for the title: reject, threat
        self.result: PaneResult | None = None
        self._shown: dict[str, tuple[Any, ...]] = {}  # row key -> what its cells show
        self._metrics: tuple[str, ...] = (spec.metric,)  # set by the width (on_resize)
        self._value_widths: tuple[int, ...] = tuple(39 for _ in spec.by)  # room for each group value
        self._label_width = 0  # room for who an address is; 0: not shown
        self._columns: list[tuple[str, str, int]] = []  # (column key, value/label/metric, index into by)
        self._seen_keys: set[str] | None = None  # keys of the previous refresh
        self._lines: dict[str, tuple[str, str]] = {}  # what the one-line Statics show (text, style), by selector
        self._lit: bool | None = None  # the bright border is on (None: not set yet)
        self._edges_only = False  # show_focus is changing the border's colour
        self.border_title = Text(spec.title)
        self.border_subtitle = Text(self._subtitle())
        if accent:
            self.add_class(f"-{accent}")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="pane-rate"):
            yield Sparkline([], summary_function=max, classes="pane-sparkline")
            yield Static("", classes="pane-rate-label")
        yield Static("", classes="pane-empty")
        yield PaneTable(classes="pane-table", cursor_type="cell")

    @property
    def table(self) -> PaneTable:
        return self.query_one(PaneTable)

    def on_mount(self) -> None:
        self._build_columns()

    # --- focus ----------------------------------------------------------------------
    # The pane with the focused table has a brighter border. Said in CSS (`:focus-within`),
    # each focus change re-applied the stylesheet to both panes and all they hold (the
    # tables' dozen component styles too, ~8 ms a key): the border is set here instead,
    # by the screen in the same call that moves the focus (so it is painted in the same
    # frame as the tables), and here again when the focus events come (nothing to do then).
    def on_descendant_focus(self) -> None:
        self._show_focus()

    def on_descendant_blur(self) -> None:
        self._show_focus()

    def _show_focus(self) -> None:
        focused = self.screen.focused
        self.show_focus(focused is not None and self in focused.ancestors)

    def show_focus(self, within: bool, *, again: bool = False) -> None:
        """The bright border while the focus is ``within``; ``again``: set it even if it is (a new theme)."""
        if within == self._lit and not again:
            return
        self._lit = within
        self._edges_only = True  # the border's colour changes, not its size: repaint it alone
        try:
            if within:
                colour = Color.parse(self.app.theme_variables.get("primary", "blue"))
                for edge in _EDGES:  # over the stylesheet's dimmer edges; one it leaves out stays out
                    kind, _ = getattr(self.styles.base, edge)
                    if kind not in _UNDRAWN:
                        setattr(self.styles, edge, (kind, colour))
            else:
                for edge in _EDGES:
                    self.styles.inline.clear_rule(edge)
        finally:
            self._edges_only = False
        self._refresh_border()
        paint_with_the_key(self)

    def _refresh_border(self) -> None:
        """Repaint the four edges (a whole repaint composes every line of the pane again)."""
        width, height = self.outer_size
        if not width or not height:
            self.refresh()
            return
        x, y = self.content_offset  # refresh's regions are relative to the content
        self.refresh(
            Region(-x, -y, width, 1),
            Region(-x, height - 1 - y, width, 1),
            Region(-x, -y, 1, height),
            Region(width - 1 - x, -y, 1, height),
        )

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False) -> Pane:
        if self._edges_only and not regions and not layout and not recompose:
            return self  # show_focus repaints the edges
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _subtitle(self) -> str:
        return f"{self.spec.metric} by {', '.join(self.spec.by)}"

    # --- columns ------------------------------------------------------------------
    def _layout(self, width: int) -> tuple[tuple[str, ...], tuple[int, ...], int]:
        """(metric columns, room for each group value, room for an address's label; 0: none):
        :func:`flowtui.ui.columns.plan_pane` over what each address column holds: its values
        and their labels (none before the first rows)."""
        widest = [self._widest(i) if is_ip(n) else 0 for i, n in enumerate(self.spec.by)]
        rows = [r for r in self.result.rows if not r.other] if self.result is not None else []
        if not rows:
            return plan_pane(self.spec.by, self.spec.metric, widest, width)
        values = [[_show(n, r.values[i]) for r in rows if i < len(r.values)] if is_ip(n) else [] for i, n in enumerate(self.spec.by)]
        labels = [max((len(r.labels[i]) for r in rows if i < len(r.labels)), default=0) for i in range(len(self.spec.by))]
        return plan_pane(self.spec.by, self.spec.metric, widest, width, values=values, labels=labels)

    def _widest(self, index: int) -> int:
        """The longest value the rows hold in group column ``index``; 15 (an IPv4 address) before any."""
        if self.result is None or not self.result.rows:
            return IPV4_WIDTH
        name = self.spec.by[index]
        lengths = [len(_show(name, r.values[index])) for r in self.result.rows if index < len(r.values) and not r.other]
        return max(lengths, default=IPV4_WIDTH)

    def _build_columns(self) -> None:
        """(Re)make the columns for the current layout, keeping the cursor on its row and column."""
        table = self.table
        cursor: tuple[Any, Any] | None = None
        if table.row_count:
            try:
                cell = table.coordinate_to_cell_key(table.cursor_coordinate)
                cursor = (cell.row_key.value, cell.column_key.value)
            except CellDoesNotExist:
                cursor = None
        table.clear(columns=True)
        self._shown.clear()
        self._columns = []
        for i, name in enumerate(self.spec.by):
            key = name if name not in self.spec.by[:i] else f"{name}#{i}"  # a field listed twice: two columns
            table.add_column(Text(name), key=key)
            self._columns.append((key, "value", i))
            if self._label_width and is_ip(name):
                table.add_column(Text("who"), key=f"{key}.who")
                self._columns.append((f"{key}.who", "label", i))
        for metric in self._metrics:
            label = Text(f"{metric} ▼" if metric == self.spec.metric else metric, justify="right")
            # Its own key: a pane grouped by bytes or packets has that field's column too.
            key = f"{_METRIC_KEY}{metric}"
            table.add_column(label, key=key, width=pane_metric_width(metric) - 2)  # the widest value: a later bigger one is not cut
            self._columns.append((key, "metric", 0))
        if self.result is not None:
            self.show(self.result, highlight_new=False)
        if cursor is not None and cursor[0] in table.rows:
            columns = [key for key, _, _ in self._columns]
            column = columns.index(cursor[1]) if cursor[1] in columns else 0
            table.move_cursor(row=table.get_row_index(cursor[0]), column=column, animate=False)

    def on_resize(self) -> None:
        self._relayout()
        self._ask_for_room()

    def _ask_for_room(self) -> None:
        """Taller or shorter than the rows shown were fetched for: fetch as many as now fit."""
        room = self.room()
        if self.spec.limit is not None or not self.size.height or not hasattr(self.app, "request_refresh"):
            return
        if self.result is None:
            self.app.request_refresh(force=False)  # type: ignore[attr-defined]  # the first refresh waited for the layout
        elif not self.result.error and room != self.result.room:
            self.app.request_refresh()  # type: ignore[attr-defined]

    def room(self) -> int:
        """Table rows that fit below the header (the ``(other)`` row among them); 0 before layout."""
        rate = 1 if self.query_one(".pane-rate").display else 0  # a small terminal hides it
        return max(0, self.content_size.height - rate - 1)  # and the table's header

    def _relayout(self) -> bool:
        """Fit the columns to the pane's width; True when they changed (and the table was rebuilt)."""
        if not self.size.width:
            return False
        # The size is inside the edges; a scrollbar takes room only when the rows overflow (a limit).
        rows = len(self.result.rows) if self.result is not None else 0
        scrollbar = self.table.styles.scrollbar_size_vertical if rows > self.room() else 0
        layout = self._layout(self.size.width - scrollbar)
        if layout == (self._metrics, self._value_widths, self._label_width):
            return False
        self._metrics, self._value_widths, self._label_width = layout
        self._build_columns()
        return True

    # --- rows --------------------------------------------------------------------
    def _cells(self, row: PaneRow, rank: int, fresh: bool) -> tuple[tuple[Any, ...], list[Text]]:
        theme = self.app.theme_variables
        style = theme.get("fresh", "") if fresh else ""
        bg = f"on {style}" if style else ""
        threat = theme.get("threat", "magenta")
        cells: list[Text] = []
        shown: list[Any] = [rank, fresh]
        for key, kind, i in self._columns:
            listed = not row.other and i < len(row.threats) and row.threats[i]
            if kind == "metric":
                metric = key.removeprefix(_METRIC_KEY)
                raw = getattr(row, metric)
                text, cell_style, justify = METRIC_FORMAT[metric](raw), bg, "right"
            elif kind == "label":
                raw = row.labels[i] if i < len(row.labels) else ""
                text = fit(raw, self._label_width, middle=False)
                cell_style, justify = f"{threat if listed else 'dim'} {bg}".strip(), None
            else:
                raw = row.values[i] if i < len(row.values) else None
                justify = None
                if row.other:
                    text, cell_style = ("(other)" if i == 0 else ""), f"italic {bg}".strip()
                else:
                    text = fit(_show(self.spec.by[i], raw), self._value_widths[i])
                    cell_style = f"bold {threat} {bg}" if listed else f"{MISSING_STYLE} {bg}" if raw is None else bg
                    cell_style = cell_style.strip()
            cells.append(SortableText(text, raw, style=cell_style, justify=justify))
            shown.append((text, cell_style))
        cells[0].rank = rank  # type: ignore[attr-defined]
        return tuple(shown), cells

    def show(self, result: PaneResult, *, highlight_new: bool = True) -> None:
        """Put a refresh's rows in place: update changed cells, add new rows, drop gone ones."""
        self.result = result
        self._ask_for_room()
        if self._relayout():  # the width changed unnoticed: the rebuild has shown the rows
            return
        table = self.table
        rows = result.rows
        previous = self._seen_keys
        keys = [r.key for r in rows]
        cursor_key = None
        if table.row_count:
            try:
                cursor_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            except CellDoesNotExist:
                cursor_key = None
        columns = [key for key, _, _ in self._columns]
        with self.app.batch_update():
            for key in list(self._shown):
                if key not in keys:
                    table.remove_row(key)
                    del self._shown[key]
            order_changed = False
            for rank, row in enumerate(rows):
                fresh = highlight_new and previous is not None and row.key not in previous and not row.other
                label, cells = self._cells(row, rank, fresh)
                shown = self._shown.get(row.key)
                if shown is None:
                    table.add_row(*cells, key=row.key)
                    order_changed = True
                elif shown != label:
                    if shown[0] != rank:
                        order_changed = True
                    for column, cell, old, new in zip(columns, cells, shown[2:], label[2:]):
                        if old != new:
                            table.update_cell(row.key, column, cell)
                    if shown[0] != rank:
                        table.update_cell(row.key, columns[0], cells[0])
                self._shown[row.key] = label
            if order_changed:
                table.sort(columns[0], key=lambda cell: getattr(cell, "rank", 0))
                if cursor_key is not None and cursor_key.value in self._shown:
                    table.move_cursor(row=table.get_row_index(cursor_key), animate=False)
            self._seen_keys = set(keys)
            self._show_rate(result)
            self._show_empty(result)

    def _show_rate(self, result: PaneResult) -> None:
        spark = self.query_one(Sparkline)
        spark.data = list(result.rate)
        per = result.bucket_seconds
        if not result.rate or per <= 0:
            self._update_line(".pane-rate-label", Text(""))
            return
        label = peak_text(max(result.rate), per, self.spec.metric)
        self._update_line(".pane-rate-label", Text(label, style="dim"))

    def _show_empty(self, result: PaneResult) -> None:
        empty = self.query_one(".pane-empty", Static)
        if result.error:
            self._update_line(".pane-empty", Text(result.error, style="bold"))
            empty.display = True
        elif not result.rows:
            self._update_line(".pane-empty", Text(f"No {_lower_first(self.spec.title)} in {result.window_label}", style="dim"))
            empty.display = True
        else:
            empty.display = False

    def _update_line(self, selector: str, text: Text) -> None:
        """Put ``text`` in a one-line Static: nothing when it shows that already, no new
        layout of the screen when it is as wide as before (a refresh's usual case)."""
        old = self._lines.get(selector)
        shown = (text.plain, str(text.style))
        if old == shown:
            return
        self._lines[selector] = shown
        same_width = old is not None and len(old[0]) == len(shown[0])
        self.query_one(selector, Static).update(text, layout=not same_width)

    def row_for_key(self, key: str) -> PaneRow | None:
        if self.result is None:
            return None
        for row in self.result.rows:
            if row.key == key:
                return row
        return None

    def refresh_styles(self) -> None:
        """Re-render after a theme change (fresh-row colour comes from the theme)."""
        focused = self.screen.focused
        self.show_focus(focused is not None and self in focused.ancestors, again=True)
        self._shown.clear()
        self.table.clear()
        if self.result is not None:
            self.show(self.result, highlight_new=False)


def _show(name: str, value: Any) -> str:
    """A group's value as its cell says it: a missing one as flow lists and ``flowtui query`` do."""
    if value is None:
        return MISSING
    f = catalog.BY_NAME.get(name)
    if f is not None and f.type == "bool":
        return "true" if value else "false"
    return str(value)



def _lower_first(title: str) -> str:
    """'Top talkers' → 'top talkers', but 'EC2 hits' stays."""
    if title[:1].isupper() and title[1:2].islower():
        return title[0].lower() + title[1:]
    return title
