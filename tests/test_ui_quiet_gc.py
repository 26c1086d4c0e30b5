"""The dashboard's own full garbage collections: when they run, what they free, what they freeze."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from flowtui.ui.quiet_gc import NEVER, QuietCollector


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


def test_a_full_collection_waits_for_a_quiet_second_or_the_latest(python_gc: None) -> None:
    clock = Clock()
    collector = QuietCollector(every=10, quiet=1, latest=30, clock=clock)
    assert not collector.due()  # not started: Python's own thresholds rule
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
    for _ in range(40):  # a key every half second: only the latest brings one
        collector.key_pressed()
        clock.now += 0.5
        assert collector.maybe_collect() == (clock.now - 1000.0 >= 30)
        if collector.collections:
            break
    assert collector.collections == 1 and clock.now == 1030.0


def test_it_frees_cycles_and_freezes_what_lives_at_the_first_quiet_one(python_gc: None) -> None:
    clock = Clock()
    collector = QuietCollector(every=10, quiet=1, latest=30, clock=clock)
    collector.start()
    frozen = gc.get_freeze_count()
    dead = Cycle()
    gone = weakref.ref(dead)
    del dead
    kept = Cycle()
    clock.now += 30
    collector.key_pressed()  # not quiet: collected, nothing frozen
    assert collector.maybe_collect()
    assert gone() is None
    assert gc.get_freeze_count() <= frozen  # nothing more frozen
    clock.now += 10
    assert collector.maybe_collect()  # quiet: collected, then what lives is frozen
    assert gc.get_freeze_count() > frozen
    assert not any(o is kept for o in gc.get_objects())  # frozen: no longer among what is walked
    assert collector.collections == 2
