"""A dashboard pane: a top-N table and the rate sparkline of one query.

Rows are keyed by their group values and updated cell by cell, so a refresh
over SSH repaints only what changed and the cursor stays on the row it was on.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static
from textual.widgets.data_table import CellDoesNotExist

from flowtui import catalog
from flowtui.ui.data import PaneResult, PaneRow
from flowtui.ui.formatting import METRIC_FORMAT, SortableText, human_bytes, human_count
from flowtui.ui.panes import PaneSpec
from flowtui.ui.widgets.flow_table import FlowTable

_METRIC_ORDER = ("flows", "bytes", "packets")
_IPV4_WIDTH = 15


class Pane(Vertical):
    """One ``[[panes]]`` entry on the dashboard."""

    can_focus = False

    def __init__(self, spec: PaneSpec, *, accent: str | None = None) -> None:
        super().__init__(id=f"pane-{spec.key}", classes="pane")
        self.spec = spec
        self.accent = accent  # theme variable for the title: reject, threat
        self.result: PaneResult | None = None
        self._shown: dict[str, tuple[Any, ...]] = {}  # row key -> what its cells show
        self._metrics: tuple[str, ...] = self._metrics_for(200)
        self._value_width = 39  # longest group value shown in full (an IPv6 address)
        self._seen_keys: set[str] | None = None  # keys of the previous refresh
        self.border_title = Text(spec.title)
        self.border_subtitle = Text(self._subtitle())
        if accent:
            self.add_class(f"-{accent}")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="pane-rate"):
            yield Sparkline([], summary_function=max, classes="pane-sparkline")
            yield Static("", classes="pane-rate-label")
        yield Static("", classes="pane-empty")
        yield FlowTable(classes="pane-table", cursor_type="cell")

    @property
    def table(self) -> FlowTable:
        return self.query_one(FlowTable)

    def on_mount(self) -> None:
        self._build_columns()

    def _subtitle(self) -> str:
        return f"{self.spec.metric} by {', '.join(self.spec.by)}"

    # --- columns ------------------------------------------------------------------
    def _metrics_for(self, width: int) -> tuple[str, ...]:
        """The pane's own metric first, then the others while an IPv4 address still fits whole."""
        others = tuple(m for m in _METRIC_ORDER if m != self.spec.metric)
        choices = [(self.spec.metric, *others), (self.spec.metric, others[0]), (self.spec.metric,)]
        for metrics in choices:
            if self._value_width_for(width, metrics) >= _IPV4_WIDTH:
                return metrics
        return choices[-1]

    def _build_columns(self) -> None:
        table = self.table
        table.clear(columns=True)
        self._shown.clear()
        for name in self.spec.by:
            table.add_column(Text(name), key=name)
        for metric in self._metrics:
            label = Text(f"{metric} ▼" if metric == self.spec.metric else metric, justify="right")
            table.add_column(label, key=metric)
        if self.result is not None:
            self.show(self.result, highlight_new=False)

    def on_resize(self) -> None:
        width = self.size.width - 3  # borders and the scrollbar
        metrics = self._metrics_for(width)
        value_width = self._value_width_for(width, metrics)
        if metrics != self._metrics or value_width != self._value_width:
            self._metrics = metrics
            self._value_width = value_width
            self._build_columns()

    def _value_width_for(self, width: int, metrics: tuple[str, ...]) -> int:
        """Room for each group value once the metric columns have theirs."""
        used = sum(max(len(m) + 2, 8) + 2 for m in metrics)  # label (with ▼) or '999.9 MB', and padding
        return max(8, min(39, (width - used) // max(1, len(self.spec.by)) - 2))

    # --- rows --------------------------------------------------------------------
    def _cells(self, row: PaneRow, rank: int, fresh: bool) -> tuple[tuple[Any, ...], list[Text]]:
        theme = self.app.theme_variables
        style = theme.get("fresh", "") if fresh else ""
        bg = f"on {style}" if style else ""
        threat = theme.get("threat", "magenta")
        cells: list[Text] = []
        label: list[Any] = [rank, fresh]
        for i, name in enumerate(self.spec.by):
            value = row.values[i] if i < len(row.values) else None
            cell_style = bg
            if row.other:
                cell_style = f"italic {bg}".strip()
            elif i < len(row.threats) and row.threats[i]:
                cell_style = f"bold {threat} {bg}".strip()
            text = "(other)" if row.other and i == 0 else ("" if row.other else fit(_show(name, value), self._value_width))
            cell = SortableText(text, value, style=cell_style)
            cells.append(cell)
            label.append((text, cell_style))
        for metric in self._metrics:
            raw = getattr(row, metric)
            text = METRIC_FORMAT[metric](raw)
            cell = SortableText(text, raw, style=bg, justify="right")
            cells.append(cell)
            label.append(text)
        cells[0].rank = rank  # type: ignore[attr-defined]
        return tuple(label), cells

    def show(self, result: PaneResult, *, highlight_new: bool = True) -> None:
        """Put a refresh's rows in place: update changed cells, add new rows, drop gone ones."""
        self.result = result
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
        columns = [*self.spec.by, *self._metrics]
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
        label = self.query_one(".pane-rate-label", Static)
        peak = max(result.rate, default=0)
        per = result.bucket_seconds
        if not result.rate or per <= 0:
            label.update("")
            return
        value = human_bytes(peak / per) + "/s" if self.spec.metric == "bytes" else human_count(peak / per) + "/s"
        label.update(Text(f"peak {value}", style="dim"))

    def _show_empty(self, result: PaneResult) -> None:
        empty = self.query_one(".pane-empty", Static)
        if result.error:
            empty.update(Text(result.error, style="bold"))
            empty.display = True
        elif not result.rows:
            empty.update(Text(f"No {self.spec.title.lower()} in {result.window_label}", style="dim"))
            empty.display = True
        else:
            empty.display = False

    def row_for_key(self, key: str) -> PaneRow | None:
        if self.result is None:
            return None
        for row in self.result.rows:
            if row.key == key:
                return row
        return None

    def refresh_styles(self) -> None:
        """Re-render after a theme change (fresh-row colour comes from the theme)."""
        self._shown.clear()
        self.table.clear()
        if self.result is not None:
            self.show(self.result, highlight_new=False)


def _show(name: str, value: Any) -> str:
    if value is None:
        return "–"
    f = catalog.BY_NAME.get(name)
    if f is not None and f.type == "bool":
        return "true" if value else "false"
    return str(value)



def fit(text: str, width: int) -> str:
    """``text`` in ``width`` cells: the middle of a long address gives way ('2a05:d018:…:9023')."""
    if len(text) <= width:
        return text
    if width < 5:
        return text[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return f"{text[:head]}…{text[-tail:]}"
