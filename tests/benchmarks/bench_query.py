"""Query latency: compile time, and the guide's queries over a generated store.

    python tests/benchmarks/bench_query.py [--flows N] [--db PATH] [--keep]

Targets: compiling a typical query <= 1 ms; the first page (100 rows, newest
first) of a guide query over 10M flows <= 300 ms. The store is generated
through Store.write (an AWS-like mix: a few hundred internal addresses held by
EC2/RDS/ELB/NAT, thousands of external ones, ~2 % on threat lists, one
address changing owner) and then doubled with INSERT … SELECT, shifted in
time, until it holds N flows; ``--db`` with ``--keep`` reuses it between runs.

Not collected by pytest: timings on a shared machine are too noisy to assert on.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui import catalog, rollups
from flowtui.query import compiler
from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Batch, Part, Store

T0 = 1_790_000_000
BASE = 200_000  # records written through Store.write; the rest are time-shifted copies
V2_PRESENT = tuple(catalog.RECORD_INDEX[f.name] for f in catalog.RECORD_FIELDS if f.origin == "flow")

GUIDE = [
    "dst_addr_entity_aws_type:EC2 AND src_addr_internal:false AND (dst_port:80 OR dst_port:443)",
    "src_addr_entity_aws_type:RDS AND dst_addr_internal:false",
    "dst_addr_threat_indicated:true",
    "src_addr_entity_aws_type:ELB",
    'src_addr_entity:"ec2:i-42e0d1ca" AND dst_addr_entity_aws_type:ELB',
]
MORE = [
    "*",
    "action:REJECT",
    "action:REJECT AND dst_port:22",
    "action:rej* AND dst_port:22",  # a pattern on a fixed set: compiled into REJECT, the same plan
    "dst_addr_entity_aws_type:/ec.*/ AND src_addr_internal:false",
    "src_addr:10.0.0.0/8 AND NOT dst_addr:10.0.0.0/8",
    "protocol:udp AND dst_port:53",
    "eni-0a1b2c3d",
    "src_addr_threat_indicated_tor:true",
    "dst_addr_country_code:CN AND action:ACCEPT",
    "bytes:>1000000",
    "dst_port:3389 AND protocol:udp",  # valid, matches nothing: the whole store is read
    'src_addr_entity:"ec2:i-nosuch"',  # no such entity: known before reading any flow
]
COMPILE = GUIDE + MORE + [
    "timestamp:[2026-11-27T10:00:00Z TO 2026-11-27T11:00:00Z} AND interface_id:eni-* AND -action:ACCEPT",
    "src_addr:2001:db8::/32 OR dst_addr:(10.0.1.10 OR 10.0.1.11) AND protocol:(tcp OR udp)",
    'interface_id:/eni-0[0-9a-f]+/ AND "ACCEPT TCP"',
]


def _profile(internal: bool, entity: str | None = None, kind: str | None = None, country: str | None = None,
             threat: str | None = None) -> tuple[Any, ...]:
    return (internal, entity, entity and f"{entity} name", kind, None, country, None,
            None if internal else 64500, None if internal else "AS", bool(threat), threat)


def generate(path: Path, flows: int, seed: int = 1) -> Store:
    rnd = random.Random(seed)
    internal: dict[str, tuple[Any, ...]] = {"10.0.1.10": _profile(True, "ec2:i-42e0d1ca", "EC2")}
    kinds = ["EC2"] * 70 + ["RDS"] * 10 + ["ELB"] * 10 + ["NAT"] * 5 + ["LAMBDA"] * 5
    for i in range(300):
        kind = rnd.choice(kinds)
        internal[f"10.0.{i // 200}.{i % 200 + 20}"] = _profile(True, f"{kind.lower()}:{kind.lower()}-{i}", kind)
    external: dict[str, tuple[Any, ...]] = {}
    countries = ["US", "DE", "CN", "RU", "BR", "FR", "NL", "IN"]
    while len(external) < 5000:
        ip = f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        threat = rnd.choice(["tor", "spamhaus", "spamhaus,tor"]) if rnd.random() < 0.02 else None
        external[ip] = _profile(False, country=rnd.choice(countries), threat=threat)
    profiles = {**internal, **external}
    inside, outside = list(internal), list(external)
    enis = [f"eni-{rnd.getrandbits(32):08x}" for _ in range(300)] + ["eni-0a1b2c3d"]

    def enrich(ip: str, ts: int) -> tuple[Any, ...]:
        return profiles[ip]

    def record(i: int) -> tuple[Any, ...]:
        rec: list[Any] = [None] * len(catalog.RECORD_FIELDS)
        start = T0 + i * 86_400 // BASE
        r = rnd.random()
        if r < 0.45:  # inbound from outside
            src, dst, sport, dport = rnd.choice(outside), rnd.choice(inside), rnd.randrange(1024, 65536), rnd.choice([443, 80, 22, 3389, 8080])
        elif r < 0.75:  # outbound
            src, dst, sport, dport = rnd.choice(inside), rnd.choice(outside), rnd.randrange(1024, 65536), rnd.choice([443, 80, 53, 123])
        else:  # east-west
            src, dst, sport, dport = rnd.choice(inside), rnd.choice(inside), rnd.randrange(1024, 65536), rnd.choice([5432, 3306, 443, 6379])
        values = {
            "version": 2, "account_id": "123456789012", "interface_id": rnd.choice(enis), "src_addr": src,
            "dst_addr": dst, "src_port": sport, "dst_port": dport, "protocol_number": 17 if dport in (53, 123) else 6,
            "packets": rnd.randrange(1, 2000), "bytes": rnd.randrange(40, 2_000_000), "start": start,
            "end": start + 60, "action": "REJECT" if rnd.random() < 0.1 else "ACCEPT", "log_status": "OK",
        }
        for name, v in values.items():
            rec[catalog.RECORD_INDEX[name]] = v
        return tuple(rec)

    store = Store(path)
    base = min(BASE, flows)
    for lo in range(0, base, 20_000):
        store.write(Batch([Part([record(i) for i in range(lo, min(base, lo + 20_000))], V2_PRESENT)]), enrich)
    stored = [row[1] for row in store.conn.execute('PRAGMA table_info("flows")') if row[1] != "id"]  # not generated ones
    cols = ", ".join(f'"{c}"' for c in stored)
    shifted = ", ".join('"start" + ?' if c == "start" else f'"{c}"' for c in stored)
    have = base
    while have < flows:
        take = min(have, flows - have)
        span = store.conn.execute("SELECT max(start) - min(start) + 1 FROM flows").fetchone()[0]
        with store.transaction():
            before = store.conn.execute("SELECT max(id) FROM flows").fetchone()[0]
            store.conn.execute(
                f"INSERT INTO flows ({cols}) SELECT {shifted} FROM flows ORDER BY id LIMIT ?", (span, take)
            )
            # The copies go into the rollups in the same transaction, as Store.write's rows do.
            strings = dict(store.conn.execute("SELECT value, id FROM strings").fetchall())
            rollups.add(store.conn, strings, before + 1, before + take)
        have += take
    return store


def bench_compile() -> None:
    print("compile (cold, cache cleared), microseconds:")
    for q in COMPILE:
        times = []
        for _ in range(200):
            compiler._compile.cache_clear()
            t = time.perf_counter()
            compiler.compile_query(q)
            times.append(time.perf_counter() - t)
        print(f"  {statistics.median(times) * 1e6:8.0f} µs  {q}")
    t = time.perf_counter()
    for _ in range(10_000):
        compiler.compile_query(COMPILE[0])
    print(f"  {(time.perf_counter() - t) / 10_000 * 1e6:8.1f} µs  (cached)")


def _time(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000, result


def bench_queries(engine: QueryEngine) -> None:
    bounds = engine.store.time_bounds()
    assert bounds is not None
    last_hour = TimeWindow(bounds[1] - 3600, bounds[1] + 1)
    print(f"\n{engine.store.flow_count():,} flows; milliseconds (best of 3):")
    print(f"  {'page 100':>9} {'page/1h':>8} {'count':>8} {'top src':>8}  query")
    for q in GUIDE + MORE:
        page, rows = _time(lambda q=q: engine.search(q, limit=100))
        hour, _ = _time(lambda q=q: engine.search(q, last_hour, limit=100))
        count, n = _time(lambda q=q: engine.count(q), repeat=1)
        top, _ = _time(lambda q=q: engine.top(q, last_hour, ["src_addr"], "bytes", 10), repeat=1)
        print(f"  {page:9.1f} {hour:8.1f} {count:8.0f} {top:8.1f}  {q}  ({len(rows)} rows, {n:,} matches)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, help="store to use (generated when missing)")
    ap.add_argument("--keep", action="store_true", help="keep a generated store")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    bench_compile()
    tmp = None
    path = args.db
    if path is None:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "bench.db"
    if not path.exists():
        t = time.perf_counter()
        generate(path, args.flows).close()
        print(f"\ngenerated {args.flows:,} flows in {time.perf_counter() - t:.0f} s at {path}")
    store = Store(path, readonly=True)
    bench_queries(QueryEngine(store, timeout=args.timeout))
    store.close()
    if tmp is not None and not args.keep:
        tmp.cleanup()


if __name__ == "__main__":
    main()
