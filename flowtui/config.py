"""The TOML configuration file.

Each subsystem reads its own section (``[store]``, ``[enrich]``, ``[[sources]]``,
``[[panes]]`` …) through :class:`Config`; this module only finds, reads and
checks the file, and resolves paths relative to it.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowtui.errors import ConfigError

ENV_VAR = "FLOWTUI_CONFIG"
DEFAULT_QUERY_TIMEOUT = 10.0  # seconds a query may run: a typo must not hang the terminal


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "flowtui" / "config.toml"


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "flowtui" / "flows.db"


def default_demo_db_path() -> Path:
    """Beside the real store, never the real store: ``flowtui demo`` starts it afresh each run."""
    return default_db_path().with_name("demo.db")


@dataclass
class Config:
    data: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Config:
        """Read ``path``; without one, the environment's or the default file if it exists."""
        explicit = path is not None or ENV_VAR in os.environ
        p = Path(path) if path is not None else Path(os.environ.get(ENV_VAR) or default_config_path())
        if not p.exists():
            if explicit:
                raise ConfigError(f"config file {p} does not exist")
            return cls()
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {p}: {exc}") from None
        check_names(data, str(p))
        return cls(data, p)

    def section(self, name: str) -> dict[str, Any]:
        """A ``[name]`` table (empty when absent)."""
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{self._where()}: [{name}] must be a table")
        return value

    def tables(self, name: str) -> list[dict[str, Any]]:
        """A ``[[name]]`` array of tables (empty when absent)."""
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(f"{self._where()}: [[{name}]] must be an array of tables")
        return value

    def resolve_path(self, value: str | os.PathLike[str]) -> Path:
        """A path from the config file, relative to that file."""
        p = Path(os.path.expanduser(str(value)))
        if not p.is_absolute() and self.path is not None:
            p = self.path.parent / p
        return p

    def get(self, section: str, key: str, default: Any = None, type_: type | tuple[type, ...] | None = None) -> Any:
        """``[section] key`` checked against ``type_``; a wrong type is a ConfigError."""
        value = self.section(section).get(key, default)
        if type_ is not None and value is not None and value is not default and not isinstance(value, type_):
            names = type_.__name__ if isinstance(type_, type) else " or ".join(t.__name__ for t in type_)
            raise ConfigError(f"{self._where()}: [{section}] {key} must be {names}, not {value!r}")
        return value

    def _where(self) -> str:
        return str(self.path) if self.path else "config"


# The sections and keys a config file may hold, so a misspelling is an error rather than a
# setting silently not applied. Tables whose own module checks their keys with more to say
# (alert rules, notifiers, sources by type) are listed as None: any keys.
_ACCOUNT_KEYS = frozenset(("role_arn", "profile", "external_id", "regions"))
_LIST_KEYS = frozenset(("id", "url", "path", "format"))
_PANE_KEYS = frozenset(("title", "query", "by", "metric", "limit"))
SECTIONS: dict[str, frozenset[str] | None] = {
    "store": frozenset(("path", "retain", "max_size", "rollup_retain")),
    "ingest": frozenset(("format",)),
    "query": frozenset(("timeout",)),
    "enrich": frozenset((
        "internal_cidrs", "geoip_city", "geoip_asn", "inventory_files", "aws_inventory", "regions",
        "profile", "refresh_interval", "endpoint_url", "accounts", "cache_size",
    )),
    "threat": frozenset(("cache_dir", "max_size", "timeout", "reload_interval", "lists")),
    "ui": frozenset(("theme", "refresh", "window", "keys", "timezone")),
    "panes": _PANE_KEYS,
    "alerts": None,
    "notifiers": None,
    "sources": None,
}
# Arrays of tables nested in a section: (section, key) → the keys of each table.
_NESTED: dict[tuple[str, str], frozenset[str]] = {("enrich", "accounts"): _ACCOUNT_KEYS, ("threat", "lists"): _LIST_KEYS}


def did_you_mean(name: str, known: list[str], show: str = "{}", otherwise: str | None = None) -> str:
    """' (did you mean X?)' for a close name, else ``otherwise`` or the names there are."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {show.format(close[0])}?)"
    return otherwise if otherwise is not None else f" (known: {', '.join(show.format(k) for k in sorted(known))})"


def _check_keys(table: dict[str, Any], known: frozenset[str], where: str, path: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"unknown key {key!r} in {where} of {path}" + did_you_mean(key, sorted(known)))


def check_names(data: dict[str, Any], path: str) -> None:
    """Every section and key of ``data`` is one flowtui reads; else a ConfigError with a suggestion."""
    for name, value in data.items():
        if name not in SECTIONS:
            owners = [s for s, keys in SECTIONS.items() if keys and name in keys and not isinstance(value, dict)]
            if owners:
                under = " or ".join(f"[{o}]" for o in owners)
                raise ConfigError(f"{name!r} in {path} is outside any section: it belongs under {under}")
            raise ConfigError(f"unknown section [{name}] in {path}" + did_you_mean(name, list(SECTIONS), "[{}]"))
        known = SECTIONS[name]
        if known is None:
            continue
        tables = value if isinstance(value, list) else [value]
        for n, table in enumerate(tables, 1):
            if not isinstance(table, dict):
                continue  # the section's reader says what shape it must have
            where = f"[[{name}]] #{n}" if isinstance(value, list) else f"[{name}]"
            _check_keys(table, known, where, path)
            for (section, key), nested_keys in _NESTED.items():
                inner = table.get(key) if section == name else None
                if isinstance(inner, list):
                    for m, item in enumerate(inner, 1):
                        if isinstance(item, dict):
                            _check_keys(item, nested_keys, f"[[{section}.{key}]] #{m}", path)


def parse_duration(text: str | float, what: str = "duration") -> float:
    """'90s', '15m', '2h', '7d', '1w' or plain seconds → seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    t = text.strip().lower()
    try:
        if t and t[-1] in units:
            return float(t[:-1]) * units[t[-1]]
        return float(t)
    except ValueError:
        raise ConfigError(f"bad {what} {text!r}: use a number with s, m, h, d or w, e.g. 15m") from None


def query_timeout(config: Config) -> float:
    """``[query] timeout`` in seconds: how long one interactive or CLI query may run."""
    value = config.get("query", "timeout", DEFAULT_QUERY_TIMEOUT, (int, float, str))
    seconds = parse_duration(value, "[query] timeout")
    if not seconds > 0:
        raise ConfigError(f"{config._where()}: [query] timeout must be more than 0 s, not {value!r}")
    return seconds


def parse_size(text: str | int) -> int:
    """'20GB', '500MB', '1.5GiB' or plain bytes → bytes."""
    if isinstance(text, int):
        return text
    t = text.strip().upper().replace("IB", "B")
    units = {"KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4, "B": 1}
    for unit, mult in units.items():
        if t.endswith(unit):
            try:
                return int(float(t[: -len(unit)]) * mult)
            except ValueError:
                break
    try:
        return int(t)
    except ValueError:
        raise ConfigError(f"bad size {text!r}: use e.g. 500MB or 20GB") from None
