"""What the query bar's check costs per key press, with and without a threat-list id.

    python tests/benchmarks/bench_query_check.py --db /tmp/flowtui-bench/10m.db

A query that names a threat list (X_threat_indicated_<id>, X_threat_indicated_by:<id>)
reads the ids the store knows from its enrichment profiles on each check; one that
names none only compiles (cached). Target: well under a millisecond either way, so
the check can run on every key. Prints the median and 95th percentile of 200 checks.

Not collected by pytest: timings on a shared machine are too noisy to assert on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui.config import Config
from flowtui.ui.data import DataSource

QUERIES = (
    "action:REJECT AND dst_port:22",
    "src_addr_threat_indicated_by:spamhaus_dropp",
    "action:REJECT AND dst_addr_threat_indicated_tor:true",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="an existing store (bigstore.py makes one)")
    parser.add_argument("--checks", type=int, default=200)
    args = parser.parse_args()
    data = DataSource(Path(args.db), time.time)
    config = Config({"threat": {"lists": [{"id": "spamhaus_drop", "path": "drop.txt"}]}})
    for query in QUERIES:
        data.validate(query, config)  # the lane opened, the compile cached: as after the first key
        times = []
        for _ in range(args.checks):
            t0 = time.perf_counter()
            error = data.validate(query, config)
            times.append(time.perf_counter() - t0)
        times.sort()
        median, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
        verdict = error.message if error else "ok"
        print(f"{query!r}: median {median * 1e3:.3f} ms, p95 {p95 * 1e3:.3f} ms ({verdict})")
    data.close()


if __name__ == "__main__":
    main()
