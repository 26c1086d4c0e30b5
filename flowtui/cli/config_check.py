"""One check of the whole config file, run by every command that takes ``--config`` before it
does anything: a bad value stops every command, not only the one that reads its section.

Each section is checked by the code that reads it (so the two cannot disagree), imported only
when the file has that section: a config without ``[[alerts]]`` costs no import of the alerts.
Nothing here opens a store or touches the network; of the data files the config names, the
GeoIP databases are opened as ingest opens them (their metadata and a few probe lookups, not
read whole) and local threat lists must exist (url lists may still wait for their download).
Secrets that notifiers take from the environment are checked by the commands that send (tail,
alerts notify).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flowtui.config import Config, query_timeout
from flowtui.errors import ConfigError, FlowtuiError, QueryError


def check_config(config: Config) -> None:
    """Raise the first ConfigError of ``config`` (one sentence naming the file, section and key)."""
    done: set[Callable[[Config], None]] = set()
    for section, check in _CHECKS:
        if section in config.data and check not in done:
            done.add(check)
            check(config)


def _where(config: Config) -> str:
    return str(config.path) if config.path else "config"


def _store(config: Config) -> None:
    from flowtui.store import Retention

    config.get("store", "path", None, str)
    Retention.from_config(config)


def _ingest(config: Config) -> None:
    from flowtui.formats import LogFormat

    spec = config.get("ingest", "format", None, str)
    if spec is not None:
        try:
            LogFormat.from_spec(spec)
        except FlowtuiError as exc:
            raise ConfigError(f"{_where(config)}: [ingest] format: {exc}") from None


def _query(config: Config) -> None:
    query_timeout(config)


def _enrich(config: Config) -> None:
    from flowtui.enrich.addresses import parse_network
    from flowtui.enrich.aws import AwsSettings

    where = f"{_where(config)}: [enrich]"
    cidrs = config.get("enrich", "internal_cidrs", None, list)
    for cidr in cidrs or ():
        if not isinstance(cidr, str):
            raise ConfigError(f"{where} internal_cidrs must be a list of strings, not one holding {cidr!r}")
        try:
            parse_network(cidr)
        except ValueError:
            raise ConfigError(f"{where} internal_cidrs: {cidr!r} is not an address or a CIDR block such as 10.0.0.0/8") from None
    for key in ("geoip_city", "geoip_asn", "profile", "endpoint_url"):
        config.get("enrich", key, None, str)
    _geoip(config, where)
    files = config.get("enrich", "inventory_files", [], list)
    if not all(isinstance(f, str) for f in files):
        raise ConfigError(f"{where} inventory_files must be a list of file names")
    config.get("enrich", "aws_inventory", False, bool)
    size = config.get("enrich", "cache_size", 1, int)
    if isinstance(size, bool) or size < 1:
        raise ConfigError(f"{where} cache_size must be a whole number of addresses above 0, not {size!r}")
    AwsSettings.from_config(config)


def _geoip(config: Config, where: str) -> None:
    """A missing or corrupt GeoIP database stops every command, as config.example.toml says,
    not only the ones that enrich (query passed with one)."""
    for key, argument in (("geoip_city", "city_path"), ("geoip_asn", "asn_path")):
        name = config.get("enrich", key, None, str)
        if not name:
            continue
        from flowtui.enrich.geo import GeoLookup

        try:
            GeoLookup(**{argument: config.resolve_path(name)}).close()
        except ConfigError as exc:
            raise ConfigError(f"{where} {key}: {exc}") from None


def _threat(config: Config) -> None:
    from flowtui.enrich.threat import ThreatSettings

    settings = ThreatSettings.from_config(config)
    for spec in settings.lists:  # a url list's file is the cache's: it may not be downloaded yet
        if spec.url is None and not spec.path.exists():
            raise ConfigError(f"{_where(config)}: [threat] list {spec.id}: {spec.path} does not exist")


def _ui(config: Config) -> None:
    where = f"{_where(config)}: [ui]"
    config.get("ui", "theme", None, str)
    refresh = config.get("ui", "refresh", 1.0, (int, float))
    if isinstance(refresh, bool) or refresh <= 0:
        raise ConfigError(f"{where} refresh must be a number of seconds above 0, not {refresh!r}")
    ui = config.section("ui")
    if "timezone" in ui:  # before the window: its typed times are read in that zone
        from flowtui.ui.formatting import time_zone_setting

        time_zone_setting(ui["timezone"], where)
    if "window" in ui or "keys" in ui:  # these two are read by the dashboard's own code (Textual)
        from flowtui.ui.settings import UiSettings

        UiSettings.from_config(config)
    if ui.get("keys"):
        _keys(config, ui["keys"])


def _keys(config: Config, keys: dict[str, str]) -> None:
    from flowtui.config import did_you_mean
    from flowtui.ui.app import all_binding_ids
    from flowtui.ui.keynames import key_problem

    ids = all_binding_ids()
    for binding, value in keys.items():
        if binding not in ids:
            hint = did_you_mean(binding, ids, otherwise="; the help screen (?) lists them")
            raise ConfigError(f"{_where(config)}: [ui.keys] {binding!r} is no binding id{hint}")
        problem = key_problem(value)
        if problem is not None:
            raise ConfigError(f"{_where(config)}: [ui.keys] {binding}: {problem}")


def _panes(config: Config) -> None:
    from flowtui.query.compiler import compile_query
    from flowtui.ui.panes import panes_from_config

    # A pane may name a list only the store knows (the dashboard checks it against both
    # once the store is open): here only its syntax and fields are checked.
    for spec in panes_from_config(config):
        try:
            compile_query(spec.query, threat_lists=None)
        except QueryError as exc:
            raise ConfigError(
                f"{_where(config)}: [[panes]] {spec.title!r}: query {spec.query!r}, at character {exc.start + 1}: {exc.message}"
            ) from None


def _alerts(config: Config) -> None:
    from flowtui.alerts import load
    from flowtui.alerts.notifiers import load_notifiers

    env = environment_for(config)
    load(config, env)
    load_notifiers(config, None, env)  # the ones no rule tells, too


def environment_for(config: Config) -> dict[str, str]:
    """The environment, with a stand-in for each variable a notifier names that is not set."""
    env = dict(os.environ)
    for _, unset in unset_variables(config).items():
        for key, var in unset:
            env[var] = "https://stand-in.invalid/" if key == "url_env" else "stand-in"
    return env


def unset_variables(config: Config) -> dict[str, list[tuple[str, str]]]:
    """Per ``[notifiers.NAME]``, the (key, variable) of each secret it names that is not set here."""
    out: dict[str, list[tuple[str, str]]] = {}
    section = config.data.get("notifiers")
    for name, table in section.items() if isinstance(section, dict) else ():
        if not isinstance(table, dict):
            continue
        named: list[tuple[str, Any]] = [(k, table.get(k)) for k in ("url_env", "password_env")]
        headers = table.get("headers_env")
        named += [("header", v) for v in headers.values()] if isinstance(headers, dict) else []
        unset = [(key, var) for key, var in named if isinstance(var, str) and var and not os.environ.get(var)]
        if unset:
            out[name] = unset
    return out


def _sources(config: Config) -> None:
    from flowtui.sources.spec import sources_from_config

    sources_from_config(config)


_CHECKS: tuple[tuple[str, Callable[[Config], None]], ...] = (
    ("store", _store),
    ("ingest", _ingest),
    ("query", _query),
    ("enrich", _enrich),
    ("threat", _threat),
    ("ui", _ui),
    ("panes", _panes),
    ("alerts", _alerts),
    ("notifiers", _alerts),
    ("sources", _sources),
)
