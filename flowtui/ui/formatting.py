"""How values look on screen: human units, times, and data shown as text.

Everything that comes from the data (tags, log streams, descriptions) goes
through :func:`safe_text`, which builds a ``rich.text.Text`` — never a markup
string — and replaces control characters with visible stand-ins, so neither
``[bold red]x[/`` nor an escape sequence in an AWS tag can style, move or
break the screen.
"""

from __future__ import annotations

import datetime as _dt
import re
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text

from flowtui.errors import ConfigError
from flowtui.query.window import TimeWindow, parse_time

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A field the record does not have (NODATA and SKIPDATA records, a field its format lacks), as
# `flowtui query` prints it: a blank cell read as a value cut off, or a column with no room.
MISSING = "-"
MISSING_STYLE = "dim"


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟ (␛ for ESC)
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"


def clean(value: str) -> str:
    """``value`` with every control character replaced by a visible symbol."""
    return _CONTROL.sub(_visible, value)


def safe_text(value: Any, style: str = "", *, justify: str | None = None) -> Text:
    """A Text showing ``value`` literally (None as an empty cell)."""
    if value is None:
        return Text("", style=style)
    if isinstance(value, bool):
        value = "true" if value else "false"
    return Text(clean(str(value)), style=style, justify=justify)  # type: ignore[arg-type]


def _scaled(value: float, units: tuple[str, ...], step: float) -> tuple[float, str]:
    """The value in the unit it is shown in: one that would round up to ``step`` ('1000 kB')
    takes the next unit ('1.0 MB')."""
    unit = units[0]
    for unit in units:
        if round(abs(value)) < step or unit == units[-1]:
            break
        value /= step
    return value, unit


def _one_decimal(value: float, unit: str, sep: str) -> str:
    """'15.1 MB', '100 MB': one decimal below 100 as it is shown, so 99.96 is '100', not '100.0'
    (a cell wider than the widest value a pane's metric column is planned for)."""
    return f"{value:.1f}{sep}{unit}" if round(abs(value), 1) < 100 else f"{value:.0f}{sep}{unit}"


def human_bytes(value: float | None) -> str:
    """1234567 → '1.2 MB' (decimal units, as network traffic is counted)."""
    if value is None:
        return ""
    v, unit = _scaled(float(value), ("B", "kB", "MB", "GB", "TB", "PB"), 1000.0)
    if unit == "B":
        return f"{int(v)} B"
    return _one_decimal(v, unit, " ")


def human_byte_rate(per_second: float) -> str:
    """'1.2 MB/s'; below a byte a second, per minute, hour or day ('340 B/h'), never '0 B/s'
    over bars that show traffic (a long window's buckets are hours or days wide)."""
    for unit, seconds in (("s", 1), ("min", 60), ("h", 3600)):
        if per_second == 0 or per_second * seconds >= 1:
            return f"{human_bytes(per_second * seconds)}/{unit}"
    return f"{human_bytes(per_second * 86400)}/d"


def human_count(value: float | None) -> str:
    """12345 → '12.3k'; small counts stay exact."""
    if value is None:
        return ""
    if abs(value) < 10_000:
        return f"{int(value):,}"
    v, unit = _scaled(float(value), ("", "k", "M", "G", "T"), 1000.0)
    return _one_decimal(v, unit, "")


def human_rate(per_second: float | None) -> str:
    """'12/s', '3.5/s'; below a tenth a second, per minute ('5/min'), not '0.0/s'."""
    if per_second is None:
        return "–"
    if 0 < per_second < 0.1:
        per_minute = per_second * 60
        return f"{per_minute:.1f}/min" if per_minute < 1 else f"{per_minute:.0f}/min"
    if per_second < 10:
        return f"{per_second:.1f}/s"
    return f"{human_count(per_second)}/s"


# A sparkline's peak is said per the shortest of these that holds a whole bucket: every pane
# (their buckets are as wide at any one time) says it in the same unit, and a bucket that
# holds one flow or one byte never reads as 0 ('peak 0.0/min' beside a full bar, when the
# window "all" over weeks of data made its buckets hours wide and the unit followed the value).
RATE_UNITS: tuple[tuple[str, int], ...] = (("s", 1), ("min", 60), ("h", 3600), ("d", 86400))


def rate_unit(bucket_seconds: float) -> tuple[str, int]:
    """The unit ('min', 60) a sparkline with buckets ``bucket_seconds`` wide says its peak in."""
    for unit in RATE_UNITS:
        if bucket_seconds <= unit[1]:
            return unit
    return RATE_UNITS[-1]


def peak_text(peak: float, bucket_seconds: float, metric: str) -> str:
    """A sparkline's label: its fullest bucket as a rate in :func:`rate_unit` ('peak 1.2 MB/min',
    'peak 35/min', 'peak 2.4/h'); a value below one (buckets over a day wide) keeps two digits."""
    unit, seconds = rate_unit(bucket_seconds)
    value = peak * seconds / bucket_seconds
    if 0 < value < 1:
        amount = f"{value:.2g}" + (" B" if metric == "bytes" else "")
    elif metric == "bytes":
        amount = human_bytes(value)
    elif value < 10:
        amount = f"{value:.1f}".removesuffix(".0")
    else:
        amount = human_count(round(value))
    return f"peak {amount}/{unit}"


def human_duration(seconds: float | None) -> str:
    """Lag and ages: '850ms', '12s', '4m10s', '3h05m'."""
    if seconds is None:
        return "–"
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


# --- the zone of every time on screen ---------------------------------------------------------
# One place decides it: [ui] timezone, "UTC" (the default: the CLI prints UTC with a Z, and
# flow logs, CloudTrail and the AWS console are compared in UTC) or "local" (the machine's
# zone, as TZ says). Every time the dashboard shows goes through format_time, every window
# label through window_text, every typed time through read_time; the header says zone_name().
TIME_ZONES = ("UTC", "local")
_local = False


def use_time_zone(name: str) -> None:
    """Show (and read) times on screen in ``name``, one of TIME_ZONES (checked by time_zone_setting)."""
    global _local
    _local = name == "local"


def time_zone_setting(value: object, where: str = "[ui]") -> str:
    """``[ui] timezone`` checked: one of TIME_ZONES, else a ConfigError of one sentence naming them."""
    if value not in TIME_ZONES:
        allowed = " or ".join(f'"{z}"' for z in TIME_ZONES)
        raise ConfigError(f"{where} timezone must be {allowed}, not {value!r}")
    return str(value)


def zone_name(at: float | None = None) -> str:
    """What the header calls the zone times are shown in: 'UTC', or the local zone's
    abbreviation at ``at`` (now: 'CET', 'IST'), its offset where it has none of letters
    ('UTC+03:00' for Europe/Istanbul, whose abbreviation is '+03')."""
    if not _local:
        return "UTC"
    moment = _dt.datetime.fromtimestamp(time.time() if at is None else at).astimezone()
    name = moment.tzname() or ""
    if name.isalpha():
        return name
    offset = int((moment.utcoffset() or _dt.timedelta()).total_seconds()) // 60
    sign = "-" if offset < 0 else "+"
    return f"UTC{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


def format_time(ts: float | None, *, with_date: bool = False) -> str:
    """Unix seconds as wall-clock time in the zone on screen (UTC unless [ui] timezone says
    local): the zone of every time the dashboard shows or reads, so rows, window labels and
    typed windows agree (rows in local time beside a window read in UTC read as another hour)."""
    if ts is None:
        return ""
    moment = _dt.datetime.fromtimestamp(ts) if _local else _dt.datetime.fromtimestamp(ts, _dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def clock_time(ts: float, now: float, *, seconds: bool = False) -> str:
    """'16:18' today (in the zone on screen), else '11-29 18:08', as ``flowtui alerts`` says a
    time: a mute that ends tomorrow read '00:32', an hour that has passed today."""
    text, today = format_time(ts, with_date=True), format_time(now, with_date=True)
    end = 19 if seconds else 16
    return text[11:end] if text[:10] == today[:10] else text[5:end]


def window_text(window: TimeWindow) -> str:
    """A window's label in the zone on screen: 'last 15m', 'all time', '2026-11-27 10:00:00 → …',
    '2026-11-27 15:00:00 → 15:05:59'. The end is the last second the window takes in, as typed
    ('to 15:05' takes in its whole minute; '→ 15:06:00' read as a minute more), and an end on the
    start's day goes without the date (the results' summary line keeps its page count)."""
    if window.since is not None or window.start is None or window.end is None:
        return window.describe(lambda t: format_time(t, with_date=True))
    start = format_time(window.start, with_date=True)
    end = format_time(window.end - 1, with_date=True)
    same_day = end[:10] == start[:10]
    return f"{start} → {end[11:] if same_day else end}"


_ZONED = re.compile(r".*[T ]\d{2}.*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)")  # ISO 8601 naming its zone, after the hour


def read_time(text: str, flag: str = "time", *, local: bool | None = None) -> tuple[int, int]:
    """A typed time as the (first, last) second it stands for, read in the zone on screen
    (``local``: in that zone instead) unless it names its own (a Z or an offset) or is unix
    seconds: a window typed as it is shown ('10:00 to 11:00' under timezone = "local" is
    local 10:00)."""
    first, last = parse_time(text, flag)  # no zone: UTC
    t = text.strip()
    if not (_local if local is None else local) or _ZONED.fullmatch(t) or t.replace(".", "", 1).isdigit():
        return first, last
    return _from_local_wall(first), _from_local_wall(last + 1) - 1


def _from_local_wall(utc_read: int) -> int:
    """The instant whose local wall-clock time is what ``utc_read`` is in UTC (DST as the zone has it)."""
    return int(time.mktime((*time.gmtime(utc_read)[:8], -1)))


METRIC_FORMAT: dict[str, Callable[[Any], str]] = {
    "bytes": human_bytes,
    "packets": human_count,
    "flows": human_count,
}


def format_value(name: str, value: Any, *, with_date: bool = True) -> str:
    """A field's value as the tables show it (times without the date for a window within a day;
    MISSING for none, as ``flowtui query`` prints it)."""
    if value is None or value == []:
        return MISSING
    if name == "bytes":
        return human_bytes(value)
    if name in ("start", "end", "timestamp"):
        return format_time(value, with_date=with_date)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def value_style(value: Any, style: str = "") -> str:
    """A cell's style: ``style``, or MISSING_STYLE for a value the record does not have."""
    return MISSING_STYLE if value is None or value == [] else style


class SortableText(Text):
    """A table cell that sorts by its raw value rather than by its label."""

    def __init__(self, label: str, raw: Any, style: str = "", justify: str | None = None) -> None:
        super().__init__(clean(label), style=style, justify=justify)  # type: ignore[arg-type]
        self.raw = raw

    def __lt__(self, other: object) -> bool:
        if isinstance(other, SortableText):
            return _sort_key(self.raw) < _sort_key(other.raw)
        return NotImplemented


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def fit(text: str, width: int, middle: bool = True) -> str:
    """``text`` in ``width`` cells: the middle of a long address gives way ('2a05:d018:…:9023')."""
    if len(text) <= width:
        return text
    if not middle:
        return text[: max(0, width - 1)].rstrip() + "…"
    if _IPV6.fullmatch(text) and (short := shorten_ipv6(text, width)) is not None:
        return short
    if width < 5:
        return text[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return f"{text[:head]}…{text[-tail:]}"


_IPV6 = re.compile(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}")
IPV6_SHORT = len("2a05:d018:…:9023")  # the narrowest cut that keeps an IPv6 address's /32 and its last group


def shorten_ipv6(address: str, width: int) -> str | None:
    """An IPv6 address in ``width`` cells by whole groups: its first groups (the network:
    the /32 names the provider and region) and its last ones (the host), the middle as
    '…' ('2a05:d018:…:c05b:9023'), never a group cut in two ('2a05:d018:1c4:3a0…d2:3e61'
    left both halves unreadable). None when not even one group each side fits."""
    groups = address.split(":")

    def shown(head: int, tail: int) -> str:  # a '::' beside the cut is part of what it leaves out
        return (":".join(groups[:head]).rstrip(":") + ":…:" + ":".join(groups[-tail:]).lstrip(":")).replace("::…", ":…")

    if len(shown(1, 1)) > width:
        return None
    head, tail = (2, 1) if len(shown(2, 1)) <= width else (1, 1)
    while head + tail < len(groups) - 1:
        more = (head, tail + 1) if tail < head else (head + 1, tail)
        if len(shown(*more)) > width:
            break
        head, tail = more
    return shown(head, tail)
