"""Micro-benchmark of Enricher.profile, the per-address cost at ingest.

Ingest must reach 75,000 records/s on one core WITH enrichment, i.e. 150,000
profile() calls/s (two addresses a record) inside a ~13 µs per-record budget.
The mix: 5,000 distinct external addresses (some in MaxMind's test databases,
some on threat lists), 200 internal addresses held by AWS entities (some of
which change hands during the hour, so the point-in-time path is exercised),
five threat lists, GeoIP/ASN from ../shared/testdata/maxmind when present.
Run it by hand:

    python tests/benchmarks/bench_enrich.py [--lookups N] [--seed N]

Not collected by pytest: timings on a shared machine are too noisy to assert on.
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui.enrich import Enricher, GeoLookup, Inventory, ThreatMatcher
from flowtui.enrich.inventory import Snapshot

MAXMIND = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "maxmind"
T0 = 1_790_000_000


def _maxmind_addresses(rnd: random.Random, count: int) -> list[str]:
    """Addresses inside the networks MaxMind's City test database knows."""
    source = MAXMIND / "GeoLite2-City-Test.source.json"
    if not source.exists():
        return []
    nets = [ipaddress.ip_network(k) for entry in json.loads(source.read_text(encoding="utf-8")) for k in entry]
    out = []
    for _ in range(count):
        net = rnd.choice(nets)
        out.append(str(net[rnd.randrange(min(net.num_addresses, 1 << 16))]))
    return out


def build(seed: int, workdir: Path) -> tuple[Enricher, list[str], list[str]]:
    rnd = random.Random(seed)
    external = set(_maxmind_addresses(rnd, 1_000))
    while len(external) < 4_500:
        external.add(f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}")
    while len(external) < 5_000:
        external.add(str(ipaddress.IPv6Address((0x2600 << 112) | rnd.getrandbits(100))))
    external_list = sorted(external)

    # five lists of realistic sizes; ~5 % of the external addresses are on one or more
    sizes = {"spamhaus": 1_500, "spamhaus_v6": 100, "tor": 2_000, "feodo": 500, "firehol": 4_500}
    for list_id, size in sizes.items():
        lines = [f"{a}/32" if ":" not in a else f"{a}/128" for a in rnd.sample(external_list, 50)]
        for _ in range(size):
            lines.append(
                f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.0/{rnd.choice((16, 20, 24, 28))}"
            )
        (workdir / f"{list_id}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    threat = ThreatMatcher.from_files([(i, workdir / f"{i}.txt") for i in sizes])

    internal = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(200)]
    first = {a: ((f"ec2:i-{i:017x}", f"web-{i}", "EC2"), T0 - 86400) for i, a in enumerate(internal)}
    later = dict(first)
    for i, a in enumerate(internal[:20]):  # 20 addresses change hands half-way through the hour
        later[a] = ((f"ec2:i-{i + 1000:017x}", f"new-{i}", "EC2"), T0 + 1800)
    inventory = Inventory.from_snapshot(Snapshot(first, ["10.0.0.0/16"]), T0 - 86000).updated(
        Snapshot(later, ["10.0.0.0/16"]), T0 + 1860
    )

    geo = None
    if MAXMIND.is_dir():
        geo = GeoLookup(MAXMIND / "GeoLite2-City-Test.mmdb", MAXMIND / "GeoLite2-ASN-Test.mmdb")
    return Enricher(inventory=inventory, geo=geo, threat=threat), external_list, internal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        enricher, external, internal = build(args.seed, Path(tmp))
    rnd = random.Random(args.seed)
    # a record pairs an internal and an external address most of the time; flows span an hour
    addrs = [rnd.choice(internal) if rnd.random() < 0.5 else rnd.choice(external) for _ in range(args.lookups)]
    times = [T0 + rnd.randrange(3600) for _ in range(args.lookups)]
    geo_note = "MaxMind test DBs" if enricher.geo is not None else "no GeoIP (../shared/testdata/maxmind missing)"
    print(
        f"{args.lookups:,} lookups, {len(external):,} external + {len(internal)} internal addresses, "
        f"{len(enricher.threat.lists)} threat lists, {geo_note}"
    )

    profile = enricher.profile
    gc.collect()
    for label in ("cold (includes every first lookup)", "warm"):
        started = time.perf_counter()
        for addr, ts in zip(addrs, times, strict=True):
            profile(addr, ts)
        elapsed = time.perf_counter() - started
        rate = args.lookups / elapsed
        print(
            f"{label:36s} {rate:>12,.0f} lookups/s  {elapsed / args.lookups * 1e9:6.0f} ns/lookup  "
            f"= {rate / 2:>10,.0f} records/s (two addresses each)"
        )

    # the miss path alone: every address new (cache cleared between passes)
    sample = external[:5_000]
    enricher.set_inventory(enricher.inventory)
    started = time.perf_counter()
    for addr in sample:
        profile(addr, T0)
    elapsed = time.perf_counter() - started
    print(
        f"{'first lookup of an address (miss)':36s} {len(sample) / elapsed:>12,.0f} lookups/s  "
        f"{elapsed / len(sample) * 1e6:6.1f} µs/lookup"
    )
    flagged = sum(1 for a in external if profile(a, T0)[9])
    print(f"external addresses on a threat list: {flagged:,}")
    enricher.close()


if __name__ == "__main__":
    main()
