"""The dashboard under load: key-press latency while ingesting, idle CPU, memory.

    python tests/benchmarks/bench_dashboard.py [--rate 50000] [--seconds 60] [--presses 200] [--db PATH]

Targets (issue 4): while ingesting 50,000 records/s the dashboard answers a key
press in <= 50 ms (p99, Pilot timings); idle (nothing new arriving) it uses
<= 2 % of a core; ingest + dashboard together stay under 400 MB RSS.

1. Demo traffic for ``rate × seconds`` records, stamped from now on, is written
   as gzip subscription payloads to a file (generating is slower than ingesting).
2. A separate process ingests the file through the real pipeline (demo
   enricher) at ``rate`` records/s, in batches of 50 payloads, and reports its
   achieved rate and peak RSS.
3. Meanwhile this process runs the real app headless (``App.run_test``) on the
   same store, refreshing every second, and times Pilot key presses (space:
   pause and resume; ``--keys question_mark,escape``: the help screen and
   back), each press until the app is idle again.
4. Then, with nothing arriving, it measures the app's CPU time over 30 s.

Not collected by pytest: timings on a shared machine are too noisy to assert on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

PER_BATCH = 50  # payloads per transaction (~5,000 records), as a Kinesis GetRecords batch


def write_payloads(path: Path, records: int, start: int, seconds: int) -> int:
    from flowtui.demo.traffic import generate_payloads

    n = 0
    with open(path, "wb") as fh:
        for p in generate_payloads(records, 7, start, start + seconds):
            fh.write(struct.pack(">I", len(p)))
            fh.write(p)
            n += 1
    return n


def produce(db: str, payload_file: str, rate: float) -> None:
    """The ingest process: the file's payloads into the store at ``rate`` records/s."""
    from flowtui.demo.environment import demo_config
    from flowtui.enrich import Enricher
    from flowtui.ingest import Pipeline
    from flowtui.store import Store

    store = Store(db)
    pipeline = Pipeline(store, Enricher.from_config(demo_config(), background=False).profile)
    stored = 0
    t0 = time.monotonic()
    with open(payload_file, "rb") as fh:
        while True:
            batch = []
            for _ in range(PER_BATCH):
                head = fh.read(4)
                if not head:
                    break
                batch.append((fh.read(struct.unpack(">I", head)[0]), "bench"))
            if not batch:
                break
            stored += pipeline.ingest_payloads(batch, "bench:0").stored
            ahead = stored / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    took = time.monotonic() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{stored} {took:.3f} {rss:.1f}", flush=True)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def propose_ui_changes() -> None:
    """What this benchmark suggests the UI changes (patched in here, not in flowtui/ui):

    * the change marker reads min and max ids in two subqueries (one probe each;
      ``SELECT min(id), max(id)`` reads every row);
    * a pane reads ``window.on_minutes(now, RATE_BUCKETS)``: whole minutes and
      minute buckets, answered from the rollups alone.
    """
    from flowtui import catalog
    from flowtui.errors import FlowtuiError, QueryError
    from flowtui.ui import data

    def marker(self: Any) -> tuple[Any, ...]:
        with self.lane("panes") as lane:
            row = lane.store.conn.execute("SELECT (SELECT min(id) FROM flows), (SELECT max(id) FROM flows)").fetchone()
            return (row[0], row[1])

    def pane(self: Any, spec: Any, window: Any) -> Any:
        label = window.describe()
        now = self.now()
        flags = [f"{n}_{s}" for n in spec.by if catalog.BY_NAME[n].type == "ip" for s in data._LABEL_SUFFIXES]
        whole, buckets = window.on_minutes(now, data.RATE_BUCKETS)
        try:
            with self.lane("panes") as lane:
                top = lane.engine.top(spec.query, whole, by=[*spec.by, *flags], metric=spec.metric, limit=spec.limit)
                hist = lane.engine.histogram(spec.query, whole, buckets=buckets, now=now)
        except QueryError as exc:
            return data.PaneResult(spec, [], [], 0.0, label, error=f"bad query at {exc.start + 1}: {exc.message}")
        except FlowtuiError as exc:
            return data.PaneResult(spec, [], [], 0.0, label, error=str(exc))
        rate, width = data._rate(hist, spec.metric)
        return data.PaneResult(spec, data._pane_rows(spec, top), rate, width, label)

    data.DataSource.marker = marker  # type: ignore[method-assign]
    data.DataSource.pane = pane  # type: ignore[method-assign]


async def run_app(db: Path, payload_file: Path, rate: float, presses: int, keys: list[str]) -> None:
    from flowtui.config import Config
    from flowtui.store import Store
    from flowtui.ui.app import FlowtuiApp

    Store(db).close()  # the app opens it read-only
    app = FlowtuiApp(db, Config({"ui": {"refresh": 1}}))
    async with app.run_test(size=(160, 48)) as pilot:
        deadline = time.monotonic() + 30
        while app.refresh_count < 1 and time.monotonic() < deadline:
            await pilot.pause(0.1)
        producer = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--produce", str(db), str(payload_file), str(rate),
            stdout=asyncio.subprocess.PIPE,
        )
        latencies: list[float] = []
        refreshes = app.refresh_count
        for i in range(presses):
            if producer.returncode is not None:
                break
            key = keys[i % len(keys)]
            t = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            latencies.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.2)
        out, _ = await producer.communicate()
        stored, took, producer_rss = out.decode().split()
        refreshes = app.refresh_count - refreshes
        ui_rss = _rss_mb()
        print(f"ingest: {int(stored):,} records in {float(took):.1f} s = {int(stored) / float(took):,.0f} records/s"
              f" (asked {rate:,.0f}); peak RSS {float(producer_rss):.0f} MB")
        if latencies:
            q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) >= 2 else latencies * 99
            print(f"key press to idle, {len(latencies)} presses during ingest: median {statistics.median(latencies):.1f} ms,"
                  f" p99 {q[98]:.1f} ms, max {max(latencies):.1f} ms ({refreshes} pane refreshes meanwhile)")
        print(f"dashboard RSS {ui_rss:.0f} MB (peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB);"
              f" together with ingest (peaks): {ui_rss + float(producer_rss):.0f} MB")
        await pilot.pause(5)  # the last flows make it to the panes
        cpu0, t0 = time.process_time(), time.monotonic()
        await asyncio.sleep(30)
        cpu = (time.process_time() - cpu0) / (time.monotonic() - t0) * 100
        print(f"idle dashboard (nothing arriving, refresh every 1 s): {cpu:.1f} % of a core")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--produce":
        produce(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=50_000)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--presses", type=int, default=200)
    ap.add_argument("--db", type=Path, help="store to ingest into (default: a new one in a temporary directory)")
    ap.add_argument("--keys", default="space", help="keys pressed in turn (default space: pause and resume)")
    ap.add_argument("--proposed", action="store_true", help="with the UI changes propose_ui_changes() describes")
    args = ap.parse_args()
    if args.proposed:
        propose_ui_changes()
        print("with the proposed UI changes (whole-minute pane windows, a two-probe change marker)")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "dash.db"
        payloads = Path(tmp) / "payloads.bin"
        t = time.perf_counter()
        n = write_payloads(payloads, int(args.rate * args.seconds), int(time.time()), args.seconds)
        print(f"{n:,} payloads ({int(args.rate * args.seconds):,} records) generated in {time.perf_counter() - t:.0f} s")
        os.environ.setdefault("TZ", "UTC")
        asyncio.run(run_app(db, payloads, args.rate, args.presses, args.keys.split(",")))


if __name__ == "__main__":
    main()
