"""The dashboard's own full garbage collections: when they run, what they free, what they freeze."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from flowtui.ui.quiet_gc import HOLD_AT_MOST, NEVER, QuietCollector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def python_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def test_python_collects_generation_2_again_after_stop(python_gc: None) -> None:
    before = gc.get_threshold()
    collector = QuietCollector(clock=Clock())
    collector.start()
    assert gc.get_threshold() == (before[0], before[1], NEVER)
    assert gc.get_freeze_count() > 0
    collector.stop()
    assert gc.get_threshold() == before


def test_a_full_collection_waits_for_a_quiet_second_a_key_or_the_overdue(python_gc: None) -> None:
    clock = Clock()
    collector = QuietCollector(every=10, quiet=1, latest=30, overdue=60, clock=clock)
    assert not collector.due() and not collector.due_after_key()  # not started: Python's own thresholds rule
    collector.start()
    clock.now += 9.9
    assert not collector.due()
    clock.now += 0.1
    assert collector.due()
    collector.key_pressed()
    assert not collector.due()
    clock.now += 0.5
    assert not collector.due()
    clock.now += 0.5
    assert collector.due()
    for _ in range(200):  # a key every half second: never quiet; after 30 s a key's paint brings one
        collector.key_pressed()
        clock.now += 0.5
        assert not collector.maybe_collect()
        if collector.due_after_key():
            break
    assert clock.now == 1030.0
    collector.collect()
    assert not collector.due_after_key() and collector.collections == 1
    for _ in range(200):  # keys that never ask for it (another screen's): at a refresh once overdue
        collector.key_pressed()
        clock.now += 0.5
        if collector.maybe_collect():
            break
    assert collector.collections == 2 and clock.now == 1090.0


def test_it_frees_cycles_and_freezes_what_lives_at_the_first_quiet_one(python_gc: None) -> None:
    clock = Clock()
    collector = QuietCollector(every=10, quiet=1, latest=30, overdue=60, clock=clock)
    collector.start()
    frozen = gc.get_freeze_count()
    dead = Cycle()
    gone = weakref.ref(dead)
    del dead
    kept = Cycle()
    clock.now += 30
    collector.key_pressed()  # not quiet: collected, nothing frozen
    assert collector.due_after_key()
    collector.collect()
    assert gone() is None
    assert gc.get_freeze_count() <= frozen  # nothing more frozen
    clock.now += 10
    assert collector.maybe_collect()  # quiet: collected, then what lives is frozen
    # (Not the freeze count: frozen objects that die by refcount leave it, so it can fall in between.)
    assert not any(o is kept for o in gc.get_objects())  # frozen: no longer among what is walked
    assert collector.collections == 2


async def test_keys_that_keep_coming_get_the_collection_after_their_paint(python_gc: None, tmp_path) -> None:
    """Once a collection is due after a key, the key's change is painted first, then it runs."""
    from tests.ui_data import make_app, refreshed, write_flows

    app = make_app(write_flows(tmp_path / "flows.db"))
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        collector = app.collector
        runs: list[tuple[bool, int]] = []
        real = collector.collect

        def collect() -> None:
            screen = app.screen
            table = app.dashboard.pane("top-talkers").table
            painted = not (screen._dirty_widgets or screen._repaint_required or screen._layout_required)
            runs.append((painted, table.cursor_coordinate.row))
            real()

        collector.collect = collect  # type: ignore[method-assign]
        await pilot.press("j")
        await pilot.pause(0.2)
        assert runs == []  # not due yet
        collector._last_collection -= collector.latest
        collector.key_pressed()
        await pilot.press("j")
        await pilot.pause(0.3)
        assert runs == [(True, 2)]  # once, with the second j's move already painted
        await pilot.press("k")
        await pilot.pause(0.2)
        assert len(runs) == 1


def test_young_collections_wait_from_a_key_until_its_paint(python_gc: None) -> None:
    clock = Clock()
    collector = QuietCollector(clock=clock)
    collector.key_pressed()  # not started: Python's collections as they are
    assert gc.isenabled() and not collector.holding
    collector.start()
    try:
        collector.key_pressed()
        assert not gc.isenabled() and collector.holding
        clock.now += 0.1
        collector.key_pressed()  # another key before the paint: still held
        assert not gc.isenabled()
        collector.key_painted()
        assert gc.isenabled() and not collector.holding
        collector.key_pressed()
        clock.now += HOLD_AT_MOST
        collector.key_pressed()  # keys that keep coming: not held for longer than HOLD_AT_MOST
        assert gc.isenabled() and not collector.holding
        collector.key_pressed()
        clock.now += HOLD_AT_MOST
        assert not collector.maybe_collect()  # a paint never seen: the next refresh lets them run
        assert gc.isenabled()
        collector.key_pressed()
        collector.stop()
        assert gc.isenabled()
    finally:
        gc.enable()


async def test_a_key_is_handled_and_painted_without_young_collections(python_gc: None, tmp_path) -> None:
    from tests.ui_data import make_app, refreshed, write_flows

    app = make_app(write_flows(tmp_path / "flows.db"))
    async with app.run_test(size=(120, 40)) as pilot:
        await refreshed(pilot)
        await pilot.pause(0.2)
        seen: list[tuple[bool, bool]] = []
        real = app.action_toggle_pause

        def toggle() -> None:
            seen.append((gc.isenabled(), app.key_painted.is_set()))  # (the refresh worker waits on the latter)
            real()

        app.action_toggle_pause = toggle  # type: ignore[method-assign]
        await pilot.press("space")
        await pilot.pause(0.3)
        assert app.paused and seen == [(False, False)]  # held while the key was handled
        assert gc.isenabled() and not app.collector.holding  # and let go once it was painted
        assert app.key_painted.is_set()


async def test_a_key_whose_handler_fails_lets_the_young_collections_run(python_gc: None, tmp_path) -> None:
    """A key's action that raises ends the app with its traceback; Python's collections are
    on again by the time Textual handles the error, not left off until the app has closed."""
    from tests.ui_data import make_app, refreshed, write_flows

    app = make_app(write_flows(tmp_path / "flows.db"))
    handled: list[tuple[str, bool, bool]] = []
    real = app._handle_exception

    def handle(error: Exception) -> None:
        handled.append((str(error), gc.isenabled(), app.collector.holding))
        real(error)

    def fail() -> None:
        assert not gc.isenabled()  # held while the key is handled
        raise RuntimeError("the action failed")

    app._handle_exception = handle  # type: ignore[method-assign]
    app.action_focus_query = fail  # type: ignore[method-assign]  # '/': a priority key, run inside the app's on_event
    try:
        with pytest.raises(RuntimeError, match="the action failed"):
            async with app.run_test(size=(120, 40)) as pilot:
                await refreshed(pilot)
                await pilot.press("slash")
                await pilot.pause(0.1)
    finally:
        gc.enable()
    assert handled == [("the action failed", True, False)]
