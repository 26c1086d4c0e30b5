"""Enrichment of one address: entity, internal/external, GeoIP/ASN and threat lists.

:meth:`Enricher.profile` runs at ingest for both addresses of every record, so
its common path is one dict lookup and one range check: everything about an
address is computed once and cached, together with the time interval over
which its entity answer holds (an address changes hands rarely, so almost
every flow falls inside the cached interval).

Background threads (the inventory refresher, the threat-list watcher) never
touch the cache: they set a flag, and the ingest thread picks the new state up
on its next call, clears the cache and bumps :attr:`Enricher.generation`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Self

from flowtui import catalog
from flowtui.config import Config
from flowtui.enrich.addresses import DEFAULT_INTERNAL_CIDRS, CidrSet, parse_address
from flowtui.enrich.aws import AwsSettings, aws_refresher
from flowtui.enrich.geo import NO_GEO, GeoInfo, GeoLookup
from flowtui.enrich.inventory import Inventory, InventoryRefresher, read_inventory_files, snapshot_from_documents
from flowtui.enrich.threat import ThreatMatcher, ThreatSettings
from flowtui.errors import ConfigError

log = logging.getLogger(__name__)

Profile = tuple[Any, ...]  # one value per catalog.ENRICH_SUFFIXES entry, in that order
# For a missing address (NODATA/SKIPDATA records) or one that does not parse: nothing is
# known, not even internal/external or "not on a threat list", so every field is None.
EMPTY_PROFILE: Final[Profile] = (None,) * len(catalog.ENRICH_SUFFIXES)
DEFAULT_CACHE_SIZE: Final[int] = 262_144
_NO_ENTITY = (None, None, None)
_ALWAYS = (-math.inf, math.inf)

assert [s[0] for s in catalog.ENRICH_SUFFIXES] == [
    "internal",
    "entity",
    "entity_description",
    "entity_aws_type",
    "geolocation",
    "country_code",
    "city_name",
    "as_number",
    "as_organization",
    "threat_indicated",
    "threat_indicated_by",
], "the enricher builds its tuples in this order; update _build when the catalog changes"


class Enricher:
    """Answers :meth:`profile` for any address at any time; cheap after the first call per address."""

    def __init__(
        self,
        *,
        internal_cidrs: Iterable[str] | None = None,
        inventory: Inventory | InventoryRefresher | None = None,
        geo: GeoLookup | None = None,
        threat: ThreatMatcher | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        try:
            self._configured = CidrSet(internal_cidrs or ())
        except ValueError as exc:
            raise ConfigError(f"bad [enrich] internal_cidrs: {exc}") from None
        self._configured_list = tuple(internal_cidrs or ())
        self.refresher = inventory if isinstance(inventory, InventoryRefresher) else None
        if isinstance(inventory, InventoryRefresher):
            self.inventory: Inventory = inventory.inventory
        else:
            self.inventory = inventory if inventory is not None else Inventory()
        self.geo = geo
        self.threat = threat if threat is not None else ThreatMatcher()
        self.cache_size = cache_size
        self.generation = 0
        self._cache: dict[str | None, tuple[Any, Any, Profile, Any]] = {}
        self._dirty = False
        self._pending_threat: ThreatMatcher | None = None
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        self._reset()
        if self.refresher is not None:
            self.refresher.add_listener(self._inventory_changed)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_config(
        cls,
        config: Config,
        inventory_files: Sequence[str | os.PathLike[str]] = (),
        *,
        live: bool | None = None,
        background: bool = True,
    ) -> Enricher:
        """The enricher the config describes; files/databases are checked now (ConfigError).

        ``inventory_files`` (e.g. ``ingest --inventory``) are added to ``[enrich]
        inventory_files``. The live AWS inventory runs when ``[enrich] aws_inventory``
        is true (or ``live``): its first refresh runs before this returns, later
        ones in a daemon thread. With ``background`` false no thread is started.
        """
        section = config.section("enrich")
        internal = config.get("enrich", "internal_cidrs", None, list)
        if internal is not None and not all(isinstance(c, str) for c in internal):
            raise ConfigError(f"{config.path or 'config'}: [enrich] internal_cidrs must be a list of strings")
        files = [config.resolve_path(p) for p in config.get("enrich", "inventory_files", [], list)]
        files += [Path(p) for p in inventory_files]
        base = Inventory.from_snapshot(snapshot_from_documents(read_inventory_files(files))) if files else None
        use_aws = bool(section.get("aws_inventory", False)) if live is None else live
        inventory: Inventory | InventoryRefresher | None = base
        if use_aws:
            inventory = aws_refresher(AwsSettings.from_config(config), base)
        cache_size = config.get("enrich", "cache_size", DEFAULT_CACHE_SIZE, int)
        threat_settings = ThreatSettings.from_config(config)
        enricher = cls(
            internal_cidrs=internal,
            inventory=inventory,
            geo=GeoLookup.from_config(config),
            threat=ThreatMatcher.from_settings(threat_settings),
            cache_size=cache_size,
        )
        if isinstance(inventory, InventoryRefresher):
            if background:
                inventory.start(refresh_first=True)
            else:
                inventory.refresh()
            enricher._apply_pending()
        if background and threat_settings.lists:
            enricher.watch_threat_lists(threat_settings.reload_interval)
        return enricher

    # ------------------------------------------------------------------ the hot path

    def profile(self, addr: str | None, ts: int | None) -> Profile:
        """The enrichment of ``addr`` (canonical text) at unix time ``ts``, in ENRICH_SUFFIXES order.

        ``ts`` None means "now" (the latest holder). ``addr`` None, or text that is
        not an address, gives :data:`EMPTY_PROFILE`.
        """
        if self._dirty:
            self._apply_pending()
        entry = self._cache.get(addr)
        if entry is not None:
            try:
                if entry[0] <= ts < entry[1]:  # type: ignore[operator]
                    return entry[2]
            except TypeError:  # ts is None
                pass
        return self._resolve(addr, ts, entry)

    def span(self, addr: str, ts: int) -> tuple[float, float, Profile]:
        """:meth:`profile` of ``addr`` at ``ts``, and the times ``[lo, hi)`` over which it is the answer.

        Until :meth:`settled_generation` changes, a caller may reuse the answer for any
        time in that interval without asking again (the store does, for each address
        column of a batch: a dict lookup where a call cost twice as much).
        """
        profile = self.profile(addr, ts)
        entry = self._cache.get(addr)
        if entry is not None and entry[2] is profile and entry[0] <= ts < entry[1]:
            return entry[0], entry[1], profile
        return ts, ts + 1, profile  # not cached (a full cache was just emptied): this second only

    def settled_generation(self) -> int:
        """Take up what the background threads changed (as :meth:`profile` does), and the generation answers are from."""
        if self._dirty:
            self._apply_pending()
        return self.generation

    def _resolve(self, addr: str | None, ts: int | None, entry: tuple[Any, Any, Profile, Any] | None) -> Profile:
        if addr is None:
            return EMPTY_PROFILE
        if entry is None:
            static = self._static(addr)
            if static is None:
                self._store(addr, (*_ALWAYS, EMPTY_PROFILE, None))
                return EMPTY_PROFILE
        else:
            static = entry[3]
        entity, lo, hi = self.inventory.entity_span(addr, ts)
        internal, geo, threat_by = static
        result = (internal, *(entity or _NO_ENTITY), *geo, threat_by is not None, threat_by)
        self._store(addr, (lo, hi, result, static))
        return result

    def _static(self, addr: str) -> tuple[bool, GeoInfo, str | None] | None:
        """Everything about an address that does not depend on time."""
        try:
            version, value = parse_address(addr)
        except ValueError:
            return None
        internal = self._internal.contains(version, value)
        geo = self.geo.lookup(addr) if self.geo is not None and not internal else NO_GEO
        ids = self.threat.match(version, value)
        return internal, geo, ",".join(ids) if ids else None

    def _store(self, addr: str, entry: tuple[Any, Any, Profile, Any]) -> None:
        if len(self._cache) >= self.cache_size:
            self._reset_cache()
        self._cache[addr] = entry

    # ------------------------------------------------------------------ state changes

    def _reset_cache(self) -> None:
        self._cache.clear()
        self._cache[None] = (*_ALWAYS, EMPTY_PROFILE, None)

    def _reset(self) -> None:
        """Recompute what depends on the inventory and lists; called in the ingest thread."""
        # DESIGN's X_internal: inside a VPC the inventory knows, or the configured ranges (the
        # defaults when none are): a peered VPC, a VPN or a transit gateway's 10.x is not "outside".
        self._internal = CidrSet((*(self._configured_list or DEFAULT_INTERNAL_CIDRS), *self.inventory.vpc_cidrs))
        self._reset_cache()
        self.generation += 1

    def _inventory_changed(self, _inventory: Inventory) -> None:
        self._dirty = True  # runs in the refresher's thread: only raise the flag

    def _apply_pending(self) -> None:
        self._dirty = False
        if self.refresher is not None:
            self.inventory = self.refresher.inventory
        if self._pending_threat is not None:
            self.threat, self._pending_threat = self._pending_threat, None
        self._reset()

    def set_inventory(self, inventory: Inventory) -> None:
        """Replace the inventory (offline use, tests); the next profile() sees it."""
        self.inventory = inventory
        self._reset()

    def set_threat(self, threat: ThreatMatcher) -> None:
        self.threat = threat
        self._reset()

    def reload_threat_lists(self) -> bool:
        """Reload the lists if a file changed (e.g. after ``flowtui threat update``). Thread-safe."""
        if not self.threat.changed():
            return False
        try:
            self._pending_threat = self.threat.reload()
        except Exception as exc:  # noqa: BLE001 - a bad new copy must not stop ingest
            log.warning("threat lists changed but could not be reloaded: %s", exc)
            return False
        self._dirty = True
        return True

    def watch_threat_lists(self, interval: float) -> None:
        """Check the list files every ``interval`` seconds in a daemon thread."""
        if self._watcher is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval):
                self.reload_threat_lists()

        self._watcher = threading.Thread(target=run, name="flowtui-threat-watch", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop the background threads and close the GeoIP databases."""
        self._stop.set()
        if self.refresher is not None:
            self.refresher.stop()
        if self._watcher is not None:
            self._watcher.join(5)
            self._watcher = None
        if self.geo is not None:
            self.geo.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
