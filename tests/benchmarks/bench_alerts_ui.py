"""What the dashboard's alerts cost: the once-a-second look (badge and new firings) and the list.

The look runs every second whatever the user does, so it has to stay small
however many firings a store has gathered: it is an existence check, max(id)
and a count of the unacknowledged. The list (the alerts screen) reads the
newest 200 firings and the mutes. Firings here carry 1000 flow ids each, the
most the evaluator keeps, so the list's JSON decoding is at its worst.
Run it by hand:

    python tests/benchmarks/bench_alerts_ui.py [--firings 1000,10000,100000] [--repeat 5] [--without-index]

Not collected by pytest: timings on a shared machine are too noisy to assert on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flowtui.alerts.firings import AlertLog, Firing
from flowtui.store import Store
from flowtui.ui.alert_data import alert_list, alert_state
from flowtui.ui.data import DataSource

T0 = 1_795_773_600
IDS_PER_FIRING = 1000


def build(path: Path, firings: int) -> None:
    """``firings`` firings of five rules over many groups, one in ten acknowledged."""
    with Store(path) as store:
        log = AlertLog(store)
        log.ensure()
        ids = list(range(1, IDS_PER_FIRING + 1))
        with store.transaction():
            for i in range(firings):
                f = Firing(
                    rule=f"rule-{i % 5}", group={"src_addr": f"198.51.{i // 256 % 256}.{i % 256}"}, value=25 + i % 50,
                    window_start=T0 + 60 * i, window_end=T0 + 60 * i + 300, fired_at=T0 + 60 * i + 301,
                    flow_ids=ids, condition="distinct(dst_port) > 20", query="action:REJECT", flows=IDS_PER_FIRING,
                )
                _insert(store, f, acknowledged=i % 10 == 0)


def _insert(store: Store, f: Firing, acknowledged: bool) -> None:
    """AlertLog.record commits each firing on its own; a benchmark store is built in one transaction."""
    store.conn.execute(
        "INSERT INTO alerts (rule, group_key, value, fired_at, window_start, window_end, flow_ids, acknowledged,"
        " condition, query, flows) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (f.rule, json.dumps(f.group), f.value, f.fired_at, f.window_start, f.window_end,
         json.dumps(f.flow_ids), int(acknowledged), f.condition, f.query, f.flows),
    )


def timed(fn: Callable[[], object], repeat: int, inner: int) -> list[float]:
    """Milliseconds per call, ``repeat`` samples of ``inner`` calls each."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        out.append((time.perf_counter() - t0) / inner * 1000)
    return out


def measure(path: Path, repeat: int) -> tuple[list[float], ...]:
    """The look with nothing new and with three new firings; the list, all and unacknowledged only."""
    data = DataSource(path, time.time)
    try:
        state = alert_state(data, None)
        assert state is not None
        seen = state.newest_id
        return (
            timed(lambda: alert_state(data, seen), repeat, 50),
            timed(lambda: alert_state(data, seen - 3), repeat, 50),
            timed(lambda: alert_list(data, False, time.time()), repeat, 5),
            timed(lambda: alert_list(data, True, time.time()), repeat, 5),
        )
    finally:
        data.close()


def idle_cpu(path: Path, seconds: float, look: bool) -> float:
    """Percent of a core the headless dashboard uses over ``seconds`` with nothing arriving."""
    import asyncio

    from flowtui.config import Config
    from flowtui.ui import alert_watch
    from flowtui.ui.app import FlowtuiApp

    alert_watch.POLL_SECONDS = 1.0 if look else 1e9  # without: one look at start, then none

    async def run() -> float:
        app = FlowtuiApp(path, Config({"ui": {"refresh": 1}}))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(3)  # settle: first refresh, lanes open
            t0, c0 = time.monotonic(), time.process_time()
            await pilot.pause(seconds)
            return (time.process_time() - c0) / (time.monotonic() - t0) * 100

    return asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firings", default="1000,10000,100000", help="comma-separated store sizes")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--idle", type=float, default=0, metavar="SECONDS",
                    help="also: the idle dashboard's CPU over SECONDS on the last store, its alert look every second and not")
    ap.add_argument("--without-index", action="store_true",
                    help="drop alerts_unacknowledged first: a store no writer has opened since the index came")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.firings.split(",")):
            path = Path(tmp) / f"alerts-{n}.db"
            t0 = time.perf_counter()
            build(path, n)
            built = time.perf_counter() - t0
            if args.without_index:
                with Store(path) as store:
                    store.conn.execute("DROP INDEX alerts_unacknowledged")
            look, fresh, listed, unacked = measure(path, args.repeat)

            def show(xs: list[float]) -> str:
                return f"{statistics.median(xs):.2f} ms ({min(xs):.2f}–{max(xs):.2f})"

            print(f"{n:>7,} firings (built in {built:.1f} s, {path.stat().st_size / 1e6:.0f} MB)")
            print(f"  look, nothing new         {show(look)}")
            print(f"  look, 3 new firings       {show(fresh)}")
            print(f"  list, newest 200          {show(listed)}")
            print(f"  list, unacknowledged 200  {show(unacked)}")
            if args.idle:
                on, off = idle_cpu(path, args.idle, True), idle_cpu(path, args.idle, False)
                print(f"  idle dashboard, {args.idle:g} s: {on:.2f} % of a core with the look, {off:.2f} % without")


if __name__ == "__main__":
    main()
