"""flowtui ingest s3://…: flow-log exports from moto's S3 over HTTP, streamed, each object once."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path
from typing import Any

import boto3
import pytest

from flowtui.cli import main
from flowtui.ingest import Pipeline
from flowtui.sources.s3 import S3Export, key_period_end, parse_since
from flowtui.sources.spec import AwsTarget
from flowtui.store import Store
from tests.aws_server import moto_server  # noqa: F401 - the fixture
from tests.tail_helpers import REGION, distinct_flow_count, flow_count, flow_line

V2_HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
V5_HEADER = (
    "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport "
    "pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status"
)
PLAIN = "AWSLogs/123456789012/vpcflowlogs/us-east-1/"
HIVE = "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/"
_n = [0]


def v2_lines(count: int) -> list[str]:
    out = []
    for _ in range(count):
        _n[0] += 1
        out.append(flow_line(_n[0]))
    return out


def v5_lines(count: int) -> list[str]:
    out = []
    for _ in range(count):
        _n[0] += 1
        n = _n[0]
        out.append(
            f"5 vpc-0aa1 subnet-0bb2 i-0cc3 eni-0dd4 123456789012 IPv4 10.0.0.{n % 250} 198.51.100.{n % 250} "
            f"{1024 + n % 60000} 443 - - 6 {n} 3 1700000000 1700000060 ACCEPT 2 OK"
        )
    return out


class Bucket:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
        self.s3.create_bucket(Bucket="flow-logs")
        self.lines = 0

    def put(self, key: str, header: str | None, lines: list[str], compress: bool = True) -> None:
        text = "\n".join(([header] if header else []) + lines) + "\n"
        body = gzip.compress(text.encode()) if compress else text.encode()
        self.s3.put_object(Bucket="flow-logs", Key=key, Body=body)
        self.lines += len(lines)


def plain_key(day: str, stamp: str) -> str:
    y, m, d = day.split("-")
    return f"{PLAIN}{y}/{m}/{d}/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_{stamp}_5e6f7a8b.log.gz"


def hive_key(day: str, hour: str, stamp: str) -> str:
    y, m, d = day.split("-")
    return f"{HIVE}year={y}/month={m}/day={d}/hour={hour}/123456789012_vpcflowlogs_us-east-1_fl-0c1d_{stamp}_9a.log.gz"


@pytest.fixture
def bucket(moto_server: str) -> Bucket:  # noqa: F811 - the imported fixture
    b = Bucket(moto_server)
    b.put(plain_key("2024-05-01", "20240501T0005Z"), V2_HEADER, v2_lines(120))
    b.put(plain_key("2024-05-02", "20240502T0010Z"), V2_HEADER, v2_lines(80))
    b.put(hive_key("2024-05-03", "04", "20240503T0405Z"), V5_HEADER, v5_lines(50))
    b.put(f"{PLAIN}2024/05/03/export.parquet", None, ["PAR1"], compress=False)
    b.put(f"{PLAIN}2024/05/03/", None, [], compress=False)  # a "folder"
    return b


def run_ingest(bucket: Bucket, db: Path, *extra: str) -> int:
    return main(
        ["ingest", "--db", str(db), "--endpoint-url", bucket.endpoint, "--region", REGION, *extra, "s3://flow-logs/"]
    )


def test_both_layouts_then_a_rerun_reads_only_new_objects(
    bucket: Bucket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "flows.db"
    assert run_ingest(bucket, db) == 0
    out = capsys.readouterr()
    assert "3 files: 250 flows stored, 0 rejected to dead letters" in out.out
    assert "export.parquet: Parquet exports are not supported; skipped" in out.err
    assert flow_count(db) == distinct_flow_count(db) == 250
    with Store(db) as store:
        positions = store.checkpoints("s3:flow-logs/")
        assert len(positions) == 3 and all(p.endswith(":done") for p in positions.values())
        vpc = store.conn.execute("SELECT count(*) FROM flows WHERE vpc_id IS NOT NULL").fetchone()[0]
        assert vpc == 50  # the v5 object was read with its own header's format

    assert run_ingest(bucket, db) == 0
    out = capsys.readouterr()
    assert "0 files: 0 flows stored" in out.out
    assert "3 objects read before; skipped" in out.err

    bucket.put(plain_key("2024-05-04", "20240504T0000Z"), V2_HEADER, v2_lines(7) + ["not a flow log line"])
    assert run_ingest(bucket, db) == 0
    assert "1 file: 7 flows stored, 1 rejected to dead letters" in capsys.readouterr().out
    assert flow_count(db) == 257


def test_since_skips_objects_whose_key_dates_are_older(
    bucket: Bucket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "flows.db"
    assert run_ingest(bucket, db, "--since", "2024-05-02T00:00:00Z") == 0
    out = capsys.readouterr()
    assert "2 files: 130 flows stored" in out.out
    assert out.err.splitlines()[-1] == "flowtui: 1 object older than --since; skipped"
    # Narrowing the prefix to where the dates begin lets the listing itself skip old days.
    s3 = S3Export(
        Pipeline(Store(tmp_path / "g.db")), AwsTarget(REGION, None, bucket.endpoint), since=parse_since("2024-05-03")
    )
    assert s3.ingest(f"s3://flow-logs/{PLAIN}").stored == 0
    assert s3.ingest(f"s3://flow-logs/{HIVE}").stored == 50


def test_key_dates() -> None:
    assert key_period_end(plain_key("2024-05-01", "20240501T0005Z")) == dt.datetime(2024, 5, 1, 0, 5, tzinfo=dt.UTC)
    assert key_period_end(f"{PLAIN}2024/05/01/x.log.gz") == dt.datetime(2024, 5, 2, tzinfo=dt.UTC)
    assert key_period_end(f"{HIVE}year=2024/month=05/day=01/hour=07/x.log.gz") == dt.datetime(
        2024, 5, 1, 8, tzinfo=dt.UTC
    )
    assert key_period_end("somewhere/else.log.gz") is None
    now = dt.datetime(2024, 5, 10, tzinfo=dt.UTC)
    assert parse_since("7d", now) == dt.datetime(2024, 5, 3, tzinfo=dt.UTC)
    assert parse_since("2024-05-01") == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def test_an_interrupted_object_resumes_at_its_line(bucket: Bucket, tmp_path: Path) -> None:
    key = plain_key("2024-05-05", "20240505T0000Z")
    bucket.put(key, V2_HEADER, v2_lines(1000))
    store = Store(tmp_path / "flows.db")
    pipeline = Pipeline(store)
    real = pipeline.ingest_lines
    calls = {"n": 0}

    def crash_on_third(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process dies here
        return real(*args, **kwargs)

    pipeline.ingest_lines = crash_on_third  # type: ignore[method-assign]
    export = S3Export(pipeline, AwsTarget(REGION, None, bucket.endpoint), batch_lines=300)
    with pytest.raises(KeyboardInterrupt):
        export.ingest(f"s3://flow-logs/{PLAIN}2024/05/05/")
    assert store.flow_count() == 600
    assert store.checkpoint(f"s3:flow-logs/{key}").endswith(":601")  # header + 600 lines

    pipeline.ingest_lines = real  # type: ignore[method-assign]
    stats = export.ingest(f"s3://flow-logs/{PLAIN}2024/05/05/")
    assert (stats.stored, stats.skipped_lines, stats.duplicates) == (400, 600, 0)
    assert store.flow_count() == 1000
    store.close()
    assert distinct_flow_count(tmp_path / "flows.db") == 1000


def test_objects_are_streamed_not_buffered(bucket: Bucket, tmp_path: Path) -> None:
    key = plain_key("2024-05-06", "20240506T0000Z")
    bucket.put(key, V2_HEADER, v2_lines(30_000))
    size = bucket.s3.head_object(Bucket="flow-logs", Key=key)["ContentLength"]
    client = _CountingClient(bucket.s3)
    store = Store(tmp_path / "flows.db")
    pipeline = Pipeline(store)
    real = pipeline.ingest_lines
    read_at_first_batch: list[int] = []

    def note(*args: Any, **kwargs: Any) -> Any:
        read_at_first_batch.append(client.read)
        return real(*args, **kwargs)

    pipeline.ingest_lines = note  # type: ignore[method-assign]
    stats = S3Export(pipeline, client=client, batch_lines=5_000).ingest(f"s3://flow-logs/{PLAIN}2024/05/06/")
    assert stats.stored == 30_000
    assert client.read == size and client.largest_read <= 1 << 16
    assert read_at_first_batch[0] < size / 2  # the first batch was stored while most of the object was unread
    store.close()


class _CountingClient:
    """An S3 client whose object bodies count what is read from them, and in what sizes."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.read = 0
        self.largest_read = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_object(self, **kwargs: Any) -> Any:
        response = self._client.get_object(**kwargs)
        body = response["Body"]
        outer = self

        class Body:
            def read(self, n: int = -1) -> bytes:
                outer.largest_read = max(outer.largest_read, n if n >= 0 else 1 << 62)
                data = body.read(n)
                outer.read += len(data)
                return data

            def __enter__(self) -> Any:
                return self

            def __exit__(self, *exc: object) -> None:
                body.close()

        response["Body"] = Body()
        return response


def test_missing_bucket_is_one_sentence(moto_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    code = main(["ingest", "--db", str(tmp_path / "f.db"), "--endpoint-url", moto_server, "s3://no-such-bucket/x/"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == "flowtui: S3 bucket 'no-such-bucket' does not exist"


NO_START_HEADER = "instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr action"


def ingest_url(bucket: Bucket, db: Path, url: str) -> int:
    return main(["ingest", "--db", str(db), "--endpoint-url", bucket.endpoint, "--region", REGION, url])


def test_a_format_without_start_places_flows_at_the_objects_last_modified_time(
    bucket: Bucket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = plain_key("2024-05-07", "20240507T0000Z")
    bucket.put(key, NO_START_HEADER, ["i-0a1 eni-0b2 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5 ACCEPT", "- eni-0b2 10.0.1.6 10.0.0.221 - - REJECT"])
    (listed,) = bucket.s3.list_objects_v2(Bucket="flow-logs", Prefix=key)["Contents"]
    modified = int(listed["LastModified"].timestamp())
    db = tmp_path / "flows.db"
    assert ingest_url(bucket, db, f"s3://flow-logs/{PLAIN}2024/05/07/") == 0
    out = capsys.readouterr()
    assert out.out == "1 file: 2 flows stored, 0 rejected to dead letters\n"
    when = dt.datetime.fromtimestamp(modified, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert out.err == (
        f"flowtui: s3://flow-logs/{key}: the format has no ${{start}}, so its flows get the object's"
        f" LastModified time, {when} as their start and timestamp\n"
    )
    with Store(db) as store:
        assert store.conn.execute("SELECT start, duration FROM flows ORDER BY id").fetchall() == [(modified, None), (modified, None)]


def _gzip_lines(count: int) -> bytes:
    return gzip.compress(("\n".join([V2_HEADER, *v2_lines(count)]) + "\n").encode(), mtime=0)


def test_a_damaged_gzip_object_exits_1_and_keeps_every_good_line_and_object(
    moto_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811 - the imported fixture
) -> None:
    bucket = Bucket(moto_server)
    day = f"{PLAIN}2024/05/08/"
    bucket.put(f"{day}a-good.log.gz", V2_HEADER, v2_lines(30))
    cut = _gzip_lines(3000)
    bucket.s3.put_object(Bucket="flow-logs", Key=f"{day}b-cut.log.gz", Body=cut[: len(cut) // 2])
    crc = bytearray(_gzip_lines(40))
    crc[-8] ^= 0xFF  # the trailer's CRC no longer matches: every line decompresses, the check fails
    stored_crc, real_crc = int.from_bytes(crc[-8:-4], "little"), int.from_bytes(crc[-8:-4], "little") ^ 0xFF
    bucket.s3.put_object(Bucket="flow-logs", Key=f"{day}c-crc.log.gz", Body=bytes(crc))
    bucket.s3.put_object(Bucket="flow-logs", Key=f"{day}d-garbage.log.gz", Body=b"\x1f\x8b" + b"not gzip at all" * 10)
    bucket.put(f"{day}e-good.log.gz", V2_HEADER, v2_lines(20))
    db = tmp_path / "flows.db"
    url = f"s3://flow-logs/{day}"

    assert ingest_url(bucket, db, url) == 1
    out = capsys.readouterr()
    with Store(db) as store:
        kept = store.flow_count()
        cut_lines = kept - 30 - 40 - 20  # every line of the others; the cut one's up to the cut
        assert 0 < cut_lines < 3000
        dead = store.conn.execute("SELECT location, reason FROM dead_letters ORDER BY id").fetchall()
    stops = [
        (f"{url}b-cut.log.gz:{cut_lines + 2}", "Compressed file ended before the end-of-stream marker was reached"),
        (f"{url}c-crc.log.gz:42", f"CRC check failed {hex(stored_crc)} != {hex(real_crc)}"),
        (f"{url}d-garbage.log.gz:1", "Unknown compression method"),
    ]
    assert out.out == f"5 files: {kept:,} flows stored, 3 rejected to dead letters\n"
    assert out.err.splitlines() == [f"flowtui: {where.rpartition(':')[0]}: stopped at line {where.rpartition(':')[2]}: {why}" for where, why in stops]
    assert dead == [(where, f"unreadable: {why}") for where, why in stops]

    # Not marked done: a re-run reads none of it again, and says again that it is damaged.
    assert ingest_url(bucket, db, url) == 1
    out = capsys.readouterr()
    assert out.out == f"3 files: 0 flows stored, {cut_lines + 40:,} lines read before, 3 rejected to dead letters\n"
    assert out.err.splitlines()[-1] == "flowtui: 2 objects read before; skipped"
    assert distinct_flow_count(db) == flow_count(db) == kept


def test_two_runs_over_one_object_store_each_line_once(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    """Run B reads the whole object and marks it done while run A holds its first batch, read after
    no position: A's write finds the checkpoint moved and stores nothing of it again (cron runs that overlap)."""
    bucket = Bucket(moto_server)
    bucket.put(plain_key("2024-05-01", "20240501T0005Z"), V2_HEADER, v2_lines(120))
    db = tmp_path / "f.db"
    real = Pipeline.ingest_lines
    calls: list[int] = []

    def other_run_first(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            assert run_ingest(bucket, db) == 0
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "ingest_lines", other_run_first)
    assert run_ingest(bucket, db) == 0
    assert flow_count(db) == distinct_flow_count(db) == 120
    assert capsys.readouterr().out.splitlines() == [
        "1 file: 120 flows stored, 0 rejected to dead letters",
        "1 file: 0 flows stored, 120 lines read before, 0 rejected to dead letters",
    ]


def test_an_object_of_which_no_line_fits_the_format_is_left_unread(
    moto_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811 - the imported fixture
) -> None:
    bucket = Bucket(moto_server)
    swapped = [line.rsplit(" ", 2) for line in v2_lines(5)]  # log-status before action: no v2 line
    bucket.put(plain_key("2024-05-01", "20240501T0005Z"), None, [f"{head} {status} {action}" for head, action, status in swapped])
    db = tmp_path / "u.db"
    assert run_ingest(bucket, db) == 1
    out = capsys.readouterr()
    assert out.out == "1 file: 0 flows stored, 5 lines rejected and left unread\n"
    assert out.err.startswith("flowtui: s3://flow-logs/: nothing stored and 5 lines rejected, so it is left unread (line 1: ")
    with Store(db) as store:
        assert (store.flow_count(), store.dead_letter_count(), store.checkpoints()) == (0, 0, {})
    spec = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${log-status} ${action}"
    assert run_ingest(bucket, db, "--format", spec) == 0
    assert capsys.readouterr().out == "1 file: 5 flows stored, 0 rejected to dead letters\n"
    assert flow_count(db) == 5


def test_a_run_whose_object_checkpoint_another_run_moves_goes_on_after_it(moto_server: str, tmp_path: Path) -> None:  # noqa: F811
    """After run A stored lines 1-50, another run (another connection) records lines 51-70 stored: A's
    batch 51-100 stores 71-100 only, then the rest, and marks the object done."""
    bucket = Bucket(moto_server)
    key = plain_key("2024-05-01", "20240501T0005Z")
    bucket.put(key, V2_HEADER, v2_lines(120))
    etag = bucket.s3.head_object(Bucket="flow-logs", Key=key)["ETag"].strip('"')
    source = f"s3:flow-logs/{key}"
    with Store(tmp_path / "m.db") as store, Store(tmp_path / "m.db") as other:
        pipeline = Pipeline(store)
        real = pipeline.ingest_lines
        calls: list[int] = []

        def other_run_between(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 2:
                assert other.checkpoint(source) == f"{etag}:51"  # the header and lines 1-50 (line numbers count the header)
                other.set_checkpoint(source, f"{etag}:71")
            return real(*args, **kwargs)

        pipeline.ingest_lines = other_run_between  # type: ignore[method-assign]
        stats = S3Export(pipeline, client=bucket.s3, batch_lines=50).ingest(f"s3://flow-logs/{PLAIN}")
        assert (stats.stored, stats.skipped_lines) == (100, 20)
        assert store.checkpoint(source) == f"{etag}:done"
        assert store.flow_count() == 100
