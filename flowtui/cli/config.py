"""``flowtui config check``: the config file checked as every command checks it, and what it sets up.

Like ``nginx -t`` or ``promtool check config``: run it after an edit, before restarting a
tail under systemd, or in a deploy script (exit 0 good, 1 wrong, as any command would stop). The check is the one every
command runs first (:func:`flowtui.cli.config_check.check_config`), so the two cannot
disagree; the summary is read back from the same settings the commands use, defaults
included, so a key that is spelled right but sits in the wrong table shows as not set.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from flowtui.cli.common import db_path, load_config
from flowtui.config import ENV_VAR, Config, default_config_path
from flowtui.errors import UsageError
from flowtui.words import counted


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "config",
        help="check the config file",
        description="Check the config file (flowtui config check).",
    )
    actions = p.add_subparsers(dest="config_action", metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="check the config file and show what it sets up",
        description="Check the config file as every command does before it starts, and show what it sets up "
        "(defaults included). Exit status: 0 when it is good (or there is none: every setting is its default), "
        "1 when it is wrong, as every command would stop on it, with the one sentence that says where.",
    )
    check.add_argument(
        "--config", metavar="PATH", default=argparse.SUPPRESS,
        help=f"TOML config file (default: ${ENV_VAR}, or ~/.config/flowtui/config.toml)",
    )
    check.add_argument("--json", action="store_true", help="print the summary as one JSON object (settings as written, defaults filled in)")
    check.set_defaults(run=run_check)
    p.set_defaults(run=_needs_action)


def _needs_action(args: argparse.Namespace) -> int:
    raise UsageError("config needs an action: 'flowtui config check'")


def run_check(args: argparse.Namespace) -> int:
    config = load_config(args)  # a ConfigError here is the command's answer (exit 1)
    found = summary(config, args)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    if config.path is None:
        where = os.environ.get(ENV_VAR) or default_config_path()
        print(f"no config file at {where}: every setting is its default (config.example.toml shows them)")
    else:
        print(f"{config.path}: ok")
    for name, text in lines(found):
        print(f"  {name:<9} {text}")
    return 0


def summary(config: Config, args: argparse.Namespace) -> dict[str, Any]:
    """What the config sets up, as the commands will read it (JSON-ready)."""
    from flowtui.alerts.rules import load_rules
    from flowtui.cli.config_check import unset_variables
    from flowtui.enrich.addresses import DEFAULT_INTERNAL_CIDRS
    from flowtui.enrich.threat import ThreatSettings
    from flowtui.sources.spec import KinesisSpec, sources_from_config
    from flowtui.store import Retention
    from flowtui.ui.panes import panes_from_config
    from flowtui.ui.settings import DEFAULT_INTERVAL

    store = config.section("store")
    enrich = config.section("enrich")
    ui = config.section("ui")
    kept = Retention.from_config(config)
    sources = []
    for spec, table in zip(sources_from_config(config), config.tables("sources")):
        kind = "kinesis" if isinstance(spec, KinesisSpec) else "cloudwatch-logs"
        start = table.get("start")  # as written: "-2h" is two hours before each start, not a time fixed now
        sources.append({"type": kind, "name": spec.name, "region": spec.aws.region, "start": str(start) if start is not None else str(spec.start)})
    threat = ThreatSettings.from_config(config)
    alerts = config.tables("alerts")
    return {
        "config": None if config.path is None else str(config.path),
        "store": {
            "path": str(db_path(args, config)),
            "retain": store.get("retain"),
            "max_size": store.get("max_size"),
            "rollup_retain": store.get("rollup_retain", "30d"),
            # As the writers apply them: rollups never kept shorter than flows; nothing pruned without retain or max_size.
            "retain_seconds": kept.max_age,
            "max_bytes": kept.max_bytes,
            "rollup_seconds": kept.rollup_age,
        },
        "format": config.get("ingest", "format", None, str),
        "sources": sources,
        "enrich": {
            "internal_cidrs": list(enrich.get("internal_cidrs") or DEFAULT_INTERNAL_CIDRS),
            "internal_cidrs_configured": bool(enrich.get("internal_cidrs")),
            "geoip_city": _path(config, enrich.get("geoip_city")),
            "geoip_asn": _path(config, enrich.get("geoip_asn")),
            "inventory_files": [_path(config, f) for f in enrich.get("inventory_files", [])],
            "aws_inventory": bool(enrich.get("aws_inventory", False)),
        },
        "threat_lists": [
            {"id": s.id, "url": s.url, "path": str(s.path), "present": s.path.exists()} for s in threat.lists
        ],
        "panes": [p.title for p in panes_from_config(config)],
        "panes_configured": bool(config.tables("panes")),
        "alerts": [r.name for r in load_rules(config)],
        "alerts_off": [t.get("name") for t in alerts if t.get("enabled", True) is False],
        "notifiers": sorted(config.section("notifiers")),
        # Secrets a notifier names that this environment lacks: tail and `alerts notify` stop on them.
        "unset_variables": {name: [var for _, var in unset] for name, unset in unset_variables(config).items()},
        "ui": {
            "theme": ui.get("theme"),
            "refresh": ui.get("refresh", DEFAULT_INTERVAL),
            "window": ui.get("window"),
            "timezone": ui.get("timezone", "UTC"),
            "keys": dict(ui.get("keys") or {}),
        },
    }


def _path(config: Config, value: str | None) -> str | None:
    return None if not value else str(config.resolve_path(value))


def lines(found: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary as (name, text) rows for people."""
    from flowtui.query.window import format_duration
    from flowtui.sources.health import human_bytes

    store = found["store"]
    kept = [f"flows {format_duration(int(store['retain_seconds']))}" if store["retain_seconds"] else "flows for ever"]
    if store["max_bytes"]:
        kept.append(f"at most {human_bytes(store['max_bytes'])}")
    if store["rollup_seconds"]:
        kept.append(f"rollups {format_duration(int(store['rollup_seconds']))}")
    sources = found["sources"]
    enrich = found["enrich"]
    geo = [f"{k.removeprefix('geoip_')} {enrich[k]}" for k in ("geoip_city", "geoip_asn") if enrich[k]]
    inventory = [counted(len(enrich["inventory_files"]), "inventory file")] if enrich["inventory_files"] else []
    if enrich["aws_inventory"]:
        inventory.append("AWS inventory on")
    lists = found["threat_lists"]
    panes = ", ".join(found["panes"]) + ("" if found["panes_configured"] else " (the defaults)")
    ui = found["ui"]
    shown_ui = [f"theme {ui['theme'] or 'default'}", f"refresh every {ui['refresh']:g}s", f"times {ui['timezone']}"]
    if ui["window"]:
        shown_ui.insert(2, f"window {ui['window']}")
    if ui["keys"]:
        shown_ui.append(counted(len(ui["keys"]), "key") + " rebound")
    return [
        ("store", f"{store['path']} · {', '.join(kept)}"),
        ("format", found["format"] or "AWS's default (version 2), or each file's header line"),
        ("sources", "; ".join(f"{s['name']} ({s['region'] or 'region from the environment'})" for s in sources) or "none ([[sources]]: tail needs --stream or --log-group)"),
        ("internal", ", ".join(enrich["internal_cidrs"]) + ("" if enrich["internal_cidrs_configured"] else " (the defaults)")
         + (", and the VPCs' CIDRs the inventory knows" if inventory else "")),
        ("geoip", "; ".join(geo) or "none (no country or network names)"),
        ("inventory", "; ".join(inventory) or "none (no instance, interface or database names)"),
        ("threat", "; ".join(_threat_text(t) for t in lists) or "no lists"),
        ("panes", panes),
        ("alerts", _alerts_text(found)),
        ("ui", ", ".join(shown_ui)),
    ]


def _alerts_text(found: dict[str, Any]) -> str:
    on, off = found["alerts"], found["alerts_off"]
    parts = [f"{counted(len(on), 'rule')}: {', '.join(on)}" if on else "no rules"]
    if off:
        parts[0] += f" ({len(off)} off: {', '.join(off)})"
    for name in found["notifiers"]:
        unset = found["unset_variables"].get(name)
        if unset:
            parts.append(f"notifier {name}: {', '.join(unset)} not set here (tail and alerts notify stop on it)")
    if found["notifiers"] and not any(found["unset_variables"].get(n) for n in found["notifiers"]):
        parts.append(f"notifiers {', '.join(found['notifiers'])}")
    return "; ".join(parts)


def _threat_text(t: dict[str, Any]) -> str:
    if t["url"]:
        return f"{t['id']} (url{'' if t['present'] else ', not downloaded yet: flowtui threat update'})"
    return f"{t['id']} ({t['path']})"
