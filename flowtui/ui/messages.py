"""Messages the refresh loop and the history worker post to the app."""

from __future__ import annotations

from textual.message import Message

from flowtui.query.window import TimeWindow
from flowtui.ui.data import PaneResult, StatusInfo


class Refreshed(Message):
    """One tick's findings: the sources' status and, when they were re-run, the panes."""

    def __init__(self, status: StatusInfo, panes: list[PaneResult] | None, window: TimeWindow) -> None:
        super().__init__()
        self.status = status
        self.panes = panes
        self.window = window


class HistoryLoaded(Message):
    def __init__(self, saved: list[tuple[str, str]], history: list[str]) -> None:
        super().__init__()
        self.saved = saved
        self.history = history
