"""``flowtui alerts``: list, show, ack, mute, test, rules and notify, end to end through the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from flowtui.alerts import AlertEvaluator, AlertLog
from flowtui.cli import main
from flowtui.store import Store
from tests.alerts_helpers import T0, flow, http_server, rule, write

FIRED = T0 + 100.0

CONFIG = """
[[alerts]]
name = "ssh"
query = "dst_port:22"
window = "5m"
condition = "count > 1"
group_by = ["src_addr"]
cooldown = "1h"

[[alerts]]
name = "scan"
query = "action:REJECT"
window = "1m"
condition = "distinct(dst_port) >= 3"
group_by = ["src_addr"]
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store with three firings of "ssh" (ids 1-3) and flows for "scan" that never fired."""
    path = tmp_path / "flows.db"
    with Store(path) as store:
        r = rule(name="ssh", query="dst_port:22", window="5m", condition="count > 1", group_by=["src_addr"])
        ev = AlertEvaluator(store, [r], clock=lambda: FIRED).start()
        write(store, [flow(src="203.0.113.9", start=T0 + i) for i in range(3)])
        write(store, [flow(src="192.0.2.7", start=T0 + 10), flow(src="192.0.2.7", start=T0 + 11)])
        write(store, [flow(src="2001:db8::5", start=T0 + 20), flow(src="2001:db8::5", start=T0 + 21)])
        write(store, [flow(src="198.51.100.23", dport=p, start=T0 + 30) for p in (80, 443, 8080)])
        ev.close()
    return path


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "flowtui.toml"
    p.write_text(CONFIG)
    return p


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Wide tables, and no config file but the one a test names."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("FLOWTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_the_newest_first(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "alerts", "--db", str(db))
    assert code == 0
    assert out.splitlines() == [
        "ID  FIRED (UTC)          RULE  GROUP                 VALUE  WINDOW (UTC)       FLOWS  STATE",
        " 3  2026-11-27 10:01:40  ssh   src_addr=2001:db8::5      2  11-27 09:56–10:01      2  new",
        " 2  2026-11-27 10:01:40  ssh   src_addr=192.0.2.7        2  11-27 09:56–10:01      2  new",
        " 1  2026-11-27 10:01:40  ssh   src_addr=203.0.113.9      3  11-27 09:56–10:01      3  new",
    ]


def test_list_as_json_with_filters(db: Path, cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "alerts", "list", "--db", str(db), "--format", "json", "--limit", "1")
    (one,) = json.loads(out)
    assert code == 0
    assert {k: one[k] for k in ("id", "rule", "group", "value", "flow_ids", "acknowledged", "muted_until")} == {
        "id": 3, "rule": "ssh", "group": {"src_addr": "2001:db8::5"}, "value": 2, "flow_ids": [6, 7],
        "acknowledged": False, "muted_until": None,
    }
    assert run(capsys, "alerts", "list", "--db", str(db), "--config", str(cfg), "--rule", "scan")[2] == "no firings\n"
    assert run(capsys, "alerts", "list", "--db", str(db), "--since", "1h")[2] == "no firings in that time\n"  # fired in 2026


def test_show_prints_the_firing_and_its_flows(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "alerts", "show", "2", "--db", str(db))
    assert code == 0
    lines = out.splitlines()
    assert lines[:10] == [
        "firing 2: ssh: count = 2 (count > 1) for src_addr=192.0.2.7, 2026-11-27 09:56:00–10:01:00 UTC, 2 flows",
        "  rule       ssh",
        "  condition  count > 1  (value 2)",
        "  group      src_addr=192.0.2.7",
        "  query      dst_port:22",
        "  window     2026-11-27 09:56:00 – 2026-11-27 10:01:00 UTC",
        "  fired      2026-11-27 10:01:40 UTC",
        "  flows      2 (200 bytes, 4 packets); 2 ids kept",
        "  state      new",
        ("  query them flowtui query --from 2026-11-27T09:56:00Z --to 2026-11-27T10:00:59Z"
        " '(dst_port:22) AND src_addr:\"192.0.2.7\"'"),
    ]
    assert lines[10:12] == ["", "its group's flows in the window as stored now, first 2 (the firing counted 2):"]
    assert lines[12].split()[0] == "timestamp"
    assert [line.split()[0] for line in lines[13:]] == ["2026-11-27T10:00:10Z", "2026-11-27T10:00:11Z"]
    code, out, _ = run(capsys, "alerts", "show", "2", "--db", str(db), "--format", "json", "--flows", "0")
    assert json.loads(out)["drilldown_query"] == '(dst_port:22) AND src_addr:"192.0.2.7"'
    code, _, err = run(capsys, "alerts", "show", "9", "--db", str(db))
    assert (code, err) == (1, f"flowtui: no firing 9 in {db} (flowtui alerts list shows them)\n")


def test_ack(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "alerts", "ack", "1", "--db", str(db))[1] == "acknowledged 1 firing\n"
    code, out, err = run(capsys, "alerts", "ack", "2", "7", "--db", str(db))  # ids are checked first: 2 stays
    assert (code, out, err) == (1, "", f"flowtui: no firing 7 in {db}; nothing acknowledged\n")
    code, out, err = run(capsys, "alerts", "ack", "2", "7", "8", "--db", str(db))
    assert (code, out, err) == (1, "", f"flowtui: no firings 7, 8 in {db}; nothing acknowledged\n")
    with Store(db) as store:
        assert [(f.id, f.acknowledged) for f in AlertLog(store).recent()] == [(3, False), (2, False), (1, True)]
    assert run(capsys, "alerts", "ack", "1", "--db", str(db)) == (0, "firing 1 was already acknowledged\n", "")
    assert run(capsys, "alerts", "ack", "1", "2", "--db", str(db)) == (
        0, "acknowledged 1 firing\nfiring 1 was already acknowledged\n", ""
    )
    with Store(db) as store:
        assert [(f.id, f.acknowledged) for f in AlertLog(store).recent()] == [(3, False), (2, True), (1, True)]
    assert run(capsys, "alerts", "ack", "--all", "--db", str(db))[1] == "acknowledged 1 firing\n"
    assert run(capsys, "alerts", "list", "--db", str(db), "--unacked")[2] == "no firings\n"
    code, _, err = run(capsys, "alerts", "ack", "--db", str(db))
    assert code == 2 and "name the firings to acknowledge" in err


def test_mute_and_unmute(db: Path, cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = time.time()
    code, out, _ = run(capsys, "alerts", "mute", "ssh", "--for", "2h", "--db", str(db), "--config", str(cfg))
    assert code == 0 and out.startswith("muted ssh until ") and out.endswith(" UTC (2h); firings are still recorded\n")
    code, out, _ = run(capsys, "alerts", "mute", "scan", "--for", "30m", "--group", "src_addr=198.51.100.23",
                       "--db", str(db), "--config", str(cfg))
    assert code == 0 and out.startswith("muted scan for src_addr=198.51.100.23 until ")
    with Store(db) as store:
        mutes = AlertLog(store).mutes()
    assert [(m["rule"], m["group"]) for m in mutes] == [("scan", {"src_addr": "198.51.100.23"}), ("ssh", None)]
    assert before + 7200 <= mutes[1]["until"] <= time.time() + 7200
    code, _, err = run(capsys, "alerts", "mute", "nope", "--for", "1h", "--db", str(db), "--config", str(cfg))
    assert (code, err) == (2, ("flowtui: no rule named 'nope' in the config, the example rules or the stored firings;"
                              " the config's: ssh, scan; the examples: ec2-direct, db-egress, threat-match, port-scan,"
                              " reject-spike\n"))
    code, _, err = run(capsys, "alerts", "mute", "port-scn", "--for", "1h", "--db", str(db), "--config", str(cfg))
    assert (code, err) == (2, ("flowtui: no rule named 'port-scn' in the config, the example rules or the stored firings"
                              " (did you mean port-scan?)\n"))
    code, _, err = run(capsys, "alerts", "mute", "scan", "--for", "1h", "--group", "dst_port=22", "--db", str(db),
                       "--config", str(cfg))
    assert (code, err) == (2, "flowtui: --group must name each field scan groups by: src_addr\n")
    assert run(capsys, "alerts", "unmute", "ssh", "--db", str(db)) == (0, "unmuted ssh\n", "")
    assert run(capsys, "alerts", "unmute", "ssh", "--db", str(db)) == (1, "", "flowtui: ssh was not muted\n")


def test_test_shows_what_a_rule_finds_in_the_newest_window(db: Path, cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "alerts", "test", "scan", "--db", str(db), "--config", str(cfg))
    assert (code, out.splitlines()) == (0, [
        "rule scan: action:REJECT",
        "  distinct(dst_port) >= 3 over 1m, by src_addr, cool-down 15m",
        "  window 2026-11-27 10:00:00 – 2026-11-27 10:01:00 UTC",
        "would fire for 1 group:",
        "  src_addr=198.51.100.23  distinct(dst_port) = 3  3 flows, 300 bytes",
    ])
    code, out, _ = run(capsys, "alerts", "test", "ssh", "--db", str(db), "--config", str(cfg))
    assert out.splitlines()[3:] == [
        "would fire for 3 groups:",
        "  src_addr=203.0.113.9  count = 3  3 flows, 300 bytes  (cooling down since the window ending 2026-11-27 10:01:00)",
        "  src_addr=192.0.2.7  count = 2  2 flows, 200 bytes  (cooling down since the window ending 2026-11-27 10:01:00)",
        "  src_addr=2001:db8::5  count = 2  2 flows, 200 bytes  (cooling down since the window ending 2026-11-27 10:01:00)",
    ]
    code, out, _ = run(capsys, "alerts", "test", "scan", "--db", str(db), "--config", str(cfg), "--at", "2026-11-27T09:00:00Z")
    assert out.splitlines()[2:] == ["  window 2026-11-27 09:00:00 – 2026-11-27 09:01:00 UTC", "would not fire (0 groups matched the query)"]
    code, out, _ = run(capsys, "alerts", "test", "port-scan", "--db", str(db), "--config", str(cfg))
    assert out.splitlines()[0] == "rule port-scan (the example rule, not in your config): action:REJECT"
    code, _, err = run(capsys, "alerts", "test", "nope", "--db", str(db), "--config", str(cfg))
    assert (code, err) == (2, ("flowtui: no rule named 'nope' in the config or the example rules; the config's: ssh, scan;"
                              " the examples: ec2-direct, db-egress, threat-match, port-scan, reject-spike\n"))


def test_rules_and_a_bad_rule(tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "alerts", "rules", "--config", str(cfg))
    assert (code, out.splitlines()) == (0, [
        "ssh: count > 1 over 5m by src_addr; cool-down 1h; tells nobody (stored only)",
        "    dst_port:22",
        "scan: distinct(dst_port) >= 3 over 1m by src_addr; cool-down 15m; tells nobody (stored only)",
        "    action:REJECT",
    ])
    bad = tmp_path / "bad.toml"
    bad.write_text('[[alerts]]\nname = "web"\nquery = "dst_port:80 AND"\n')
    code, _, err = run(capsys, "alerts", "rules", "--config", str(bad))
    assert (code, err) == (1, (f"flowtui: {bad}: [[alerts]] 'web': bad query at character 13: 'AND' must be followed"
                              " by a term\n    dst_port:80 AND\n                ^^^\n"))


def test_notify_sends_a_test_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with http_server() as srv:
        c = tmp_path / "n.toml"
        c.write_text(f'[notifiers.chat]\ntype = "slack"\nurl = "{srv.url}/services/T/B/tok"\n')
        code, out, _ = run(capsys, "alerts", "notify", "chat", "--config", str(c))
        (body,) = srv.bodies()
    assert (code, out) == (0, f"sent a test alert through chat (slack {srv.url}/…)\n")
    assert body["text"].startswith(":rotating_light: *flowtui alert* flowtui-test: count = 1 (count &gt; 0) for src_addr=192.0.2.1")
    code, _, err = run(capsys, "alerts", "notify", "pager", "--config", str(c))
    assert (code, err) == (2, "flowtui: no [notifiers.pager] in the config\n")


def test_list_writes_value_and_flows_alike(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.db"
    with Store(path) as store:
        r = rule(name="many", query="*", window="5m", condition="count > 1000")
        ev = AlertEvaluator(store, [r], clock=lambda: FIRED).start()
        write(store, [flow(src="203.0.113.9", dport=1 + i % 60000, start=T0 + i % 60) for i in range(5602)])
        ev.close()
    code, out, _ = run(capsys, "alerts", "--db", str(path))
    assert code == 0
    assert out.splitlines() == [
        "ID  FIRED (UTC)          RULE  GROUP      VALUE  WINDOW (UTC)       FLOWS  STATE",
        " 1  2026-11-27 10:01:40  many  all flows  5,602  11-27 09:56–10:01  5,602  new",
    ]


def test_mute_takes_an_example_rule_as_test_does(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "alerts", "--db", str(db), "mute", "port-scan", "--for", "1h")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("muted port-scan until ") and lines[0].endswith(" UTC (1h); firings are still recorded")
    assert lines[1:] == ["(port-scan is an example rule: flowtui demo runs it; your config does not)"]
    with Store(db) as store:
        assert [(m["rule"], m["group"]) for m in AlertLog(store).mutes()] == [("port-scan", None)]


def test_rules_lists_and_checks_notifiers_no_rule_uses(tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg.write_text(CONFIG + '[notifiers.pager]\ntype = "command"\ncommand = ["/bin/true"]\n')
    code, out, _ = run(capsys, "alerts", "rules", "--config", str(cfg))
    assert code == 0
    assert out.splitlines()[-2:] == ["", "[notifiers.pager] command true, timeout 30 s, 4 attempts (unused: no rule tells it)"]
    cfg.write_text(CONFIG + '[notifiers.chat]\ntype = "slack"\nurl_env = "FLOWTUI_TEST_NO_SUCH_VAR"\n')
    code, out, err = run(capsys, "alerts", "rules", "--config", str(cfg))
    assert code == 1
    assert (out, err) == ("", (f"flowtui: {cfg}: [notifiers.chat]: url_env names FLOWTUI_TEST_NO_SUCH_VAR, which is not set"
                              " in the environment\n"))


def test_counts_of_one_are_singular(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One flow of one byte and one packet: '1 flow, 1 byte', never '1 flows, 1 bytes'."""
    db = tmp_path / "one.db"
    with Store(db) as store:
        r = rule(name="any-https", query="dst_port:443", window="1m", condition="count >= 1", group_by=["src_addr"])
        ev = AlertEvaluator(store, [r], clock=lambda: FIRED).start()
        write(store, [flow(src="198.51.100.23", dport=443, start=T0 + 5, nbytes=1, packets=1)])
        write(store, [flow(src="198.51.100.23", dport=22, start=T0 + 70)])  # the window closes
        ev.close()
    cfg = tmp_path / "one.toml"
    cfg.write_text(
        '[[alerts]]\nname = "any-https"\nquery = "dst_port:443"\nwindow = "1m"\ncondition = "count >= 1"\n'
        'group_by = ["src_addr"]\n\n[notifiers.pager]\ntype = "command"\ncommand = ["true"]\nretries = 0\n'
    )
    code, out, err = run(capsys, "alerts", "test", "any-https", "--db", str(db), "--config", str(cfg),
                       "--at", "2026-11-27T10:00:05Z")
    assert (code, err, out.splitlines()[3:]) == (0, "", [
        "would fire for 1 group:",
        "  src_addr=198.51.100.23  count = 1  1 flow, 1 byte  (cooling down since the window ending 2026-11-27 10:01:00)",
    ])
    lines = run(capsys, "alerts", "show", "1", "--db", str(db), "--flows", "0")[1].splitlines()
    assert lines[0] == (
        "firing 1: any-https: count = 1 (count >= 1) for src_addr=198.51.100.23, 2026-11-27 10:00:00–10:01:00 UTC, 1 flow"
    )
    assert lines[7] == "  flows      1 (1 byte, 1 packet); 1 id kept"
    assert run(capsys, "alerts", "rules", "--config", str(cfg))[1].splitlines()[-1] == (
        "[notifiers.pager] command true, timeout 30 s, 1 attempt (unused: no rule tells it)"
    )


def test_list_and_show_say_the_mute_the_dashboard_shows(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An acknowledged firing whose group is muted is 'acked, muted until 23:59' here as on the
    dashboard (was 'acked'); a mute ending on another day says its month and day."""
    day = (int(time.time()) + 60) // 86400 * 86400
    today = day + 86399  # 23:59:59 UTC
    later = 4070967480  # 2099-01-01T16:18:00Z
    with Store(db) as store:
        log = AlertLog(store)
        log.mute("ssh", today, {"src_addr": "192.0.2.7"})
        log.mute("ssh", later, {"src_addr": "2001:db8::5"})
        log.acknowledge([2])
    code, out, _ = run(capsys, "alerts", "--db", str(db))
    assert code == 0
    assert [line.split("  ")[-1] for line in out.splitlines()] == [
        "STATE", "muted until 01-01 16:18", "acked, muted until 23:59", "new",
    ]
    shown = run(capsys, "alerts", "show", "2", "--db", str(db), "--flows", "0")[1].splitlines()
    day_text = time.strftime("%Y-%m-%d", time.gmtime(day))
    assert shown[8] == f"  state      acked, muted until {day_text} 23:59:59 UTC"
    listed = json.loads(run(capsys, "alerts", "list", "--db", str(db), "--format", "json")[1])
    assert [(f["id"], f["acknowledged"], f["muted_until"], f["muted_now_until"]) for f in listed] == [
        (3, False, None, later), (2, True, None, today), (1, False, None, None),
    ]
    one = json.loads(run(capsys, "alerts", "show", "2", "--db", str(db), "--format", "json", "--flows", "0")[1])
    assert one["muted_now_until"] == today
