"""The region of every AWS client: --region, else AWS_REGION, else AWS_DEFAULT_REGION, else the profile's.

boto3 reads only AWS_DEFAULT_REGION; the AWS CLI v2 and the SDKs read AWS_REGION first.
Each case against moto, whose resources live in one region: the one a client reaches
is the one whose stream (or VPC) it sees.
"""

from __future__ import annotations

import boto3
import pytest

from flowtui.cli import main
from flowtui.enrich.aws import AwsSettings, collect_documents
from flowtui.sources.aws import ClientHolder
from flowtui.sources.spec import AwsTarget
from tests.aws_server import moto_server  # noqa: F401 - the fixture

# (AWS_REGION, AWS_DEFAULT_REGION) -> the region the clients must use
CASES = [
    (("eu-west-1", None), "eu-west-1"),
    ((None, "us-west-2"), "us-west-2"),
    (("eu-west-1", "us-west-2"), "eu-west-1"),
]


def _environment(monkeypatch: pytest.MonkeyPatch, region: str | None, default: str | None) -> None:
    for name, value in (("AWS_REGION", region), ("AWS_DEFAULT_REGION", default)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("env", "expected"), CASES)
def test_setup_plans_in_the_environments_region(
    moto_server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: tuple[str | None, str | None],
    expected: str,
) -> None:
    _environment(monkeypatch, *env)
    assert main(["setup", "--log-group", "/vpc/flow-logs", "--stream", "vpc-flow-logs", "--endpoint-url", moto_server]) == 0
    out = capsys.readouterr().out
    assert f"arn:aws:kinesis:{expected}:" in out
    assert f'"Service": "logs.{expected}.amazonaws.com"' in out


def test_setup_without_any_region_names_what_works(
    moto_server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _environment(monkeypatch, None, None)
    assert main(["setup", "--log-group", "/vpc/flow-logs", "--stream", "vpc-flow-logs", "--endpoint-url", moto_server]) == 1
    assert capsys.readouterr().err == (
        "flowtui: no AWS region: pass --region or set AWS_REGION, AWS_DEFAULT_REGION or the profile's region\n"
    )


@pytest.mark.parametrize(("env", "expected"), CASES)
async def test_tail_reads_the_stream_of_the_environments_region(
    moto_server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    env: tuple[str | None, str | None],
    expected: str,
) -> None:
    for region in ("eu-west-1", "us-west-2"):
        boto3.client("kinesis", endpoint_url=moto_server, region_name=region).create_stream(
            StreamName=f"flows-{region}", ShardCount=1
        )
    _environment(monkeypatch, *env)
    holder = ClientHolder("kinesis", AwsTarget(endpoint_url=moto_server))
    try:
        client = await holder.get()
        assert (await client.list_streams())["StreamNames"] == [f"flows-{expected}"]
    finally:
        await holder.close()


def test_a_region_flag_beats_the_environment(
    moto_server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _environment(monkeypatch, "eu-west-1", "us-west-2")
    assert main(["setup", "--log-group", "g", "--stream", "s", "--region", "ap-south-1", "--endpoint-url", moto_server]) == 0
    assert '"Service": "logs.ap-south-1.amazonaws.com"' in capsys.readouterr().out


@pytest.mark.parametrize(("env", "expected"), CASES)
def test_inventory_reads_the_environments_region(
    moto_server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    env: tuple[str | None, str | None],
    expected: str,
) -> None:
    made = {
        region: boto3.client("ec2", endpoint_url=moto_server, region_name=region).create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        for region, cidr in (("eu-west-1", "10.91.0.0/16"), ("us-west-2", "10.92.0.0/16"))
    }
    _environment(monkeypatch, *env)
    docs = collect_documents(AwsSettings(endpoint_url=moto_server))
    vpcs = {v["VpcId"] for d in docs for v in d.get("Vpcs", ())}
    assert made[expected] in vpcs
    assert not vpcs & (set(made.values()) - {made[expected]})
