"""flowtui demo makes CloudTrail calls from addresses in its traffic, one of them an outside threat match."""

from __future__ import annotations

from pathlib import Path

from flowtui.cloudtrail.search import TrailSearch
from flowtui.demo.environment import demo_config
from flowtui.demo.source import DemoTraffic
from flowtui.demo.trail import TRAIL_EVERY
from flowtui.enrich import Enricher
from flowtui.ingest import Pipeline
from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Store

START = 1_795_773_600  # 2026-11-27T10:00:00Z


def build(db: Path, seed: int = 7) -> DemoTraffic:
    traffic = DemoTraffic(seed, rate=40, start=START, backfill=300)
    enricher = Enricher.from_config(demo_config(), background=False)
    try:
        with Store(db) as store:
            pipeline = Pipeline(store, enricher.profile)
            for payloads, last in traffic.backfill():
                stats = pipeline.ingest_payloads([(p, f"demo@{last}#{n}") for n, p in enumerate(payloads)], "demo")
                assert stats.rejected == 0
    finally:
        enricher.close()
    return traffic


def test_the_demo_calls_aws_from_its_own_addresses(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    traffic = build(db)
    intruder = traffic.trail.intruder
    worker = traffic.trail.worker.private_ip
    office = traffic.trail.office
    with Store(db, readonly=True) as store:
        engine = QueryEngine(store)
        search = TrailSearch(store, engine=engine)
        payloads = 300 // TRAIL_EVERY
        total = search.count("*")
        assert payloads + 2 <= total <= payloads * 2 + 4  # one or two records a payload; the first has every caller
        sources = {r["sourceIPAddress"] for r in search.search("*", names=["sourceIPAddress"], limit=0)}
        assert sources == {intruder, worker, office, "ec2.amazonaws.com"}

        # The outside caller is a threat match in the flows, and its refused calls are CloudTrail's errors.
        assert engine.count(f'src_addr:"{intruder}" AND src_addr_threat_indicated:true') > 0
        refused = search.search(f'sourceIPAddress:"{intruder}" AND _exists_:errorCode', names=["errorCode", "userIdentity.userName"], limit=0)
        assert refused and {r["errorCode"] for r in refused} <= {"AccessDenied", "Client.UnauthorizedOperation"}
        assert {r["userIdentity.userName"] for r in refused} == {"ci-deploy"}
        assert search.count(f'sourceIPAddress:"{intruder}" AND eventName:GetCallerIdentity AND NOT _exists_:errorCode') > 0

        # The worker's calls are made under its instance role, and EC2 assumed that role for it.
        assert {r["userIdentity.userName"] for r in search.search(f'src_addr:"{worker}"', names=["userIdentity.userName"], limit=0)} == {"reports-worker-role"}
        assert search.count("userIdentity.type:AWSService AND eventName:AssumeRole AND sourceIPAddress:ec2.amazonaws.com") > 0

        # The correlation: the intruder's calls on its address page, and its flows around one of them.
        calls = search.from_address(intruder, TimeWindow(START - 300, START))
        assert calls and all(c["source"] == intruder for c in calls)
        t = calls[0]["time"]
        assert engine.count(f'src_addr:"{intruder}" OR dst_addr:"{intruder}"', TimeWindow(t - 300, t + 301)) > 0


def test_the_same_seed_makes_the_same_calls_and_flows(tmp_path: Path) -> None:
    build(tmp_path / "a.db")
    build(tmp_path / "b.db")
    rows = []
    for name in ("a.db", "b.db"):
        with Store(tmp_path / name, readonly=True) as store:
            rows.append(
                (
                    store.conn.execute("SELECT event_id, time, event_name, source_ip FROM cloudtrail ORDER BY id").fetchall(),
                    store.flow_count(),
                )
            )
    assert rows[0] == rows[1]
