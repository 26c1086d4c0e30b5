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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
