"""A misspelled section or key in the config file is an error naming it, not a setting silently ignored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flowtui import alerts
from flowtui.cli import main
from flowtui.config import Config, query_timeout
from flowtui.enrich.aws import AwsSettings
from flowtui.enrich.threat import ThreatSettings
from flowtui.errors import ConfigError
from flowtui.sources.spec import sources_from_config
from flowtui.store import Retention

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
