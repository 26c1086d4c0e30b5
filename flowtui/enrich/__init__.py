"""Enrichment of flow addresses: AWS entity, internal/external, GeoIP/ASN, threat lists.

:class:`Enricher` is the entry point; the modules behind it each do one job:
``addresses`` (CIDR sets), ``inventory`` (who holds an address, when),
``aws`` (the live inventory through boto3), ``geo`` (MaxMind databases),
``threat`` and ``threat_update`` (threat lists).
"""

from flowtui.enrich.enricher import EMPTY_PROFILE, Enricher, Profile
from flowtui.enrich.geo import GeoLookup
from flowtui.enrich.inventory import Entity, Inventory, InventoryRefresher
from flowtui.enrich.threat import ThreatMatcher

__all__ = [
    "EMPTY_PROFILE",
    "Enricher",
    "Entity",
    "GeoLookup",
    "Inventory",
    "InventoryRefresher",
    "Profile",
    "ThreatMatcher",
]
