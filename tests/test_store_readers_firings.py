"""Alert firings and CloudTrail top read through Store.reading, on a store read without locks too.

A store in a directory its reader cannot write is read as immutable (see test_store_open and
test_store_readers). A writer that opens, commits and closes between two reads leaves no -wal
behind, so each read must look at the file first and open it again when it changed. Here each
of the alert log's reads is the first read after a write, so each must do that on its own; and
``top --source cloudtrail`` asks whether the table is there and reads it in one snapshot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from flowtui.alerts.firings import AlertLog, Firing
from flowtui.ingest import Pipeline
from flowtui.store import Store
from tests import test_store_open
from tests.cloudtrail_data import event_at, records, trail_file
from tests.query_data import T0
from tests.test_store_open import ROOT, _without_write_rights

locked_store = test_store_open.locked_store  # the fixture: the query tests' store, its file and folder read-only

GROUP = {"src_addr": "198.51.100.7"}

# One AlertLog read a round, each the first read after the test's writer added to the store.
_READER = """
import json, sys
from flowtui.alerts.firings import AlertLog
from flowtui.cloudtrail.search import TrailSearch
from flowtui.cloudtrail.top import top
from flowtui.store import Store

path, t0 = sys.argv[1], int(sys.argv[2])
store = Store(path, readonly=True)
log = AlertLog(store)
trail = TrailSearch(store)
group = {"src_addr": "198.51.100.7"}
statements = []
def traced(conn):
    conn.set_trace_callback(statements.append)
traced(store.conn)
store.on_connect.append(traced)

def trail_top():
    statements.clear()
    rows = [[r["eventName"], r["events"]] for r in top(trail, "*", None, ["eventName"])]
    return {"rows": rows, "begins": sum(s == "BEGIN" for s in statements), "immutable": store.immutable}

rounds = [
    ("exists", lambda: log.exists()),
    ("recent", lambda: [f.id for f in log.recent()]),
    ("get", lambda: log.get(3).rule),
    ("unacknowledged", lambda: log.unacknowledged()),
    ("newest_id", lambda: log.newest_id()),
    ("last_fired", lambda: log.last_fired("rejects")),
    ("mutes", lambda: [m["until"] for m in log.mutes(now=t0)]),
    ("muted_until", lambda: log.muted_until("rejects", group, now=t0)),
    ("top", trail_top),
]
print(json.dumps({"before": [log.exists(), log.recent(), log.newest_id(), trail_top()]}), flush=True)
for name, read in rounds:
    sys.stdin.readline()
    print(json.dumps({name: read()}), flush=True)
"""


def _as_owner(db: Path, write: Callable[[Store], None]) -> None:
    """What a writer run as the store's owner adds; it closes, leaving no -wal or -shm."""
    db.parent.chmod(0o755)
    db.chmod(0o644)
    with Store(db) as writer:
        write(writer)
    assert sorted(p.name for p in db.parent.iterdir()) == ["flows.db"]
    db.chmod(0o444)
    db.parent.chmod(0o555)


def _fire(n: int) -> Callable[[Store], None]:
    def write(store: Store) -> None:
        AlertLog(store).record(Firing("rejects", GROUP, 40.0 + n, T0, T0 + 3600 * n, T0 + 3600.0 * n))

    return write


def _mute(until: int) -> Callable[[Store], None]:
    return lambda store: AlertLog(store).mute("rejects", T0 + until, GROUP)


def _trail(store: Store) -> None:
    recs = [event_at(records()[i % 2], f"ev-{i:04d}", T0 + i, "203.0.113.1") for i in range(3)]
    Pipeline(store).ingest_trail_file(trail_file(recs), "trail.json.gz", "file:trail")


def test_each_alert_log_read_and_cloudtrail_top_see_what_a_writer_added_since(locked_store: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = _without_write_rights([sys.executable, "-c", _READER, str(locked_store), str(T0)])
    reader = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert reader.stdout is not None and reader.stdin is not None
    first = reader.stdout.readline()
    assert first, reader.communicate(timeout=60)[1]
    assert json.loads(first) == {"before": [False, [], 0, {"rows": [], "begins": 1, "immutable": True}]}
    first_event, second_event = records()[0]["eventName"], records()[1]["eventName"]
    rounds = [
        (_fire(1), {"exists": True}),
        (_fire(2), {"recent": [2, 1]}),
        (_fire(3), {"get": "rejects"}),
        (_fire(4), {"unacknowledged": 4}),
        (_fire(5), {"newest_id": 5}),
        (_fire(6), {"last_fired": {'{"src_addr":"198.51.100.7"}': T0 + 3600 * 6}}),
        (_mute(600), {"mutes": [T0 + 600]}),
        (_mute(900), {"muted_until": T0 + 900}),
        # Whether the table is there and its rows: one read, one look at the file.
        (_trail, {"top": {"rows": [[first_event, 2], [second_event, 1]], "begins": 1, "immutable": True}}),
    ]
    for write, expected in rounds:
        _as_owner(locked_store, write)
        reader.stdin.write("go\n")
        reader.stdin.flush()
        line = reader.stdout.readline()
        assert line, reader.communicate(timeout=60)[1]
        assert json.loads(line) == expected
    out, err = reader.communicate(timeout=60)
    assert (reader.returncode, out, err) == (0, "", "")
