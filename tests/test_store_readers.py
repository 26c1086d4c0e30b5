"""Every read of a store read without locks sees what a writer added and closed since the last read.

A store in a directory its reader cannot write is read as immutable (no locks, no -shm:
see test_store_open). A cron ``flowtui ingest`` that opens it, commits and closes between
two reads leaves no -wal behind, so each read must look at the file first and open it
again when it changed: the engine's searches, and also the CloudTrail search, the alert
firings, an alert rule's flows, the query history and what the dashboard reads (its change
marker, panes, result pages and alert list). What was cached from the old file goes with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flowtui import catalog
from flowtui.alerts.firings import AlertLog, Firing
from flowtui.ingest import Pipeline
from flowtui.query.history import QueryHistory
from flowtui.store import Batch, Part, Store
from tests import query_data, test_store_open
from tests.cloudtrail_data import event_at, records, trail_file
from tests.query_data import T0
from tests.test_store_open import ROOT, _without_write_rights

locked_store = test_store_open.locked_store  # the fixture: the query tests' store, its file and folder read-only

_READER = """
import json, sys
from pathlib import Path
from flowtui.alerts.firings import AlertLog
from flowtui.alerts.lookups import Lookups
from flowtui.alerts.reader import RuleReader
from flowtui.alerts.rules import parse_condition, Rule
from flowtui.cloudtrail.search import TrailSearch
from flowtui.query.engine import QueryEngine
from flowtui.query.history import QueryHistory
from flowtui.query.window import TimeWindow
from flowtui.store import Store
from flowtui.ui import alert_data
from flowtui.ui.data import DataSource
from flowtui.ui.panes import PaneSpec

path, t0 = sys.argv[1], int(sys.argv[2])
window = TimeWindow(t0, t0 + 3600)
store = Store(path, readonly=True)
engine = QueryEngine(store)
trail = TrailSearch(store, engine=engine)
rule = Rule("rejects", "action:REJECT", 3600, parse_condition("count > 0"), ("src_addr",))
reader = RuleReader(store, rule)
kept = RuleReader(store, Rule("to-ec2", "dst_addr_entity_aws_type:EC2", 3600, parse_condition("count > 0")), Lookups(store))
data = DataSource(Path(path), now=lambda: t0 + 3600)
pane = PaneSpec("Rejects", "action:REJECT", ("src_addr",), "flows", limit=5)


def look():
    log = AlertLog(store)
    rows = reader.in_window(t0, t0 + 3600)
    out = {
        "immutable": store.immutable,
        "count": engine.count("action:REJECT"),
        "trail": [trail.available(), trail.count("*"), trail.event("ev-0001") is not None],
        "trail_from": len(trail.from_address("203.0.113.1", window)),
        "alerts": [f.rule for f in log.recent()] if log.exists() else None,
        "history": QueryHistory(store).recent(),
        "rule_rows": [len(rows), sorted({k[0] for _, _, k, *_ in rows})],
        "kept_lookups": len(kept.between(1, 10**9)),  # its lookups' temp tables go with the old connection
        "marker": list(data.marker()),
        "pane": [[r.values[0], r.flows] for r in data.pane(pane, window).rows],
        "page": data.page("action:REJECT", window, ("timestamp", True), 0, None).total,
        "ui_alerts": [f.rule for f in alert_data.alert_list(data, False, t0 + 3600).firings],
        "ui_history": data.history(),
    }
    print(json.dumps(out), flush=True)


look()
sys.stdin.readline()
look()
"""


def _write_more(db: Path) -> None:
    """What a writer run as the owner adds: 600 flows (80 REJECT), CloudTrail events, a firing, a history entry."""
    db.parent.chmod(0o755)
    db.chmod(0o644)
    with Store(db) as writer:
        writer.write(Batch([Part(list(query_data.V2.values()) * 40, query_data.V2_PRESENT)]), enrich=query_data.enrich)
        recs = [event_at(records()[0], f"ev-{i:04d}", T0 + i, f"203.0.113.{i % 3}") for i in range(6)]
        Pipeline(writer).ingest_trail_file(trail_file(recs), "trail.json.gz", "file:trail")
        AlertLog(writer).record(Firing("rejects", {"src_addr": "198.51.100.7"}, 41.0, T0, T0 + 3600, T0 + 3600.0))
        QueryHistory(writer).add("action:REJECT")
    assert sorted(p.name for p in db.parent.iterdir()) == ["flows.db"]  # closed: no -wal, no -shm
    db.chmod(0o444)
    db.parent.chmod(0o555)


def test_every_reader_sees_what_a_writer_added_and_closed_between_two_reads(locked_store: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = _without_write_rights([sys.executable, "-c", _READER, str(locked_store), str(T0)])
    reader = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert reader.stdout is not None
    first = reader.stdout.readline()
    assert first, reader.communicate(timeout=60)[1]
    assert json.loads(first) == {
        "immutable": True,
        "count": 2,
        "trail": [False, 0, False],
        "trail_from": 0,
        "alerts": None,
        "history": [],
        "rule_rows": [2, ["198.51.100.7", "2001:db8::7"]],
        "kept_lookups": 5,
        "marker": [1, 16],
        "pane": [["198.51.100.7", 1], ["2001:db8::7", 1]],
        "page": 2,
        "ui_alerts": [],
        "ui_history": [],
    }
    _write_more(locked_store)
    out, err = reader.communicate("go\n", timeout=120)
    assert (reader.returncode, err) == (0, ""), err
    assert json.loads(out) == {
        "immutable": True,  # opened again, without locks: no writer is left
        "count": 82,  # 2 + 40 × 2
        "trail": [True, 6, True],
        "trail_from": 2,
        "alerts": ["rejects"],
        "history": ["action:REJECT"],
        "rule_rows": [82, ["198.51.100.7", "2001:db8::7"]],
        "kept_lookups": 5 + 40 * 5,
        "marker": [1, 616],
        "pane": [["198.51.100.7", 41], ["2001:db8::7", 41]],
        "page": 82,
        "ui_alerts": ["rejects"],
        "ui_history": ["action:REJECT"],
    }


_READ_NAMES = """
import json, sys
from flowtui.query.engine import QueryEngine
from flowtui.store import Store

store = Store(sys.argv[1], readonly=True)
engine = QueryEngine(store)


def look():
    top = engine.top("*", None, by=["interface_id"], metric="flows", limit=3)
    out = {
        "top": [[r["interface_id"], r["flows"]] for r in top if not r["other"]],
        "web": engine.count("interface_id:eni-web"),
        "front": engine.count("interface_id:eni-front"),
        "newest": [r["interface_id"] for r in engine.search("*", fields=["interface_id"], limit=2)],
    }
    print(json.dumps(out), flush=True)


look()
sys.stdin.readline()
look()
"""


def test_what_was_read_from_a_store_replaced_since_is_read_again(locked_store: Path, tmp_path: Path) -> None:
    """The file is replaced by another store (a backup restored, a demo store made again): its
    strings have the ids the old one's had, so nothing the reader kept by id may stay."""
    at = catalog.RECORD_INDEX["interface_id"]
    renamed = {"eni-web": "eni-front", "eni-db": "eni-orders"}
    other = tmp_path / "other.db"
    with Store(other) as writer:
        flows = [(*r[:at], renamed.get(r[at], r[at]), *r[at + 1 :]) for r in query_data.V2.values()]
        writer.write(Batch([Part(flows, query_data.V2_PRESENT)]), enrich=query_data.enrich)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = _without_write_rights([sys.executable, "-c", _READ_NAMES, str(locked_store)])
    reader = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert reader.stdout is not None
    first = reader.stdout.readline()
    assert first, reader.communicate(timeout=60)[1]
    assert json.loads(first) == {
        "top": [["eni-web", 9], ["eni-app", 2], ["eni-db", 2]],
        "web": 9,
        "front": 0,
        "newest": ["eni-web", "eni-web"],
    }
    locked_store.parent.chmod(0o755)
    os.replace(other, locked_store)
    locked_store.chmod(0o444)
    locked_store.parent.chmod(0o555)
    out, err = reader.communicate("go\n", timeout=120)
    assert (reader.returncode, err) == (0, ""), err
    assert json.loads(out) == {
        "top": [["eni-front", 8], ["eni-app", 2], ["eni-orders", 2]],  # no custom-format flow in the new file
        "web": 0,
        "front": 8,
        "newest": ["eni-front", "eni-front"],
    }
