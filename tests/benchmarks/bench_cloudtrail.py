"""CloudTrail throughput: subscription payloads of records → the cloudtrail table, then searches over it.

    python tests/benchmarks/bench_cloudtrail.py [--events N] [--repeat N]

Events are the demo's (flowtui/demo/trail.py: IAM users, an assumed role, AWS
services, refused calls), spread over a day. Prints events/s stored through
``Pipeline.ingest_payloads`` (100 records a payload, as CloudWatch batches
them), bytes per stored event, and the median time of a few searches: a field
with a wildcard, NOT/exists, CIDR on the source address, a bare term (the
whole record), an address's calls in a 15-minute window (the address
page's section), and ``flowtui top --source cloudtrail``'s groupings over every
event. Ranges over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui.cloudtrail import top as trail_top
from flowtui.cloudtrail.search import TrailSearch
from flowtui.demo.traffic import TrafficGenerator
from flowtui.demo.trail import TrailMaker
from flowtui.ingest import Pipeline
from flowtui.payloads import decode_payload
from flowtui.query.window import TimeWindow
from flowtui.store import Store

START = 1_795_700_000
TOPS = ("eventName", "userIdentity.arn,sourceIPAddress", "resources.ARN")  # top --source cloudtrail --by …
QUERIES = (
    "eventName:Delete* OR eventName:Describe*",
    "NOT _exists_:errorCode AND userIdentity.type:AssumedRole",
    "sourceIPAddress:198.51.100.0/24",
    "AccessDenied",
)


def payloads(n: int) -> list[bytes]:
    """About ``n`` records, 100 a payload (records of several demo payloads merged)."""
    maker = TrailMaker(1, TrafficGenerator(1))
    records: list[str] = []
    t = START
    while len(records) < n:
        records += [m for _, _, m in decode_payload(maker.payload(t, every_actor=True)).events]
        t += max(1, 86_400 * 3 // n)
    return [maker.encoder.data_message("bench", [(START, m) for m in records[i : i + 100]]) for i in range(0, n, 100)]


def run(n: int) -> tuple[float, float, dict[str, float]]:
    data = payloads(n)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ct.db"
        with Store(db) as store:
            pipeline = Pipeline(store)
            began = time.perf_counter()
            stored = 0
            for i in range(0, len(data), 50):
                stored += pipeline.ingest_payloads([(p, f"b#{j}") for j, p in enumerate(data[i : i + 50], i)], "bench").cloudtrail
            rate = stored / (time.perf_counter() - began)
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            per_event = store.used_bytes() / max(1, stored)
        with Store(db, readonly=True) as store:
            search = TrailSearch(store)
            times: dict[str, float] = {}
            for q in QUERIES:
                began = time.perf_counter()
                search.search(q, limit=200)
                search.count(q)
                times[q] = time.perf_counter() - began
            intruder = TrailMaker(1, TrafficGenerator(1)).intruder
            began = time.perf_counter()
            search.from_address(intruder, TimeWindow(START + 3600, START + 3600 + 900))
            times["address page: calls from one address in 15 min"] = time.perf_counter() - began
            for by in TOPS:
                began = time.perf_counter()
                trail_top.top(search, "*", None, by.split(","), 10)
                times[f"top --by {by}"] = time.perf_counter() - began
    return rate, per_event, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = [run(args.events) for _ in range(args.repeat)]
    rates = [r[0] for r in results]
    print(f"{args.events:,} CloudTrail events, {args.repeat} runs")
    print(f"  ingest: {min(rates):,.0f}–{max(rates):,.0f} events/s; {results[0][1]:,.0f} bytes per stored event")
    for name in results[0][2]:
        ms = [r[2][name] * 1000 for r in results]
        what = "; search + count" if name in QUERIES else ""
        print(f"  {name}: {min(ms):.1f}–{max(ms):.1f} ms (median {statistics.median(ms):.1f}{what})")


if __name__ == "__main__":
    main()
