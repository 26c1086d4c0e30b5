"""``flowtui setup``: the AWS side of tailing, printed (dry run) or made (--apply)."""

from __future__ import annotations

import argparse
import shlex

from flowtui.errors import UsageError
from flowtui.sources.provision import Provisioner
from flowtui.sources.spec import AwsTarget


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "setup",
        help="create the Kinesis stream, IAM role and subscription filter that feed flowtui tail",
        description=(
            "Send a CloudWatch Logs group of VPC flow logs to a Kinesis stream: the stream, the IAM role"
            " CloudWatch Logs assumes (trust: logs.<region>.amazonaws.com; permission: kinesis:PutRecord on the"
            " stream) and the subscription filter. Prints the plan; --apply makes it (again safely)."
        ),
    )
    p.add_argument("--log-group", metavar="G", required=True, help="the log group the VPC flow log writes to")
    p.add_argument("--stream", metavar="S", required=True, help="the Kinesis stream to create or use")
    p.add_argument("--region", metavar="R", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's)")
    p.add_argument("--profile", metavar="P", help="AWS profile from your AWS config files")
    p.add_argument("--endpoint-url", metavar="URL", help="one endpoint for every service (local stacks, tests)")
    p.add_argument("--shards", metavar="N", type=int, default=1, help="shards of a new stream (default 1)")
    p.add_argument("--role-name", metavar="NAME", help="IAM role name (default flowtui-cwl-to-kinesis-<stream>)")
    p.add_argument("--filter-name", metavar="NAME", default="flowtui", help="subscription filter name")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="only print the plan (the default)")
    mode.add_argument("--apply", action="store_true", help="create what is missing (default: only print the plan)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.shards < 1:
        raise UsageError("--shards must be at least 1")
    provisioner = Provisioner(AwsTarget(args.region, args.profile, args.endpoint_url))
    plan = provisioner.plan(args.log_group, args.stream, args.shards, args.role_name, args.filter_name)
    print(plan.describe())
    print()
    if not args.apply:
        print("Dry run: nothing was changed. Run again with --apply to create what is missing.")
        return 0
    provisioner.apply(plan)
    print(f"Done. Read it with: {tail_command(plan.stream, plan.region, args)}")
    return 0


def tail_command(stream: str, region: str, args: argparse.Namespace) -> str:
    """The ``flowtui tail`` that reads what setup made, with every connection flag setup was given:
    copied without ``--endpoint-url`` or ``--profile`` it would read another account's stream, or
    real AWS instead of a local stack. The region is always said (it may have come from the profile)."""
    words = ["flowtui", "tail", "--stream", stream, "--region", region]
    for flag, value in (("--profile", args.profile), ("--endpoint-url", args.endpoint_url)):
        if value:
            words += [flag, value]
    return shlex.join(words)
