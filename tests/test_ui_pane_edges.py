"""A pane's focus border: the bright colour on the edges the stylesheet draws, no others."""

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
