"""A pane's edges: its focus border, its sparkline's peak label (one unit for all panes), a missing value."""

from __future__ import annotations


async def test_the_focus_colours_only_the_edges_the_stylesheet_draws() -> None:
    """A pane drawn without its bottom edge (stacked panes sharing a line) stays without it
    when its table has the focus: the other three edges take the bright colour, and the
    pane keeps its size (a fourth edge would have laid the screen out and taken a row)."""
    from textual.app import App, ComposeResult
    from textual.color import Color

    from flowtui.ui.panes import PaneSpec
    from flowtui.ui.widgets.pane import Pane

    spec = PaneSpec("Rejects", "action:REJECT", ("src_addr", "dst_port"), "flows")

    class One(App[None]):
        CSS = ".pane { height: 6; border: round $primary 40%; border-bottom: none; }"

        def compose(self) -> ComposeResult:
            yield Pane(spec)

    app = One()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = app.query_one(Pane)
        await pilot.pause()
        primary = Color.parse(app.theme_variables["primary"])
        assert app.focused is pane.table  # the app's first focus: the bright border
        edges = (pane.styles.border_top, pane.styles.border_right, pane.styles.border_left)
        assert edges == (("round", primary),) * 3
        assert pane.styles.border_bottom[0] == ""  # Textual's 'none'
        assert pane.content_size == (58, 5)  # the border's three edges around it, no fourth
        assert "╰" not in app.export_screenshot()
        pane.show_focus(False)
        await pilot.pause()
        assert (pane.styles.border_top, pane.styles.border_bottom[0]) == (("round", primary.multiply_alpha(0.4)), "")
        pane.show_focus(True)
        await pilot.pause()
        assert pane.styles.border_bottom[0] == "" and pane.content_size == (58, 5)


def _label(app: object, key: str) -> str:
    from textual.widgets import Static

    return str(app.dashboard.pane(key).query_one(".pane-rate-label", Static).render())  # type: ignore[attr-defined]


PANE_KEYS = ("top-talkers", "rejects", "external-ec2", "threat-matches")


async def test_every_pane_says_its_peak_in_the_unit_of_the_windows_buckets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Last 15m: one-minute buckets, every peak per minute (rejects said per minute beside
    talkers' 'MB/s'). The fullest minute of talkers holds 1.5 MB + 250 kB + 120 B."""
    from tests.ui_data import make_app, refreshed, write_flows

    app = make_app(write_flows(tmp_path / "flows.db"))
    async with app.run_test(size=(200, 50)) as pilot:
        await refreshed(pilot)
        assert [_label(app, k) for k in PANE_KEYS] == ["peak 1.8 MB/min", "peak 2/min", "peak 2/min", "peak 2/min"]


async def test_window_all_over_a_month_says_its_peak_per_day_never_zero(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A flow 30 days ago makes window "all" 60 buckets of 12 hours: the last holds every other
    flow (rejects: 6, 'peak 0.0/min' before, beside a full bar), per day twice that."""
    from flowtui.query.window import TimeWindow
    from tests.ui_data import FLOWS, flow, make_app, refreshed, until, write_flows

    old = flow("203.0.113.5", 50200, "10.0.1.11", 22, 6, "REJECT", 60, 1, 30 * 86400)
    app = make_app(write_flows(tmp_path / "flows.db", [*FLOWS, old]))
    async with app.run_test(size=(200, 50)) as pilot:
        await refreshed(pilot)
        app.window = TimeWindow.all()
        await until(pilot, lambda: app.dashboard.pane("rejects").result.bucket_seconds == 43_200)
        spark = app.dashboard.pane("rejects").result.rate
        assert (len(spark), spark[0], spark[-1]) == (60, 1.0, 6.0)
        assert [_label(app, k) for k in PANE_KEYS] == ["peak 9.1 MB/d", "peak 12/d", "peak 18/d", "peak 12/d"]


async def test_a_missing_value_shows_as_a_dim_dash_as_flow_lists_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Version 2 records carry no tcp_flags: the group's cell is '-' in MISSING_STYLE (was '–')."""
    from flowtui.config import Config
    from flowtui.ui.app import FlowtuiApp
    from flowtui.ui.formatting import MISSING_STYLE
    from tests.ui_data import fixed_clock, refreshed, table_rows, use_utc, write_flows

    use_utc()
    config = Config({"ui": {"refresh": 60}, "panes": [{"title": "Flags", "query": "action:REJECT", "by": ["dst_port", "tcp_flags"], "metric": "flows"}]})
    app = FlowtuiApp(write_flows(tmp_path / "flows.db"), config, now=fixed_clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await refreshed(pilot)
        table = app.dashboard.pane("flags").table
        assert table_rows(table) == [["22", "-", "5", "600 B", "10"], ["3389", "-", "1", "60 B", "1"]]
        assert table.get_row_at(0)[1].style == MISSING_STYLE and table.get_row_at(0)[0].style == ""
