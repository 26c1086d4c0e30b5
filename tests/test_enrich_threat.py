"""Threat lists: every sample format, exact counts and matches, IPv6, CIDR edges, config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowtui.config import Config
from flowtui.enrich.threat import ThreatMatcher, ThreatSettings, detect_format, parse_list
from flowtui.errors import ConfigError

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "threat"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/testdata/threat is not here")


@needs_samples
@pytest.mark.parametrize(
    ("name", "fmt", "entries"),
    [
        ("spamhaus-drop.txt", "spamhaus", 3),
        ("spamhaus-dropv6.txt", "spamhaus", 1),
        ("spamhaus-drop_v4.json", "spamhaus-json", 3),
        ("tor-exit-addresses.txt", "tor-exit-addresses", 3),
        ("tor-bulk-exit-list.txt", "plain", 2),
        ("feodo-ipblocklist.txt", "plain", 2),
        ("firehol_level1.netset", "netset", 3),
    ],
)
def test_sample_formats_are_detected_and_counted(name: str, fmt: str, entries: int) -> None:
    matcher = ThreatMatcher.from_files([("x", SAMPLES / name)])
    (loaded,) = matcher.lists
    assert (loaded.format, loaded.entries, loaded.skipped, loaded.problem) == (fmt, entries, 0, None)


# (file, addresses on the list, addresses just outside it)
_MATCHES = [
    (
        "spamhaus-drop.txt",
        ["198.51.100.0", "198.51.100.127", "203.0.113.128", "203.0.113.191", "45.140.0.0", "45.140.3.255"],
        ["198.51.100.128", "203.0.113.127", "203.0.113.192", "45.139.255.255", "45.140.4.0"],
    ),
    (
        "spamhaus-drop_v4.json",
        ["198.51.100.0", "198.51.100.127", "203.0.113.128", "203.0.113.191", "45.140.0.0", "45.140.3.255"],
        ["198.51.100.128", "203.0.113.127", "203.0.113.192", "45.139.255.255", "45.140.4.0"],
    ),
    (
        "spamhaus-dropv6.txt",
        ["2001:db8:bad::", "2001:db8:bad:ffff:ffff:ffff:ffff:ffff", "2001:db8:bad:1::42"],
        ["2001:db8:bac:ffff:ffff:ffff:ffff:ffff", "2001:db8:bae::", "198.51.100.1"],
    ),
    (
        "tor-exit-addresses.txt",
        ["192.0.2.66", "192.0.2.77", "2001:db8:70::77"],
        ["192.0.2.65", "192.0.2.67", "2001:db8:70::76", "2001:db8:70::78"],
    ),
    ("tor-bulk-exit-list.txt", ["192.0.2.66", "192.0.2.77"], ["192.0.2.76", "192.0.2.78", "2001:db8:70::77"]),
    (
        "feodo-ipblocklist.txt",
        ["198.51.100.200", "203.0.113.9"],
        ["198.51.100.199", "198.51.100.201", "203.0.113.8", "203.0.113.10"],
    ),
    (
        "firehol_level1.netset",
        ["45.140.0.0", "45.140.3.255", "100.64.200.0", "100.64.200.255", "198.51.100.0", "198.51.100.255"],
        ["45.140.4.0", "100.64.199.255", "100.64.201.0", "198.51.99.255", "198.51.101.0"],
    ),
]


@needs_samples
@pytest.mark.parametrize(("name", "inside", "outside"), _MATCHES, ids=[m[0] for m in _MATCHES])
def test_sample_matches_and_cidr_edges(name: str, inside: list[str], outside: list[str]) -> None:
    matcher = ThreatMatcher.from_files([("listed", SAMPLES / name)])
    for address in inside:
        assert matcher.lookup(address) == ("listed",), address
    for address in outside:
        assert matcher.lookup(address) == (), address


@needs_samples
def test_several_lists_answer_in_config_order(tmp_path: Path) -> None:
    config_file = tmp_path / "flowtui.toml"
    config_file.write_text(
        f"""
[[threat.lists]]
id = "spamhaus"
path = "{SAMPLES / "spamhaus-drop.txt"}"
[[threat.lists]]
id = "spamhaus_v6"
path = "{SAMPLES / "spamhaus-dropv6.txt"}"
format = "spamhaus"
[[threat.lists]]
id = "tor"
path = "{SAMPLES / "tor-exit-addresses.txt"}"
[[threat.lists]]
id = "feodo"
path = "{SAMPLES / "feodo-ipblocklist.txt"}"
[[threat.lists]]
id = "firehol"
path = "{SAMPLES / "firehol_level1.netset"}"
""",
        encoding="utf-8",
    )
    matcher = ThreatMatcher.from_config(Config.load(config_file))
    assert matcher.ids == ("spamhaus", "spamhaus_v6", "tor", "feodo", "firehol")
    assert matcher.lookup("198.51.100.5") == ("spamhaus", "firehol")
    assert matcher.lookup("198.51.100.200") == ("feodo", "firehol")
    assert matcher.lookup("45.140.1.1") == ("spamhaus", "firehol")
    assert matcher.lookup("2001:db8:70::77") == ("tor",)
    assert matcher.lookup("2001:db8:bad::1") == ("spamhaus_v6",)
    assert matcher.lookup("8.8.8.8") == ()
    assert matcher.lookup("garbage") == ()


def test_lines_that_are_not_addresses_are_counted_not_fatal(tmp_path: Path) -> None:
    custom = tmp_path / "custom.txt"
    custom.write_text(
        "# my own list\n"
        "203.0.113.7\n"
        "203.0.113.7\n"  # a duplicate is one entry
        "hello world\n"
        "300.1.1.1\n"
        "10.0.0.0/33\n"
        "198.51.100.0/24 # a trailing comment\n"
        "2001:db8:1::/48\n"
        "\n"
        "   \n"
        "<html>\n",
        encoding="utf-8",
    )
    parsed = parse_list(custom.read_text(encoding="utf-8"))
    assert (parsed.format, parsed.entries, parsed.skipped) == ("plain", 3, 4)
    matcher = ThreatMatcher.from_files([("mine", custom)])
    assert matcher.lookup("203.0.113.7") == ("mine",)
    assert matcher.lookup("2001:db8:1:ffff::1") == ("mine",)
    assert matcher.lookup("203.0.113.8") == ()


def test_spamhaus_json_skips_bad_lines_but_not_the_metadata() -> None:
    text = (
        '{"cidr":"198.51.100.0/25","sblid":"SBL000101","rir":"arin"}\n'
        "not json at all\n"
        '{"sblid":"SBL9"}\n'
        '{"cidr":"2001:db8:bad::/48","sblid":"SBL000201","rir":"ripencc"}\n'
        '{"type":"metadata","timestamp":1793527200,"size":180,"records":2}\n'
    )
    parsed = parse_list(text)
    assert (parsed.format, parsed.entries, parsed.skipped) == ("spamhaus-json", 2, 2)


@pytest.mark.parametrize(
    ("text", "name", "fmt"),
    [
        ("; Spamhaus DROP\n1.2.3.0/24 ; SBL1\n", "", "spamhaus"),
        ('{"cidr":"1.2.3.0/24"}\n', "", "spamhaus-json"),
        ("ExitNode AB\nExitAddress 1.2.3.4 2026-11-01 10:05:11\n", "", "tor-exit-addresses"),
        ("# ipv4 hash:net ipset\n1.2.3.0/24\n", "", "netset"),
        ("1.2.3.0/24\n", "level1.netset", "netset"),
        ("# DstIP\n1.2.3.4\n", "feodo.txt", "plain"),
        ("", "", "plain"),
    ],
)
def test_format_detection(text: str, name: str, fmt: str) -> None:
    assert detect_format(text, name) == fmt


def _config(tmp_path: Path, body: str) -> Config:
    path = tmp_path / "flowtui.toml"
    path.write_text(body, encoding="utf-8")
    return Config.load(path)


def test_settings_from_config(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "mine.txt").write_text("203.0.113.7\n", encoding="utf-8")
    config = _config(
        tmp_path,
        """
[threat]
cache_dir = "cache"
max_size = "2MB"
timeout = "5s"

[[threat.lists]]
id = "spamhaus"
url = "https://www.spamhaus.org/drop/drop.txt"

[[threat.lists]]
id = "spamhaus_json"
url = "https://www.spamhaus.org/drop/drop_v4.json"

[[threat.lists]]
id = "firehol"
url = "https://iplists.firehol.org/files/firehol_level1.netset"
format = "netset"

[[threat.lists]]
id = "mine"
path = "lists/mine.txt"
""",
    )
    settings = ThreatSettings.from_config(config)
    assert (settings.cache_dir, settings.max_size, settings.timeout) == (tmp_path / "cache", 2 * 1024 * 1024, 5.0)
    assert [(s.id, s.path, s.url, s.format) for s in settings.lists] == [
        ("spamhaus", tmp_path / "cache" / "spamhaus.txt", "https://www.spamhaus.org/drop/drop.txt", None),
        (
            "spamhaus_json",
            tmp_path / "cache" / "spamhaus_json.json",
            "https://www.spamhaus.org/drop/drop_v4.json",
            None,
        ),
        (
            "firehol",
            tmp_path / "cache" / "firehol.netset",
            "https://iplists.firehol.org/files/firehol_level1.netset",
            "netset",
        ),
        ("mine", tmp_path / "lists" / "mine.txt", None, None),
    ]
    # url lists not downloaded yet load empty and say why; the local list loads
    matcher = ThreatMatcher.from_settings(settings)
    assert [(t.id, t.entries, t.problem) for t in matcher.lists] == [
        ("spamhaus", 0, "not downloaded yet: run 'flowtui threat update'"),
        ("spamhaus_json", 0, "not downloaded yet: run 'flowtui threat update'"),
        ("firehol", 0, "not downloaded yet: run 'flowtui threat update'"),
        ("mine", 1, None),
    ]
    assert matcher.lookup("203.0.113.7") == ("mine",)


def test_default_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = ThreatSettings.from_config(Config())
    assert settings.cache_dir == tmp_path / ".cache" / "flowtui" / "threat"
    assert (settings.max_size, settings.timeout, settings.lists) == (50 * 1024 * 1024, 30.0, ())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[threat.lists]]\npath = "x"\n', "a \\[\\[threat.lists\\]\\] table \\(x\\) has no id: give it one of lowercase letters"),
        ('[[threat.lists]]\nid = "Bad-Id"\npath = "x"\n', "needs an id"),
        ('[[threat.lists]]\nid = "a"\n', "exactly one of path or url"),
        ('[[threat.lists]]\nid = "a"\npath = "x"\nurl = "https://e.example/x"\n', "exactly one of path or url"),
        ('[[threat.lists]]\nid = "a"\nurl = "ftp://e.example/x"\n', "must be an http, https or file URL"),
        ('[[threat.lists]]\nid = "a"\npath = "x"\nformat = "csv"\n', "unknown format 'csv'"),
        (
            '[[threat.lists]]\nid = "a"\npath = "x"\n[[threat.lists]]\nid = "a"\npath = "y"\n',
            "two lists have the id 'a'",
        ),
        ('[threat]\nlists = "x"\n', "must be an array of tables"),
        ('[threat]\nmax_size = "lots"\n', "bad size"),
    ],
)
def test_bad_config_is_a_config_error(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ThreatSettings.from_config(_config(tmp_path, body))


def test_missing_local_list_is_a_config_error(tmp_path: Path) -> None:
    config = _config(tmp_path, '[[threat.lists]]\nid = "mine"\npath = "nowhere.txt"\n')
    with pytest.raises(ConfigError, match=r"threat list mine: .*nowhere.txt does not exist"):
        ThreatMatcher.from_config(config)


def test_changed_files_are_noticed_and_reloaded(tmp_path: Path) -> None:
    listed = tmp_path / "mine.txt"
    listed.write_text("203.0.113.7\n", encoding="utf-8")
    matcher = ThreatMatcher.from_files([("mine", listed)])
    assert not matcher.changed()
    replacement = tmp_path / "new.txt"
    replacement.write_text("203.0.113.8\n203.0.113.9\n", encoding="utf-8")
    os.replace(replacement, listed)
    assert matcher.changed()
    reloaded = matcher.reload()
    assert reloaded.lookup("203.0.113.7") == ()
    assert reloaded.lookup("203.0.113.9") == ("mine",)
    assert not reloaded.changed()
