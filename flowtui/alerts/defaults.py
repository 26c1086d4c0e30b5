"""The rules ``config.example.toml`` suggests, as data: the demo runs them, tests check both agree."""

from __future__ import annotations

from typing import Any, Final

DEFAULT_RULES: Final[tuple[dict[str, Any], ...]] = (
    {
        "name": "ec2-direct",
        "description": "Outside clients reaching an instance on 80/443 without the load balancer",
        "query": "dst_addr_entity_aws_type:EC2 AND src_addr_internal:false AND (dst_port:80 OR dst_port:443)",
        "window": "5m",
        "condition": "count > 0",
        "group_by": ["dst_addr"],
        "cooldown": "1h",
    },
    {
        "name": "db-egress",
        "description": "A database sending to an address outside the VPC",
        "query": "src_addr_entity_aws_type:RDS AND dst_addr_internal:false",
        "window": "5m",
        "condition": "count > 0",
        "group_by": ["src_addr", "dst_addr"],
        "cooldown": "1h",
    },
    {
        "name": "threat-match",
        "description": "Traffic from or to an address on a threat list",
        "query": "src_addr_threat_indicated:true OR dst_addr_threat_indicated:true",
        "window": "5m",
        "condition": "count > 0",
        "group_by": ["src_addr", "dst_addr"],
        "cooldown": "1h",
    },
    {
        "name": "port-scan",
        "description": "One source refused on more than 20 ports within a minute",
        "query": "action:REJECT",
        "window": "1m",
        "condition": "distinct(dst_port) > 20",
        "group_by": ["src_addr"],
        "cooldown": "30m",
    },
    {
        "name": "reject-spike",
        "description": "More refused flows than usual",
        "query": "action:REJECT",
        "window": "5m",
        "condition": "count > 5000",
        "cooldown": "30m",
    },
)
