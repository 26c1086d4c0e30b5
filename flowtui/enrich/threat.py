"""Threat lists: parse the formats the public lists use, and match addresses against them.

Each configured list keeps its own :class:`CidrSet`, because a match must say
*which* lists flagged an address (``threat_indicated_by``). With a handful of
lists that is a handful of bisects per new address, and the enricher caches the
answer per address.

Lists come from ``[[threat.lists]]`` in the config: ``id`` plus ``path`` (a
local file) or ``url`` (downloaded by ``flowtui threat update`` into
``[threat] cache_dir``), and an optional ``format``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlparse

from flowtui.config import Config, parse_duration, parse_size
from flowtui.enrich.addresses import CidrSet, Interval, parse_address, parse_network
from flowtui.errors import ConfigError

log = logging.getLogger(__name__)

FORMATS: Final[tuple[str, ...]] = ("spamhaus", "spamhaus-json", "tor-exit-addresses", "plain", "netset")
DEFAULT_MAX_SIZE: Final[int] = 50 * 1024 * 1024
DEFAULT_TIMEOUT: Final[float] = 30.0
DEFAULT_RELOAD_INTERVAL: Final[float] = 60.0
_ID_RE = re.compile(r"^[a-z0-9_]+$")
_URL_SUFFIXES = (".txt", ".json", ".netset", ".ipset", ".csv")
# Structure lines of Tor's exit-addresses document (not entries, not skipped).
_TOR_KEYWORDS = frozenset({"ExitNode", "Published", "LastStatus"})


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "flowtui" / "threat"


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class ParsedList:
    format: str
    networks: tuple[Interval, ...]  # distinct networks, in file order
    skipped: int  # data lines that were not an address or a network

    @property
    def entries(self) -> int:
        return len(self.networks)


def detect_format(text: str, name: str = "") -> str:
    """Guess a list's format from its content (and, for netsets, its file name)."""
    tor = semicolon = ipset = False
    first_data: str | None = None
    for raw in text.splitlines()[:2000]:
        line = raw.strip()
        if not line:
            continue
        if line.startswith(("ExitNode ", "ExitAddress ")):
            tor = True
        if line.startswith(";") or (not line.startswith("#") and ";" in line):
            semicolon = True
        if line.startswith("#") and ("ipset" in line or "netset" in line.lower()):
            ipset = True
        if first_data is None and not line.startswith(("#", ";")):
            first_data = line
    if first_data is not None and first_data.startswith("{"):
        return "spamhaus-json"
    if tor:
        return "tor-exit-addresses"
    if semicolon:
        return "spamhaus"
    if ipset or name.endswith((".netset", ".ipset")):
        return "netset"
    return "plain"


def _add(token: str, seen: dict[Interval, None]) -> bool:
    try:
        seen.setdefault(parse_network(token), None)
    except ValueError:
        return False
    return True


def parse_list(text: str, fmt: str | None = None, name: str = "") -> ParsedList:
    """Parse a list in ``fmt`` (detected when None). Lines that are not addresses are counted, not fatal."""
    fmt = fmt or detect_format(text, name)
    if fmt not in FORMATS:
        raise ConfigError(f"unknown threat list format {fmt!r}: use one of {', '.join(FORMATS)}")
    seen: dict[Interval, None] = {}
    skipped = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if fmt == "spamhaus-json":
            skipped += not _json_line(line, seen)
            continue
        if fmt == "tor-exit-addresses":
            parts = line.split()
            if parts[0] == "ExitAddress" and len(parts) >= 2:
                skipped += not _add(parts[1], seen)
            elif parts[0] not in _TOR_KEYWORDS and not line.startswith("#"):
                skipped += not _add(parts[0], seen)  # the plain form mixed in
            continue
        # spamhaus ("CIDR ; SBLid", ";" comments), plain, netset and Feodo ("#" comments)
        for marker in ("#", ";"):
            cut = line.find(marker)
            if cut >= 0:
                line = line[:cut].strip()
        if line:
            skipped += not _add(line.split()[0], seen)
    return ParsedList(fmt, tuple(seen), skipped)


def _json_line(line: str, seen: dict[Interval, None]) -> bool:
    """One line of Spamhaus' JSON form; the closing metadata object is structure, not an entry."""
    try:
        obj = json.loads(line)
    except ValueError:
        return False
    if not isinstance(obj, dict):
        return False
    if obj.get("type") == "metadata":
        return True
    value = obj.get("cidr", obj.get("ip"))
    return isinstance(value, str) and _add(value, seen)


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class ThreatListSpec:
    """One ``[[threat.lists]]`` table. ``path`` is where the list is read from (the cache for url lists)."""

    id: str
    path: Path
    url: str | None = None
    format: str | None = None


@dataclass(frozen=True, slots=True)
class ThreatSettings:
    lists: tuple[ThreatListSpec, ...] = ()
    cache_dir: Path = field(default_factory=default_cache_dir)
    max_size: int = DEFAULT_MAX_SIZE
    timeout: float = DEFAULT_TIMEOUT
    reload_interval: float = DEFAULT_RELOAD_INTERVAL

    @classmethod
    def from_config(cls, config: Config) -> ThreatSettings:
        section = config.section("threat")
        where = f"{config.path or 'config'}: [threat]"
        cache_value = config.get("threat", "cache_dir", None, str)
        cache_dir = config.resolve_path(cache_value) if cache_value else default_cache_dir()
        max_size = parse_size(config.get("threat", "max_size", DEFAULT_MAX_SIZE, (str, int)))
        timeout = parse_duration(config.get("threat", "timeout", DEFAULT_TIMEOUT, (str, int, float)), "timeout")
        reload_interval = parse_duration(
            config.get("threat", "reload_interval", DEFAULT_RELOAD_INTERVAL, (str, int, float)), "reload_interval"
        )
        if max_size <= 0 or timeout <= 0:
            raise ConfigError(f"{where} max_size and timeout must be positive")
        raw = section.get("lists", [])
        if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
            raise ConfigError(f"{where} lists must be an array of tables: [[threat.lists]]")
        specs: list[ThreatListSpec] = []
        for table in raw:
            spec = _spec(table, cache_dir, config, where)
            if any(s.id == spec.id for s in specs):
                raise ConfigError(f"{where} two lists have the id {spec.id!r}")
            specs.append(spec)
        return cls(tuple(specs), cache_dir, max_size, timeout, reload_interval)


def _spec(table: dict[str, object], cache_dir: Path, config: Config, where: str) -> ThreatListSpec:
    list_id = table.get("id")
    if list_id is None:
        named = table.get("url") or table.get("path")
        raise ConfigError(
            f"{where} a [[threat.lists]] table{f' ({named})' if named else ''} has no id: give it one of lowercase"
            " letters, digits and _ (it names the list in fields such as X_threat_indicated_<id>)"
        )
    if not isinstance(list_id, str) or not _ID_RE.match(list_id):
        raise ConfigError(
            f"{where} every [[threat.lists]] needs an id of lowercase letters, digits and _ "
            f"(it becomes part of a field name), not {list_id!r}"
        )
    fmt = table.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"{where} list {list_id}: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    path, url = table.get("path"), table.get("url")
    if (path is None) == (url is None):
        raise ConfigError(f"{where} list {list_id} needs exactly one of path or url")
    if path is not None:
        if not isinstance(path, str):
            raise ConfigError(f"{where} list {list_id}: path must be a string")
        return ThreatListSpec(list_id, config.resolve_path(path), None, fmt)  # type: ignore[arg-type]
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https", "file"):
        raise ConfigError(f"{where} list {list_id}: url must be an http, https or file URL, not {url!r}")
    suffix = Path(urlparse(url).path).suffix.lower()
    name = list_id + (suffix if suffix in _URL_SUFFIXES else ".txt")
    return ThreatListSpec(list_id, cache_dir / name, url, fmt)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class ThreatList:
    """A list as loaded: its networks, counts, and the file state it was read from."""

    spec: ThreatListSpec
    format: str
    cidrs: CidrSet
    entries: int
    skipped: int
    stat: tuple[int, int] | None  # (mtime_ns, size) of the file read; None when absent
    problem: str | None = None  # why nothing was loaded (not downloaded yet, unreadable)

    @property
    def id(self) -> str:
        return self.spec.id


def _file_state(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def load_list(spec: ThreatListSpec, strict: bool = True) -> ThreatList:
    """Read one list. Missing local files are ConfigErrors when ``strict``; a not yet downloaded url list is empty."""
    stat = _file_state(spec.path)
    try:
        text = spec.path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        if spec.url is not None:
            problem = "not downloaded yet: run 'flowtui threat update'"
        elif strict:
            raise ConfigError(f"threat list {spec.id}: {spec.path} does not exist") from None
        else:
            problem = "file missing"
        return ThreatList(spec, spec.format or "auto", CidrSet(), 0, 0, None, problem)
    except OSError as exc:
        if strict:
            raise ConfigError(f"threat list {spec.id}: cannot read {spec.path}: {exc.strerror or exc}") from None
        return ThreatList(spec, spec.format or "auto", CidrSet(), 0, 0, stat, f"unreadable: {exc.strerror or exc}")
    parsed = parse_list(text, spec.format, spec.path.name)
    if parsed.skipped:
        log.info("threat list %s: skipped %d lines that are not addresses", spec.id, parsed.skipped)
    return ThreatList(spec, parsed.format, CidrSet(parsed.networks), parsed.entries, parsed.skipped, stat)


class ThreatMatcher:
    """Which configured lists an address is on, in config order."""

    def __init__(self, lists: Sequence[ThreatList] = (), settings: ThreatSettings | None = None) -> None:
        self.lists: tuple[ThreatList, ...] = tuple(lists)
        self.settings = settings or ThreatSettings(tuple(t.spec for t in self.lists))
        self._sets = tuple((t.id, t.cidrs) for t in self.lists if t.cidrs)
        for t in self.lists:
            if t.problem:
                log.warning("threat list %s: %s", t.id, t.problem)

    @classmethod
    def from_settings(cls, settings: ThreatSettings, strict: bool = True) -> ThreatMatcher:
        return cls([load_list(spec, strict) for spec in settings.lists], settings)

    @classmethod
    def from_config(cls, config: Config, strict: bool = True) -> ThreatMatcher:
        return cls.from_settings(ThreatSettings.from_config(config), strict)

    @classmethod
    def from_files(cls, files: Sequence[tuple[str, str | os.PathLike[str]]], fmt: str | None = None) -> ThreatMatcher:
        """Lists from ``(id, path)`` pairs, for tests and scripts."""
        specs = tuple(ThreatListSpec(list_id, Path(path), None, fmt) for list_id, path in files)
        return cls.from_settings(ThreatSettings(specs))

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.lists)

    def __bool__(self) -> bool:
        return bool(self._sets)

    def match(self, version: int, value: int) -> tuple[str, ...]:
        """Ids of the lists holding the address ``value`` (an integer of family ``version``)."""
        return tuple(list_id for list_id, cidrs in self._sets if cidrs.contains(version, value))

    def lookup(self, address: str) -> tuple[str, ...]:
        """Ids of the lists holding ``address``; () for anything that is not an address."""
        try:
            version, value = parse_address(address)
        except ValueError:
            return ()
        return self.match(version, value)

    def changed(self) -> bool:
        """Whether any list file was replaced, edited or removed since it was loaded."""
        return any(_file_state(t.spec.path) != t.stat for t in self.lists)

    def reload(self) -> ThreatMatcher:
        """A new matcher from the same lists; a list that has become unreadable loads empty."""
        return ThreatMatcher.from_settings(self.settings, strict=False)
