"""The bottom line: unacknowledged alerts, is data arriving, how far behind, what is being shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from flowtui.sources.health import TROUBLE
from flowtui.sources.spec import is_part_row
from flowtui.ui.alert_data import AlertState
from flowtui.ui.alert_watch import alert_watch
from flowtui.ui.data import SourceState, StatusInfo
from flowtui.ui.formatting import clean, format_time, human_bytes, human_duration, human_rate, window_text, zone_name
from flowtui.ui.frames import paint_with_the_key

STALE_AFTER = 30.0  # seconds without a status update before a source looks dead
_GOOD = {"running", "ok", "tailing", "live", "caught-up", "caught_up", "idle", "done", "finished"}
_BAD = {"error", "failed", "stopped", "dead", "crashed"}
_ENDED = {"stopped", "dead", "crashed", "failed", "done", "finished"}  # no rate or lag to show
# A source in one of these reads nothing until someone acts (or its retry succeeds): the
# sources' own trouble states (an unreachable endpoint included), a slow one excepted.
_FAILING = (TROUBLE - {"throttled"}) | {"failed", "dead", "crashed"}
_NOT_SOURCES = ("alerts:",)  # notifiers' rows
# What a narrow line goes without, one whole part at a time, least useful first: the store's
# name (the user opened it), the window (the header says it), a calm source's explanation (the
# demo's 'synthetic traffic, …'), the second source (counted in '+N more'), the store's size,
# the refresh interval (PAUSED and a snapshot's time stay), the zone (the header says it too),
# '+N more', 'dead 0' (a non-zero count stays), a failing source's reason. The alert badge, the
# first source's state, rate and lag are never left out: where even they do not fit, the line
# ends at a word with '…' ('every 2s' read 'every…', a size '7…').
DROP_ORDER: tuple[str, ...] = (
    "db", "window", "detail", "source2", "size", "interval", "zone", "more", "dead", "trouble",
)


@dataclass(frozen=True, slots=True)
class Feed:
    """How many sources are reading and how many failing, as their rows say now."""

    reading: int
    failing: int


def is_source(name: str) -> bool:
    return not is_part_row(name) and not name.startswith(_NOT_SOURCES)


def source_feed(status: StatusInfo | None, now: float) -> Feed | None:
    """What feeds the store now; None when nothing is known (no status yet, or no source ever wrote one).

    A row not updated for STALE_AFTER seconds is no one's (its process has gone):
    neither reading nor failing. The header says '● live' only while a source reads.
    """
    sources = [] if status is None or status.error else [s for s in status.sources if is_source(s.name)]
    if not sources:
        return None
    reading = failing = 0
    for src in sources:
        if src.updated and now - src.updated > STALE_AFTER:
            continue
        state = src.state.lower()
        if state in _FAILING:
            failing += 1
        elif state not in _ENDED:
            reading += 1
    return Feed(reading, failing)


def shown_first(sources: list[SourceState]) -> list[SourceState]:
    """Sources before notifiers and shards, failing ones first: a failing source is never behind '+N more'."""

    def key(src: SourceState) -> tuple[int, int]:
        return (0 if is_source(src.name) else 1, 0 if src.state.lower() in _FAILING else 1)

    return sorted(sources, key=key)


class StatusBar(Static):
    """The alerts badge, sources and their state, lag, records/s, dead letters, store size, window, refresh."""

    def on_mount(self) -> None:
        # The first status update this bar saw of each source: a source's first 0.0/s is no
        # measured rate yet (it has just started, or this viewer has), so until the next update
        # or a rate above 0 the bar says 'running' alone.
        self._first_update: dict[str, float] = {}
        app = self.app
        for name in ("status", "paused", "interval", "window"):
            self.watch(app, name, self._changed, init=False)
        self.alerts: AlertState | None = None
        if hasattr(app, "data"):
            watch = alert_watch(app)
            self.alerts = watch.state
            watch.changed.subscribe(self, self._alerts_changed)
        self._changed()

    def on_resize(self) -> None:
        self._changed()  # the cut, and its '…', move with the width

    def _alerts_changed(self, state: AlertState) -> None:
        self.alerts = state
        self._changed()

    def _changed(self, *_: object) -> None:
        # One line of fixed height and the screen's width: a new text never changes the
        # layout, so the screen is not laid out again (this runs every tick); the same text
        # is not even repainted.
        width = self.content_size.width
        text = fitted(self.status_text, width)
        if text != getattr(self, "_shown", None):
            self._shown = text
            self.update(text, layout=False)
            paint_with_the_key(self)  # space: with the footer's and the query bar's change

    def refresh_status(self) -> None:
        """The screen's own state changed (a results snapshot was taken)."""
        self._changed()

    def status_text(self, leave_out: frozenset[str] = frozenset()) -> Text:
        """The line; ``leave_out`` names the parts a narrow terminal goes without (DROP_ORDER)."""
        app = self.app
        status: StatusInfo | None = getattr(app, "status", None)
        now: float = app.now()  # type: ignore[attr-defined]
        vars_ = app.theme_variables
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append_text(alert_badge(getattr(self, "alerts", None), vars_))
        if status is None:
            line.append("reading store…", style="dim")
        elif status.error:
            line.append("● ", style=vars_.get("error", "red"))
            line.append(clean(status.error))
        elif not status.sources:
            line.append("○ ", style="dim")
            line.append("viewer (no sources)")
        else:
            sources = shown_first(status.sources)
            shown = sources[:1] if "source2" in leave_out else sources[:2]
            for n, src in enumerate(shown):
                if n:
                    line.append("  ")
                first_update = self._first_update.setdefault(src.name, src.updated)
                rate_known = bool(src.records_per_s) or src.updated != first_update
                line.append_text(_source(src, now, vars_, rate_known, leave_out))
            if len(sources) > len(shown) and "more" not in leave_out:
                line.append(f"  +{len(sources) - len(shown)} more", style="dim")
        groups: list[Text] = []
        if status is not None and not status.error:
            if status.dead_letters or "dead" not in leave_out:
                dead_style = vars_.get("warning", "yellow") if status.dead_letters else ""
                groups.append(Text(f"dead {status.dead_letters:,}", style=dead_style))
            db = getattr(app, "db_path", None)
            store = Text()
            if db is not None and "db" not in leave_out:
                store.append(clean(db.name) + " ", style="dim")
            if "size" not in leave_out:
                store.append(human_bytes(status.size_bytes))
            groups.append(store)
        # A view of its own window (a query's results, a firing's flows) says that window, read once.
        shown_window = getattr(self.screen, "shown_window", None)
        window = shown_window if shown_window is not None else getattr(app, "window", None)
        when = Text()
        if window is not None and "window" not in leave_out:  # the header and the results' summary say it too
            when.append(window_text(window))
        if "zone" not in leave_out:  # said here: every time on screen is in it (formatting.format_time)
            when.append((" " if when else "") + zone_name())
        groups.append(when)
        if shown_window is not None:
            taken = getattr(self.screen, "taken_at", None)
            groups.append(Text(f"snapshot {format_time(taken)}" if taken is not None else "running…"))
        elif getattr(app, "paused", False):
            groups.append(Text(" PAUSED ", style="reverse bold"))
        elif "interval" not in leave_out:
            groups.append(Text(f"every {_interval(getattr(app, 'interval', 2.0))}"))
        for group in groups:
            if group:
                line.append(" │ ", style="dim")
                line.append_text(group)
        return line


def fitted(status_text: Callable[[frozenset[str]], Text], width: int) -> Text:
    """The line in ``width`` cells: whole parts left out in DROP_ORDER until it fits, never a
    word cut; where the parts that always stay are too wide still, it ends at a word with '…'."""
    leave_out: frozenset[str] = frozenset()
    text = status_text(leave_out)
    for part in DROP_ORDER:
        if not width or text.cell_len <= width:
            return text
        leave_out |= {part}
        text = status_text(leave_out)
    if width and text.cell_len > width:
        cut = text.plain.rfind(" ", 0, width)  # the last word that fits with the '…' after it
        text = text[: max(cut, 0)]
        text.rstrip()
        text.append("…")  # Static crops without a sign: say the line goes on
    return text


def alert_badge(state: AlertState | None, vars_: dict[str, str]) -> Text:
    """`` ▲ 3 alerts `` in the theme's alarm colours, first on the line (a narrow terminal cuts
    the end of it); nothing while no firing waits to be acknowledged."""
    if state is None or not state.pending:
        return Text()
    badge = Text()
    label = f" ▲ {state.pending:,} alert{'s' if state.pending != 1 else ''} "
    badge.append(label, style=f"bold {vars_.get('alarm-foreground', 'white')} on {vars_.get('alarm', 'red')}")
    badge.append(" ")
    return badge


def _interval(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 60 else f"{seconds / 60:g}m"


def _source(
    src: SourceState, now: float, vars_: dict[str, str], rate_known: bool = True, leave_out: frozenset[str] = frozenset()
) -> Text:
    state = src.state.lower()
    stale = now - src.updated > STALE_AFTER if src.updated else False
    # Its writer has said nothing for a while though it did not end: killed, or hung. Its last
    # word is history ('running' beside a header saying stopped read as a contradiction).
    silent = stale and state not in _ENDED
    if state in _BAD or src.errors and state not in _GOOD:
        colour = vars_.get("error", "red")
    elif silent or state not in _GOOD:
        colour = vars_.get("warning", "yellow")
    else:
        colour = vars_.get("success", "green")
    out = Text()
    out.append("○ " if silent else "● ", style=colour)
    out.append(clean(src.name), style="bold")
    out.append(" ")
    if silent:
        out.append(f"silent {human_duration(now - src.updated)}", style=colour)
        out.append(f" (last: {clean(src.state)})", style="dim")
    else:
        out.append(clean(src.state), style=colour)  # an ended source's state says it all: no age beside it
    # A stopped or silent source's last rate and lag are history, not news: left out.
    current = not stale and state not in _ENDED
    if src.records_per_s is not None and rate_known and current:
        out.append(f" {human_rate(src.records_per_s)}")
    if src.lag_ms is not None and current:
        out.append(f" lag {human_duration(src.lag_ms / 1000)}")
    # The count is the source's whole life: beside a source that reads again it read as a
    # problem now ('reading 0.0/s 6 err'), so it is said only while the source is in trouble.
    if src.errors and (state in _BAD or state in _FAILING):
        out.append(f" {src.errors} err", style=vars_.get("error", "red"))
    failing = state in _BAD or state in _FAILING
    if src.detail and (state in _BAD or state not in _GOOD) and ("trouble" if failing else "detail") not in leave_out:
        out.append(" — ")
        out.append(clean(src.detail), style=colour)
    return out
