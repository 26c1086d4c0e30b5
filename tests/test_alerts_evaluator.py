"""Alert rules evaluated as flows are written: conditions per group, windows, cool-downs, restarts, mutes."""

from __future__ import annotations

import logging
import random
import sqlite3
from pathlib import Path

import pytest

from flowtui.alerts import AlertEvaluator, AlertLog, Firing, evaluate_window
from flowtui.alerts.defaults import DEFAULT_RULES
from flowtui.alerts.rules import Rule, parse_rule
from flowtui.ingest import Pipeline
from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Store
from tests.alerts_helpers import T0, enrich, flow, rule, write


def evaluator(store: Store, *rules: Rule) -> tuple[AlertEvaluator, list[Firing]]:
    ev = AlertEvaluator(store, list(rules)).start()
    fired: list[Firing] = []
    ev.on_fire.append(fired.append)
    return ev, fired


def summary(firings: list[Firing]) -> list[tuple[str, dict, float, int, int]]:
    return [(f.rule, f.group, f.value, f.window_start, f.window_end) for f in firings]


# --- the store hook -------------------------------------------------------------------------------


def test_a_write_reports_the_ids_it_stored_and_listeners_see_them_committed(store: Store, tmp_path: Path) -> None:
    seen: list[tuple[int | None, int | None, int]] = []

    def listener(result: object) -> None:
        other = sqlite3.connect(store.path)  # another connection: the rows must be committed
        seen.append((result.first_id, result.last_id, other.execute("SELECT count(*) FROM flows").fetchone()[0]))  # type: ignore[attr-defined]
        other.close()

    store.on_write.append(listener)
    first = write(store, [flow(), flow(), flow()])
    second = write(store, [flow(dport=23)])
    empty = write(store, [])
    assert (first.first_id, first.last_id, second.first_id, second.last_id) == (1, 3, 4, 4)
    assert (empty.first_id, empty.last_id) == (None, None)
    assert seen == [(1, 3, 3), (4, 4, 4), (None, None, 4)]


# --- conditions on exact data ---------------------------------------------------------------------


def test_count_per_group_fires_exactly_once_with_the_matching_flow_ids(store: Store) -> None:
    r = rule(name="rejects", query="action:REJECT", window="5m", condition="count > 3", group_by=["src_addr"], cooldown="1h")
    _, fired = evaluator(store, r)
    write(store, [flow(src="203.0.113.9", start=T0 + i) for i in range(3)])  # ids 1-3
    write(store, [flow(src="203.0.113.9", start=T0, action="ACCEPT")])  # id 4: not matched by the query
    assert fired == []
    write(store, [flow(src="203.0.113.9", start=T0 + 30), *[flow(src="192.0.2.7", start=T0 + 60 + i) for i in range(4)]])
    assert summary(fired) == [
        ("rejects", {"src_addr": "203.0.113.9"}, 4, T0 - 240, T0 + 60),
        ("rejects", {"src_addr": "192.0.2.7"}, 4, T0 - 180, T0 + 120),
    ]
    assert [f.flow_ids for f in fired] == [[1, 2, 3, 5], [6, 7, 8, 9]]
    assert [(f.flows, f.bytes, f.packets) for f in fired] == [(4, 400, 8), (4, 400, 8)]
    write(store, [flow(src="203.0.113.9", start=T0 + 90 + i) for i in range(5)])  # still over, cooling down
    assert len(fired) == 2
    stored = AlertLog(store).recent()
    assert [(f.id, f.rule, f.group, f.value, f.flow_ids, f.acknowledged, f.muted_until) for f in stored] == [
        (2, "rejects", {"src_addr": "192.0.2.7"}, 4, [6, 7, 8, 9], False, None),
        (1, "rejects", {"src_addr": "203.0.113.9"}, 4, [1, 2, 3, 5], False, None),
    ]


def test_sum_of_bytes_and_packets_per_group(store: Store) -> None:
    by_bytes = rule(name="big", query="*", window="1m", condition="sum(bytes) > 10000", group_by=["dst_addr"])
    by_packets = rule(name="many", query="*", window="1m", condition="sum(packets) >= 30", group_by=["dst_addr", "dst_port"])
    _, fired = evaluator(store, by_bytes, by_packets)
    write(store, [flow(dst="10.0.1.10", nbytes=6000, packets=10), flow(dst="10.0.1.11", nbytes=9000, packets=25)])
    assert fired == []
    write(store, [flow(dst="10.0.1.10", nbytes=4000, packets=10, start=T0 + 59)])
    assert fired == []  # 10000 is not > 10000
    write(store, [flow(dst="10.0.1.10", nbytes=1, packets=10, start=T0 + 1), flow(dst="10.0.1.11", nbytes=1, packets=5)])
    assert summary(fired) == [
        ("big", {"dst_addr": "10.0.1.10"}, 10001, T0, T0 + 60),
        ("many", {"dst_addr": "10.0.1.10", "dst_port": 22}, 30, T0, T0 + 60),
        ("many", {"dst_addr": "10.0.1.11", "dst_port": 22}, 30, T0, T0 + 60),
    ]


def test_distinct_ports_per_source_finds_a_port_scan(store: Store) -> None:
    scan = rule(name="port-scan", query="action:REJECT", window="1m", condition="distinct(dst_port) > 20", group_by=["src_addr"])
    _, fired = evaluator(store, scan)
    write(store, [flow(src="203.0.113.9", dport=1000 + i, start=T0 + i) for i in range(20)])
    write(store, [flow(src="203.0.113.9", dport=1000 + i, start=T0 + 30) for i in range(20)])  # the same ports again
    write(store, [flow(src="192.0.2.7", dport=22 + (i % 2), start=T0 + i) for i in range(40)])  # many flows, 2 ports
    assert fired == []
    write(store, [flow(src="203.0.113.9", dport=3389, start=T0 + 50)])
    assert summary(fired) == [("port-scan", {"src_addr": "203.0.113.9"}, 21, T0, T0 + 60)]
    assert fired[0].flows == 41


def test_a_window_slides_flows_further_apart_than_it_never_add_up(store: Store) -> None:
    r = rule(query="*", window="5m", condition="count > 3", cooldown="0s")
    _, fired = evaluator(store, r)
    write(store, [flow(start=T0), flow(start=T0 + 1)])
    write(store, [flow(start=T0 + 300), flow(start=T0 + 301)])  # the first two are out of this window
    assert fired == []
    write(store, [flow(start=T0 + 240)])  # 3 in [T0, T0+300) but not 4; 3 in [T0+60, T0+360)
    assert fired == []
    write(store, [flow(start=T0 + 30)])  # the window ending at T0+300: T0, T0+1, T0+30, T0+240
    assert summary(fired) == [("r", {}, 4, T0, T0 + 300)]


def test_cooldown_suppresses_then_lets_the_group_fire_again(store: Store) -> None:
    r = rule(query="*", window="1m", condition="count > 1", group_by=["src_addr"], cooldown="10m")
    _, fired = evaluator(store, r)
    for minute in (0, 5, 9, 10, 11):
        write(store, [flow(start=T0 + minute * 60), flow(start=T0 + minute * 60 + 1)])
    # minute 0 fires (window ends T0+60); 5 and 9 end less than 10 minutes later; 10 ends exactly 10 minutes later
    assert [f.window_end for f in fired] == [T0 + 60, T0 + 660]
    write(store, [flow(src="192.0.2.7", start=T0 + 660), flow(src="192.0.2.7", start=T0 + 661)])
    assert [f.group for f in fired] == [{"src_addr": "203.0.113.9"}] * 2 + [{"src_addr": "192.0.2.7"}]


def test_late_flows_count_within_lateness_and_are_dropped_beyond_it(store: Store) -> None:
    r = rule(query="*", window="1m", condition="count > 2", lateness="5m", cooldown="0s")
    ev, fired = evaluator(store, r)
    write(store, [flow(start=T0 + 600)])  # the rule's "now" is the newest flow: T0+10m
    write(store, [flow(start=T0 + 300), flow(start=T0 + 301)])  # 5 minutes late: still counted
    assert fired == []
    write(store, [flow(start=T0 + 302)])
    assert summary(fired) == [("r", {}, 3, T0 + 300, T0 + 360)]
    write(store, [flow(start=T0 + 100), flow(start=T0 + 101), flow(start=T0 + 102)])  # beyond lateness
    assert len(fired) == 1
    assert ev.states[0].window.late == 3


# --- the same numbers as a query over the window ----------------------------------------------------


def test_incremental_windows_equal_a_query_over_the_same_window(tmp_path: Path) -> None:
    rng = random.Random(7)
    store = Store(tmp_path / "flows.db")
    rules = [
        rule(name="count", query="action:REJECT", window="3m", condition="count > 1000000", group_by=["src_addr"]),
        rule(name="bytes", query="dst_port:[1 TO 1024]", window="2m", condition="sum(bytes) > 1e12", group_by=["dst_addr", "action"]),
        rule(name="ports", query="*", window="90s", condition="distinct(dst_port) > 1000000", group_by=["src_addr"]),
    ]
    ev, fired = evaluator(store, *rules)
    engine = QueryEngine(store)
    sources = ["203.0.113.9", "192.0.2.7", "198.51.100.23", "2001:db8::5"]
    dests = ["10.0.1.10", "10.0.1.11", "10.0.2.20"]
    t = T0
    for _ in range(25):
        batch = []
        for _ in range(rng.randrange(1, 40)):
            start = t - rng.randrange(0, 45)  # out of order, within lateness
            batch.append(flow(src=rng.choice(sources), dst=rng.choice(dests), dport=rng.choice([22, 80, 443, 3389, 8080, 5000]),
                              start=start, action=rng.choice(["ACCEPT", "REJECT"]), nbytes=rng.randrange(40, 9000),
                              packets=rng.randrange(1, 20)))
        write(store, batch, enrich)
        t += rng.randrange(0, 40)
        for st in ev.states:
            w, r = st.window, st.rule
            start, end = w.window_bounds(w.newest)
            window = TimeWindow(start, end)
            top = engine.top(r.query, window, by=list(r.group_by), metric="flows", limit=1000)
            expected = {tuple(row[g] for g in r.group_by): (row["flows"], row["bytes"], row["packets"]) for row in top}
            got = {k: v[1:] for k, v in w.totals().items()}
            assert got == expected, r.name
            values = {k: v[0] for k, v in w.totals().items()}
            if r.name == "count":
                assert values == {k: v[0] for k, v in expected.items()}
            elif r.name == "bytes":
                assert values == {k: v[1] for k, v in expected.items()}
            else:
                ports: dict[tuple, set[int]] = {}
                for row in engine.search(r.query, window, fields=["src_addr", "dst_port"], limit=0):
                    ports.setdefault((row["src_addr"],), set()).add(row["dst_port"])
                assert values == {k: len(v) for k, v in ports.items()}
            scratch = evaluate_window(store, r, end - 1)
            assert scratch is not None and (scratch.start, scratch.end) == (start, end)
            assert scratch.values == w.totals()
    assert fired == []
    assert all(len(st.window.totals()) >= 2 for st in ev.states)
    store.close()


def test_lines_through_the_pipeline_fire_like_records(store: Store) -> None:
    r = rule(name="ssh", query="dst_port:22 AND action:REJECT", window="5m", condition="count >= 3", group_by=["src_addr"])
    _, fired = evaluator(store, r)
    lines = [f"2 123456789012 eni-1 203.0.113.9 10.0.1.10 4000{i} 22 6 1 40 {T0 + i} {T0 + 60} REJECT OK" for i in range(3)]
    Pipeline(store).ingest_lines(lines, "file:x", "x")
    assert summary(fired) == [("ssh", {"src_addr": "203.0.113.9"}, 3, T0 - 240, T0 + 60)]


# --- the shipped rules -------------------------------------------------------------------------------


def test_the_example_rules_fire_on_their_traffic_and_not_on_ordinary_traffic(store: Store) -> None:
    rules = [parse_rule(t) for t in DEFAULT_RULES]
    _, fired = evaluator(store, *rules)
    ordinary = [
        flow(src="84.17.32.5", dst="10.0.3.30", dport=443, action="ACCEPT"),  # through the load balancer
        flow(src="10.0.3.30", dst="10.0.1.10", dport=443, action="ACCEPT"),
        flow(src="10.0.1.10", dst="10.0.2.20", dport=5432, action="ACCEPT"),  # web -> database
        flow(src="10.0.2.20", dst="10.0.1.10", dport=40000, action="ACCEPT"),
    ]
    write(store, ordinary, enrich)
    assert fired == []
    write(store, [flow(src="84.17.32.5", dst="10.0.1.11", dport=443, action="ACCEPT")], enrich)
    write(store, [flow(src="10.0.2.20", dst="203.0.113.9", dport=443, action="ACCEPT")], enrich)
    write(store, [flow(src="10.0.1.10", dst="198.51.100.23", dport=9001, action="ACCEPT")], enrich)
    write(store, [flow(src="192.0.2.7", dst="10.0.1.10", dport=1 + i, start=T0 + 10) for i in range(21)], enrich)
    write(store, [flow(src="192.0.2.8", dst="10.0.1.10", dport=22, start=T0 + 20) for _ in range(5001)], enrich)
    assert [(f.rule, f.group) for f in fired] == [
        ("ec2-direct", {"dst_addr": "10.0.1.11"}),
        ("db-egress", {"src_addr": "10.0.2.20", "dst_addr": "203.0.113.9"}),
        ("threat-match", {"src_addr": "10.0.1.10", "dst_addr": "198.51.100.23"}),
        ("port-scan", {"src_addr": "192.0.2.7"}),
        ("reject-spike", {}),
    ]


# --- restarts, mutes, acknowledgements ------------------------------------------------------------------


def test_a_restart_keeps_the_window_and_the_cooldowns(tmp_path: Path) -> None:
    path = tmp_path / "flows.db"
    r = rule(query="*", window="5m", condition="count > 2", group_by=["src_addr"], cooldown="1h")
    store = Store(path)
    ev, fired = evaluator(store, r)
    write(store, [flow(src="192.0.2.7"), flow(src="192.0.2.7")])
    write(store, [flow(src="203.0.113.9") for _ in range(3)])
    assert [f.group for f in fired] == [{"src_addr": "203.0.113.9"}]
    ev.close()
    store.close()

    store = Store(path)  # a new process: the window is filled from the store, cool-downs from the firings
    _, fired = evaluator(store, r)
    write(store, [flow(src="203.0.113.9", start=T0 + 60)])
    assert fired == []
    write(store, [flow(src="192.0.2.7", start=T0 + 60)])
    assert summary(fired) == [("r", {"src_addr": "192.0.2.7"}, 3, T0 - 180, T0 + 120)]
    write(store, [flow(src="198.51.100.23", start=T0 + 900)])  # the window moves on past both groups
    store.close()

    store = Store(path)  # cooling down, though no longer in the window the restart fills
    _, fired = evaluator(store, r)
    assert store.conn.execute("SELECT count(*) FROM flows WHERE start >= ?", (T0 + 600,)).fetchone()[0] == 1
    write(store, [flow(src="203.0.113.9", start=T0 + 900) for _ in range(3)])
    assert fired == []
    write(store, [flow(src="203.0.113.9", start=T0 + 3600) for _ in range(3)])
    assert summary(fired) == [("r", {"src_addr": "203.0.113.9"}, 3, T0 + 3360, T0 + 3660)]
    store.close()


def test_a_muted_rule_still_records_its_firings_but_marks_them(store: Store) -> None:
    r = rule(query="*", window="1m", condition="count > 0", group_by=["src_addr"])
    now = 1_900_000_000.0
    ev = AlertEvaluator(store, [r], clock=lambda: now).start()
    history = AlertLog(store)
    history.mute("r", now + 3600, {"src_addr": "192.0.2.7"})
    write(store, [flow(src="192.0.2.7"), flow(src="203.0.113.9")])
    muted = {tuple(f.group.values()): f.muted_until for f in history.recent()}
    assert muted == {("192.0.2.7",): now + 3600, ("203.0.113.9",): None}
    history.mute("r", now + 60)
    write(store, [flow(src="198.51.100.23")])
    assert history.recent(limit=1)[0].muted_until == now + 60
    assert [m["group"] for m in history.mutes(now)] == [None, {"src_addr": "192.0.2.7"}]
    assert history.unmute("r") is True and history.mutes(now) == []
    assert ev.firings == 3


def test_acknowledging_firings(store: Store) -> None:
    r = rule(query="*", window="1m", condition="count > 0", group_by=["src_addr"])
    evaluator(store, r)
    write(store, [flow(src="192.0.2.7"), flow(src="203.0.113.9"), flow(src="198.51.100.23")])
    history = AlertLog(store)
    assert history.unacknowledged() == 3 and history.newest_id() == 3
    assert history.acknowledge([1, 3, 99]) == [1, 3]
    assert [(f.id, f.acknowledged) for f in history.recent()] == [(3, True), (2, False), (1, True)]
    assert [f.id for f in history.recent(unacknowledged=True)] == [2]
    assert history.unacknowledged() == 1


def test_a_read_only_store_without_firings_lists_none(tmp_path: Path) -> None:
    Store(tmp_path / "flows.db").close()
    with Store(tmp_path / "flows.db", readonly=True) as ro:
        history = AlertLog(ro)
        assert (history.recent(), history.get(1), history.unacknowledged(), history.mutes()) == ([], None, 0, [])


def test_a_failing_rule_is_logged_and_ingest_goes_on(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    r = rule(query="*", window="1m", condition="count > 0")
    _, fired = evaluator(store, r)
    store.conn.execute("DROP TABLE alerts")  # firings cannot be stored any more
    with caplog.at_level(logging.ERROR, logger="flowtui.alerts"):
        result = write(store, [flow()])
    assert result.stored == 1 and store.flow_count() == 1
    assert fired == []
    assert any("rule r failed" in r.getMessage() and "no such table: alerts" in r.getMessage() for r in caplog.records)


def test_drilldown_query_finds_the_firings_flows(store: Store) -> None:
    r = rule(query="action:REJECT", window="5m", condition="count > 1", group_by=["src_addr", "dst_port"])
    _, fired = evaluator(store, r)
    write(store, [flow(src="2001:db8::5", dport=22), flow(src="2001:db8::5", dport=22), flow(src="2001:db8::5", dport=23)])
    (f,) = fired
    assert f.drilldown_query() == '(action:REJECT) AND src_addr:"2001:db8::5" AND dst_port:22'
    engine = QueryEngine(store)
    assert engine.ids(f.drilldown_query(), TimeWindow(f.window_start, f.window_end)) == f.flow_ids == [1, 2]
