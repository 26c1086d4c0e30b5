"""Who an address is, in the few words a pane's "who" column has room for.

The stored ``X_entity_description`` is a Name tag when the resource has one, and
otherwise AWS's own description of the network interface ("ELB app/front-alb/
50dc6c495c0c9188", "Interface for NAT Gateway nat-0a1b…"): cut to a pane's
16 cells those all read alike. A label keeps a Name tag as it is and turns a
standard description into a type word and the part that tells one resource from
another ("ALB front-alb", "NAT nat-0a1b…", "RDS orders-db"). Only the display
changes: the stored fields, and the queries on them, stay AWS's words.

Plain Python (no Textual): the data layer builds the labels in its workers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# An entity's kind (the part of X_entity before ':') -> the word a label starts with.
TYPE_WORDS: dict[str, str] = {
    "ec2": "EC2", "elb": "ELB", "rds": "RDS", "nat": "NAT", "lambda": "Lambda", "vpce": "VPCE",
    "ecs": "ECS", "eks": "EKS", "tgw": "TGW", "eni": "ENI",
}
_ELB_KINDS = {"app": "ALB", "net": "NLB", "gwy": "GWLB"}
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# AWS's standard ENI descriptions, and which group of each names the resource (None: the
# description names nothing more than the entity's own id does).
_STANDARD: tuple[tuple[re.Pattern[str], str, int | None], ...] = (
    (re.compile(r"ELB (?:(app|net|gwy)/)?([^/\s]+)(?:/[0-9a-f]+)?"), "ELB", 2),
    (re.compile(r"Interface for NAT Gateway (nat-[0-9a-f]+)"), "NAT", 1),
    (re.compile(rf"AWS Lambda VPC ENI[-: ]\s*(.*?)(?:-?{_UUID})?"), "Lambda", 1),
    (re.compile(r"VPC Endpoint Interface (vpce-[0-9a-f]+)"), "VPCE", 1),
    (re.compile(r"Network Interface for Transit Gateway Attachment (tgw-attach-[0-9a-f]+)"), "TGW", 1),
    (re.compile(r"Amazon EKS (\S+).*"), "EKS", 1),
    (re.compile(r"arn:aws:ecs:.*"), "ECS", None),
    (re.compile(r"RDSNetworkInterface|RDS (eni-[0-9a-f]+)"), "RDS", 1),
    # An instance's interfaces: what EC2's console and EKS's VPC CNI write on them.
    (re.compile(r"Primary network interface|aws-K8S-i-[0-9a-f]+"), "EC2", None),
)
LABEL_SUFFIXES = (
    "threat_indicated", "threat_indicated_by", "internal", "entity", "entity_description", "country_code",
    "as_organization",
)


def entity_parts(entity: str | None, description: str | None) -> tuple[str, str]:
    """(type word, name) of an AWS entity; the type word is '' when the name is a Name tag.

    ('ec2:i-0abc', 'web-1') → ('', 'web-1'); ('elb:front-alb', 'ELB app/front-alb/50dc…') →
    ('ALB', 'front-alb'); ('ec2:i-0abc', None) → ('EC2', 'i-0abc'); ('rds:orders-db',
    'orders-db') → ('RDS', 'orders-db'): a description that only repeats the entity's id
    is the inventory's naming, not a tag.
    """
    kind, _, ident = (entity or "").partition(":")
    desc = (description or "").strip()
    for pattern, word, group in _STANDARD:
        found = pattern.fullmatch(desc)
        if found is not None:
            if word == "ELB":
                word = _ELB_KINDS.get(found.group(1) or "", "ELB")
            named = found.group(group) if group is not None else None
            return word, named or ident or desc
    if desc and desc != ident:
        return "", desc  # a Name tag (or someone's own description): their words win
    if kind in TYPE_WORDS and ident:
        return TYPE_WORDS[kind], ident
    return "", entity or ""


def entity_label(entity: str | None, description: str | None) -> str:
    """'web-1', 'ALB front-alb', 'NAT nat-0a1b2c3d4e5f60718', 'RDS orders-db', 'EC2 i-0abc'."""
    word, name = entity_parts(entity, description)
    return f"{word} {name}" if word and name else word or name


def profile_label(profile: Mapping[str, Any]) -> str:
    """A profile (enrichment suffix → value) in a few words, as the panes label an address:
    an internal one by its entity, an outside one by its country and network, after the
    threat lists naming it."""
    get = profile.get
    if get("internal"):
        entity, description = get("entity"), get("entity_description")
        return entity_label(str(entity) if entity else None, str(description) if description else None)
    parts = [get("country_code"), get("as_organization")]
    text = " ".join(str(p) for p in parts if p)
    if get("threat_indicated"):
        listed = str(get("threat_indicated_by") or "listed")
        text = f"{listed} · {text}" if text else listed
    return text


def address_label(row: Mapping[str, Any], name: str) -> str:
    """Who the address in ``row[name]`` is, in a few words: 'web-1', 'NL Bad Hosting', 'tor'."""
    return profile_label({s: row.get(f"{name}_{s}") for s in LABEL_SUFFIXES})
