"""X_threat_indicated_<id> in the CLI: an id no list has is a bad query (exit 2), not zero matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtui import alerts
from flowtui.cli import main
from flowtui.config import Config
from flowtui.errors import ConfigError

LINES = (
    "2 123456789012 eni-1 198.51.100.7 10.0.0.5 50000 443 6 10 840 1700000000 1700000060 ACCEPT OK\n"
    "2 123456789012 eni-1 203.0.113.9 10.0.0.5 50001 22 6 1 40 1700000000 1700000060 REJECT OK\n"
)


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))  # no default config file
    monkeypatch.delenv("FLOWTUI_CONFIG", raising=False)
    (tmp_path / "spam.txt").write_text("198.51.100.0/24\n")
    (tmp_path / "tor.txt").write_text("203.0.113.9\n")
    cfg = tmp_path / "flowtui.toml"
    cfg.write_text(
        '[[threat.lists]]\nid = "spamhaus"\npath = "spam.txt"\nformat = "plain"\n'
        '[[threat.lists]]\nid = "tor"\npath = "tor.txt"\nformat = "plain"\n'
        '[[threat.lists]]\nid = "feodo"\npath = "feodo.txt"\nformat = "plain"\n'
    )
    (tmp_path / "feodo.txt").write_text("")
    log = tmp_path / "f.log"
    log.write_text(LINES)
    db = tmp_path / "t.db"
    assert main(["--config", str(cfg), "ingest", "--db", str(db), str(log)]) == 0
    return cfg, db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_a_misspelled_list_id_exits_2_naming_the_lists(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = setup
    assert run(capsys, "--config", str(cfg), "query", "--db", str(db), "--count", "src_addr_threat_indicated_bogus:true") == (
        2,
        "",
        ("flowtui: bad query: unknown threat list 'bogus' (lists: feodo, spamhaus, tor)\n"
        "  src_addr_threat_indicated_bogus:true\n"
        "  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"),
    )
    rc, out, err = run(capsys, "--config", str(cfg), "top", "--db", str(db), "--by", "src_addr", "src_addr_threat_indicated_spamhau:true")
    assert (rc, out) == (2, "")
    assert err.startswith("flowtui: bad query: unknown threat list 'spamhau' (did you mean spamhaus?)\n")


def test_known_ids_match(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = setup
    assert run(capsys, "--config", str(cfg), "query", "--db", str(db), "--count", "src_addr_threat_indicated_spamhaus:true") == (0, "1\n", "")
    assert run(capsys, "--config", str(cfg), "query", "--db", str(db), "--count", "src_addr_threat_indicated_feodo:true") == (0, "0\n", "")


def test_without_a_config_the_ids_the_store_holds_are_known(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, db = setup
    assert run(capsys, "query", "--db", str(db), "--count", "src_addr_threat_indicated_tor:true") == (0, "1\n", "")
    rc, _, err = run(capsys, "query", "--db", str(db), "--count", "src_addr_threat_indicated_feodo:true")
    assert (rc, err.splitlines()[0]) == (2, "flowtui: bad query: unknown threat list 'feodo' (lists: spamhaus, tor)")


def test_an_alert_rule_naming_an_unknown_list_is_a_config_error(setup: tuple[Path, Path], tmp_path: Path) -> None:
    cfg, _ = setup
    cfg.write_text(cfg.read_text() + '[[alerts]]\nname = "tor-in"\nquery = "src_addr_threat_indicated_torr:true"\n')
    with pytest.raises(ConfigError) as exc:
        alerts.load(Config.load(cfg), {})
    assert str(exc.value) == (
        f"{cfg}: [[alerts]] 'tor-in': bad query at character 1: unknown threat list 'torr' (did you mean tor?)\n"
        "    src_addr_threat_indicated_torr:true\n"
        "    " + "^" * len("src_addr_threat_indicated_torr")
    )
