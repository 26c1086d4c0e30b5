"""``flowtui query`` and ``flowtui top`` end to end, as scripts run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowtui import catalog
from flowtui.store import Batch, Part, Store
from tests import query_data
from tests.conftest import V2_PRESENT, make_record
from tests.query_data import T0

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("cli")) / "flows.db"
    query_data.build(path).close()
    return path


def flowtui(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FLOWTUI_CONFIG")}
    env["XDG_CONFIG_HOME"] = "/nonexistent"  # no user config file
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "flowtui", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_json_is_one_array_of_catalog_keyed_objects(db: Path) -> None:
    out = flowtui("query", "--db", str(db), "--format", "json", "--fields", "src_addr,dst_port,src_addr_internal,bytes,vpc_id", "action:REJECT")
    assert (out.returncode, out.stderr) == (0, "")
    assert json.loads(out.stdout) == [
        {"src_addr": "2001:db8::7", "dst_port": 50000, "src_addr_internal": False, "bytes": 64, "vpc_id": None},
        {"src_addr": "198.51.100.7", "dst_port": 22, "src_addr_internal": False, "bytes": 40, "vpc_id": None},
    ]


def test_json_without_fields_has_every_catalog_field(db: Path) -> None:
    out = flowtui("query", "--db", str(db), "--format", "json", "log_status:NODATA")
    assert out.returncode == 0
    (row,) = json.loads(out.stdout)
    assert list(row) == [f.name for f in catalog.FIELDS]
    assert row["interface_id"] == "eni-idle" and row["message"] == "eni-idle NODATA"
    assert row["start"] == T0 + 700 and row["bytes"] is None and row["src_addr_internal"] is None


def test_empty_json_result_is_an_empty_array(db: Path) -> None:
    out = flowtui("query", "--db", str(db), "--format", "json", "--since", "15m")
    assert (out.returncode, json.loads(out.stdout)) == (0, [])


def test_jsonl_and_csv(db: Path) -> None:
    out = flowtui("query", "--db", str(db), "--format", "jsonl", "--fields", "interface_id,dst_port", "--limit", "2", "protocol:udp")
    assert out.stdout == '{"interface_id": "eni-app", "dst_port": 53}\n{"interface_id": "eni-app", "dst_port": 53}\n'
    out = flowtui("query", "--db", str(db), "--format", "csv", "--fields", "src_addr,dst_addr_internal,dst_addr_threat_indicated_by", "dst_addr_threat_indicated:true")
    assert out.stdout == (
        "src_addr,dst_addr_internal,dst_addr_threat_indicated_by\n"
        '10.0.1.10,false,"spamhaus,tor"\n'
        '10.0.1.10,false,"spamhaus,tor"\n'
        '10.0.3.30,false,"spamhaus,tor"\n'
    )


def test_csv_times_are_iso_utc_as_the_results_export_writes_them(db: Path, tmp_path: Path) -> None:
    """CSV is for spreadsheets: times in ISO 8601 UTC, the same file the dashboard's export writes;
    JSON keeps them as unix seconds."""
    from flowtui.query.window import TimeWindow
    from flowtui.ui.data import DataSource
    from flowtui.ui.export import write_export

    names = ["timestamp", "start", "end", "src_addr", "bytes", "vpc_id", "src_addr_internal"]
    out = flowtui("query", "--db", str(db), "--format", "csv", "--fields", ",".join(names), "vpc_id:vpc-123")
    assert (out.returncode, out.stdout) == (
        0,
        (
            "timestamp,start,end,src_addr,bytes,vpc_id,src_addr_internal\n"
            "2026-11-27T10:15:00Z,2026-11-27T10:15:00Z,2026-11-27T10:16:00Z,10.0.1.10,9999,vpc-123,true\n"
        ),
    )
    assert T0 + 900 == 1795774500  # 2026-11-27T10:15:00Z: the flow's start, in unix seconds
    data = DataSource(db, lambda: float(T0 + 3600))
    try:
        rows = data.export_rows("vpc_id:vpc-123", TimeWindow(), names, ("timestamp", True), None)
        write_export(tmp_path / "export.csv", "csv", names, rows)
    finally:
        data.close()
    assert (tmp_path / "export.csv").read_text() == out.stdout
    out = flowtui("query", "--db", str(db), "--format", "json", "--fields", "timestamp,start,end", "vpc_id:vpc-123")
    assert json.loads(out.stdout) == [{"timestamp": T0 + 900, "start": T0 + 900, "end": T0 + 960}]


def test_table_aligns_and_fits_the_terminal(db: Path) -> None:
    out = flowtui("query", "--db", str(db), "--fields", "timestamp,src_addr,dst_port,action,src_addr_entity_description", "src_addr:10.0.0.0/8 AND dst_port:443", columns=200)
    assert out.returncode == 0
    assert out.stdout == (
        "timestamp             src_addr   dst_port  action  src_addr_entity_description\n"
        "2026-11-27T10:00:50Z  10.0.1.10       443  ACCEPT  web-1\n"
    )
    narrow = flowtui("query", "--db", str(db), "--fields", "timestamp,src_addr,dst_port,action", "dst_port:443", columns=40)
    assert narrow.stdout.splitlines() == [
        "timestamp             src_addr",
        "2026-11-27T10:00:50Z  10.0.1.10",
        "2026-11-27T10:00:00Z  203.0.113.9",
    ]


def test_table_columns_follow_the_query(db: Path) -> None:
    out = flowtui("query", "--db", str(db), "src_addr_entity:ec2\\:i-old", columns=300)
    header = out.stdout.splitlines()[0].split()
    assert header[:2] == ["timestamp", "src_addr_entity"]
    assert out.stdout.splitlines()[1].split()[1] == "ec2:i-old"


def test_words_of_the_query_are_joined_and_count(db: Path) -> None:
    out = flowtui("query", "--db", str(db), "--count", "action:REJECT", "OR", "dst_port:53")
    assert (out.returncode, out.stdout) == (0, "4\n")
    out = flowtui("query", "--db", str(db), "--count", "--from", "2026-11-27T10:00:00Z", "--to", "2026-11-27T10:00:20Z")
    assert out.stdout == "3\n"
    assert flowtui("query", "--db", str(db), "--count").stdout == "16\n"


def test_a_bad_query_exits_2_with_a_caret(db: Path) -> None:
    out = flowtui("query", "--db", str(db), "action:ACCEPT AND dst_adr:80")
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr == (
        "flowtui: bad query: unknown field 'dst_adr' (did you mean dst_addr?)\n"
        "  action:ACCEPT AND dst_adr:80\n"
        "                    ^^^^^^^\n"
    )
    out = flowtui("query", "--db", str(db), "(action:ACCEPT")
    assert out.returncode == 2
    assert out.stderr.splitlines()[1:] == ["  (action:ACCEPT", "  ^"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--since", "5x"], "--since '5x' is not a duration"),
        (["--fields", "src_adr"], "unknown field 'src_adr' (did you mean src_addr?)"),
        (["--limit", "-1"], "must be 0 or more"),
        (["--format", "xml"], "invalid choice"),
        (["--since", "1h", "--from", "2026-11-27"], "either --since or --from/--to"),
    ],
)
def test_bad_arguments_exit_2(db: Path, args: list[str], words: str) -> None:
    out = flowtui("query", "--db", str(db), *args, "*")
    assert out.returncode == 2
    assert words in out.stderr


def test_other_failures_exit_1(tmp_path: Path) -> None:
    out = flowtui("query", "--db", str(tmp_path / "none.db"), "*")
    assert out.returncode == 1
    assert out.stderr == f"flowtui: no store at {tmp_path / 'none.db'}: ingest something first (flowtui ingest, tail or demo)\n"


def test_the_configured_time_limit_applies(tmp_path: Path) -> None:
    store = Store(tmp_path / "big.db")
    rec = make_record(version=2, account_id="1", interface_id="eni-1", src_addr="10.0.0.1", dst_addr="10.0.0.2",
                      src_port=1, dst_port=2, protocol_number=6, packets=1, bytes=1, start=T0, end=T0 + 60,
                      action="ACCEPT", log_status="OK")
    store.write(Batch([Part([rec] * 50_000, V2_PRESENT)]))
    store.close()
    config = tmp_path / "config.toml"
    config.write_text("[query]\ntimeout = 0.01\n")
    out = flowtui("query", "--db", str(tmp_path / "big.db"), "--config", str(config), "--count", '"ACCEPT TCP 10.0.0.9"')
    assert out.returncode == 1
    assert out.stderr == "flowtui: query took longer than 0.01 s; narrow it down or raise [query] timeout\n"


def test_help_says_the_default_window_is_all_time() -> None:
    out = flowtui("query", "--help")
    assert out.returncode == 0
    assert "without --since/--from/--all the whole store is searched" in out.stdout


# --- top ---------------------------------------------------------------------------------


def test_top_prints_the_biggest_groups_and_other(db: Path) -> None:
    out = flowtui("top", "--db", str(db), "--by", "src_addr", "--limit", "3", columns=200)
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout == (
        "src_addr   flows   bytes  packets  share\n"
        "10.0.1.10      5  11,093       21  36.4%\n"
        "10.0.2.20      2   8,000       80  26.2%\n"
        "10.0.3.30      1   8,000       80  26.2%\n"
        "(other)        8   3,404       35  11.2%\n"
    )


def test_top_limit_0_lists_every_group_as_query_does_every_row(db: Path) -> None:
    """It printed the (other) row alone, 100.0%."""
    every = flowtui("top", "--db", str(db), "--by", "src_addr", "--limit", "0", columns=200)
    assert (every.returncode, every.stderr) == (0, "")
    lines = every.stdout.splitlines()
    assert [line.split() for line in lines[:4]] == [  # the columns as wide as the longest address below
        ["src_addr", "flows", "bytes", "packets", "share"],
        ["10.0.1.10", "5", "11,093", "21", "36.4%"],
        ["10.0.2.20", "2", "8,000", "80", "26.2%"],
        ["10.0.3.30", "1", "8,000", "80", "26.2%"],
    ]
    assert not any(line.startswith("(other)") for line in lines)
    assert sum(int(line.split()[1]) for line in lines[1:]) == 16  # every flow in a group of its own row
    rows = json.loads(flowtui("top", "--db", str(db), "--by", "src_addr", "--limit", "0", "--format", "json").stdout)
    assert [r["other"] for r in rows] == [False] * (len(lines) - 1)


def test_top_json_by_two_fields_with_a_query(db: Path) -> None:
    out = flowtui("top", "--db", str(db), "--by", "protocol,dst_port", "--metric", "flows", "--limit", "1", "--format", "json", "action:ACCEPT", "AND", "protocol:udp")
    assert out.returncode == 0
    assert json.loads(out.stdout) == [
        {"protocol": "UDP", "dst_port": 53, "flows": 2, "bytes": 300, "packets": 3, "other": False,
         "group": {"protocol": "UDP", "dst_port": 53}},
    ]


def test_top_errors(db: Path) -> None:
    out = flowtui("top", "--db", str(db), "--by", "dst_prot")
    assert (out.returncode, out.stderr) == (2, "flowtui: unknown field 'dst_prot' (did you mean dst_port?)\n")
    out = flowtui("top", "--db", str(db), "--by", "src_addr", "action:(ACCEPT")
    assert out.returncode == 2 and "unbalanced parentheses" in out.stderr
    out = flowtui("top", "--db", str(db))
    assert out.returncode == 2 and "--by" in out.stderr
