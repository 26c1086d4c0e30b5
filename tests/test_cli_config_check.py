"""``flowtui config check``: the check every command runs, as a command of its own, and what it reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowtui.cli import main

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("user_dirs")


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["config", "check", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


GOOD = """\
[store]
path = "flows.db"
retain = "7d"
max_size = "20GB"

[ingest]
format = "${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action}"

[enrich]
internal_cidrs = ["10.0.0.0/8"]
inventory_files = ["enis.json"]

[threat]
cache_dir = "cache"
[[threat.lists]]
id = "tor"
url = "https://check.torproject.org/exit-addresses"
[[threat.lists]]
id = "mine"
path = "mine.txt"

[ui]
refresh = 2
timezone = "local"
[ui.keys]
"app.pause" = "p"

[[panes]]
title = "SSH"
query = "dst_port:22"
by = ["src_addr"]

[[sources]]
stream = "flows"
region = "eu-west-1"
[[sources]]
type = "cloudwatch-logs"
log_group = "/vpc/flows"

[[alerts]]
name = "ssh-in"
query = "dst_port:22 AND src_addr_internal:false"
window = "5m"
condition = "count > 10"
notifiers = ["ops"]

[[alerts]]
name = "old-scan"
query = "action:REJECT"
window = "1m"
condition = "distinct(dst_port) > 20"
enabled = false

[notifiers.ops]
type = "webhook"
url_env = "FLOWTUI_TEST_UNSET_HOOK"
"""


def test_a_good_file_says_ok_and_what_it_sets_up(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("203.0.113.9\n")
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    code, out, err = check(capsys, "--config", str(path))
    assert (code, err) == (0, "")
    assert out == [
        f"{path}: ok",
        f"  store     {tmp_path / 'flows.db'} · flows 1w, at most 20.0 GB, rollups 30d",
        "  format    ${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action}",
        "  sources   kinesis:flows (eu-west-1); cwlogs:/vpc/flows (region from the environment)",
        "  internal  10.0.0.0/8, and the VPCs' CIDRs the inventory knows",
        "  geoip     none (no country or network names)",
        "  inventory 1 inventory file",
        f"  threat    tor (url, not downloaded yet: flowtui threat update); mine ({tmp_path / 'mine.txt'})",
        "  panes     SSH",
        "  alerts    1 rule: ssh-in (1 off: old-scan); notifier ops: FLOWTUI_TEST_UNSET_HOOK not set here (tail and alerts notify stop on it)",
        "  ui        theme default, refresh every 2s, times local, 1 key rebound",
    ]


def test_json_gives_the_same_settings(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("203.0.113.9\n")
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    code, out, _ = check(capsys, "--config", str(path), "--json")
    found = json.loads("\n".join(out))
    assert code == 0
    assert found["config"] == str(path)
    assert found["store"] == {
        "path": str(tmp_path / "flows.db"), "retain": "7d", "max_size": "20GB", "rollup_retain": "30d",
        "retain_seconds": 7 * 86400, "max_bytes": 20 << 30, "rollup_seconds": 30 * 86400,
    }
    assert found["sources"] == [
        {"type": "kinesis", "name": "kinesis:flows", "region": "eu-west-1", "start": "trim-horizon"},
        {"type": "cloudwatch-logs", "name": "cwlogs:/vpc/flows", "region": None, "start": "trim-horizon"},
    ]
    assert found["threat_lists"] == [
        {"id": "tor", "url": "https://check.torproject.org/exit-addresses", "path": str(tmp_path / "cache" / "tor.txt"), "present": False},
        {"id": "mine", "url": None, "path": str(tmp_path / "mine.txt"), "present": True},
    ]
    assert (found["panes"], found["alerts"], found["alerts_off"], found["notifiers"]) == (["SSH"], ["ssh-in"], ["old-scan"], ["ops"])
    assert found["unset_variables"] == {"ops": ["FLOWTUI_TEST_UNSET_HOOK"]}
    assert found["ui"] == {"theme": None, "refresh": 2, "window": None, "timezone": "local", "keys": {"app.pause": "p"}}


def test_the_example_config_passes_with_every_default(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    example = ROOT / "config.example.toml"
    code, out, err = check(capsys, "--config", str(example))
    assert (code, err) == (0, "")
    assert out == [
        f"{example}: ok",
        f"  store     {tmp_path / 'data' / 'flowtui' / 'flows.db'} · flows for ever",
        "  format    AWS's default (version 2), or each file's header line",
        "  sources   none ([[sources]]: tail needs --stream or --log-group)",
        "  internal  10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7 (the defaults)",
        "  geoip     none (no country or network names)",
        "  inventory none (no instance, interface or database names)",
        "  threat    no lists",
        "  panes     Top talkers, Rejects, External → EC2, Threat matches (the defaults)",
        "  alerts    no rules",
        "  ui        theme default, refresh every 2s, times UTC",
    ]


def test_no_file_is_no_error_and_says_where_it_looked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = check(capsys)
    assert (code, err) == (0, "")
    assert out[0] == f"no config file at {tmp_path / 'config' / 'flowtui' / 'config.toml'}: every setting is its default (config.example.toml shows them)"
    assert out[1] == f"  store     {tmp_path / 'data' / 'flowtui' / 'flows.db'} · flows for ever"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[store]\nretain = "7 days"\n', "bad [store] retain '7 days': use a number with s, m, h, d or w, e.g. 15m"),
        ('[ui.keys]\npause = "p"\n', "{path}: [ui.keys] 'pause' is no binding id (did you mean app.pause?)"),
        ('[[panes]]\ntitle = "x"\nquery = "dst_port:(22"\n', "{path}: [[panes]] 'x': query 'dst_port:(22', at character 10: "),
        ("[store\n", "config file {path} is not valid TOML: "),
    ],
)
def test_a_wrong_file_exits_1_with_the_sentence_every_command_gives(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, out, err = check(capsys, "--config", str(path))
    assert (code, out) == (1, [])
    assert err.startswith("flowtui: " + message.format(path=path))
    assert err.count("\n") == 1
    assert main(["query", "--config", str(path), "*"]) == 1  # the same stop for any command
    assert capsys.readouterr().err == err


def test_a_missing_file_named_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = check(capsys, "--config", str(tmp_path / "nope.toml"))
    assert (code, out, err) == (1, [], f"flowtui: config file {tmp_path / 'nope.toml'} does not exist\n")


def test_config_alone_names_its_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 2
    assert capsys.readouterr().err == "flowtui: config needs an action: 'flowtui config check'\n"
