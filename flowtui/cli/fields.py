"""``flowtui fields``: the field catalog, the names the query bar accepts."""

from __future__ import annotations

import argparse
import json

from flowtui import catalog

_ORIGIN_TITLES = {
    "flow": "Flow-log fields (default format)",
    "custom": "Custom-format fields (v3-v8)",
    "derived": "Derived fields",
    "source": "Source fields",
    "enrich": "Enrichment fields",
}


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser("fields", help="list the fields you can query", description="List the fields you can query.")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument(
        "--source", choices=("flows", "cloudtrail"), default="flows", help="whose fields (default flows)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "source", "flows") == "cloudtrail":
        return _run_cloudtrail(args.format)
    if args.format == "json":
        print(json.dumps([{"name": f.name, "type": f.type, "origin": f.origin, "description": f.description} for f in catalog.FIELDS], indent=2))
        return 0
    width = max(len(f.name) for f in catalog.FIELDS)
    for origin, title in _ORIGIN_TITLES.items():
        print(title)
        for f in catalog.FIELDS:
            if f.origin == origin:
                print(f"  {f.name:<{width}}  {f.type:<4}  {f.description}")
        print()
    print("Threat aliases: <address>_threat_indicated_<list id>:true matches addresses listed by that list.")
    return 0


def _run_cloudtrail(fmt: str) -> int:
    from flowtui.cloudtrail import fields

    if fmt == "json":
        rows = [
            {"name": f.name, "aliases": [f.alias, *f.more], "type": f.type, "description": f.description}
            for f in fields.FIELDS
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(f.name) for f in fields.FIELDS)
    alias_width = max(len(", ".join((f.alias, *f.more))) for f in fields.FIELDS)
    print("CloudTrail fields (flowtui query --source cloudtrail; the record's name, then its aliases)")
    for f in fields.FIELDS:
        aliases = ", ".join((f.alias, *f.more))
        print(f"  {f.name:<{width}}  {aliases:<{alias_width}}  {f.type:<4}  {f.description}")
    print()
    print("Bare terms search the whole record, word by word, ignoring case.")
    return 0
