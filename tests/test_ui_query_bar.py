"""The query bar: validation as you type, completion, Enter always runs, history, saved queries."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from flowtui.config import Config
from flowtui.query.history import QueryHistory
from flowtui.store import Store
from flowtui.ui.screens.results import ResultsScreen
from flowtui.ui.widgets.flow_table import FlowTable
from flowtui.ui.widgets.query_bar import QueryBar
from tests.test_ui_results import run_query
from tests.ui_data import enter_query, fixed_clock, make_app, refreshed, ui_config, until, use_utc, write_flows


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "flows.db")


def bar(app) -> QueryBar:  # type: ignore[no-untyped-def]
    return app.screen.query_one(QueryBar)


def error_text(app) -> str:  # type: ignore[no-untyped-def]
    box = bar(app).query_one("#query-error")
    return str(box.render()) if box.display else ""


def suggestions(app) -> list[str]:  # type: ignore[no-untyped-def]
    box = bar(app).query_one(OptionList)
    if not box.display:
        return []
    return [str(box.get_option_at_index(i).prompt).split("  ")[0] for i in range(box.option_count)]


async def test_slash_focuses_the_bar_and_a_bad_query_is_marked(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash")
        assert app.focused is bar(app).input
        await pilot.press(*"dst_port:(22 OR")
        await pilot.pause()
        b = bar(app)
        assert b.error is not None
        assert (b.error.start, b.error.end) == (9, 10)
        # The caret sits under the '(' that is never closed: prompt (2) + padding (1) + offset 9.
        assert error_text(app) == " " * 12 + "^ ✗ unbalanced parentheses: this '(' is never closed (at 10)"
        assert b.input.has_class("-invalid")
        await pilot.press("enter")  # a bad query is not run
        assert not isinstance(app.screen, ResultsScreen)
        await pilot.press(*" 23)")
        await pilot.pause()
        assert b.error is None and error_text(app) == ""
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        assert app.screen.query_text == "dst_port:(22 OR 23)"


async def test_every_error_has_the_same_form_cross_message_caret(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash", *"action:REJCT")
        await until(pilot, lambda: error_text(app) != "")
        message = bar(app).error.message
        assert "did you mean REJECT?" in message
        # The message does not fit after the caret at 80 columns: it goes on the next line.
        assert error_text(app) == " " * 10 + "^^^^^\n" + f"✗ {message} (at 8)"
        await pilot.press("ctrl+u", *"dst_port:[1 TO")
        await until(pilot, lambda: "range" in error_text(app))
        message = bar(app).error.message
        assert error_text(app) == " " * 12 + f"^^^^^ ✗ {message} (at 10)"  # room after the caret


async def test_completion_offers_fields_then_values_and_tab_takes_one(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash", *"src_addr_th")
        await until(pilot, lambda: suggestions(app) != [])
        assert suggestions(app) == ["src_addr_threat_indicated:", "src_addr_threat_indicated_by:"]
        await pilot.press("tab")  # two candidates: what they share, as a shell does
        assert bar(app).value == "src_addr_threat_indicated"
        assert app.focused is bar(app).input  # Tab completed; it did not move focus
        await pilot.press("ctrl+u", *"dst_addr_ent")
        await until(pilot, lambda: len(suggestions(app)) == 3)
        await pilot.press("tab")
        assert bar(app).value == "dst_addr_entity"  # not the first candidate's 'dst_addr_entity:'
        await until(pilot, lambda: bar(app)._suggestions and bar(app).value == "dst_addr_entity")
        await pilot.press("tab")  # nothing more is shared: nothing changes
        assert bar(app).value == "dst_addr_entity" and app.focused is bar(app).input
        await pilot.press("down", "down", "tab")  # the highlighted one
        assert bar(app).value == "dst_addr_entity_description:"
        await pilot.press("ctrl+u")  # clear the line
        await pilot.press(*"dst_addr:10.0.1.1")
        await until(pilot, lambda: suggestions(app) != [])
        assert suggestions(app) == ["10.0.1.11", "10.0.1.10"]  # most frequent first
        await pilot.press("down", "down", "tab")  # into the list, to its second line
        assert bar(app).value == "dst_addr:10.0.1.10"


async def test_enter_runs_what_was_typed_even_with_the_list_open(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash", *"action:REJ")
        await until(pilot, lambda: suggestions(app) == ["REJECT"])
        await pilot.press("escape")  # closes the list, stays in the bar
        assert suggestions(app) == [] and app.focused is bar(app).input
        await pilot.press("backspace", "backspace", "backspace", *"REJECT")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        assert app.screen.query_text == "action:REJECT"
        assert app.screen.page.total == 6


@pytest.mark.parametrize(
    "query",
    ["(dst_port:22)", "dst_addr_entity_aws_type:EC2 AND src_addr_internal:false AND (dst_port:80 OR dst_port:443)"],
)
async def test_no_list_after_a_closed_group_and_none_over_the_results(db: Path, query: str) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash", *query)
        await pilot.pause(0.3)  # the completion worker has answered
        assert suggestions(app) == []
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        await pilot.pause(0.3)
        assert suggestions(app) == []  # the results' bar holds the query and lists nothing
        results = app.screen
        await pilot.press("slash", "space", *"action:REJ")
        await until(pilot, lambda: suggestions(app) == ["REJECT"])
        await pilot.press("escape")  # one Escape: the list closes, the results stay
        assert suggestions(app) == [] and app.screen is results and app.focused is bar(app).input
        await pilot.press("escape")  # the next leaves the bar, still over the results
        assert app.screen is results and isinstance(app.focused, FlowTable)


async def test_the_list_closes_when_the_query_runs(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash", *"dst_addr:10.0.1.1")
        await until(pilot, lambda: suggestions(app) == ["10.0.1.11", "10.0.1.10"])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        await pilot.pause(0.3)
        lists = [b.query_one(OptionList).display for s in app.screen_stack for b in s.query(QueryBar)]
        assert lists == [False, False]  # neither the dashboard's bar nor the results' shows one


async def test_escape_leaves_the_bar_for_the_panes(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash")
        await pilot.press("escape")
        assert isinstance(app.focused, FlowTable)


async def test_history_up_and_down(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        for query in ("dst_port:22", "action:REJECT"):
            await enter_query(pilot, query)
            await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        # Both ran in the one results view; its bar walks them back.
        assert app.screen.query_text == "action:REJECT"
        await pilot.press("slash", "ctrl+u", *"drafting")
        await pilot.press("up")
        assert bar(app).value == "action:REJECT"
        await pilot.press("up")
        assert bar(app).value == "dst_port:22"
        await pilot.press("up")
        assert bar(app).value == "dst_port:22"
        await pilot.press("down")
        assert bar(app).value == "action:REJECT"
        await pilot.press("down")
        assert bar(app).value == "drafting"
        await until(pilot, lambda: not list(app.workers))  # the writes have landed
    with Store(db, readonly=True) as store:
        assert QueryHistory(store).recent() == ["action:REJECT", "dst_port:22"]


async def test_a_recalled_query_that_fits_is_shown_from_its_start(db: Path) -> None:
    short = "action:REJECT AND dst_port:22"
    long = "dst_addr_entity_aws_type:EC2 AND src_addr_internal:false AND (dst_port:80 OR dst_port:443)"
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(pilot)
        for query in (short, long):
            await pilot.press("slash", *query, "enter")
            await until(pilot, lambda q=query: isinstance(app.screen, ResultsScreen) and app.screen.query_text == q)
            await pilot.press("escape")
        await pilot.press("slash", "up")  # the long one: scrolled to its end, where the cursor is
        await pilot.pause()
        field = bar(app).input
        assert (bar(app).value, field.scroll_offset.x) == (long, len(long) + 1 - field.content_size.width)
        await pilot.press("up")
        await pilot.pause()
        assert (bar(app).value, field.scroll_offset.x) == (short, 0)
        assert field.render_line(0).text.startswith(short + " ")
        await pilot.press("escape", "slash", *long, "enter")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.query_text == long)
        await pilot.press("slash")  # the results' bar: its query's end, where the cursor is
        await pilot.pause()
        field = bar(app).input
        assert (field.cursor_position, field.scroll_offset.x) == (len(long), len(long) + 1 - field.content_size.width)


async def test_history_from_the_store_is_there_at_start(db: Path) -> None:
    with Store(db) as store:
        QueryHistory(store).add("dst_port:3389")
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_history == ["dst_port:3389"])
        await pilot.press("slash", "up")
        assert bar(app).value == "dst_port:3389"


async def test_save_a_query_and_recall_it(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash")
        bar(app).set_value("dst_port:22 AND action:REJECT")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "SaveQueryScreen"
        await pilot.press(*"ssh knocks", "enter")
        await until(pilot, lambda: app.saved_queries == [("ssh knocks", "dst_port:22 AND action:REJECT")])
        with Store(db, readonly=True) as store:
            assert QueryHistory(store).saved() == [("ssh knocks", "dst_port:22 AND action:REJECT")]
        await pilot.press("ctrl+u", "escape")
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "SavedQueriesScreen"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        assert app.screen.query_text == "dst_port:22 AND action:REJECT"
        assert app.screen.page.total == 5
        await pilot.press("escape")  # back over the panes: the bar is theirs (empty), keys go to a table
        await until(pilot, lambda: not isinstance(app.screen, ResultsScreen))
        assert bar(app).value == ""
        assert isinstance(app.focused, FlowTable)


async def test_slash_types_a_slash_inside_the_bar(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.press("slash", *"src_addr:10.0.0.0/8")
        assert bar(app).value == "src_addr:10.0.0.0/8"
        assert bar(app).error is None


async def test_after_a_results_screen_keys_go_to_the_tables_not_the_bar(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        dashboard = app.screen
        await enter_query(pilot, "action:REJECT")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        results = app.screen
        assert app.focused is results.table
        await pilot.press("slash")
        assert app.focused is bar(app).input
        await pilot.press("escape")
        assert app.focused is results.table
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is dashboard)
        assert isinstance(app.focused, FlowTable)
        typed = dashboard.query_bar.value
        await pilot.press("2", "l", "l", "g", "enter")  # pane 2, right, right, top, drill in
        await pilot.pause()
        assert dashboard.query_bar.value == typed
        assert "g" not in typed and "2ll" not in typed


async def test_the_bar_shows_the_query_of_the_screen_below_it(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        dashboard = app.screen
        # Typed, not run, Escape: the dashboard's bar is empty again.
        await pilot.press("slash", *"dst_port:22", "escape")
        assert dashboard.query_bar.value == ""
        assert isinstance(app.focused, FlowTable)
        await enter_query(pilot, "@cloudtrail errorCode:*")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        results = app.screen
        assert results.query_bar.value == "@cloudtrail errorCode:*"
        # On the results screen: a query typed and left goes back to the one shown.
        await pilot.press("slash", "ctrl+t", *" action:REJECT", "escape")
        assert results.query_bar.value == "@cloudtrail errorCode:*"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is dashboard)
        assert dashboard.query_bar.value == ""
        assert str(dashboard.query_bar.query_one(".query-prompt").render()) == "/"


async def test_a_refused_query_says_the_rows_are_the_previous_querys(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        results = await run_query(pilot, "action:REJECT")
        summary = results.query_one("#results-summary")
        await pilot.press("slash", "ctrl+u", *"dst_port:(22", "enter")
        assert results.query_text == "action:REJECT"
        assert str(summary.render()).startswith("previous query's results · 6 flows · last 15m")
        assert results.table.has_class("-stale")
        await pilot.press("escape")  # the bar has the rows' query again
        assert bar(app).value == "action:REJECT"
        assert str(summary.render()).startswith("6 flows · last 15m")
        assert not results.table.has_class("-stale")


def header(app) -> str:  # type: ignore[no-untyped-def]
    """The screen's first line as drawn."""
    return "".join(segment.text for segment in app.screen._compositor.render_strips()[0])


HINT = "e.g. action:REJECT AND dst_port:22"
LABEL = {"viewer": "○ viewer last 15m UTC", "live": "● live last 15m UTC"}


@pytest.mark.parametrize(
    ("width", "feed", "hint"),
    [
        (200, "viewer", f"{HINT}  (Tab completes, ↑ history)"),
        (80, "viewer", f"{HINT}  (Tab completes)"),
        (80, "live", f"{HINT}  (Tab completes)"),
        (60, "viewer", HINT),  # was 'e.g. action:REJECT': a cell for the cursor and a right padding less
        (60, "live", HINT),
        (40, "viewer", "action:REJECT"),  # was none
    ],
)
async def test_the_hint_is_the_longest_that_fits_and_a_pause_gives_its_cells_back(
    db: Path, width: int, feed: str, hint: str
) -> None:
    """The header as drawn: '/', the longest hint that fits whole, the window label right-aligned;
    after a pause (' PAUSED ' is two cells wider than '● live ') the label shrinks back and the
    hint has its cells again (they stayed the label's: 'e.g. action:REJECT' at 60 for good)."""
    if feed == "live":
        with Store(db) as store:
            store.set_status("demo:1", "running", None, 496.0, 7)
    app = make_app(db)
    async with app.run_test(size=(width, 30)) as pilot:
        await refreshed(pilot)
        field = bar(app).input
        expected = f" / {hint}".ljust(width - len(LABEL[feed]) - 1) + LABEL[feed] + " "
        await until(pilot, lambda: header(app) == expected)
        assert field.placeholder == hint
        await pilot.press("space")  # paused: the window label is wider, the field narrower
        await until(pilot, lambda: " PAUSED  last 15m UTC " in header(app))
        assert len(field.placeholder) <= field.content_size.width
        await pilot.press("space")
        await until(pilot, lambda: header(app) == expected)
        assert field.placeholder == hint


async def test_an_unknown_threat_list_is_refused_with_a_did_you_mean(db: Path) -> None:
    # The store's addresses were listed by spamhaus and tor; the config adds spamhaus_drop.
    from flowtui.ui.app import FlowtuiApp

    use_utc()
    config = Config({**ui_config().data, "threat": {"lists": [{"id": "spamhaus_drop", "path": "drop.txt"}]}})
    app = FlowtuiApp(db, config, now=fixed_clock)
    refused: set[int] = set()  # message ids (the hook sees a bubbling message at each widget)
    async with app.run_test(size=(120, 40), message_hook=lambda m: isinstance(m, QueryBar.Refused) and refused.add(id(m))) as pilot:
        await refreshed(pilot)
        await pilot.press("slash", *"src_addr_threat_indicated_by:spamhaus_dropp")
        await until(pilot, lambda: error_text(app) != "")
        b = bar(app)
        assert (b.error.message, b.error.start, b.error.end) == (
            "unknown threat list 'spamhaus_dropp' (did you mean spamhaus_drop?)", 29, 43
        )
        # The caret under the id (prompt 2 + padding 1 + offset 29), the message below: no room after it.
        assert error_text(app) == " " * 32 + "^" * 14 + "\n✗ unknown threat list 'spamhaus_dropp' (did you mean spamhaus_drop?) (at 30)"
        assert b.input.has_class("-invalid")
        await pilot.press("enter")
        await until(pilot, lambda: len(refused) == 1)
        assert not isinstance(app.screen, ResultsScreen)  # not run
        # An id only the store knows is known too; a typo of it is refused the same way.
        await pilot.press("ctrl+u", *"dst_addr_threat_indicated_tr:true")
        await until(pilot, lambda: b.error is not None and "tor" in b.error.message)
        assert b.error.message == "unknown threat list 'tr' (did you mean tor?)"
        await pilot.press("ctrl+u", *"dst_addr_threat_indicated_tor:true")
        await until(pilot, lambda: b.error is None and error_text(app) == "")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.page is not None)
        assert app.screen.query_text == "dst_addr_threat_indicated_tor:true"
        assert app.screen.page.total == 1


def test_before_there_is_a_store_the_configs_lists_are_the_known_ones(tmp_path: Path) -> None:
    from flowtui.ui.data import DataSource

    data = DataSource(tmp_path / "not-yet.db", fixed_clock)
    config = Config({"threat": {"lists": [{"id": "spamhaus_drop", "path": "drop.txt"}]}})
    error = data.validate("src_addr_threat_indicated_by:spamhaus_dropp", config)
    assert error is not None and error.message == "unknown threat list 'spamhaus_dropp' (did you mean spamhaus_drop?)"
    assert data.validate("src_addr_threat_indicated_by:spamhaus_drop", config) is None
    assert not (tmp_path / "not-yet.db").exists()  # checking made no store
