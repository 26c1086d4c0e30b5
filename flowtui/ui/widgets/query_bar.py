"""The query bar: Graylog syntax checked as you type, completion, history.

Enter always runs the query, even with the completion list open; Tab takes the
highlighted completion, or completes what all candidates share (as a shell does). ↑/↓ move in the completion list while it is open and through the
history otherwise. Escape closes the list, then leaves the bar.

A query that starts with ``@cloudtrail`` searches CloudTrail events instead of
flows (the same syntax, CloudTrail's field names); Ctrl+T puts the prefix in
or takes it out, and the prompt says which scope the bar is in.
"""

from __future__ import annotations

import os
from typing import ClassVar

from rich.highlighter import Highlighter
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from flowtui.cloudtrail.search import SCOPE_PREFIX, split_scope
from flowtui.errors import QueryError
from flowtui.ui.data import Suggestion
from flowtui.ui.formatting import clean
from flowtui.ui.frames import paint_with_the_key
from flowtui.ui.trail_data import is_trail_query
from flowtui.ui.widgets.key_footer import FooterKeys

MAX_SUGGESTIONS = 8
# The bar's hint, longest first: the longest that fits the field is shown (80 columns cut
# the first mid-parenthesis), never a cut one.
PLACEHOLDERS = (
    "e.g. action:REJECT AND dst_port:22  (Tab completes, ↑ history)",
    "e.g. action:REJECT AND dst_port:22  (Tab completes)",
    "e.g. action:REJECT AND dst_port:22",
    "e.g. action:REJECT",
    "action:REJECT",
)


class _ErrorSpan(Highlighter):
    """Marks the part of the query the error is about, in the input itself."""

    def __init__(self) -> None:
        self.span: tuple[int, int] | None = None
        self.style = "reverse red"

    def highlight(self, text: Text) -> None:
        if self.span is None:
            return
        start, end = self.span
        length = len(text.plain)
        if start >= length:  # the error is at the end: nothing to mark in the text
            return
        text.stylize(self.style, start, max(start + 1, min(end, length)))


class QueryInput(Input):
    """The text field; its keys defer to the bar."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False, id="query.complete"),
        Binding("down", "next", "Next", show=False, id="query.next"),
        Binding("up", "previous", "Previous", show=False, id="query.previous"),
        Binding("escape", "leave", "Leave", show=False, id="query.leave"),
        Binding("ctrl+t", "toggle_scope", "CloudTrail ⇄ flows", show=False, id="query.scope"),
    ]

    @property
    def bar(self) -> QueryBar:
        return self.query_ancestor(QueryBar)

    @property
    def FOOTER_KEYS(self) -> FooterKeys:  # read by KeyFooter as a screen's is
        """The footer's keys while the bar has the focus, first: letters type here, so the
        screen's 'q', '?' and '/' are not keys now, and the bar's own do not show themselves."""
        other = "Flows" if is_trail_query(self.value) else "CloudTrail"  # where ctrl+t goes
        return (("submit", "Run"), ("complete", "Complete"), ("previous", "History", "↑↓"), ("leave", "Leave"),
                ("toggle_scope", other), ("save_query", "Save"), ("saved_queries", "Saved"))

    def on_resize(self) -> None:
        self.bar.fit_placeholder()

    def on_blur(self) -> None:
        # The list belongs to the text being typed: once the focus is elsewhere (the query
        # ran, a results screen came up) it would hide the view and take its Escape.
        self.bar.close_suggestions()

    def action_complete(self) -> None:
        if not self.bar.accept_suggestion():
            self.screen.focus_next()

    def action_next(self) -> None:
        self.bar.move(+1)

    def action_previous(self) -> None:
        self.bar.move(-1)

    def action_leave(self) -> None:
        self.bar.leave()

    def action_toggle_scope(self) -> None:
        self.bar.toggle_scope()


class QueryBar(Vertical):
    """``/`` focuses it. Posts :class:`QueryBar.Submitted` on Enter.

    Its text is the query of the view below it (``home``: empty over the live panes);
    what is typed and not run goes again when the user leaves the bar or runs it.
    """

    class Submitted(Message):
        def __init__(self, bar: QueryBar, query: str) -> None:
            super().__init__()
            self.bar = bar
            self.query = query

    class Left(Message):
        """The user pressed Escape in an empty-handed bar: give focus back to the view."""

    class Refused(Message):
        """Enter on a query with an error: it did not run, the view still shows the one before."""

    class _Suggestions(Message):
        def __init__(self, text: str, cursor: int, items: list[Suggestion]) -> None:
            super().__init__()
            self.text = text
            self.cursor = cursor
            self.items = items

    def __init__(self, value: str = "", *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(id=id, classes="query-bar")
        self._initial = value
        self.home = value  # the query of the view this bar is over
        self._placeholders = (placeholder,) if placeholder else PLACEHOLDERS
        self._placeholder = self._placeholders[0]
        self._highlighter = _ErrorSpan()
        self.error: QueryError | None = None
        self._suggestions: list[Suggestion] = []
        self._history: list[str] | None = None
        self._history_pos: int | None = None  # index into history while browsing
        self._draft = ""
        self._recalled: str | None = value or None  # a value put in by history or the view, not typed
        self._own_label = False  # a view that is not live (results: a snapshot) labels itself

    def compose(self) -> ComposeResult:
        with Horizontal(classes="query-line"):
            yield Static("/", classes="query-prompt")
            yield QueryInput(
                self._initial,
                placeholder=self._placeholder,
                highlighter=self._highlighter,
                id="query-input",
                select_on_focus=False,
            )
            yield Static("", classes="query-window")
        yield Static("", id="query-error", classes="query-error")
        yield OptionList(id="query-suggestions", classes="query-suggestions")

    def fit_placeholder(self) -> None:
        """The longest hint the field has room for: its width less its padding (the cursor of a
        focused empty field stands on the hint's first letter and takes no cell of its own)."""
        field = self.input
        room = field.content_size.width
        if room <= 0:
            return
        fits = next((p for p in self._placeholders if len(p) <= room), "")  # none rather than a cut one
        if field.placeholder != fits:
            field.placeholder = fits

    def on_mount(self) -> None:
        self.query_one("#query-error").display = False
        self.query_one(OptionList).display = False
        self.query_one(OptionList).can_focus = False
        self.load_history(getattr(self.app, "query_history", []))
        self._show_scope(self._initial)
        label = getattr(self.app, "window_label", None)
        if callable(label):
            self.set_window_label(label())

    @property
    def input(self) -> QueryInput:
        return self.query_one(QueryInput)

    @property
    def value(self) -> str:
        return self.input.value

    def set_value(self, value: str) -> None:
        self._recalled = value
        self.input.value = value
        self._cursor_to_end()
        self._check(value)

    def _cursor_to_end(self) -> None:
        """The cursor after the text, in view, the text shown from its start when it fits.

        Input scrolls only as far as its cursor needs and only when the cursor moves: the
        offset a long query left hid the start of a short one that fits whole, and a query
        put in when the bar was made (a results screen's) had its cursor out of sight.
        """
        field = self.input
        field.scroll_to(x=0, animate=False, immediate=True)
        field.cursor_position = 0
        field.cursor_position = len(field.value)

    def show_query(self, query: str) -> None:
        """The view now shows ``query``: the bar's text, and what it goes back to."""
        self.home = query
        self.set_value(query)

    def restore(self) -> None:
        """Back to the view's query (an edit not run is dropped)."""
        self._history_pos = None
        if self.input.value != self.home:
            self.set_value(self.home)

    def toggle_scope(self) -> None:
        """Ctrl+T: the same query text over the other kind of record (flows ⇄ CloudTrail)."""
        value = self.input.value
        scope, query, _ = split_scope(value)
        new = query.lstrip() if scope == "cloudtrail" else f"{SCOPE_PREFIX} {value.lstrip()}"
        self.input.value = new
        self.input.cursor_position = len(new)

    def _show_scope(self, text: str) -> None:
        trail = is_trail_query(text)
        prompt = self.query_one(".query-prompt", Static)
        if trail != prompt.has_class("-cloudtrail"):
            prompt.set_class(trail, "-cloudtrail")
            prompt.update("CloudTrail /" if trail else "/")
            prompt.styles.width = len("CloudTrail /") + 1 if trail else None  # the stylesheet's 2 otherwise
            self.screen.refresh_bindings()  # the footer's ctrl+t says the other scope

    def set_window_label(self, label: Text | str, *, own: bool = False) -> None:
        """The app's window label (``● live last 15m``), unless the view has said what it shows."""
        if own:
            self._own_label = True
        elif self._own_label:
            return
        # As wide as the label: a new width lays the line out again (a pause's ' PAUSED ' is wider
        # than '● live ', and the cells it took were kept after it, so the query's hint lost them
        # for good); a label as wide as the one shown is only repainted (a refresh's usual case).
        static = self.query_one(".query-window", Static)
        width = len(label.plain if isinstance(label, Text) else label) + 2  # its padding
        if width != static.size.width:
            static.styles.min_width = width
            static.update(label)
        else:
            static.update(label, layout=False)
        paint_with_the_key(static)

    def focus_input(self) -> None:
        # At once, not on the next idle (``focus()``): the keys typed right after '/'
        # (a fast typist, a paste) are already queued and must land in the bar.
        self.screen.set_focus(self.input)
        self._cursor_to_end()

    # --- validation ---------------------------------------------------------------
    def _check(self, text: str) -> None:
        self._show_scope(text)
        data = self.app.data  # type: ignore[attr-defined]
        if not text.strip():
            self.error = None
        elif is_trail_query(text):
            self.error = data.trail_validate(text)
        else:  # the config's threat lists and the store's: an unknown id is refused, not run
            self.error = data.validate(text, getattr(self.app, "config", None))
        self._highlighter.span = None if self.error is None else (self.error.start, self.error.end)
        self.input.refresh()
        box = self.query_one("#query-error", Static)
        if self.error is None:
            box.display = False
            self.input.remove_class("-invalid")
            return
        self.input.add_class("-invalid")
        box.update(self._error_line(self.error))
        box.display = True

    def _error_line(self, error: QueryError) -> Text:
        """One form for every error: a caret under the bad spot (when it is in view), then
        ``✗ message (at N)`` after it, or on the next line when the line has no room for it."""
        prompt = self.query_one(".query-prompt").outer_size.width or 1
        scroll_x = self.input.scroll_offset.x
        column = prompt + 1 + error.start - scroll_x  # 1: the input's left padding
        width = max(1, error.end - error.start)
        room = max(self.size.width, 1)
        message = Text.assemble(("✗ ", "bold"), f"{clean(error.message)} (at {error.start + 1})")
        line = Text()
        if 0 <= column and column + width <= room:
            line.append(" " * column)
            line.append("^" * width, style="bold")
            line.append(" " if column + width + 1 + len(message) <= room else "\n")
        line.append_text(message)
        return line

    @on(Input.Changed, "#query-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._check(event.value)
        if self._recalled is not None and event.value == self._recalled:
            return
        self._recalled = None
        self._history_pos = None
        if event.value.strip():
            self._fetch_suggestions(event.value, self.input.cursor_position)
        else:
            self._show_suggestions([])

    @on(Input.Submitted, "#query-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._show_suggestions([])
        query = event.value.strip() or "*"
        self._check(query)
        if self.error is not None:
            self.post_message(self.Refused())
            return
        self.remember(query)
        self.post_message(self.Submitted(self, query))
        # The query runs in a view (a results screen): the keys typed next are for that view,
        # and for this screen's table when the user comes back to it, never for the text;
        # the text is this view's query until the view says it shows another (show_query).
        self.restore()
        self.post_message(self.Left())

    # --- completion -------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="complete", exit_on_error=False)
    def _fetch_suggestions(self, text: str, cursor: int) -> None:
        data = self.app.data  # type: ignore[attr-defined]
        word = text[:cursor].lstrip()
        start = len(text[:cursor]) - len(word)
        if word.startswith("@") and " " not in word and SCOPE_PREFIX.startswith(word):
            scope = Suggestion(SCOPE_PREFIX + " ", start, cursor, SCOPE_PREFIX, "scope", "search CloudTrail events")
            items = [scope]
        else:
            items = data.trail_completions(text, cursor) if is_trail_query(text) else data.completions(text, cursor)
        self.post_message(self._Suggestions(text, cursor, items))

    def close_suggestions(self) -> None:
        if self._suggestions:
            self._show_suggestions([])

    def on_query_bar__suggestions(self, message: QueryBar._Suggestions) -> None:
        if message.text != self.input.value or not self.input.has_focus:
            return
        self._show_suggestions(message.items[:MAX_SUGGESTIONS])

    def _show_suggestions(self, items: list[Suggestion]) -> None:
        box = self.query_one(OptionList)
        # A word typed out in full (an operator, a value) needs no list under it.
        value = self.input.value
        if any(value[s.start : s.end] == s.insert for s in items):
            items = []
        self._suggestions = items
        box.clear_options()
        if not items:
            box.display = False
            return
        box.add_options(
            Option(Text.assemble((clean(s.label), "bold"), ("  " + clean(s.detail), "dim") if s.detail else ""))
            for s in items
        )
        box.highlighted = None  # ↓ goes into the list; Tab completes what the candidates share
        box.display = True

    @property
    def suggesting(self) -> bool:
        return bool(self._suggestions) and self.query_one(OptionList).display

    def accept_suggestion(self, index: int | None = None) -> bool:
        """Put the highlighted completion into the text; False when there is none.

        With none highlighted, Tab completes as a shell does: the one candidate, or what
        all candidates share (``dst_addr_ent`` → ``dst_addr_entity``), or nothing more.
        """
        if not self.suggesting:
            return False
        box = self.query_one(OptionList)
        i = box.highlighted if index is None else index
        if i is not None or len(self._suggestions) == 1:
            s = self._suggestions[i or 0]
            self._replace(s.start, s.end, s.insert)
            return True
        first = self._suggestions[0]
        same_span = all((s.start, s.end) == (first.start, first.end) for s in self._suggestions)
        shared = os.path.commonprefix([s.insert for s in self._suggestions])
        typed = self.input.value[first.start : self.input.cursor_position]
        if same_span and len(shared) > len(typed) and shared.startswith(typed):
            self._replace(first.start, first.end, shared)
        return True

    def _replace(self, start: int, end: int, text: str) -> None:
        value = self.input.value
        self.input.value = value[:start] + text + value[end:]
        self.input.cursor_position = start + len(text)

    @on(OptionList.OptionSelected, "#query-suggestions")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.accept_suggestion(event.option_index)
        self.input.focus()

    # --- keys ------------------------------------------------------------------------
    def move(self, step: int) -> None:
        """↓ goes into the completion list; ↑ comes back out of it, then walks the history."""
        if self.suggesting:
            box = self.query_one(OptionList)
            current = box.highlighted
            if step > 0:
                box.highlighted = 0 if current is None else min(len(self._suggestions) - 1, current + 1)
                return
            if current is not None:
                box.highlighted = current - 1 if current > 0 else None
                return
        if step < 0 or self._history_pos is not None:
            self._show_suggestions([])
            self._browse_history(step)

    def leave(self) -> None:
        if self.suggesting:
            self._show_suggestions([])
            return
        self.restore()
        self.post_message(self.Left())

    # --- history ----------------------------------------------------------------------
    def load_history(self, entries: list[str]) -> None:
        """Newest last."""
        self._history = list(entries)

    def remember(self, query: str) -> None:
        if self._history is None:
            self._history = []
        if query in self._history:
            self._history.remove(query)
        self._history.append(query)
        self._history_pos = None

    def _browse_history(self, step: int) -> None:
        """step -1: older, +1: newer."""
        history = self._history or []
        if not history:
            return
        if self._history_pos is None:
            if step > 0:
                return
            self._draft = self.input.value
            pos = len(history) - 1
        else:
            pos = self._history_pos + step
        if pos >= len(history):
            self._history_pos = None
            self.set_value(self._draft)
            return
        pos = max(0, pos)
        self._history_pos = pos
        self.set_value(history[pos])
