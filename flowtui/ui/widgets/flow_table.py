"""The one table every view uses: vim keys, copy, and Enter on an address."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.color import Color
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from flowtui.ui.formatting import MISSING, clean

CACHE_TIMES = 3  # the render caches hold this many screenfuls of cells and lines
CACHE_FLOOR = 64


def cell_text(value: Any) -> str:
    """The text a cell shows, as the clipboard should get it; a value cut to fit its column
    ('2a05:d018:…:9023', 'spamhaus · RU Ne…') is copied whole, as the user queries it; a
    value the record does not have (MISSING) as nothing."""
    raw = getattr(value, "raw", None)
    if isinstance(value, Text) and hasattr(value, "raw") and raw in (None, []) and value.plain == MISSING:
        return ""
    if isinstance(value, Text) and isinstance(raw, str) and "…" in value.plain and "…" not in raw:
        return clean(raw)
    if isinstance(value, Text):
        return value.plain
    return "" if value is None else str(value)


class FlowTable(DataTable[Any]):
    """A DataTable with the keys people's fingers know (j/k/g/G, y to copy)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("h", "cursor_left", "Left", show=False, id="table.left"),
        Binding("l", "cursor_right", "Right", show=False, id="table.right"),
        Binding("g", "cursor_top", "Top", show=False, id="table.top"),
        Binding("G", "cursor_bottom", "Bottom", show=False, id="table.bottom"),
        Binding("y", "copy_cell", "Copy", id="table.copy"),
        Binding("Y", "copy_row", "Copy row", show=False, id="table.copy_row"),
    ]

    class Copied(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "cell")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(**kwargs)
        self._cache_room = (0, 0)  # (cells, lines) the caches below are sized for: see _fit_caches
        self._rendered: LRUCache[tuple[Any, ...], Any] = LRUCache(CACHE_FLOOR)  # cells as drawn
        self._plain: LRUCache[tuple[Any, ...], Any] = LRUCache(CACHE_FLOOR)  # cells as Rich renders their text
        self._lines: LRUCache[tuple[Any, ...], tuple[tuple[Any, ...], Strip]] = LRUCache(CACHE_FLOOR)  # body lines as drawn
        self._paint_style: Style | None = None
        self._paint_fixed = 0  # the header's and fixed rows' lines, read with _paint_style
        self.lines_drawn = 0  # body lines drawn anew (for tests and the curious)
        self.cells_rendered = 0  # cells DataTable rendered anew (for tests and the curious)

    # --- rendering ------------------------------------------------------------------
    def _render_cell(
        self, row_index: int, column_index: int, base_style: Style, width: int, cursor: bool = False, hover: bool = False
    ) -> Any:
        """A cell as DataTable renders it, from what it shows rendered once.

        DataTable renders a cell through Rich (~0.2 ms) whenever any cell of the table
        changed (its caches are keyed by a table-wide update count) and whenever the table
        gains or loses focus (the focused table's tint is in every cell's style): a pane
        refresh that changed two cells, or Tab to the next pane, rendered every cell of the
        table again (of both tables, on Tab). Here Rich renders a cell's text, padded to
        its width, once (``cells_rendered`` counts those); its place, the row's style (the
        tint) and the cursor's are laid over it as DataTable's ``Styled`` lays them, and the
        result is kept by everything it depends on.
        """
        key = self._cell_key(row_index, column_index, base_style, width, cursor, hover)
        if key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        lines = self._rendered.get(key)
        if lines is None:
            shown, state = key[0], key[-1]
            plain = self._plain.get((shown, width, state))
            if plain is None:
                self.cells_rendered += 1
                plain = self._render_plain(row_index, column_index, width)
                self._plain[(shown, width, state)] = plain
            component_style, post_style = self._get_styles_to_render_cell(
                False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
                self.cursor_foreground_priority == "css", self.cursor_background_priority == "css",
            )
            pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
            lines = [list(Segment.apply_style(line, pre_style, post_style)) for line in plain]
            self._rendered[key] = lines
        return lines

    def render_lines(self, crop: Any) -> list[Strip]:
        # The table's style and the height of what does not scroll (header, fixed rows) are
        # read once a paint, not once a line (the style walks every ancestor).
        self._paint_style = self.rich_style
        self._paint_fixed = self._fixed_height()
        self._fit_caches()
        try:
            return super().render_lines(crop)
        finally:
            self._paint_style = None

    def _fit_caches(self) -> None:
        """Size the caches for what the table shows, a few times over (each cell's look under
        the cursor, the previous values of a refresh).

        Every entry is objects the garbage collector walks on each full collection, a key press
        waiting behind it: four panes' tables kept up to 4,096 cells and 1,024 lines each
        (a pane shows ~120 cells), and a refresh under load changes some every second.
        """
        lines = max(CACHE_FLOOR, CACHE_TIMES * self.size.height)
        cells = max(CACHE_FLOOR, CACHE_TIMES * self.size.height * max(1, len(self.columns)))
        if (cells, lines) == self._cache_room:
            return
        self._cache_room = (cells, lines)
        self._rendered = LRUCache(cells)
        self._plain = LRUCache(cells)
        self._lines = LRUCache(lines)

    def _fixed_height(self) -> int:
        """Lines at the top that do not scroll: the header and the fixed rows."""
        fixed = 0
        for i in range(self.fixed_rows):
            row_key = self._row_locations.get_key(i)
            if row_key is not None:
                fixed += self.get_row_height(row_key)
        if self.show_header:
            fixed += self.get_row_height(self._header_row_key)
        return fixed

    def render_line(self, y: int) -> Strip:
        base_style = self._paint_style
        if base_style is None:
            return super().render_line(y)
        scroll_x, scroll_y = self.scroll_offset
        if y >= self._paint_fixed:
            y += scroll_y
        return self._render_line(y, scroll_x, scroll_x + self.size.width, base_style)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """A body line as DataTable draws it, kept by what its cells hold (DataTable forgets
        every line when any cell changes): a pane refresh draws the rows that changed."""
        found = self._line_key(y, x1, x2, base_style)
        if found is None:
            return super()._render_line(y, x1, x2, base_style)
        key, values = found
        kept = self._lines.get(key)
        if kept is None:
            kept = (values, self._draw_line(key[0], x1, x2, base_style))
            self._lines[key] = kept
            self.lines_drawn += 1
        return kept[1]

    def _line_key(self, y: int, x1: int, x2: int, base_style: Style) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
        """Everything a one-line body row's drawing depends on; None for what DataTable draws
        itself (the header, tall rows, row labels, fixed rows or columns, zebra stripes, a row
        cursor). The key has the cells' values by id, and the cache holds the values beside the
        line: while the line is kept its ids cannot be another value's. Focus reaches a line
        only through ``base_style`` (a focus tint) and the cursor's look, both in the key: a
        pane's table has no tint, so Tab redraws its cursor's line and no other."""
        if self.fixed_rows or self.fixed_columns or self.zebra_stripes or self.cursor_type == "row":
            return None
        if self._labelled_row_exists and self.show_row_labels:
            return None
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return None
        if row_key is self._header_row_key or line_no or self.rows[row_key].height != 1:
            return None
        row_index = self._row_locations.get(row_key)
        if row_index is None:
            return None
        columns = self.ordered_columns
        data = self._data[row_key]
        values = tuple(data.get(column.key) for column in columns)
        cursor, hover = self.cursor_coordinate, self.hover_coordinate
        lit = [self._lit_column(cursor, row_index), self._lit_column(hover, row_index)]
        look = (
            self.get_component_rich_style("datatable--cursor") if lit[0] is not None else None,
            self.get_component_rich_style("datatable--hover") if lit[1] is not None else None,
        )
        key = (
            row_index, tuple(map(id, values)), tuple(column.get_render_width(self) for column in columns),
            *lit, look, self.cursor_type, self.show_cursor, self._show_hover_cursor,
            self.cell_padding, base_style, x1, x2, self.size.width, self._row_label_column_width,
        )
        return key, values

    def _lit_column(self, at: Any, row_index: int) -> int | None:
        """The column the cursor (or hover) lights in this row, as DataTable's _should_highlight says."""
        if self.cursor_type == "cell":
            return at.column if at.row == row_index else None
        if self.cursor_type == "column":
            return at.column
        return None

    def _draw_line(self, row_index: int, x1: int, x2: int, base_style: Style) -> Strip:
        """DataTable's _render_line and _render_line_in_row for a one-line row, without their caches."""
        segments: list[Segment] = []
        cursor, hover = self.cursor_coordinate, self.hover_coordinate
        lit, lit_hover = self._lit_column(cursor, row_index), self._lit_column(hover, row_index)
        table_width = self._row_label_column_width
        for column_index, column in enumerate(self.ordered_columns):
            width = column.get_render_width(self)
            table_width += width
            lines = self._render_cell(
                row_index, column_index, base_style, width, cursor=lit == column_index, hover=lit_hover == column_index
            )
            segments.extend(lines[0])
        widget_width = self.size.width
        if base_style.bgcolor is not None:
            faded = Color.from_rich_color(base_style.bgcolor).blend(self.background_colors[1], factor=0.25)
            extend_style = Style.from_color(color=base_style.color, bgcolor=faded.rich_color)
        else:
            extend_style = Style.from_color(base_style.color, base_style.bgcolor)
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        segments.append(Segment(" " * max(0, widget_width - table_width), extend_style))
        return Strip(line_crop(segments, x1, x2, widget_width)).adjust_cell_length(widget_width, base_style).simplify()

    def _render_plain(self, row_index: int, column_index: int, width: int) -> list[list[Segment]]:
        """A body cell's lines as DataTable's ``_render_cell`` renders them, without its styles."""
        row_key = self._row_locations.get_key(row_index)
        _, cells = self._get_row_renderables(row_index)
        height = self.rows[row_key].height if row_key is not None else 1
        options = self.app.console_options.update_dimensions(width, height)
        if height == 1:
            options = options.update(no_wrap=True)
        return self.app.console.render_lines(Padding(cells[column_index], (0, self.cell_padding)), options)

    def _cell_key(
        self, row_index: int, column_index: int, base_style: Style, width: int, cursor: bool, hover: bool
    ) -> tuple[Any, ...] | None:
        """Everything a body cell's rendering depends on, what it shows first and how it is
        drawn last; None for the header, a cell of a fixed row or column, a row whose
        height is not measured yet (DataTable renders those), or a DataTable whose insides
        are not as this Textual's.

        Focus and the theme reach a cell through ``base_style`` (the row's style) and, under
        the cursor or the mouse, the cursor's or hover's component style: those are in the key.
        """
        if row_index < 0 or column_index < 0 or row_index < self.fixed_rows or column_index < self.fixed_columns:
            return None
        try:
            row_key = self._row_locations.get_key(row_index)
            column_key = self._column_locations.get_key(column_index)
            if row_key is None or column_key is None:
                return None
            value = self._data[row_key][column_key]
            height = self.rows[row_key].height
        except (AttributeError, KeyError):
            return None
        if height < 1:
            return None
        if isinstance(value, Text):
            shown: Any = (value.plain, str(value.style), value.justify, value.overflow, value.no_wrap, tuple(value.spans))
        elif value is None or isinstance(value, (str, int, float)):
            shown = (type(value), value)
        else:
            return None
        look = (
            self.show_cursor,
            self._show_hover_cursor,
            self.get_component_rich_style("datatable--cursor") if cursor else None,
            self.get_component_rich_style("datatable--hover") if hover else None,
            self.cursor_foreground_priority,
            self.cursor_background_priority,
        )
        return (shown, row_index, column_index, base_style, width, cursor, hover, look, (self.cell_padding, height))

    def _update_dimensions(self, new_rows: Any) -> None:
        """Measure new rows (DataTable does it when idle), then forget rows painted before.

        DataTable keys its rendered rows by a count that measuring does not change: a
        row painted between ``add_row`` and the table's next idle moment (a busy screen,
        a screenshot) stayed cut at its header's width, '198.51.1' for '198.51.100.7',
        until something else changed the table.
        """
        widths = [column.get_render_width(self) for column in self.ordered_columns]
        super()._update_dimensions(new_rows)
        if widths != [column.get_render_width(self) for column in self.ordered_columns]:
            self._update_count += 1
            self.refresh()

    def action_cursor_top(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_cursor_bottom(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def cursor_value(self) -> Any:
        """The value under the cursor (None on an empty table)."""
        if not self.row_count:
            return None
        try:
            return self.get_cell_at(self.cursor_coordinate)
        except CellDoesNotExist:
            return None

    def cursor_row_values(self) -> list[Any]:
        if not self.row_count:
            return []
        return self.get_row_at(self.cursor_coordinate.row)

    def cursor_column_name(self) -> str | None:
        """The key of the column under the cursor."""
        if not self.columns:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).column_key
        except CellDoesNotExist:
            return None
        return key.value

    def action_copy_cell(self) -> None:
        value = self.cursor_value()
        if value is None:
            return
        self._copy(cell_text(value))

    def action_copy_row(self) -> None:
        values = self.cursor_row_values()
        if values:
            self._copy("\t".join(cell_text(v) for v in values))

    def _copy(self, text: str) -> None:
        self.app.copy_to_clipboard(text)
        self.post_message(self.Copied(text))
