"""GeoIP and ASN: MaxMind's test databases, a database built here, and broken files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from mmdb_writer import MmdbF64, MmdbU32, MMDBWriter
from netaddr import IPSet

from flowtui.config import Config
from flowtui.enrich import Enricher, GeoLookup
from flowtui.errors import ConfigError

MAXMIND = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "maxmind"
needs_maxmind = pytest.mark.skipif(not MAXMIND.is_dir(), reason="../shared/testdata/maxmind is not here")


def _profile_geo(enricher: Enricher, address: str) -> tuple:
    return enricher.profile(address, 1_800_000_000)[4:9]


@pytest.fixture
def maxmind() -> Iterator[GeoLookup]:
    if not MAXMIND.is_dir():
        pytest.skip("../shared/testdata/maxmind is not here")
    geo = GeoLookup(MAXMIND / "GeoLite2-City-Test.mmdb", MAXMIND / "GeoLite2-ASN-Test.mmdb")
    yield geo
    geo.close()


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        # from GeoLite2-City-Test.source.json / GeoLite2-ASN-Test.source.json
        ("2.125.160.216", ("51.75,-1.25", "GB", "Boxford", None, None)),
        ("81.2.69.142", ("51.5142,-0.0931", "GB", "London", None, None)),
        ("89.160.20.129", ("58.4167,15.6167", "SE", "Linköping", 29518, "Bredband2 AB")),
        ("216.160.83.58", ("47.2513,-122.3149", "US", "Milton", 209, None)),
        ("67.43.156.1", ("27.5,90.5", "BT", None, 35908, None)),
        ("2001:218::1", ("35.68536,139.75309", "JP", None, None, None)),
        ("1.128.0.1", (None, None, None, 1221, "Telstra Pty Ltd")),
        ("12.81.92.1", (None, None, None, 7018, "AT&T Services")),
        ("2600:6000::1", (None, None, None, 237, "Merit Network Inc.")),
        ("203.0.113.1", (None, None, None, None, None)),  # in neither database
    ],
)
def test_maxmind_test_databases(maxmind: GeoLookup, address: str, expected: tuple) -> None:
    assert maxmind.lookup(address) == expected
    assert _profile_geo(Enricher(geo=maxmind), address) == expected


@needs_maxmind
def test_every_city_in_the_source_file_is_found(maxmind: GeoLookup) -> None:
    entries = json.loads((MAXMIND / "GeoLite2-City-Test.source.json").read_text(encoding="utf-8"))
    checked = 0
    for entry in entries:
        for network, data in entry.items():
            first = network.split("/")[0]
            location = data.get("location", {})
            lat, lon = location.get("latitude"), location.get("longitude")
            geolocation = f"{float(lat)},{float(lon)}" if lat is not None and lon is not None else None
            country = data.get("country", {}).get("iso_code")
            city = data.get("city", {}).get("names", {}).get("en")
            assert maxmind.lookup(first)[:3] == (geolocation, country, city), network
            checked += 1
    assert checked == 242


@needs_maxmind
def test_internal_addresses_are_not_looked_up(maxmind: GeoLookup) -> None:
    enricher = Enricher(geo=maxmind, internal_cidrs=["81.2.69.0/24"])
    assert enricher.profile("81.2.69.142", 0)[:9] == (True, None, None, None, None, None, None, None, None)
    assert _profile_geo(enricher, "2.125.160.216") == ("51.75,-1.25", "GB", "Boxford", None, None)


def _build_city(path: Path) -> None:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City", languages=["en"])
    writer.insert_network(
        IPSet(["203.0.113.0/25"]),
        {
            "country": {"iso_code": "NZ", "names": {"en": "New Zealand"}},
            "city": {"names": {"en": "Wellington"}},
            "location": {"latitude": MmdbF64(-41.2866), "longitude": MmdbF64(174.7756)},
        },
    )
    writer.insert_network(
        IPSet(["2001:db8:cafe::/48"]),
        {
            "country": {"iso_code": "IS", "names": {"en": "Iceland"}},
            "location": {"latitude": MmdbF64(64.0), "longitude": MmdbF64(-22.5)},
        },
    )
    writer.to_db_file(str(path))


def _build_asn(path: Path) -> None:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN")
    writer.insert_network(
        IPSet(["203.0.113.0/24", "2001:db8:cafe::/48"]),
        {"autonomous_system_number": MmdbU32(64500), "autonomous_system_organization": "Example [bold]Net\x1b[0m"},
    )
    writer.to_db_file(str(path))


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    city, asn = tmp_path / "city.mmdb", tmp_path / "asn.mmdb"
    _build_city(city)
    _build_asn(asn)
    return city, asn


def test_database_built_at_test_time(built: tuple[Path, Path]) -> None:
    geo = GeoLookup(*built)
    org = "Example [bold]Net\x1b[0m"  # verbatim
    assert geo.lookup("203.0.113.0") == ("-41.2866,174.7756", "NZ", "Wellington", 64500, org)
    assert geo.lookup("203.0.113.127") == ("-41.2866,174.7756", "NZ", "Wellington", 64500, org)
    assert geo.lookup("203.0.113.128") == (None, None, None, 64500, org)
    assert geo.lookup("203.0.114.0") == (None, None, None, None, None)
    assert geo.lookup("2001:db8:cafe:1::9") == ("64.0,-22.5", "IS", None, 64500, org)
    assert geo.lookup("2001:db8:caff::1") == (None, None, None, None, None)
    geo.close()


def test_from_config_resolves_paths_relative_to_the_config(tmp_path: Path, built: tuple[Path, Path]) -> None:
    (tmp_path / "geo").mkdir()
    shutil.move(built[0], tmp_path / "geo" / "City.mmdb")
    shutil.move(built[1], tmp_path / "geo" / "ASN.mmdb")
    config_file = tmp_path / "flowtui.toml"
    config_file.write_text('[enrich]\ngeoip_city = "geo/City.mmdb"\ngeoip_asn = "geo/ASN.mmdb"\n', encoding="utf-8")
    enricher = Enricher.from_config(Config.load(config_file))
    assert enricher.profile("203.0.113.5", 0) == (
        False,
        None,
        None,
        None,
        "-41.2866,174.7756",
        "NZ",
        "Wellington",
        64500,
        "Example [bold]Net\x1b[0m",
        False,
        None,
    )
    enricher.close()
    assert GeoLookup.from_config(Config()) is None


def test_only_one_database(built: tuple[Path, Path]) -> None:
    assert GeoLookup(asn_path=built[1]).lookup("203.0.113.5") == (None, None, None, 64500, "Example [bold]Net\x1b[0m")
    assert GeoLookup(city_path=built[0]).lookup("203.0.113.5") == ("-41.2866,174.7756", "NZ", "Wellington", None, None)


@needs_maxmind
def test_country_database_gives_the_country_only() -> None:
    geo = GeoLookup(city_path=MAXMIND / "GeoLite2-Country-Test.mmdb")
    assert geo.lookup("81.2.69.142") == (None, "GB", None, None, None)


def test_missing_database_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^the GeoIP City database .*nope.mmdb does not exist$"):
        GeoLookup(city_path=tmp_path / "nope.mmdb")
    config_file = tmp_path / "flowtui.toml"
    config_file.write_text('[enrich]\ngeoip_asn = "missing-asn.mmdb"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^the GeoIP ASN database .*missing-asn.mmdb does not exist$"):
        Enricher.from_config(Config.load(config_file))


def test_corrupt_database_is_a_config_error(tmp_path: Path, built: tuple[Path, Path]) -> None:
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"this is not a MaxMind database\n" * 100)
    with pytest.raises(ConfigError, match=r"^the GeoIP City database .*junk.mmdb is not a valid MaxMind database"):
        GeoLookup(city_path=junk)
    data = built[1].read_bytes()
    truncated = tmp_path / "truncated.mmdb"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match=r"^the GeoIP ASN database .*truncated.mmdb is not a valid MaxMind database"):
        GeoLookup(asn_path=truncated)
    empty = tmp_path / "empty.mmdb"
    empty.write_bytes(b"")
    with pytest.raises(ConfigError, match="is not a valid MaxMind database"):
        GeoLookup(asn_path=empty)


def test_wrong_kind_of_database_is_a_config_error(built: tuple[Path, Path]) -> None:
    with pytest.raises(ConfigError, match=r"asn.mmdb is a GeoLite2-ASN database, not a City database$"):
        GeoLookup(city_path=built[1])
    with pytest.raises(ConfigError, match=r"city.mmdb is a GeoLite2-City database, not a ASN database$"):
        GeoLookup(asn_path=built[0])
