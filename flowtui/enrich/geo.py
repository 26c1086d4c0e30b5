"""GeoIP and ASN lookups in MaxMind databases (``[enrich] geoip_city`` / ``geoip_asn``).

The databases are opened and checked once at startup, so that a missing or
corrupt file is one clear sentence before ingest starts rather than a
traceback in the middle of it. Only external addresses are looked up; the
enricher caches the answer per address.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import geoip2.database
import geoip2.errors
import maxminddb

from flowtui.config import Config
from flowtui.errors import ConfigError

log = logging.getLogger(__name__)

# (geolocation "lat,lon", country_code, city_name, as_number, as_organization)
GeoInfo = tuple[str | None, str | None, str | None, int | None, str | None]
NO_GEO: GeoInfo = (None, None, None, None, None)
# Probed at startup: a database whose tree is damaged fails here rather than at ingest.
_PROBES = ("1.1.1.1", "81.2.69.160", "2001:4860:4860::8888")


def _open(path: Path, what: str, kinds: tuple[str, ...]) -> tuple[geoip2.database.Reader, str]:
    if not path.exists():
        raise ConfigError(f"the GeoIP {what} database {path} does not exist")
    try:
        reader = geoip2.database.Reader(os.fspath(path))
    except (maxminddb.InvalidDatabaseError, ValueError) as exc:
        raise ConfigError(f"the GeoIP {what} database {path} is not a valid MaxMind database ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"cannot open the GeoIP {what} database {path}: {exc.strerror or exc}") from None
    db_type = reader.metadata().database_type
    kind = next((k for k in kinds if k in db_type), None)
    if kind is None:
        reader.close()
        raise ConfigError(f"{path} is a {db_type} database, not a {what} database")
    for probe in _PROBES:
        try:
            _query(reader, kind, probe)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            pass
        except (maxminddb.InvalidDatabaseError, OSError, TypeError) as exc:
            reader.close()
            raise ConfigError(f"the GeoIP {what} database {path} is corrupt ({exc})") from None
    return reader, kind


def _query(reader: geoip2.database.Reader, kind: str, address: str) -> Any:
    if kind == "City":
        return reader.city(address)
    if kind == "Country":
        return reader.country(address)
    return reader.asn(address)


class GeoLookup:
    """City (or Country) and ASN readers; either may be absent."""

    def __init__(self, city_path: str | os.PathLike[str] | None = None, asn_path: str | os.PathLike[str] | None = None):
        self._city: geoip2.database.Reader | None = None
        self._city_kind = ""
        self._asn: geoip2.database.Reader | None = None
        self.city_path = Path(city_path) if city_path is not None else None
        self.asn_path = Path(asn_path) if asn_path is not None else None
        if self.city_path is not None:
            self._city, self._city_kind = _open(self.city_path, "City", ("City", "Country"))
        if self.asn_path is not None:
            try:
                self._asn, _ = _open(self.asn_path, "ASN", ("ASN",))
            except ConfigError:
                self.close()
                raise
        self._warned = False

    @classmethod
    def from_config(cls, config: Config) -> GeoLookup | None:
        """The databases named in ``[enrich]``; None when neither is configured."""
        city = config.get("enrich", "geoip_city", None, str)
        asn = config.get("enrich", "geoip_asn", None, str)
        if not city and not asn:
            return None
        return cls(config.resolve_path(city) if city else None, config.resolve_path(asn) if asn else None)

    def __bool__(self) -> bool:
        return self._city is not None or self._asn is not None

    def lookup(self, address: str) -> GeoInfo:
        """What the databases know of ``address``; None for each field they do not."""
        geolocation = country = city = org = None
        asn: int | None = None
        if self._city is not None:
            rec: Any = self._read(self._city, address, self._city_kind)
            if rec is not None:
                country = rec.country.iso_code
                if self._city_kind == "City":
                    city = rec.city.name
                    lat, lon = rec.location.latitude, rec.location.longitude
                    if lat is not None and lon is not None:
                        geolocation = f"{lat},{lon}"
        if self._asn is not None:
            rec = self._read(self._asn, address, "ASN")
            if rec is not None:
                asn = rec.autonomous_system_number
                org = rec.autonomous_system_organization
        return (geolocation, country, city, asn, org)

    def _read(self, reader: geoip2.database.Reader, address: str, kind: str) -> Any:
        try:
            return _query(reader, kind, address)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return None  # not in the database, or IPv6 in an IPv4-only database
        except maxminddb.InvalidDatabaseError as exc:
            if not self._warned:
                log.warning("GeoIP lookup failed, the database may be damaged: %s", exc)
                self._warned = True
            return None

    def close(self) -> None:
        for reader in (self._city, self._asn):
            if reader is not None:
                reader.close()
        self._city = self._asn = None
