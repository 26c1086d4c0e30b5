"""Threat-list ids in queries (X_threat_indicated_<id>, X_threat_indicated_by:<id>): an id no
list has is a bad query (CLI exit 2, an alert rule's ConfigError), not zero matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtui import alerts
from flowtui.cli import main
from flowtui.config import Config
from flowtui.errors import ConfigError, QueryError
from flowtui.query.threat_lists import check_threat_lists, known_threat_lists
from flowtui.store import Store

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


def test_an_unknown_id_as_threat_indicated_by_value_exits_2_with_a_did_you_mean(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, db = setup
    assert run(capsys, "--config", str(cfg), "query", "--db", str(db), "--count", "src_addr_threat_indicated_by:spamhau") == (
        2,
        "",
        ("flowtui: bad query: unknown threat list 'spamhau' (did you mean spamhaus?)\n"
        "  src_addr_threat_indicated_by:spamhau\n"
        "                               ^^^^^^^\n"),
    )
    rc, out, err = run(capsys, "--config", str(cfg), "top", "--db", str(db), "--by", "src_addr", "dst_addr_threat_indicated_by:(tor OR fedo)")
    assert (rc, out, err.splitlines()[0]) == (2, "", "flowtui: bad query: unknown threat list 'fedo' (did you mean feodo?)")
    assert run(capsys, "--config", str(cfg), "query", "--db", str(db), "--count", "src_addr_threat_indicated_by:spamhaus") == (0, "1\n", "")
    # A pattern names no id: it is run, and matches what it matches.
    assert run(capsys, "--config", str(cfg), "query", "--db", str(db), "--count", "src_addr_threat_indicated_by:spam*") == (0, "1\n", "")


def test_an_alert_rule_naming_an_unknown_list_as_a_value_is_a_config_error(setup: tuple[Path, Path]) -> None:
    cfg, _ = setup
    cfg.write_text(cfg.read_text() + '[[alerts]]\nname = "tor-in"\nquery = "action:ACCEPT AND src_addr_threat_indicated_by:torr"\n')
    with pytest.raises(ConfigError) as exc:
        alerts.load(Config.load(cfg), {})
    assert str(exc.value) == (
        f"{cfg}: [[alerts]] 'tor-in': bad query at character 48: unknown threat list 'torr' (did you mean tor?)\n"
        "    action:ACCEPT AND src_addr_threat_indicated_by:torr\n"
        "    " + " " * 47 + "^^^^"
    )


def test_the_known_ids_are_the_configs_and_the_stores(setup: tuple[Path, Path], tmp_path: Path) -> None:
    cfg, db = setup
    other = tmp_path / "other.toml"
    other.write_text('[[threat.lists]]\nid = "firehol_level1"\npath = "fh.netset"\n')
    with Store(db, readonly=True) as store:
        assert known_threat_lists(Config.load(cfg), store) == {"spamhaus", "tor", "feodo"}
        # The store's addresses were listed by spamhaus and tor (feodo listed none).
        assert known_threat_lists(Config.load(other), store) == {"firehol_level1", "spamhaus", "tor"}
    assert known_threat_lists(Config.load(other)) == {"firehol_level1"}


def test_the_known_ids_are_asked_for_only_by_a_query_that_names_one() -> None:
    asked: list[str] = []

    def known() -> set[str]:
        asked.append("asked")
        return {"tor"}

    assert check_threat_lists("action:REJECT AND src_addr_threat_indicated_by:tor*", known).lists == ()
    assert asked == []
    assert check_threat_lists("src_addr_threat_indicated_tor:true", known).lists == ("tor",)
    with pytest.raises(QueryError) as info:
        check_threat_lists("src_addr_threat_indicated_by:torr", known)
    assert (info.value.message, info.value.start, info.value.end) == ("unknown threat list 'torr' (did you mean tor?)", 29, 33)
    assert asked == ["asked", "asked"]
