"""A misspelled section or key in the config file is an error naming it, not a setting silently ignored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter

from flowtui import alerts
from flowtui.cli import main
from flowtui.config import Config, query_timeout
from flowtui.enrich.aws import AwsSettings
from flowtui.enrich.threat import ThreatSettings
from flowtui.errors import ConfigError
from flowtui.sources.spec import sources_from_config
from flowtui.store import Retention, Store

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"
FLOW = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK\n"


def _error(tmp_path: Path, text: str) -> str:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        Config.load(p)
    return str(exc.value).replace(str(tmp_path) + "/", "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[stor]\nretain = "1d"\n', "unknown section [stor] in bad.toml (did you mean [store]?)"),
        ('[store]\nretaim = "1d"\n', "unknown key 'retaim' in [store] of bad.toml (did you mean retain?)"),
        ('retain = "1d"\n', "'retain' in bad.toml is outside any section: it belongs under [store]"),
        ("timeout = 5\n", "'timeout' in bad.toml is outside any section: it belongs under [query] or [threat]"),
        ("[zzz]\n", ("unknown section [zzz] in bad.toml (known: [alerts], [enrich], [ingest], [notifiers], "
                    "[panes], [query], [sources], [store], [threat], [ui])")),
        ('[[panes]]\ntitel = "x"\n', "unknown key 'titel' in [[panes]] #1 of bad.toml (did you mean title?)"),
        ('[[threat.lists]]\nid = "x"\npaht = "a"\n',
         "unknown key 'paht' in [[threat.lists]] #1 of bad.toml (did you mean path?)"),
        ('[[enrich.accounts]]\nrole_arm = "a"\n',
         "unknown key 'role_arm' in [[enrich.accounts]] #1 of bad.toml (did you mean role_arn?)"),
        ("[ui]\nrefesh = 2\n", "unknown key 'refesh' in [ui] of bad.toml (did you mean refresh?)"),
    ],
)
def test_a_misspelled_name_is_one_sentence(tmp_path: Path, text: str, message: str) -> None:
    assert _error(tmp_path, text) == message


def test_ingest_with_a_misspelled_section_exits_1_and_stores_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[stor]\nretain = "1d"\n')
    log = tmp_path / "f.log"
    log.write_text(FLOW)
    db = tmp_path / "x.db"
    assert main(["--config", str(cfg), "ingest", "--db", str(db), str(log)]) == 1
    assert capsys.readouterr().err == f"flowtui: unknown section [stor] in {cfg} (did you mean [store]?)\n"
    assert not db.exists()


def _uncommented_example() -> str:
    """config.example.toml with every commented-out table header and setting turned on."""
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        if re.match(r'^# ?(\[|[a-z_]+ = |"[a-z._]+" = )', line):
            line = line[2:] if line.startswith("# ") else line[1:]
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_the_example_config_fully_uncommented_loads(tmp_path: Path) -> None:
    p = tmp_path / "flowtui.toml"
    p.write_text(_uncommented_example())
    config = Config.load(p)
    assert set(config.data) == {"store", "ingest", "query", "enrich", "threat", "alerts", "notifiers", "sources", "ui", "panes"}
    assert config.data["ui"]["keys"] == {"app.quit": "ctrl+q"}
    retention = Retention.from_config(config)
    assert (retention.max_age, retention.max_bytes, retention.rollup_max_age) == (7 * 86400, 20 * 2**30, 30 * 86400)
    assert query_timeout(config) == 10.0
    assert [s.id for s in ThreatSettings.from_config(config).lists] == ["spamhaus", "spamhaus_v6", "tor", "feodo", "firehol", "mine"]
    assert AwsSettings.from_config(config).regions == ("us-east-1", "eu-west-1")
    assert [s.name for s in sources_from_config(config)] == ["kinesis:vpc-flow-logs", "cwlogs:/vpc/flow-logs"]
    env = {"FLOWTUI_SLACK_WEBHOOK": "https://hooks.slack.com/services/T/B/x", "FLOWTUI_SMTP_PASSWORD": "pw",
           "FLOWTUI_SIEM_TOKEN": "t"}
    rules, _ = alerts.load(config, env)
    assert [r.name for r in rules] == ["ec2-direct", "db-egress", "threat-match", "port-scan", "reject-spike"]


def test_a_misspelled_binding_id_in_ui_keys_stops_the_dashboard_with_a_suggestion(tmp_path: Path) -> None:
    from flowtui.ui.app import FlowtuiApp

    config = Config({"ui": {"keys": {"app.quitt": "ctrl+q"}}})
    with pytest.raises(ConfigError) as exc:
        FlowtuiApp(tmp_path / "x.db", config)
    assert str(exc.value) == "[ui.keys]: no binding 'app.quitt' (did you mean app.quit?)"
    with pytest.raises(ConfigError) as exc:
        FlowtuiApp(tmp_path / "x.db", Config({"ui": {"keys": {"zzz": "x"}}}))
    assert str(exc.value) == "[ui.keys]: no binding 'zzz'; see the help screen (?) for ids"


# --- one check of the whole file, by every command that takes --config ----------------------------

BAD_VALUES = [
    ('[ui]\nrefresh = "fast"\n', "[ui] refresh must be int or float, not 'fast'"),
    ("[ui]\nrefresh = 0\n", "[ui] refresh must be a number of seconds above 0, not 0"),
    ('[ui]\nwindow = "soon"\n', "[ui] window: window 'soon' is not a duration: use e.g. 90s, 15m, 2h or 1d"),
    ('[ui]\ntimezone = "CET"\n', "[ui] timezone must be \"UTC\" or \"local\", not 'CET'"),
    ('[ui]\ntimezone = "utc"\nwindow = "15m"\n', "[ui] timezone must be \"UTC\" or \"local\", not 'utc'"),
    ("[ui]\ntimezone = 1\n", "[ui] timezone must be \"UTC\" or \"local\", not 1"),
    ('[enrich]\ninternal_cidrs = "10.0.0.0/8"\n', "[enrich] internal_cidrs must be list, not '10.0.0.0/8'"),
    ('[enrich]\ninternal_cidrs = ["10.0.0.0/33"]\n',
     "[enrich] internal_cidrs: '10.0.0.0/33' is not an address or a CIDR block such as 10.0.0.0/8"),
    ("[enrich]\ncache_size = 0\n", "[enrich] cache_size must be a whole number of addresses above 0, not 0"),
    ('[[threat.lists]]\nid = "Bad-ID"\npath = "x.txt"\n',
     "[threat] every [[threat.lists]] needs an id of lowercase letters, digits and _ (it becomes part of a field name), not 'Bad-ID'"),
    ('[[threat.lists]]\nid = "a"\npath = "x.txt"\n[[threat.lists]]\nid = "a"\npath = "y.txt"\n', "[threat] two lists have the id 'a'"),
    ('[[alerts]]\nname = "r"\nquery = "action:REJCT"\n',
     ("[[alerts]] 'r': bad query at character 8: action: 'REJCT' is not ACCEPT or REJECT (did you mean REJECT?)\n"
     "    action:REJCT\n           ^^^^^")),
    ('[[alerts]]\nname = "r"\ncondition = "count >> 0"\n',
     ("[[alerts]] 'r': condition 'count >> 0' does not parse: use count > N, sum(bytes) > N, sum(packets) > N"
     " or distinct(FIELD) > N (or >=)")),
    ('[[alerts]]\nname = "r"\nnotifiers = ["nope"]\n', "[[alerts]] 'r': no [notifiers.nope] table"),
    ('[notifiers.ops]\ntype = "slak"\n', "[notifiers.ops]: type must be one of slack, webhook, email, command, not 'slak'"),
    ('[[panes]]\ntitle = "P"\nquery = "action:"\n', "[[panes]] 'P': query 'action:', at character 1: a field needs a value after ':'"),
    ('[[panes]]\ntitle = "P"\nby = "src_adr"\n', "[[panes]] 'P': by: unknown field 'src_adr' (did you mean src_addr?)"),
    # The files the config names: a missing or corrupt GeoIP database and a missing local threat list
    # stop every command (query passed with them); a url list may still wait for its download.
    ('[enrich]\ngeoip_city = "GeoLite2-City.mmdb"\n', "[enrich] geoip_city: the GeoIP City database GeoLite2-City.mmdb does not exist"),
    ('[enrich]\ngeoip_asn = "GeoLite2-ASN.mmdb"\n', "[enrich] geoip_asn: the GeoIP ASN database GeoLite2-ASN.mmdb does not exist"),
    ('[enrich]\ngeoip_city = "bad.toml"\n',  # the config file itself: no MaxMind database
     ("[enrich] geoip_city: the GeoIP City database bad.toml is not a valid MaxMind database"
      " (Error opening database file (bad.toml). Is this a valid MaxMind DB file?)")),
    ('[[threat.lists]]\nid = "mine"\npath = "my-blocklist.txt"\n', "[threat] list mine: my-blocklist.txt does not exist"),
    ('[[sources]]\ntype = "kinesis"\n', '[[sources]] #1: a kinesis source needs stream = "…"'),
    ('[store]\nretain = "forever"\n', "bad [store] retain 'forever': use a number with s, m, h, d or w, e.g. 15m"),
    ('[query]\ntimeout = "0s"\n', "[query] timeout must be more than 0 s, not '0s'"),
    ('[ui.keys]\n"app.quit" = "ctrl+qq+zz"\n',
     "[ui.keys] app.quit: 'qq' in 'ctrl+qq+zz' is not a modifier (ctrl, shift, alt, meta, super, hyper)"),
    ('[ui.keys]\n"app.quit" = "ctrl+zz"\n', "[ui.keys] app.quit: 'zz' in 'ctrl+zz' is not a key name (did you mean z?)"),
    ('[ui.keys]\n"app.quit" = "excape"\n', "[ui.keys] app.quit: 'excape' in 'excape' is not a key name (did you mean escape?)"),
    ('[ui.keys]\n"app.quitt" = "q"\n', "[ui.keys] 'app.quitt' is no binding id (did you mean app.quit?)"),
]


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLOWTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.mark.parametrize(("text", "message"), BAD_VALUES)
def test_a_bad_value_stops_query_with_one_sentence(
    tmp_path: Path, isolated: None, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    db = tmp_path / "x.db"
    assert main(["query", "--db", str(db), "--config", str(cfg), "--count"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.replace(str(tmp_path) + "/", "").replace(f"{cfg}: ", "bad.toml: ") == f"flowtui: bad.toml: {message}\n".replace(
        "flowtui: bad.toml: bad [store]", "flowtui: bad [store]"
    )
    assert not db.exists()


def test_a_bad_ingest_format_stops_query(tmp_path: Path, isolated: None, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[ingest]\nformat = "${version} ${nope}"\n')
    assert main(["query", "--db", str(tmp_path / "x.db"), "--config", str(cfg), "--count"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"flowtui: {cfg}: [ingest] format: unknown flow-log field 'nope'")  # the rest is formats.py's
    assert err.count("\n") == 1


def test_every_command_that_takes_config_runs_the_same_check(tmp_path: Path, isolated: None, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[panes]]\ntitle = "P"\nquery = "action:"\n')
    db = tmp_path / "x.db"
    log = tmp_path / "f.log"
    log.write_text(FLOW)
    c = ["--config", str(cfg)]
    commands = [
        ["query", *c, "--db", str(db)],
        ["top", *c, "--db", str(db), "--by", "src_addr"],
        ["ingest", *c, "--db", str(db), str(log)],
        ["tail", *c, "--db", str(db), "--no-ui", "--stream", "s"],
        ["demo", *c, "--db", str(db), "--no-ui", "--duration", "1"],
        ["alerts", "list", *c, "--db", str(db)],
        ["alerts", "rules", *c],
        ["threat", "list", *c],
        [*c, "--db", str(db)],  # the dashboard: stopped before it starts
    ]
    for argv in commands:
        assert main(argv) == 1, argv
        assert capsys.readouterr() == ("", f"flowtui: {cfg}: [[panes]] 'P': query 'action:', at character 1: a field needs a value after ':'\n")
    assert not db.exists()


def test_a_notifier_secret_not_in_this_environment_does_not_stop_query(
    tmp_path: Path, isolated: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FLOWTUI_TEST_UNSET_URL", raising=False)
    cfg = tmp_path / "ok.toml"
    cfg.write_text('[notifiers.ops]\ntype = "slack"\nurl_env = "FLOWTUI_TEST_UNSET_URL"\n[[alerts]]\nname = "r"\nnotifiers = ["ops"]\n')
    db = tmp_path / "x.db"
    Store(db).close()
    assert main(["query", "--db", str(db), "--config", str(cfg), "--count"]) == 0
    assert capsys.readouterr() == ("0\n", "")
    assert main(["alerts", "notify", "ops", "--config", str(cfg)]) == 1
    assert capsys.readouterr().err == f"flowtui: {cfg}: [notifiers.ops]: url_env names FLOWTUI_TEST_UNSET_URL, which is not set in the environment\n"


def test_the_example_config_uncommented_passes_the_whole_check(tmp_path: Path, isolated: None) -> None:
    from flowtui.cli.config_check import check_config

    p = tmp_path / "flowtui.toml"
    p.write_text(_uncommented_example())
    for name, kind in (("GeoLite2-City.mmdb", "GeoLite2-City"), ("GeoLite2-ASN.mmdb", "GeoLite2-ASN")):
        MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=kind).to_db_file(str(tmp_path / name))
    (tmp_path / "my-blocklist.txt").write_text("203.0.113.9\n")  # the files it names, made (the check opens them)
    check_config(Config.load(p))
