#!/usr/bin/env python3
"""Build the demo's GeoIP databases, flowtui/demo/data/demo-{city,asn}.mmdb.

The databases answer for the blocks in flowtui.demo.environment.EXTERNAL_NETWORKS
and nothing else, with the FAKE places and networks given there. mmdb-writer is a
development dependency, not a runtime one: the files are committed and rebuilt
by running this script after the table changes (a test checks they agree).

    python tools/make_demo_geoip.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flowtui.demo.environment import DATA_DIR, EXTERNAL_NETWORKS, GEOIP_ASN, GEOIP_CITY, ExternalNetwork

# A fixed build time, so that rebuilding from the same table gives the same bytes.
BUILD_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z
DESCRIPTION = "flowtui demo: FAKE locations and networks for made-up traffic; not MaxMind data"


class _ReproducibleWriter(MMDBWriter):
    def _build_meta(self) -> dict[str, Any]:
        meta = super()._build_meta()
        meta["build_epoch"] = BUILD_EPOCH
        return meta


def _names(name: str) -> dict[str, str]:
    return {"en": name}


def city_record(net: ExternalNetwork) -> dict[str, Any]:
    """The shape of a GeoLite2-City record, as geoip2's City model reads it."""
    country = {"iso_code": net.country_code, "names": _names(net.country)}
    return {
        "city": {"names": _names(net.city)},
        "continent": {"code": net.continent_code, "names": _names(net.continent)},
        "country": country,
        "registered_country": country,
        "location": {
            "accuracy_radius": 50,
            "latitude": net.latitude,
            "longitude": net.longitude,
            "time_zone": net.time_zone,
        },
    }


def asn_record(net: ExternalNetwork) -> dict[str, Any]:
    return {"autonomous_system_number": net.as_number, "autonomous_system_organization": net.as_organization}


def build(out_dir: Path) -> tuple[Path, Path]:
    # geoip2 picks the record layout by a substring of the database type ("City", "GeoLite2-ASN").
    city = _ReproducibleWriter(
        6, "flowtui-demo-GeoLite2-City", ["en"], DESCRIPTION, ipv4_compatible=True, int_type="u32"
    )
    asn = _ReproducibleWriter(6, "flowtui-demo-GeoLite2-ASN", ["en"], DESCRIPTION, ipv4_compatible=True, int_type="u32")
    for net in EXTERNAL_NETWORKS:
        city.insert_network(IPSet([net.cidr]), city_record(net))
        asn.insert_network(IPSet([net.cidr]), asn_record(net))
    out_dir.mkdir(parents=True, exist_ok=True)
    city_path, asn_path = out_dir / GEOIP_CITY.name, out_dir / GEOIP_ASN.name
    city.to_db_file(str(city_path))
    asn.to_db_file(str(asn_path))
    return city_path, asn_path


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else DATA_DIR
    for path in build(out_dir):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
