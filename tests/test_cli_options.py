"""Options given before the command apply to it: ``flowtui --db PATH query …``; a query negated as
Graylog users write it (``-action:ACCEPT``) is a query, not an unknown flag."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from flowtui.cli import main
from tests import query_data


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("opts")) / "flows.db"
    query_data.build(path).close()
    return path


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLOWTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the default store: must stay untouched


REJECTS = ["--format", "json", "--fields", "src_addr,dst_port", "action:REJECT"]


def test_db_before_the_command_is_the_commands_store(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "query", *REJECTS]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"src_addr": "2001:db8::7", "dst_port": 50000},
        {"src_addr": "198.51.100.7", "dst_port": 22},
    ]
    assert not (tmp_path / "data").exists()


def test_db_after_the_command_wins(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.db"
    assert main(["--db", str(other), "query", "--db", str(db), *REJECTS]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert not other.exists()


def test_config_before_the_command_is_read(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "flowtui.toml"
    config.write_text(f'[store]\npath = "{db}"\n')
    assert main(["--config", str(config), "top", "--by", "dst_port", "--format", "json", "action:REJECT"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["dst_port"] for r in rows) == [22, 50000]


@pytest.mark.parametrize("argv", [["demo", "--theme", "light"], ["--theme", "light", "demo"]])
def test_demo_takes_a_theme_before_or_after_the_command(argv: list[str]) -> None:
    from flowtui.cli import build_parser

    args = build_parser().parse_args(argv)
    assert (args.command, args.theme) == ("demo", "light")


def _bytes_sorted(db: Path, capsys: pytest.CaptureFixture[str], *sort: str) -> list[int | None]:
    capsys.readouterr()
    assert main(["query", "--db", str(db), "--format", "json", "--fields", "bytes", *sort, "*"]) == 0
    return [row["bytes"] for row in json.loads(capsys.readouterr().out)]


DESCENDING = [9999, 8000, 5000, 3000, 2000, 1000, 700, 300, 200, 100, 84, 64, 40, 10, None, None]


@pytest.mark.parametrize("sort", [["--sort", "-bytes"], ["--sort=-bytes"]])
def test_sort_takes_a_descending_field_as_a_separate_word(db: Path, capsys: pytest.CaptureFixture[str], sort: list[str]) -> None:
    assert _bytes_sorted(db, capsys, *sort) == DESCENDING


def test_an_ascending_sort_puts_rows_without_the_value_last(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _bytes_sorted(db, capsys, "--sort", "bytes") == [*sorted(DESCENDING[:-2]), None, None]  # type: ignore[type-var]


def test_a_sort_without_its_value_is_still_an_argument_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["query", "--db", str(db), "--sort", "--limit", "3", "*"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.endswith("flowtui: error: argument --sort: expected one argument\n")


def test_only_options_before_a_double_dash_are_joined() -> None:
    from flowtui.cli import join_dash_values

    assert join_dash_values(["query", "--sort", "-bytes", "--", "--sort", "-x"]) == ["query", "--sort=-bytes", "--", "--sort", "-x"]
    assert join_dash_values(["tail", "--stream", "s", "--start", "-2h"]) == ["tail", "--stream", "s", "--start=-2h"]


def test_a_table_column_of_dashes_only_is_left_aligned_numbers_right() -> None:
    import io

    from flowtui.cli.query import print_table

    out = io.StringIO()
    rows = [{"eventName": "DeleteBucket", "errorCode": None, "n": 5602}, {"eventName": "Get", "errorCode": None, "n": 7}]
    print_table(["eventName", "errorCode", "n"], [{**r, "n": f"{r['n']:,}"} for r in rows], out)
    assert out.getvalue().splitlines() == [
        "eventName     errorCode      n",
        "DeleteBucket  -          5,602",
        "Get           -              7",
    ]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_negated_field_term_is_the_query(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``flowtui query --all '-action:ACCEPT'`` was 'unrecognized arguments: -action:ACCEPT', exit 2."""
    expected = run(capsys, "query", "--db", str(db), "--count", "NOT action:ACCEPT")
    assert expected[0] == 0 and int(expected[1]) > 0
    assert run(capsys, "query", "--db", str(db), "--all", "--count", "-action:ACCEPT") == expected
    assert run(capsys, "query", "--db", str(db), "--count", "-action:ACCEPT", "--all") == expected  # flags after it
    assert run(capsys, "query", "--db", str(db), "--all", "--count", "--", "-action:ACCEPT") == expected
    # Words keep their places: the same query as one quoted argument.
    assert run(capsys, "query", "--db", str(db), "--count", "dst_port:22", "-action:ACCEPT") == run(
        capsys, "query", "--db", str(db), "--count", "dst_port:22 -action:ACCEPT"
    )
    phrase = run(capsys, "query", "--db", str(db), "--count", '-(action:ACCEPT OR action:REJECT)')
    assert phrase == run(capsys, "query", "--db", str(db), "--count", "NOT (action:ACCEPT OR action:REJECT)")


def test_top_takes_a_negated_term_too(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("top", "--db", str(db), "--by", "action", "--metric", "flows", "--format", "json")
    code, out, err = run(capsys, *argv, "-action:ACCEPT")
    assert (code, err) == (0, "")
    assert [r["action"] for r in json.loads(out)] == ["REJECT", None]  # NODATA records have no action
    assert run(capsys, *argv, "NOT action:ACCEPT") == (code, out, err)


def test_a_negated_bare_word_or_a_real_unknown_flag_is_still_a_bad_argument(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-ssh could be a negated word or a mistyped flag: exit 2, with the way to negate it."""
    code, _, err = run(capsys, "query", "--db", str(db), "--all", "-ssh")
    assert code == 2
    assert err.splitlines()[-1] == (
        "flowtui: error: unrecognized arguments: -ssh (to negate, put the query after --: flowtui query … -- '-ssh')"
    )
    code, _, err = run(capsys, "top", "--db", str(db), "--by", "action", "-ssh")
    assert (code, err.splitlines()[-1]) == (
        2, "flowtui: error: unrecognized arguments: -ssh (to negate, put the query after --: flowtui top … -- '-ssh')"
    )
    code, _, err = run(capsys, "query", "--db", str(db), "--frobnicate")
    assert (code, err.splitlines()[-1]) == (2, "flowtui: error: unrecognized arguments: --frobnicate")
    code, _, err = run(capsys, "fields", "-action:ACCEPT")  # a command without a query: a flag it does not know
    assert (code, err.splitlines()[-1]) == (2, "flowtui: error: unrecognized arguments: -action:ACCEPT")


def test_the_limit_note_of_one_row_is_singular(db: Path) -> None:
    """On a terminal, '--limit 1' says '(first 1 flow; …)', was '(first 1 flows; …)'."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FLOWTUI_CONFIG")}
    env["XDG_CONFIG_HOME"] = "/nonexistent"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "flowtui", "query", "--db", str(db), "--limit", "1", "--fields", "bytes"],
            stdout=follower, stderr=subprocess.PIPE, text=True, env=env, timeout=60, check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert (done.returncode, done.stderr) == (0, "(first 1 flow; --limit N or --limit 0 for more)\n")
