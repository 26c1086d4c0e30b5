"""Alerts where nobody watches: `flowtui tail --no-ui` (moto's Kinesis) and the demo job evaluate the rules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import pytest

from flowtui.alerts import AlertLog
from flowtui.cli import main
from flowtui.demo import DemoSource
from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Store
from flowtui.worker import run_job
from tests.alerts_helpers import T0, http_server
from tests.aws_server import moto_server  # noqa: F401 - the fixture
from tests.tail_helpers import REGION, payload


def _line(src: str, port: int, start: int = T0) -> str:
    return f"2 123456789012 eni-0a1b2c3d4e5f60718 {src} 10.0.1.10 40000 {port} 6 1 40 {start} {start + 60} REJECT OK"


def test_tail_no_ui_fires_and_notifies(moto_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    kinesis = boto3.client("kinesis", endpoint_url=moto_server, region_name=REGION)
    kinesis.create_stream(StreamName="flows", ShardCount=1)
    scan = [_line("203.0.113.9", port) for port in range(1, 26)]
    quiet = [_line("192.0.2.7", 22) for _ in range(30)]
    kinesis.put_records(StreamName="flows", Records=[
        {"Data": payload(quiet, first_id=0), "PartitionKey": "a"},
        {"Data": payload(scan, first_id=100), "PartitionKey": "b"},
    ])
    db = tmp_path / "flows.db"
    with http_server() as srv:
        cfg = tmp_path / "flowtui.toml"
        cfg.write_text(f"""
[[alerts]]
name = "port-scan"
query = "action:REJECT"
window = "1m"
condition = "distinct(dst_port) > 20"
group_by = ["src_addr"]
notifiers = ["siem"]

[notifiers.siem]
type = "webhook"
url = "{srv.url}/hook/secret-token"
""")
        code = main(["tail", "--stream", "flows", "--endpoint-url", moto_server, "--region", REGION, "--db", str(db),
                     "--until-caught-up", "--no-ui", "--config", str(cfg)])
        assert code == 0
        (body,) = srv.bodies()  # delivered before tail returned
    with Store(db) as store:
        (firing,) = AlertLog(store).recent()
        status = next(r for r in store.statuses() if r["source"] == "alerts:siem")
    assert (firing.id, firing.rule, firing.group, firing.value, firing.flows) == (1, "port-scan", {"src_addr": "203.0.113.9"}, 25, 25)
    assert (firing.window_start, firing.window_end, firing.flow_ids) == (T0, T0 + 60, list(range(31, 56)))
    assert body == firing.to_json()
    assert status["state"] == "ok"
    assert "secret-token" not in capsys.readouterr().err


def test_tail_refuses_a_bad_rule_in_one_sentence(moto_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    boto3.client("kinesis", endpoint_url=moto_server, region_name=REGION).create_stream(StreamName="flows", ShardCount=1)
    cfg = tmp_path / "flowtui.toml"
    cfg.write_text('[[alerts]]\nname = "web"\nquery = "dst_port:80"\ncondition = "count > many"\n')
    code = main(["tail", "--stream", "flows", "--endpoint-url", moto_server, "--region", REGION,
                 "--db", str(tmp_path / "flows.db"), "--until-caught-up", "--no-ui", "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"flowtui: {cfg}: [[alerts]] 'web': condition 'count > many' does not parse" in err
    assert "Traceback" not in err


def test_the_demo_runs_the_example_rules(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    run_job(DemoSource(seed=1, rate=100, duration=5, start_at=T0, backfill=120), db)
    with Store(db) as store:
        firings = AlertLog(store).recent(limit=None)
        engine = QueryEngine(store)
        assert {"ec2-direct", "db-egress", "threat-match"} <= {f.rule for f in firings}
        for f in firings:  # every firing's ids are flows its rule and group match in its window
            window = TimeWindow(f.window_start, f.window_end)
            matching = engine.ids(f.drilldown_query(), window)
            assert f.flow_ids and set(f.flow_ids) <= set(matching), f.summary()
            assert f.flows == len(f.flow_ids) <= len(matching)


def test_the_demo_job_notifies_through_a_command(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    out = tmp_path / "firings.jsonl"
    script = f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read() + '\\n')"
    alerts = {
        "alerts": [{"name": "threats", "query": "dst_addr_threat_indicated:true", "window": "5m",
                    "condition": "count > 0", "group_by": ["dst_addr"], "notifiers": ["log"]}],
        "notifiers": {"log": {"type": "command", "command": [sys.executable, "-c", script]}},
    }
    run_job(DemoSource(seed=1, rate=100, duration=5, start_at=T0, backfill=120, alerts=alerts), db)
    with Store(db) as store:
        firings = AlertLog(store).recent(limit=None)
    delivered = [json.loads(line) for line in out.read_text().splitlines()]
    assert firings and sorted(delivered, key=lambda d: d["id"]) == [f.to_json() for f in reversed(firings)]
