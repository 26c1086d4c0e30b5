"""The one table every view uses: vim keys, copy, and Enter on an address."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist


def cell_text(value: Any) -> str:
    """The text a cell shows, as the clipboard should get it."""
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
