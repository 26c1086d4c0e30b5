"""flowtui ingest DIR: a directory `aws s3 sync` made of an export, read as its S3 prefix is.

Every file below it, sorted by path as S3 lists keys, CloudTrail-Digest files and Parquet exports
left out (and names beginning with '.'), --since judged by the dates in the paths; each file is
resumed and told from copies as a file named alone is. A directory with nothing to read is a bad
argument (exit 2) that stops the command before anything is read.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowtui.cli import main
from flowtui.sources.folder import list_folder
from flowtui.sources.s3 import parse_since
from flowtui.store import Store
from tests.aws_server import moto_server  # noqa: F401 - the fixture
from tests.tail_helpers import REGION
from tests.test_s3_ingest import V2_HEADER, V5_HEADER, Bucket, hive_key, plain_key, v2_lines, v5_lines
from tests.test_store_open import ROOT, _without_write_rights

DIGEST = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/05/01/123456789012_CloudTrail-Digest_us-east-1_t_20240501T0000Z.json.gz"


def export() -> dict[str, tuple[str | None, list[str], bool]]:
    """An export's keys: (header, lines, gzip). 'x-y/' sorts before 'x/' as text ('-' < '/'), not as a tree walk."""
    return {
        plain_key("2024-05-01", "20240501T0005Z"): (V2_HEADER, v2_lines(12), True),
        plain_key("2024-05-02", "20240502T0010Z"): (V2_HEADER, v2_lines(8), True),
        hive_key("2024-05-03", "04", "20240503T0405Z"): (V5_HEADER, v5_lines(5), True),
        "AWSLogs/x/late.log": (None, v2_lines(3), False),
        "AWSLogs/x-y/early.log": (None, v2_lines(2), False),
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/03/export.parquet": (None, ["PAR1"], False),
        DIGEST: (None, ['{"awsAccountId": "123456789012"}'], True),
    }


def _body(header: str | None, lines: list[str], compress: bool) -> bytes:
    text = "\n".join(([header] if header else []) + lines) + "\n"
    return gzip.compress(text.encode(), mtime=0) if compress else text.encode()


def synced(root: Path, keys: dict[str, tuple[str | None, list[str], bool]]) -> Path:
    """What `aws s3 sync s3://bucket/ root` leaves: a file at each key's path."""
    for key, (header, lines, compress) in keys.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_body(header, lines, compress))
    return root


def ingest(db: Path, *args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "flowtui", "ingest", "--db", str(db), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    return done.returncode, done.stdout, done.stderr


def stored(db: Path) -> list[int]:
    """Each flow's bytes (every test line has its own), in the order they were stored."""
    with Store(db, readonly=True) as store:
        return [b for (b,) in store.conn.execute("SELECT bytes FROM flows ORDER BY id")]


def test_a_synced_directory_is_read_as_its_bucket_is(moto_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    keys = export()
    bucket = Bucket(moto_server)
    for key, (header, lines, compress) in keys.items():
        bucket.s3.put_object(Bucket="flow-logs", Key=key, Body=_body(header, lines, compress))
    from_s3 = tmp_path / "s3.db"
    assert main(["ingest", "--db", str(from_s3), "--endpoint-url", moto_server, "--region", REGION, "s3://flow-logs/AWSLogs/"]) == 0
    s3_out = capsys.readouterr()
    root = synced(tmp_path / "sync", keys) / "AWSLogs"
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    from_dir = tmp_path / "dir.db"
    code, out, err = ingest(from_dir, str(root))
    assert (code, out) == (0, s3_out.out) == (0, "5 files: 30 flows stored, 0 rejected to dead letters\n")
    assert stored(from_dir) == stored(from_s3) and len(stored(from_dir)) == 30
    assert err == (
        f"flowtui: {root}/{DIGEST.removeprefix('AWSLogs/')}: a CloudTrail-Digest file (hashes, not events); skipped\n"
        f"flowtui: {root}/123456789012/vpcflowlogs/us-east-1/2024/05/03/export.parquet: Parquet exports are not supported; skipped\n"
        f"flowtui: {root}: 2 names beginning with '.' left out\n"
    )
    assert s3_out.err == err.replace(f"{root}/", "s3://flow-logs/AWSLogs/").replace(f"flowtui: {root}: 2 names beginning with '.' left out\n", "")
    # Read in S3's order: 'x-y/early.log' before 'x/late.log', as text sorts them.
    assert stored(from_dir)[-5:] == [*map(int, (line.split()[9] for line in keys["AWSLogs/x-y/early.log"][1] + keys["AWSLogs/x/late.log"][1]))]


def test_since_the_dates_in_the_paths_a_rerun_and_copies(tmp_path: Path) -> None:
    root = synced(tmp_path / "sync", export()) / "AWSLogs"
    db = tmp_path / "f.db"
    code, out, err = ingest(db, "--since", "2024-05-02T00:00:00Z", str(root))
    # The 2024-05-01 object is older; the x and x-y files have no dates in their paths, so they are read.
    assert (code, out) == (0, "4 files: 18 flows stored, 0 rejected to dead letters\n")
    assert err.splitlines()[-1] == "flowtui: 1 file older than --since; skipped"
    # A second run resumes every file where it ended (its header lines count among those read): nothing stored twice.
    code, out, _ = ingest(db, str(root))
    assert (code, out) == (0, "5 files: 12 flows stored, 20 lines read before, 0 rejected to dead letters\n")
    assert len(stored(db)) == len(set(stored(db))) == 30
    # A copy of a file stored before, synced under another name, is not read again.
    (root / "copies").mkdir()
    (root / "copies" / "early-again.log").write_bytes((root / "x-y" / "early.log").read_bytes())
    code, out, err = ingest(db, str(root / "copies"))
    assert (code, out) == (0, "0 files read (1 copy already stored): 0 flows stored, 0 rejected to dead letters\n")
    assert f"not read again: the same content was stored from {root / 'x-y' / 'early.log'}" in err
    assert len(stored(db)) == 30


def test_a_directory_with_nothing_to_read_stops_the_command_before_anything_is_read(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    digests = synced(tmp_path / "digests", {DIGEST: export()[DIGEST]})
    (digests / ".hidden.log").write_text("\n".join(v2_lines(2)) + "\n")
    good = tmp_path / "good.log"
    good.write_text("\n".join(v2_lines(2)) + "\n")
    db = tmp_path / "f.db"
    assert ingest(db, str(good), str(tmp_path / "empty")) == (
        2, "", f"flowtui: no flow-log files in {tmp_path / 'empty'} (nothing was read)\n"
    )
    assert ingest(db, str(digests), str(good))[::2] == (2, f"flowtui: no flow-log files in {digests} (nothing was read)\n")
    assert ingest(db, "--since", "yesterday", str(good)) == (
        2, "", "flowtui: bad --since 'yesterday': use an age like 7d or a date like 2024-05-01\n"
    )
    assert not db.exists()
    # Files all older than --since are not a mistake: nothing new since (a cron run), exit 0.
    old = synced(tmp_path / "old", {plain_key("2024-05-01", "20240501T0005Z"): (V2_HEADER, v2_lines(2), True)})
    assert ingest(db, "--since", "2024-06-01", str(old)) == (
        0, "0 files: 0 flows stored, 0 rejected to dead letters\n", "flowtui: 1 file older than --since; skipped\n"
    )


def test_a_folder_that_cannot_be_read_is_an_error_and_the_rest_is_read(tmp_path: Path) -> None:
    root = tmp_path / "sync"
    (root / "a").mkdir(parents=True)
    (root / "a" / "one.log").write_text("\n".join(v2_lines(2)) + "\n")
    (root / "b").mkdir()
    (root / "b" / "two.log").write_text("\n".join(v2_lines(3)) + "\n")
    (root / "b").chmod(0o000)
    db = tmp_path / "f.db"
    try:
        argv = _without_write_rights([sys.executable, "-m", "flowtui", "ingest", "--db", str(db), str(root)])
        tmp_path.chmod(0o777)  # the store is made beside it by a user without rights to the folder
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    finally:
        (root / "b").chmod(0o755)
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "1 file: 2 flows stored, 0 rejected to dead letters\n", f"flowtui: cannot read {root / 'b'}: Permission denied\n"
    )


def test_the_walk_lists_files_as_s3_lists_keys(tmp_path: Path) -> None:
    root = synced(tmp_path / "sync", export())
    folder = list_folder(f"{root}/", parse_since("2024-05-02"))
    assert [p.removeprefix(f"{root}/") for p in folder.files] == [
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/02/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240502T0010Z_5e6f7a8b.log.gz",
        "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=05/day=03/hour=04/123456789012_vpcflowlogs_us-east-1_fl-0c1d_20240503T0405Z_9a.log.gz",
        "AWSLogs/x-y/early.log",
        "AWSLogs/x/late.log",
    ]
    assert (folder.old, folder.unreadable, len(folder.messages)) == (1, 0, 3)  # digest, parquet, older than --since
