"""Large stores for the scale benchmarks: millions of realistic, enriched flows in seconds.

    python tests/benchmarks/bigstore.py --flows 10000000 --minutes 15 --db /tmp/flowtui-bench/10m.db

The traffic is the demo VPC's (the shipped inventory, threat lists and GeoIP
databases enrich every address, through the real Enricher), made the way
:mod:`flowtui.demo.traffic` makes it — whole conversations recorded on every
interface that sees them: clients through the load balancer to the web
instances and their database, scanners knocking (rejected), instances going
out through the NAT gateway, DNS, Lambda, beacons to Tor exits and Spamhaus
blocks, NODATA records — but at scale: thousands of outside clients
with a few busy ones and a long tail (each mostly sticking to the load
balancer address its DNS answer gave; one in a hundred also reaching an
instance directly), hundreds of scanners, ephemeral ports.
One extra instance, ``ec2:i-42e0d1ca`` (the Graylog guide's example), talks
to the load balancer now and then, so the guide's fifth query has a few
matches among millions.

Rows are drawn with numpy, column by column, and go in through the store's
bulk path (:meth:`Store.write_rows`), which writes the rollups in the same
transactions as ingest does. Event hashes are written to the per-day
``seen_`` tables too, as a tailing ingest would, so sizes are those of a real
store. A build is logged to ``<db>.log``; benchmarks reuse the file.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui import schema
from flowtui.demo.environment import (
    ACCOUNT_ID,
    EXTERNAL_NETWORKS,
    LOG_GROUP,
    VPC_RESOLVER,
    demo_config,
    load_environment,
)
from flowtui.enrich import Enricher
from flowtui.store import Store

COLUMNS = (
    "start", "version", "account_id", "interface_id", "src_addr", "dst_addr", "src_port", "dst_port",
    "protocol_number", "packets", "bytes", "duration", "action", "log_status", "origin",
)  # fmt: skip
CANARY_IP = "10.0.1.10"  # ec2:i-42e0d1ca: not in the demo inventory; its profile is set here
CHUNK = 500_000  # rows per transaction
# Conversations per scenario (relative), and records each one makes.
MIX = {
    "web": 30.0, "direct": 5.0, "scan": 14.0, "ping": 2.0, "ssh": 1.5, "db": 10.0, "nat": 8.0, "dns": 6.0,
    "lambda": 3.0, "exfil": 0.6, "tor": 0.8, "spamhaus": 0.8, "spamhaus_in": 0.5, "nodata": 0.4, "canary": 0.02,
}  # fmt: skip
RECORDS = {"web": 6, "direct": 2, "scan": 1, "ping": 1, "ssh": 6, "db": 4, "nat": 6, "dns": 2, "lambda": 8,
           "exfil": 2, "tor": 2, "spamhaus": 2, "spamhaus_in": 1, "nodata": 1, "canary": 2}  # fmt: skip
SCAN_PORTS = np.array([22] * 8 + [3389] * 5 + [23, 23, 445, 445, 5900, 3306, 6379, 8080, 1433, 2375])


@dataclass
class Pools:
    """Addresses (as addrs ids) and interfaces (as string ids and origin ids) rows are drawn from."""

    ids: dict[str, np.ndarray]  # role -> addrs ids
    eni: dict[str, tuple[int, int]]  # interface role/name -> (interface string id, origin id)
    eni_of_ip: dict[int, tuple[int, int]]  # addrs id of an interface's address -> its interface
    strings: dict[str, int]


def _sample(rng: np.random.Generator, cidr: str, count: int) -> list[str]:
    net = ipaddress.ip_network(cidr)
    size = min(net.num_addresses, 2**62)  # offsets 1 .. size - 2: not the network or broadcast address
    count = min(count, size - 2)
    offsets: set[int] = set()
    while len(offsets) < count:
        offsets.update(int(x) for x in rng.integers(1, size - 1, count - len(offsets) + 16))
    base = int(net.network_address)
    return [str(ipaddress.ip_address(base + o)) for o in sorted(offsets)[:count]]


def _pools(store: Store, rng: np.random.Generator, t0: int, clients: int, scanners: int) -> Pools:
    env = load_environment()
    enricher = Enricher.from_config(demo_config(), background=False)
    by_role: dict[str, list[str]] = {}
    for net in EXTERNAL_NETWORKS:
        share = {"client": clients, "scanner": scanners, "service": 200, "office": 3}.get(net.role)
        nets = [n for n in EXTERNAL_NETWORKS if n.role == net.role]
        if net.hosts:
            by_role.setdefault(net.role, []).extend(net.hosts)
        elif share:
            by_role.setdefault(net.role, []).extend(_sample(rng, net.cidr, max(1, share // len(nets))))
    ids: dict[str, np.ndarray] = {}
    eni: dict[str, tuple[int, int]] = {}
    eni_of_ip: dict[int, tuple[int, int]] = {}
    with store.transaction():
        strings = {s: store.string_id(s) for s in ("ACCEPT", "REJECT", "OK", "NODATA", ACCOUNT_ID)}
        for role, ips in by_role.items():
            rng.shuffle(ips)  # busy clients are anywhere in the blocks
            ids[role] = np.array([store.address_id(ip, enricher.profile(ip, t0)) for ip in ips])
        by_iface: dict[str, list[int]] = {}
        for iface in env.interfaces:
            sid = store.string_id(iface.eni_id)
            oid = store.origin_id((LOG_GROUP, iface.log_stream, "flowtui-bench", ACCOUNT_ID))
            aid = store.address_id(iface.private_ip, enricher.profile(iface.private_ip, t0))
            eni_of_ip[aid] = (sid, oid)
            by_iface.setdefault(iface.role, []).append(aid)
            eni.setdefault(iface.role, (sid, oid))
        for role, aids in by_iface.items():
            ids[role] = np.array(aids)
        canary = (True, "ec2:i-42e0d1ca", "canary", "EC2", None, None, None, None, None, False, None)
        aid = store.address_id(CANARY_IP, canary)
        sid = store.string_id("eni-042e0d1ca0000000")
        oid = store.origin_id((LOG_GROUP, "eni-042e0d1ca0000000-all", "flowtui-bench", ACCOUNT_ID))
        eni_of_ip[aid] = (sid, oid)
        ids["canary"] = np.array([aid])
        ids["resolver"] = np.array([store.address_id(VPC_RESOLVER, enricher.profile(VPC_RESOLVER, t0))])
    return Pools(ids, eni, eni_of_ip, strings)


class _Rows:
    """Column blocks, appended a record slot at a time for n conversations."""

    def __init__(self, pools: Pools) -> None:
        self.pools = pools
        self.blocks: list[dict[str, np.ndarray]] = []
        lut_keys = np.array(sorted(pools.eni_of_ip))
        self.lut_keys = lut_keys
        self.lut_sid = np.array([pools.eni_of_ip[k][0] for k in lut_keys])
        self.lut_oid = np.array([pools.eni_of_ip[k][1] for k in lut_keys])

    def emit(self, t: np.ndarray, w: np.ndarray, on: np.ndarray, src: Any, dst: Any, sport: Any, dport: Any,
             proto: int, packets: Any, nbytes: Any, action: str = "ACCEPT") -> None:
        n = len(t)
        pos = np.searchsorted(self.lut_keys, on)
        full = lambda v: np.broadcast_to(np.asarray(v, dtype=np.int64), (n,))
        self.blocks.append({
            "t": t, "start": t - w, "duration": w, "interface_id": self.lut_sid[pos], "origin": self.lut_oid[pos],
            "src_addr": full(src), "dst_addr": full(dst), "src_port": full(sport), "dst_port": full(dport),
            "protocol_number": full(proto), "packets": full(packets), "bytes": full(nbytes),
            "action": full(self.pools.strings[action]),
        })  # fmt: skip

    def both(self, t: np.ndarray, w: np.ndarray, seen_on: list[np.ndarray], a: Any, b: Any, aport: Any, bport: Any,
             proto: int, req: tuple[Any, Any], resp: tuple[Any, Any]) -> None:
        for on in seen_on:
            self.emit(t, w, on, a, b, aport, bport, proto, *req)
            self.emit(t, w, on, b, a, bport, aport, proto, *resp)


def _traffic(rows: _Rows, rng: np.random.Generator, n_conv: dict[str, int], t0: int, span: int) -> None:
    ids = rows.pools.ids

    def times(n: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.integers(t0, t0 + span, n), rng.integers(0, 20, n)

    def pick(pool: np.ndarray, n: int, skew: float = 2.0) -> np.ndarray:
        """Early entries more often: a few busy ones, a long tail."""
        return pool[(rng.random(n) ** skew * len(pool)).astype(np.int64)]

    def eph(n: int) -> np.ndarray:
        return rng.integers(32768, 61000, n)

    def sizes(n: int, small: int, large: int) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
        qb = (small * (0.5 + rng.random(n))).astype(np.int64)
        rb = (large * (0.2 + 2 * rng.random(n) ** 2)).astype(np.int64)
        qp, rp = qb // 400 + 1, rb // 1300 + 1
        return (qp, qp * 40 + qb), (rp, rp * 40 + rb)

    for kind, n in n_conv.items():
        if n == 0:
            continue
        t, w = times(n)
        if kind == "web":
            at = (rng.random(n) ** 3.0 * len(ids["client"])).astype(np.int64)
            client, web = ids["client"][at], pick(ids["web"], n, 1.0)
            # A client keeps to the load balancer address its DNS answer named, mostly.
            albs = ids["alb"]
            alb = np.where(rng.random(n) < 0.8, albs[at % len(albs)], pick(albs, n, 1.0))
            req, resp = sizes(n, 900, 24_000)
            rows.both(t, w, [alb], client, alb, eph(n), 443, 6, req, resp)
            rows.both(t, w, [alb, web], alb, web, eph(n), 80, 6, req, resp)
        elif kind == "direct":
            # A few clients (old bookmarks, bots) reach an instance's public address directly.
            direct = ids["client"][: max(5, len(ids["client"]) // 100)]
            client, web = pick(direct, n, 2.0), pick(ids["web"], n, 1.0)
            req, resp = sizes(n, 700, 16_000)
            rows.both(t, w, [web], client, web, eph(n), 443, 6, req, resp)
        elif kind in ("scan", "ping"):
            scanner = pick(ids["scanner"], n)
            target = np.where(rng.random(n) < 0.3, ids["bastion"][0], pick(ids["web"], n, 1.0))
            if kind == "scan":
                packets = rng.integers(1, 4, n)
                rows.emit(t, w, target, scanner, target, eph(n), pick(SCAN_PORTS, n), 6, packets, packets * 44, "REJECT")
            else:
                rows.emit(t, w, target, scanner, target, 0, 0, 1, 1, 84, "REJECT")
        elif kind == "ssh":
            office, bastion = pick(ids["office"], n), ids["bastion"][0]
            hop = np.where(rng.random(n) < 0.25, ids["stray"][0], pick(ids["web"], n, 1.0))
            req, resp = sizes(n, 3_000, 12_000)
            rows.both(t, w, [np.full(n, bastion)], office, bastion, eph(n), 22, 6, req, resp)
            rows.both(t, w, [np.full(n, bastion), hop], bastion, hop, eph(n), 22, 6, req, resp)
        elif kind == "db":
            web, rds = pick(ids["web"], n, 1.0), ids["rds"][0]
            req, resp = sizes(n, 1_500, 30_000)
            rows.both(t, w, [web, np.full(n, rds)], web, rds, eph(n), 5432, 6, req, resp)
        elif kind == "nat":
            x = rng.random(n)
            inst = np.where(x < 0.6, pick(ids["web"], n, 1.0), np.where(x < 0.8, ids["worker"][0], ids["lambda"][0]))
            service, nat = pick(ids["service"], n), ids["nat"][0]
            sport, nport = eph(n), rng.integers(1024, 65000, n)
            (qp, qb), (rp, rb) = sizes(n, 1_200, 80_000)
            natv = np.full(n, nat)
            rows.emit(t, w, inst, inst, service, sport, 443, 6, qp, qb)
            rows.emit(t, w, inst, service, inst, 443, sport, 6, rp, rb)
            rows.emit(t, w, natv, inst, service, sport, 443, 6, qp, qb)
            rows.emit(t, w, natv, nat, service, nport, 443, 6, qp, qb)
            rows.emit(t, w, natv, service, nat, 443, nport, 6, rp, rb)
            rows.emit(t, w, natv, service, inst, 443, sport, 6, rp, rb)
        elif kind == "dns":
            inst = pick(ids["web"], n, 1.0)
            q = rng.integers(60, 100, n)
            rows.both(t, w, [inst], inst, ids["resolver"][0], eph(n), 53, 17, (1, q), (1, q + 80))
        elif kind == "lambda":
            lam, vpce, rds = ids["lambda"][0], ids["vpce"][0], ids["rds"][0]
            req, resp = sizes(n, 2_000, 6_000)
            rows.both(t, w, [np.full(n, lam), np.full(n, vpce)], lam, vpce, eph(n), 443, 6, req, resp)
            req, resp = sizes(n, 800, 9_000)
            rows.both(t, w, [np.full(n, lam), np.full(n, rds)], lam, rds, eph(n), 5432, 6, req, resp)
        elif kind == "exfil":
            rds, target = ids["rds"][0], ids["exfil"][0]
            nbytes = rng.integers(2_000_000, 30_000_000, n)
            rows.both(t, w, [np.full(n, rds)], rds, target, eph(n), 443, 6, (nbytes // 1400, nbytes), (nbytes // 2800, nbytes // 54))
        elif kind in ("tor", "spamhaus"):
            worker = ids["worker"][0]
            dst = pick(ids["tor"], n) if kind == "tor" else np.full(n, ids["spamhaus"][0])
            size = rng.integers(300, 500, n)
            rows.both(t, w, [np.full(n, worker)], worker, dst, eph(n), 9001 if kind == "tor" else 8443, 6, (4, size), (3, size // 2))
        elif kind == "spamhaus_in":
            bastion = ids["bastion"][0]
            rows.emit(t, w, np.full(n, bastion), ids["spamhaus"][-1], bastion, eph(n), 22, 6, 2, 120, "REJECT")
        elif kind == "canary":
            canary, alb = ids["canary"][0], pick(ids["alb"], n, 1.0)
            rows.both(t, w, [np.full(n, canary)], canary, alb, eph(n), 443, 6, (3, 400), (3, 900))


def build(path: Path, flows: int, minutes: float, seed: int = 1, clients: int = 5_000, scanners: int = 500,
          seen: bool = True, end: int | None = None, log: Any = print) -> None:
    """A store at ``path`` with about ``flows`` flows over the ``minutes`` before ``end`` (default: now)."""
    t_begin = time.perf_counter()
    rng = np.random.default_rng(seed)
    span = int(minutes * 60)
    end = int(time.time()) if end is None else end
    t0 = end - span
    store = Store(path)
    pools = _pools(store, rng, t0, clients, scanners)
    per_conv = sum(MIX[k] * RECORDS[k] for k in MIX) / sum(MIX.values())
    total_conv = flows / per_conv
    made = 0
    # A slice of time at a time, so rows go in roughly in the order they would arrive.
    slices = max(1, flows // CHUNK)
    nodata_sid, ok_sid = pools.strings["NODATA"], pools.strings["OK"]
    version, account = 2, pools.strings[ACCOUNT_ID]
    for i in range(slices):
        a, b = t0 + span * i // slices, t0 + span * (i + 1) // slices
        rows = _Rows(pools)
        n_conv = {k: int(rng.poisson(total_conv / slices * MIX[k] / sum(MIX.values()))) for k in MIX}
        nodata = n_conv.pop("nodata")
        _traffic(rows, rng, n_conv, a, b - a)
        cols = {k: np.concatenate([blk[k] for blk in rows.blocks]) for k in rows.blocks[0]}
        order = np.argsort(cols["t"] + rng.integers(0, 5, len(cols["t"])), kind="stable")
        ordered = [cols[c][order].tolist() if c in cols else None for c in COLUMNS]
        n = len(order)
        for j, c in enumerate(COLUMNS):
            if ordered[j] is None:
                ordered[j] = [version if c == "version" else account if c == "account_id" else ok_sid] * n
        out = list(zip(*ordered))
        if nodata:  # no traffic on an interface: every column but its own is missing
            iface = rng.choice(list(pools.eni.values()), nodata)
            starts = rng.integers(a, b, nodata).tolist()
            out += [(s, 2, account, int(sid), None, None, None, None, None, None, None, 60, None, nodata_sid, int(oid))
                    for s, (sid, oid) in zip(starts, iface)]
        store.write_rows(COLUMNS, out)
        if seen:
            _write_seen(store, rng, [r[0] for r in out])
        made += len(out)
        log(f"  {made:>12,} flows  {time.perf_counter() - t_begin:7.1f} s")
    # A writer keeps a bucket its late flows changed anew within a minute; a build takes less.
    store.keep_all_tops()
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    took = time.perf_counter() - t_begin
    log(f"built {made:,} flows over {minutes:g} min ({clients:,} clients, {scanners:,} scanners) in {took:.0f} s")


def _write_seen(store: Store, rng: np.random.Generator, starts: list[int]) -> None:
    """The event hashes a tailing ingest would have kept for these flows (random: nothing repeats)."""
    hashes = rng.integers(0, 2**63, len(starts), dtype=np.int64).tolist()
    by_day: dict[int, list[int]] = {}
    for t, h in zip(starts, hashes):
        by_day.setdefault(t // 86400, []).append(schema.seen_key(h, t))
    with store.transaction():
        for day, keys in by_day.items():
            table = schema.seen_table(day)
            store.conn.execute(schema.seen_table_sql(table))
            for k in range(0, len(keys), 5000):  # sorted per batch of ~5,000, as ingest does
                chunk = sorted(keys[k : k + 5000])
                store.conn.execute(f"INSERT OR IGNORE INTO {table} SELECT value FROM json_each(?)", (json.dumps(chunk),))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", type=int, default=10_000_000)
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--db", type=Path, default=Path("/tmp/flowtui-bench/10m.db"))
    ap.add_argument("--clients", type=int, default=5_000)
    ap.add_argument("--scanners", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", type=int, help="unix time the traffic ends at (default: now)")
    ap.add_argument("--no-seen", action="store_true", help="leave out the event hashes")
    args = ap.parse_args()
    if args.db.exists():
        sys.exit(f"{args.db} exists; remove it first")
    args.db.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{args.db}.log", "a") as logf:

        def log(line: str) -> None:
            print(line, flush=True)
            logf.write(line + "\n")

        log(f"$ {' '.join(sys.argv)}")
        build(args.db, args.flows, args.minutes, args.seed, args.clients, args.scanners, not args.no_seen, args.end, log)


if __name__ == "__main__":
    main()
