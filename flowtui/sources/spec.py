"""What a source is: the ``[[sources]]`` tables of the config, or the flags of ``flowtui tail``.

A spec is plain, picklable data, so the dashboard can hand it to an ingestion
process. Timing knobs have production defaults; tests shorten them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from flowtui.config import Config, parse_duration, parse_size
from flowtui.errors import ConfigError, SourceError

TRIM_HORIZON = "trim-horizon"
LATEST = "latest"


@dataclass(frozen=True, slots=True)
class Start:
    """Where a source with no checkpoint begins: the oldest record, now, or a time."""

    mode: str  # TRIM_HORIZON, LATEST or "time"
    time_ms: int | None = None

    def __str__(self) -> str:
        if self.time_ms is None:
            return self.mode
        return dt.datetime.fromtimestamp(self.time_ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


def parse_start(text: str | dt.datetime | None) -> Start:
    """``trim-horizon``, ``latest``, an ISO 8601 time (UTC unless it says otherwise) or ``-2h``."""
    if text is None:
        return Start(TRIM_HORIZON)
    if isinstance(text, dt.datetime):  # TOML datetimes arrive parsed
        return Start("time", _ms(text))
    t = text.strip()
    low = t.lower().replace("_", "-")
    if low in (TRIM_HORIZON, "oldest", "earliest"):
        return Start(TRIM_HORIZON)
    if low in (LATEST, "now"):
        return Start(LATEST)
    if low.startswith("-"):
        try:
            seconds = parse_duration(low[1:])
        except ConfigError:
            seconds = -1.0
        if seconds >= 0:
            return Start("time", int((dt.datetime.now(dt.UTC).timestamp() - seconds) * 1000))
    try:
        when = dt.datetime.fromisoformat(t.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SourceError(
            f"bad start {text!r}: use trim-horizon, latest, a time like 2024-05-01T12:00:00Z or an age like -2h"
        ) from None
    return Start("time", _ms(when))


def _ms(when: dt.datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class AwsTarget:
    """Where and as whom to call AWS."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True, slots=True)
class KinesisSpec:
    stream: str
    aws: AwsTarget = AwsTarget()
    start: Start = Start(TRIM_HORIZON)
    format: str | None = None  # flow-log format of the log group behind the subscription
    # How often to look for new shards (resharding) when nothing else prompts it.
    discover_interval: float = 30.0
    # Wait between GetRecords calls on a shard that is caught up.
    poll_interval: float = 1.0
    # Kinesis read limits per shard, shared by every consumer of the stream.
    max_calls_per_s: float = 5.0
    max_bytes_per_s: int = 2 * 1024 * 1024
    limit: int = 10_000  # records per GetRecords
    # Backoff after throttling and network errors (seconds, exponential with jitter).
    retry_base: float = 0.25
    retry_max: float = 30.0
    # Retry interval while access is denied or credentials are missing.
    denied_retry: float = 60.0
    # How often health is written to the store (seconds).
    status_interval: float = 2.0

    @property
    def name(self) -> str:
        return f"kinesis:{self.stream}"

    def shard_source(self, shard_id: str) -> str:
        """The checkpoint source of one shard."""
        return f"kinesis:{self.stream}/{shard_id}"


def is_part_row(name: str) -> bool:
    """A ``source_status`` row of one shard (``kinesis:<stream>/<shard-id>``), not of a source.

    Stream names cannot hold a ``/``; log group names can, but a log group is its own
    only part and has one row.
    """
    return name.startswith("kinesis:") and "/" in name


@dataclass(frozen=True, slots=True)
class LogGroupSpec:
    log_group: str
    aws: AwsTarget = AwsTarget()
    start: Start = Start(TRIM_HORIZON)
    format: str | None = None
    log_stream_prefix: str | None = None
    filter_pattern: str | None = None
    poll_interval: float = 5.0
    # Events can be ingested after later ones (flow logs arrive minutes late);
    # a sweep every ``sweep_interval`` re-reads the last ``lookback`` and stores
    # what it has not seen. 0 turns the sweep off.
    lookback: float = 900.0
    sweep_interval: float = 120.0
    max_calls_per_s: float = 5.0
    limit: int = 10_000
    retry_base: float = 0.25
    retry_max: float = 30.0
    denied_retry: float = 60.0
    status_interval: float = 2.0

    @property
    def name(self) -> str:
        return f"cwlogs:{self.log_group}"


SourceSpec = KinesisSpec | LogGroupSpec

_TYPES = {"kinesis": KinesisSpec, "cloudwatch-logs": LogGroupSpec, "cloudwatch": LogGroupSpec}
_DURATIONS = {
    "discover_interval",
    "poll_interval",
    "lookback",
    "sweep_interval",
    "retry_base",
    "retry_max",
    "denied_retry",
    "status_interval",
}
_COMMON = {"type", "region", "profile", "endpoint_url", "start", "format"}


def parse_sources(tables: Sequence[Mapping[str, Any]], where: str = "config") -> list[SourceSpec]:
    """The ``[[sources]]`` tables as specs; anything wrong is a ConfigError naming the table."""
    specs: list[SourceSpec] = []
    for n, table in enumerate(tables, 1):
        specs.append(parse_source(table, f"{where}: [[sources]] #{n}"))
    names = [s.name for s in specs]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{where}: source {name} is listed twice")
    return specs


def sources_from_config(config: Config) -> list[SourceSpec]:
    """The config file's ``[[sources]]``, with ``[ingest] format`` for those that name no format."""
    specs = parse_sources(config.tables("sources"), str(config.path or "config"))
    default = config.get("ingest", "format", None, str)
    return [replace(s, format=s.format or default) for s in specs]


def parse_source(table: Mapping[str, Any], where: str = "source") -> SourceSpec:
    kind = table.get("type", "kinesis")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ConfigError(f"{where}: type must be 'kinesis' or 'cloudwatch-logs', not {kind!r}")
    key = "stream" if cls is KinesisSpec else "log_group"
    known = {f.name for f in fields(cls)} | _COMMON
    for k in table:
        if k not in known:
            raise ConfigError(f"{where}: unknown key {k!r} for a {kind} source")
    name = table.get(key)
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{where}: a {kind} source needs {key} = "…"')
    for k in ("region", "profile", "endpoint_url", "format", "log_stream_prefix", "filter_pattern"):
        if k in table and not isinstance(table[k], str):
            raise ConfigError(f"{where}: {k} must be a string")
    aws = AwsTarget(table.get("region"), table.get("profile"), table.get("endpoint_url"))
    try:
        start = parse_start(table.get("start"))
    except SourceError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    values: dict[str, Any] = {key: name, "aws": aws, "start": start, "format": table.get("format")}
    for f in fields(cls):
        if f.name in values or f.name not in table or f.name == key:
            continue
        raw = table[f.name]
        if f.name in _DURATIONS:
            values[f.name] = parse_duration(raw, f"{where}: {f.name}")
        elif f.name == "max_bytes_per_s":
            values[f.name] = parse_size(raw)
        elif f.name in ("limit",):
            if not isinstance(raw, int) or raw <= 0:
                raise ConfigError(f"{where}: {f.name} must be a positive integer")
            values[f.name] = raw
        elif f.name == "max_calls_per_s":
            if not isinstance(raw, (int, float)) or raw <= 0:
                raise ConfigError(f"{where}: {f.name} must be a positive number")
            values[f.name] = float(raw)
        else:
            values[f.name] = raw
    spec = cls(**values)
    return spec


def with_aws(spec: SourceSpec, region: str | None, profile: str | None, endpoint_url: str | None) -> SourceSpec:
    """The spec with command-line flags laid over it (flags beat the config file)."""
    aws = AwsTarget(
        region or spec.aws.region,
        profile or spec.aws.profile,
        endpoint_url or spec.aws.endpoint_url,
    )
    return replace(spec, aws=aws)
