"""flowtui setup against moto: a dry run changes nothing; --apply makes the stream, the role and the filter."""

from __future__ import annotations

import gzip
import json
import shlex
import time
from pathlib import Path

import boto3
import pytest

from flowtui.cli import main
from tests.aws_server import ACCOUNT_ID, moto_server  # noqa: F401 - the fixture
from tests.tail_helpers import REGION, flow_line

GROUP = "vpc-flow-logs"


def setup(endpoint: str, *extra: str) -> int:
    return main(
        ["setup", "--log-group", GROUP, "--stream", "flows", "--region", REGION, "--endpoint-url", endpoint, *extra]
    )


def test_dry_run_prints_the_plan_and_changes_nothing(moto_server: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert setup(moto_server) == 0
    out = capsys.readouterr().out
    assert "1. Log group vpc-flow-logs [to create]" in out
    assert "2. Kinesis stream flows, 1 shard [to create]" in out
    assert f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/flows" in out
    assert '"Service": "logs.us-east-1.amazonaws.com"' in out
    assert '"Action": "kinesis:PutRecord"' in out
    assert "Dry run: nothing was changed" in out
    kinesis = boto3.client("kinesis", endpoint_url=moto_server, region_name=REGION)
    assert kinesis.list_streams()["StreamNames"] == []
    iam = boto3.client("iam", endpoint_url=moto_server, region_name=REGION)
    assert iam.list_roles()["Roles"] == []


def test_apply_creates_everything_and_logs_flow_into_the_stream(
    moto_server: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert setup(moto_server, "--apply", "--shards", "2") == 0
    out = capsys.readouterr().out
    assert "Done. Read it with: flowtui tail --stream flows --region us-east-1" in out

    kinesis = boto3.client("kinesis", endpoint_url=moto_server, region_name=REGION)
    summary = kinesis.describe_stream_summary(StreamName="flows")["StreamDescriptionSummary"]
    assert (summary["StreamStatus"], summary["OpenShardCount"]) == ("ACTIVE", 2)

    iam = boto3.client("iam", endpoint_url=moto_server, region_name=REGION)
    role = iam.get_role(RoleName="flowtui-cwl-to-kinesis-flows")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    policy = iam.get_role_policy(RoleName="flowtui-cwl-to-kinesis-flows", PolicyName="flowtui-put-record")
    document = policy["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"] == [
        {"Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": summary["StreamARN"]}
    ]

    logs = boto3.client("logs", endpoint_url=moto_server, region_name=REGION)
    (flt,) = logs.describe_subscription_filters(logGroupName=GROUP)["subscriptionFilters"]
    assert (flt["filterName"], flt["destinationArn"], flt["roleArn"]) == ("flowtui", summary["StreamARN"], role["Arn"])

    # Applying again is safe and says that everything is there.
    assert setup(moto_server, "--apply") == 0
    out = capsys.readouterr().out
    assert "[to create]" not in out and out.count("[exists]") == 4

    # And flow logs written to the group now arrive in the stream.
    logs.create_log_stream(logGroupName=GROUP, logStreamName="eni-0a1b2c3d4e5f60718-all")
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="eni-0a1b2c3d4e5f60718-all",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": flow_line(i)} for i in range(3)],
    )
    records = []
    for shard in kinesis.list_shards(StreamName="flows")["Shards"]:
        it = kinesis.get_shard_iterator(StreamName="flows", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        records += kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]
    (record,) = records
    doc = json.loads(gzip.decompress(record["Data"]))
    assert [e["message"] for e in doc["logEvents"]] == [flow_line(i) for i in range(3)]


def test_setup_errors_are_one_sentence(moto_server: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert setup(moto_server, "--shards", "0") == 2
    assert "flowtui: --shards must be at least 1" in capsys.readouterr().err
    code = main(["setup", "--log-group", GROUP, "--stream", "s", "--region", REGION, "--profile", "nope-not-here"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.strip() == "flowtui: AWS profile 'nope-not-here' is not in your AWS config files"


def test_the_done_hint_repeats_every_connection_flag_and_reads_the_stream(
    moto_server: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Copied without --endpoint-url (or --profile) the hint would read real AWS, or another account."""
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile qa]\naws_access_key_id = testing\naws_secret_access_key = testing\nregion = us-east-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    argv = ["--profile", "qa", "--apply"]
    assert setup(moto_server, *argv) == 0
    out = capsys.readouterr().out
    hint = f"flowtui tail --stream flows --region us-east-1 --profile qa --endpoint-url {moto_server}"
    assert out.splitlines()[-1] == f"Done. Read it with: {hint}"
    assert "created Kinesis stream flows (1 shard)" in out.splitlines()

    logs = boto3.client("logs", endpoint_url=moto_server, region_name=REGION)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="eni-0a1b2c3d4e5f60718-all")
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="eni-0a1b2c3d4e5f60718-all",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": flow_line(i)} for i in range(3)],
    )
    # The hint as a user pastes it, made headless: it reads the stream setup made.
    command = shlex.split(hint)[1:] + ["--db", str(tmp_path / "f.db"), "--no-ui", "--until-caught-up"]
    assert main(command) == 0
    assert "kinesis:flows: 3 flows stored" in capsys.readouterr().out
