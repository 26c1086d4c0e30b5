"""flowtui demo: a synthetic AWS environment through the real pipeline, every pane filled, deterministic."""

from __future__ import annotations

import gzip
import ipaddress
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowtui.demo import environment, generate_lines, generate_payloads
from flowtui.demo.environment import EXTERNAL_NETWORKS, demo_config, load_environment
from flowtui.store import Store
from flowtui.ui.who import entity_label

ROOT = Path(__file__).resolve().parents[1]
FIXED_START = 1_767_225_600  # 2026-01-01T00:00:00Z
DOC_RANGES = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]

# One row per flow: the flow's own columns decoded, and both addresses' enrichment.
_FLOWS_SQL = """
SELECT f.start, f.duration, f.src_port, f.dst_port, f.protocol_number, f.packets, f.bytes,
       act.value AS action, ls.value AS log_status, iface.value AS interface_id,
       s.ip AS src, s.internal AS src_internal, s.entity AS src_entity, s.entity_aws_type AS src_type,
       s.country_code AS src_cc, s.threat_indicated_by AS src_threat,
       d.ip AS dst, d.internal AS dst_internal, d.entity AS dst_entity, d.entity_aws_type AS dst_type,
       d.country_code AS dst_cc, d.threat_indicated_by AS dst_threat
FROM flows f
LEFT JOIN strings act ON act.id = f.action
LEFT JOIN strings ls ON ls.id = f.log_status
LEFT JOIN strings iface ON iface.id = f.interface_id
LEFT JOIN addrs s ON s.id = f.src_addr
LEFT JOIN addrs d ON d.id = f.dst_addr
"""


def flowtui(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)])))
    return subprocess.run(
        [sys.executable, "-m", "flowtui", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def run_demo(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return flowtui("demo", "--no-ui", "--db", str(db), *args)


def all_flows(db: Path) -> list[dict[str, Any]]:
    with Store(db, readonly=True) as store:
        cur = store.conn.execute(_FLOWS_SQL + " ORDER BY f.id")
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row)) for row in cur]


class DemoRun:
    def __init__(self, db: Path, result: subprocess.CompletedProcess[str], launched: float, ended: float) -> None:
        self.db, self.result, self.launched, self.ended = db, result, launched, ended
        self.flows = all_flows(db)

    def where(self, **conditions: Any) -> list[dict[str, Any]]:
        def ok(row: dict[str, Any]) -> bool:
            for key, want in conditions.items():
                have = row[key]
                if callable(want):
                    if not want(have):
                        return False
                elif have != want:
                    return False
            return True

        return [r for r in self.flows if ok(r)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    launched = time.time()
    result = run_demo(db, "--duration", "3", "--seed", "7", "--rate", "100")
    ended = time.time()
    assert result.returncode == 0, result.stderr
    yield DemoRun(db, result, launched, ended)


# --------------------------------------------------------------------------- the command


def test_demo_exits_0_with_a_one_line_summary(demo: DemoRun) -> None:
    lines = demo.result.stdout.strip().splitlines()
    assert lines[0] == f"demo store: {demo.db}"
    assert len(lines) == 2
    stored = len(demo.flows)
    rejects = sum(1 for f in demo.flows if f["action"] == "REJECT")
    assert lines[1].startswith(
        f"demo:7: {stored:,} flows stored, {rejects:,} of them REJECT, 0 rejected to dead letters, "
    )
    assert lines[1].endswith(" s elapsed")
    assert 90_000 <= stored <= 90_600  # 15 minutes of backfill as dense as live traffic, then 3 s at 100/s
    assert demo.result.stderr == ""


def test_status_row_says_finished_and_position_is_the_last_second(demo: DemoRun) -> None:
    with Store(demo.db, readonly=True) as store:
        (status,) = store.statuses()
        last = max(f["start"] + f["duration"] for f in demo.flows)
        assert store.checkpoint("demo:7") == str(last)
        assert store.dead_letter_count() == 0
    assert (status["source"], status["state"], status["errors"]) == ("demo:7", "finished", 0)
    assert status["detail"] == "synthetic traffic, seed 7, 100 records/s"


def test_flow_times_follow_the_wall_clock_with_a_15_minute_backfill(demo: DemoRun) -> None:
    ends = [f["start"] + f["duration"] for f in demo.flows]
    # The demo starts some time after the command is launched (interpreter start-up
    # on a loaded machine can take seconds): its backfill begins 900 s before that.
    first = min(ends)
    assert int(demo.launched) - 900 <= first <= int(demo.ended) - 900
    started = first + 900
    assert started + 2 <= max(ends) <= int(demo.ended)
    live = [e for e in ends if e >= started]
    assert 280 <= len(live) <= 450  # 3 s at 100 records/s (+ one of every scenario)


def test_records_arrive_as_cloudwatch_payloads_per_eni_stream(demo: DemoRun) -> None:
    with Store(demo.db, readonly=True) as store:
        origins = store.conn.execute("SELECT log_group, log_stream, kinesis_stream, owner FROM origins").fetchall()
        per_origin = dict(store.conn.execute("SELECT origin, count(*) FROM flows GROUP BY origin").fetchall())
    assert None not in per_origin
    env = load_environment()
    assert sorted(origins) == sorted(
        ("/vpc/flow-logs/demo", f"{i.eni_id}-all", None, "123456789012") for i in env.interfaces
    )


# --------------------------------------------------------------------------- enrichment of the environment


def test_the_shipped_inventory_is_classified_exactly(demo: DemoRun) -> None:
    with Store(demo.db, readonly=True) as store:
        rows = store.conn.execute(
            "SELECT DISTINCT ip, internal, entity, entity_description, entity_aws_type, country_code FROM addrs"
            " WHERE entity IS NOT NULL"
        ).fetchall()
    got = {ip: (internal, entity, desc, kind, cc) for ip, internal, entity, desc, kind, cc in rows}
    alb = ("elb:front-alb", "ELB app/front-alb/50dc6c495c0c9188", "ELB")
    expected = {
        "10.0.0.45": alb,
        "10.0.1.172": alb,
        "2a05:d018:1c4:3a00:9c1e:52b0:4d7a:e1f3": alb,
        "2a05:d018:1c4:3a01:3b77:c2d4:81e0:5a6c": alb,
        "10.0.0.21": ("ec2:i-04a7c1e9d2b3f5a61", "web-1", "EC2"),
        "2a05:d018:1c4:3a00:1c4b:7e2a:90d3:a021": ("ec2:i-04a7c1e9d2b3f5a61", "web-1", "EC2"),
        "10.0.1.22": ("ec2:i-0b8e2f4a6c1d3e5f7", "web-2", "EC2"),
        "2a05:d018:1c4:3a01:6f3a:d1c8:2b94:e022": ("ec2:i-0b8e2f4a6c1d3e5f7", "web-2", "EC2"),
        "10.0.0.23": ("ec2:i-0c9f3a5b7d2e4f6a8", "web-3", "EC2"),
        "2a05:d018:1c4:3a00:a7d2:3e61:c05b:9023": ("ec2:i-0c9f3a5b7d2e4f6a8", "web-3", "EC2"),
        "10.0.0.10": ("ec2:i-0f1e2d3c4b5a69788", "bastion", "EC2"),
        "10.0.10.37": ("ec2:i-06d2c8e4a0b6f1d39", "reports-worker", "EC2"),
        "10.0.11.99": ("ec2:i-0badc0ffee0ddf00d", "[bold red]x[/", "EC2"),
        "10.0.20.58": ("rds:orders-db", "orders-db", "RDS"),  # named from describe-db-instances.json
        "10.0.0.200": ("nat:nat-0a1b2c3d4e5f60718", "Interface for NAT Gateway nat-0a1b2c3d4e5f60718", "NAT"),
        "10.0.11.140": (
            "lambda:orders-worker",
            "AWS Lambda VPC ENI-orders-worker-6f1d3c2a-9b8e-4d7f-a1c2-3e4f5a6b7c8d",
            "LAMBDA",
        ),
        "10.0.10.250": ("vpce:vpce-0e5d4c3b2a1f09876", "VPC Endpoint Interface vpce-0e5d4c3b2a1f09876", "VPCE"),
    }
    assert got == {ip: (1, *entity, None) for ip, entity in expected.items()}


def test_a_name_tag_with_markup_is_stored_verbatim(demo: DemoRun) -> None:
    with Store(demo.db, readonly=True) as store:
        (count,) = store.conn.execute(
            "SELECT count(*) FROM flows f JOIN addrs a ON a.id IN (f.src_addr, f.dst_addr)"
            " WHERE a.entity_description = ?",
            ("[bold red]x[/",),
        ).fetchone()
    assert count > 0


def test_the_vpc_resolver_is_internal_without_an_entity(demo: DemoRun) -> None:
    dns = demo.where(dst="10.0.0.2", dst_port=53, protocol_number=17)
    assert dns and all(f["dst_internal"] == 1 and f["dst_entity"] is None and f["dst_cc"] is None for f in dns)


def test_outside_addresses_get_the_geoip_answers_of_their_block(demo: DemoRun) -> None:
    with Store(demo.db, readonly=True) as store:
        rows = store.conn.execute(
            "SELECT ip, internal, geolocation, country_code, city_name, as_number, as_organization FROM addrs"
            " WHERE ip IS NOT NULL AND internal = 0"
        ).fetchall()
    assert len(rows) > 50
    seen_roles = set()
    for ip, internal, geolocation, cc, city, asn, org in rows:
        net = next(n for n in EXTERNAL_NETWORKS if ipaddress.ip_address(ip) in ipaddress.ip_network(n.cidr))
        seen_roles.add(net.role)
        assert (geolocation, cc, city, asn, org) == (
            f"{net.latitude},{net.longitude}",
            net.country_code,
            net.city,
            net.as_number,
            net.as_organization,
        ), ip
    assert seen_roles == {"client", "office", "scanner", "service", "tor", "spamhaus", "exfil"}
    by_ip = {r[0]: r[3] for r in rows}
    assert (by_ip["192.0.2.66"], by_ip["198.51.100.23"], by_ip["203.0.113.200"], by_ip["2001:db8:70::77"]) == (
        "NL",
        "RU",
        "SC",
        "NL",
    )


# --------------------------------------------------------------------------- the scenarios, one per pane


def test_web_traffic_goes_internet_to_alb_to_web_instances(demo: DemoRun) -> None:
    inbound = demo.where(src_internal=0, dst_entity="elb:front-alb", dst_port=443, action="ACCEPT")
    to_web = demo.where(src_entity="elb:front-alb", dst_port=80, dst_type="EC2", action="ACCEPT")
    assert len(inbound) > 500 and any(":" in f["src"] for f in inbound)
    assert {f["dst_entity"] for f in to_web} == {
        "ec2:i-04a7c1e9d2b3f5a61",
        "ec2:i-0b8e2f4a6c1d3e5f7",
        "ec2:i-0c9f3a5b7d2e4f6a8",
    }


def test_outside_clients_reach_an_instance_on_443_bypassing_the_load_balancer(demo: DemoRun) -> None:
    direct = demo.where(src_internal=0, dst_type="EC2", dst_port=443, action="ACCEPT")
    assert direct
    assert {f["src_cc"] for f in direct} <= {n.country_code for n in EXTERNAL_NETWORKS if n.role == "client"}
    assert any(":" in f["dst"] for f in direct) and any("." in f["dst"] for f in direct)


def test_ssh_and_rdp_scanners_are_rejected(demo: DemoRun) -> None:
    scans = demo.where(src_internal=0, action="REJECT", dst_internal=1)
    ports = {f["dst_port"] for f in scans}
    assert {22, 3389} <= ports
    assert not demo.where(src_internal=0, dst_port=3389, action="ACCEPT")
    # SSH from outside is accepted only from the office, and only on the bastion.
    ssh_in = demo.where(src_internal=0, dst_port=22, action="ACCEPT")
    assert ssh_in and {f["dst_entity"] for f in ssh_in} == {"ec2:i-0f1e2d3c4b5a69788"}
    assert {f["src_cc"] for f in ssh_in} == {"GB"}


def test_the_database_sends_data_to_an_outside_address(demo: DemoRun) -> None:
    out = demo.where(src_type="RDS", dst_internal=0)
    assert out
    assert {(f["src_entity"], f["dst"], f["dst_port"], f["dst_cc"]) for f in out} == {
        ("rds:orders-db", "203.0.113.200", 443, "SC")
    }
    assert all(f["bytes"] >= 2_000_000 for f in out if f["src_type"] == "RDS")


def test_beacons_to_tor_exits_and_spamhaus_blocks_are_threat_matches(demo: DemoRun) -> None:
    tor = demo.where(dst_threat="tor")
    spamhaus = demo.where(dst_threat="spamhaus")
    assert {f["dst"] for f in tor} == {"192.0.2.66", "192.0.2.77", "2001:db8:70::77"}
    assert {f["src_entity"] for f in tor} == {"ec2:i-06d2c8e4a0b6f1d39", "ec2:i-0c9f3a5b7d2e4f6a8"}
    assert {(f["dst"], f["dst_port"], f["src_entity"]) for f in spamhaus} == {
        ("198.51.100.23", 8443, "ec2:i-06d2c8e4a0b6f1d39")
    }
    inbound = demo.where(src_threat="spamhaus", dst_internal=1, action="REJECT")
    assert {f["src"] for f in inbound} <= {"198.51.100.87", "2001:db8:bad::15"} and inbound
    # Replies carry the same match on the source side.
    assert {f["src"] for f in demo.where(src_threat="tor")} == {"192.0.2.66", "192.0.2.77", "2001:db8:70::77"}
    # Nothing else is on a list.
    listed = {f["src"] for f in demo.flows if f["src_threat"]} | {f["dst"] for f in demo.flows if f["dst_threat"]}
    assert all(any(ipaddress.ip_address(a) in net for net in DOC_RANGES) for a in listed)


def test_nat_gateway_carries_instances_to_outside_services(demo: DemoRun) -> None:
    nat = demo.where(interface_id="eni-0d1f3b5a7c9e2d4f6")
    assert {f["src_entity"] for f in nat if f["src_internal"]} >= {
        "nat:nat-0a1b2c3d4e5f60718",
        "ec2:i-04a7c1e9d2b3f5a61",
    }
    assert {f["dst_cc"] for f in nat if f["dst_internal"] == 0} == {"DE", "US"}


def test_nodata_and_skipdata_records_come_now_and_then(demo: DemoRun) -> None:
    gaps = demo.where(log_status=lambda s: s in ("NODATA", "SKIPDATA"))
    assert {f["log_status"] for f in gaps} == {"NODATA", "SKIPDATA"}
    assert all(f["src"] is None and f["action"] is None and f["bytes"] is None for f in gaps)


# --------------------------------------------------------------------------- determinism


def _comparable(db: Path) -> list[tuple[Any, ...]]:
    return sorted(tuple(f.values()) for f in all_flows(db))


def test_the_same_seed_gives_the_same_records(tmp_path: Path) -> None:
    args = ("--duration", "2", "--rate", "50", "--start-at", str(FIXED_START))
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    for db in (a, b):
        result = run_demo(db, *args, "--seed", "11")
        assert result.returncode == 0, result.stderr
    first, second = _comparable(a), _comparable(b)
    assert first == second
    assert 45_100 <= len(first) <= 45_160  # 15 min, then 2 s, at 50/s (+ one of every scenario)
    assert max(f[0] + f[1] for f in first) == FIXED_START + 1  # the 2 live seconds end at start+1


# --------------------------------------------------------------------------- bulk generation


def test_generate_lines_is_fast_exact_and_deterministic() -> None:
    t0 = time.perf_counter()
    lines = list(generate_lines(50_000, 5, FIXED_START, FIXED_START + 600))
    assert time.perf_counter() - t0 < 2.0
    assert len(lines) == 50_000
    assert lines == list(generate_lines(50_000, 5, FIXED_START, FIXED_START + 600))
    assert lines != list(generate_lines(50_000, 6, FIXED_START, FIXED_START + 600))
    starts = [int(line.split()[10]) for line in lines]
    assert FIXED_START - 60 <= min(starts) and max(starts) < FIXED_START + 600
    assert all(line.startswith("2 123456789012 eni-") for line in lines)


def test_generate_payloads_are_cloudwatch_subscription_documents(tmp_path: Path) -> None:
    payloads = list(generate_payloads(3_000, 5, FIXED_START, FIXED_START + 60))
    docs = [json.loads(gzip.decompress(p)) for p in payloads]
    events = [e for d in docs for e in d["logEvents"]]
    assert len(events) == 3_000
    assert sorted(e["message"] for e in events) == sorted(generate_lines(3_000, 5, FIXED_START, FIXED_START + 60))
    assert len({e["id"] for e in events}) == 3_000
    assert all(len(e["id"]) == 56 and e["id"].isdigit() for e in events)
    assert max(len(d["logEvents"]) for d in docs) == 100
    assert sum(len(d["logEvents"]) == 100 for d in docs) >= len(docs) - len(load_environment().interfaces)
    for d in docs:
        assert d["messageType"] == "DATA_MESSAGE" and d["owner"] == "123456789012"
        assert d["logGroup"] == "/vpc/flow-logs/demo" and d["logStream"].endswith("-all")
        assert {e["message"].split()[2] for e in d["logEvents"]} == {d["logStream"].removesuffix("-all")}


def test_bulk_payloads_ingest_into_exactly_n_flows(tmp_path: Path) -> None:
    from flowtui.enrich import Enricher
    from flowtui.ingest import Pipeline

    payloads = list(generate_payloads(5_000, 9, FIXED_START, FIXED_START + 300))
    with Enricher.from_config(demo_config(), background=False) as enricher, Store(tmp_path / "bulk.db") as store:
        stats = Pipeline(store, enricher.profile).ingest_payloads(
            [(p, f"bulk#{i}") for i, p in enumerate(payloads)], "bench"
        )
        assert (stats.stored, stats.rejected, stats.duplicates) == (5_000, 0, 0)
        assert store.flow_count() == 5_000


# --------------------------------------------------------------------------- shipped data


def test_shipped_geoip_databases_agree_with_the_table() -> None:
    from flowtui.enrich.geo import GeoLookup

    geo = GeoLookup(environment.GEOIP_CITY, environment.GEOIP_ASN)
    try:
        for net in EXTERNAL_NETWORKS:
            first = next(iter(ipaddress.ip_network(net.cidr).hosts()))
            assert geo.lookup(str(first)) == (
                f"{net.latitude},{net.longitude}",
                net.country_code,
                net.city,
                net.as_number,
                net.as_organization,
            )
        assert geo.lookup("10.0.0.21") == (None, None, None, None, None)
    finally:
        geo.close()


def test_make_demo_geoip_rebuilds_the_same_bytes(tmp_path: Path) -> None:
    pytest.importorskip("mmdb_writer")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_demo_geoip.py"), str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for shipped in (environment.GEOIP_CITY, environment.GEOIP_ASN):
        assert (tmp_path / shipped.name).read_bytes() == shipped.read_bytes()


def test_bad_addresses_are_fake_documentation_ranges_only() -> None:
    from flowtui.enrich.threat import ThreatMatcher

    matcher = ThreatMatcher.from_config(demo_config())
    assert matcher.ids == ("tor", "spamhaus")
    for listed in matcher.lists:
        assert listed.entries > 0
        for iv in listed.cidrs.intervals():
            first = ipaddress.ip_address(iv.first) if iv.version == 4 else ipaddress.IPv6Address(iv.first)
            assert any(first in net for net in DOC_RANGES)
    for net in EXTERNAL_NETWORKS:
        if net.role in ("tor", "spamhaus", "exfil"):
            block = ipaddress.ip_network(net.cidr)
            assert any(block.version == doc.version and block.subnet_of(doc) for doc in DOC_RANGES)  # type: ignore[arg-type]
        else:
            assert ipaddress.ip_network(net.cidr).is_global
    for path in (environment.TOR_LIST, environment.SPAMHAUS_LIST):
        assert "FAKE" in path.read_text().splitlines()[0]


def test_the_panes_label_each_interface_of_the_demo_shortly() -> None:
    env = load_environment()
    assert {i.private_ip: entity_label(i.entity, i.name) for i in env.interfaces} == {
        "10.0.0.45": "ALB front-alb",
        "10.0.1.172": "ALB front-alb",
        "10.0.0.21": "web-1",
        "10.0.1.22": "web-2",
        "10.0.0.23": "web-3",
        "10.0.0.10": "bastion",
        "10.0.10.37": "reports-worker",
        "10.0.11.99": "[bold red]x[/",
        "10.0.20.58": "RDS orders-db",
        "10.0.0.200": "NAT nat-0a1b2c3d4e5f60718",
        "10.0.11.140": "Lambda orders-worker",
        "10.0.10.250": "VPCE vpce-0e5d4c3b2a1f09876",
    }


def test_environment_has_every_role_the_traffic_needs() -> None:
    env = load_environment()
    roles = sorted(i.role for i in env.interfaces)
    assert roles == sorted(
        ["alb", "alb", "web", "web", "web", "bastion", "worker", "stray", "rds", "nat", "lambda", "vpce"]
    )
    assert env.vpc_cidrs == ("10.0.0.0/16", "2a05:d018:1c4:3a00::/56")


# --------------------------------------------------------------------------- refusals


def test_bad_arguments_exit_2_with_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from flowtui.cli import main

    assert main(["demo", "--no-ui", "--db", str(tmp_path / "x.db"), "--rate", "0"]) == 2
    assert capsys.readouterr().err == "flowtui: --rate must be a positive number of records per second, not 0\n"
    assert main(["demo", "--no-ui", "--db", str(tmp_path / "x.db"), "--duration", "soon"]) == 2
    assert capsys.readouterr().err == "flowtui: bad --duration 'soon': use a number with s, m, h, d or w, e.g. 15m\n"
    # Under pytest standard input is not a terminal: the dashboard refuses before touching the store.
    assert main(["demo", "--db", str(tmp_path / "y.db")]) == 2
    assert (
        capsys.readouterr().err == "flowtui: the dashboard needs a terminal; use --no-ui to run the demo without one\n"
    )
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "y.db").exists()


def test_live_seconds_start_each_minute_with_a_control_message_the_pipeline_skips(tmp_path: Path) -> None:
    from flowtui.demo.source import DemoTraffic
    from flowtui.enrich import Enricher
    from flowtui.ingest import Pipeline

    traffic = DemoTraffic(seed=2, rate=100, start=FIXED_START, backfill=0)
    payloads = traffic.live(range(FIXED_START, FIXED_START + 61))
    kinds = [json.loads(gzip.decompress(p))["messageType"] for p in payloads]
    assert kinds[:2] == ["CONTROL_MESSAGE", "CONTROL_MESSAGE"] and set(kinds[2:]) == {"DATA_MESSAGE"}
    control = json.loads(gzip.decompress(payloads[0]))
    assert control["logEvents"][0]["message"] == "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."
    with Enricher.from_config(demo_config(), background=False) as enricher, Store(tmp_path / "c.db") as store:
        stats = Pipeline(store, enricher.profile).ingest_payloads([(p, str(i)) for i, p in enumerate(payloads)], "t")
    assert (stats.control_messages, stats.rejected) == (2, 0)
    assert 6_100 <= stats.stored <= 6_110  # 61 s at 100/s


@pytest.mark.parametrize(
    ("t", "now", "end", "due"),
    [
        (100, 103.5, None, range(100, 103)),  # a few seconds behind: each is made
        (100, 103.5, 102, range(100, 102)),  # not past the end of --duration
        (100, 250.2, None, range(249, 250)),  # over a minute behind: skipped to now, not burst
        # The backfill took longer than --duration and another minute: the end is behind it.
        # This was range(249, 180) (empty) and `due[-1]` an IndexError instead of the summary.
        (100, 250.2, 180, range(180, 180)),
    ],
)
def test_the_live_seconds_due_never_run_past_the_end(t: int, now: float, end: int | None, due: range) -> None:
    from flowtui.demo.source import live_seconds

    assert live_seconds(t, now, end) == due
