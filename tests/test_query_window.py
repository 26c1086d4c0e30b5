"""Time windows: --since / --from --to / --all, following now, and the [ ] shifts."""

from __future__ import annotations

import pytest

from flowtui.errors import UsageError
from flowtui.query.window import TimeWindow, parse_duration

NOW = 1_795_777_200  # 2026-11-27T11:00:00Z
DAY = 1_795_737_600  # 2026-11-27T00:00:00Z


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1w", 604800), ("30", 30), ("1.5h", 5400)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_since_follows_now() -> None:
    w = TimeWindow.parse(since="15m")
    assert w.live and w.relative
    assert w.bounds(NOW) == (NOW - 900, None)
    assert w.bounds(NOW + 60) == (NOW - 840, None)
    assert w.describe() == "last 15m"


def test_from_to_in_iso_or_unix_seconds() -> None:
    assert TimeWindow.parse(from_="2026-11-27T10:00:00Z", to="2026-11-27T10:30:00Z").bounds() == (NOW - 3600, NOW - 1799)
    assert TimeWindow.parse(from_=str(NOW - 60), to=str(NOW)).bounds() == (NOW - 60, NOW + 1)
    # A date stands for the whole day; --to includes it.
    assert TimeWindow.parse(from_="2026-11-27", to="2026-11-27").bounds() == (DAY, DAY + 86400)
    assert TimeWindow.parse(from_="2026-11-27T12:00:00+01:00").bounds() == (NOW, None)
    w = TimeWindow.parse(from_="2026-11-27")
    assert w.live and not w.relative


def test_all_is_the_default() -> None:
    assert TimeWindow.parse() == TimeWindow.parse(all_=True) == TimeWindow.all()
    assert TimeWindow.all().bounds() == (None, None)
    assert TimeWindow.all().describe() == "all time"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"since": "5x"}, "--since '5x' is not a duration"),
        ({"since": "0m"}, "--since '0m' must be longer than 0 seconds"),
        ({"from_": "yesterday"}, "--from 'yesterday' is not a time"),
        ({"to": "2026-13-01"}, "--to '2026-13-01' is not a time"),
        ({"since": "1h", "from_": "2026-11-27"}, "either --since or --from/--to"),
        ({"all_": True, "since": "1h"}, "--all cannot be combined"),
        ({"from_": "2026-11-28", "to": "2026-11-27"}, "is not after --from"),
    ],
)
def test_bad_windows_name_the_value(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(UsageError) as info:
        TimeWindow.parse(**kwargs)  # type: ignore[arg-type]
    assert words in str(info.value)
    assert info.value.exit_code == 2


def test_shifting_back_and_forth() -> None:
    live = TimeWindow.last(900)
    back = live.shift(backward=True, now=NOW)
    assert back == TimeWindow(NOW - 1800, NOW - 900)
    assert not back.live
    assert back.shift(backward=True, now=NOW) == TimeWindow(NOW - 2700, NOW - 1800)
    # Forward into the present: live again.
    assert back.shift(backward=False, now=NOW) == live
    fixed = TimeWindow(DAY, DAY + 3600)
    assert fixed.shift(backward=False, now=NOW) == TimeWindow(DAY + 3600, DAY + 7200)
    assert TimeWindow.all().shift(now=NOW) == TimeWindow.all()
