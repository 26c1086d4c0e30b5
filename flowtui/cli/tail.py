"""``flowtui tail``: a Kinesis stream or a CloudWatch Logs group, live into the store."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import signal
import sys
import threading
from dataclasses import replace

from flowtui.cli.common import add_store_args, db_path, load_config
from flowtui.config import Config
from flowtui.errors import SourceError, UsageError
from flowtui.sources.runner import SourcesFailed, TailJob, run_sources, summary_lines
from flowtui.sources.spec import AwsTarget, KinesisSpec, LogGroupSpec, SourceSpec, parse_start, sources_from_config

LOG_INTERVAL = 5.0


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "tail",
        help="read a Kinesis stream or CloudWatch Logs group into the store, live",
        description=(
            "Read VPC flow logs live: a Kinesis stream fed by a CloudWatch Logs subscription filter (--stream),"
            " a log group directly (--log-group), or the [[sources]] of the config file. Positions are stored"
            " with the flows, so a restart continues where the last run stopped."
        ),
    )
    add_store_args(p)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--stream", metavar="NAME", help="Kinesis stream to read")
    what.add_argument("--log-group", metavar="NAME", help="CloudWatch Logs group to read with FilterLogEvents")
    p.add_argument("--region", metavar="R", help="AWS region (default: the source's, then AWS_REGION, AWS_DEFAULT_REGION, the profile's)")
    p.add_argument("--profile", metavar="P", help="AWS profile from your AWS config files")
    p.add_argument("--endpoint-url", metavar="URL", help="a Kinesis/CloudWatch Logs compatible endpoint")
    p.add_argument(
        "--start",
        metavar="WHERE",
        help="where a source read for the first time begins: trim-horizon (default), latest, a time"
        " (2024-05-01T12:00:00Z) or an age (--start=-2h); later runs resume from the stored positions",
    )
    p.add_argument("--format", metavar="FMT", help="the log group's flow-log format: '${version} ${vpc-id} …'")
    p.add_argument(
        "--until-caught-up",
        action="store_true",
        help="stop once everything in the sources is stored; exit status 1 if a source could not be read",
    )
    p.add_argument("--no-ui", action="store_true", help="no dashboard: log progress every few seconds")
    p.set_defaults(run=run)


def specs_from_args(args: argparse.Namespace, config: Config) -> list[SourceSpec]:
    """The sources to read: the one named by flags (with its config table, if any, under it), or the config's."""
    configured = sources_from_config(config)
    default_format = args.format or config.get("ingest", "format", None, str)
    specs: list[SourceSpec]
    if args.stream:
        match = next((s for s in configured if isinstance(s, KinesisSpec) and s.stream == args.stream), None)
        specs = [match or KinesisSpec(args.stream)]
    elif args.log_group:
        match2 = next((s for s in configured if isinstance(s, LogGroupSpec) and s.log_group == args.log_group), None)
        specs = [match2 or LogGroupSpec(args.log_group)]
    else:
        specs = configured
    try:
        start = parse_start(args.start) if args.start else None
    except SourceError as exc:  # a bad --start is a bad argument, as bad flags are
        raise UsageError(str(exc)) from None
    out: list[SourceSpec] = []
    for spec in specs:
        aws = AwsTarget(
            args.region or spec.aws.region,
            args.profile or spec.aws.profile,
            args.endpoint_url or spec.aws.endpoint_url,
        )
        spec = replace(spec, aws=aws, format=args.format or spec.format or default_format)
        if start is not None:
            spec = replace(spec, start=start)
        out.append(spec)
    return out


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    specs = specs_from_args(args, config)
    if not specs:
        raise UsageError("nothing to tail: pass --stream or --log-group, or add [[sources]] to the config file")
    db = db_path(args, config)
    config_path = str(config.path) if config.path else None
    if not args.no_ui:
        if importlib.util.find_spec("flowtui.ui.app") is None:
            print("flowtui: dashboard not available yet; tailing without it", file=sys.stderr)
        elif sys.stdin.isatty() and sys.stdout.isatty():
            from flowtui.ui.app import run_dashboard

            job = TailJob(specs, config_path, args.until_caught_up)
            return int(run_dashboard(db_path=db, config=config, jobs=[job]) or 0)
        else:
            raise UsageError("the dashboard needs a terminal; use --no-ui to tail without one")
    _log_to_stderr()
    print(f"flowtui: tailing {', '.join(s.name for s in specs)} into {db}", file=sys.stderr, flush=True)
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def interrupted(signum: int, frame: object) -> None:
        if stop.is_set():  # a second Ctrl-C: do not wait for the batches in flight
            raise KeyboardInterrupt
        print("flowtui: stopping after the batches in flight (Ctrl-C again to quit now)", file=sys.stderr)
        stop.set()

    signal.signal(signal.SIGINT, interrupted)
    try:
        results = run_sources(specs, db, stop, args.until_caught_up, config_path=config_path, log_interval=LOG_INTERVAL)
    except SourcesFailed as failed:  # --until-caught-up: the others were read to the end; then exit 1
        read = {n: s for n, s in failed.results.items() if n not in failed.failures}
        for line in summary_lines(read):
            print(line, flush=True)
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    for line in summary_lines(results):
        print(line, flush=True)
    return 130 if stop.is_set() else 0  # Ctrl-C, as every command exits on it (after storing what was fetched)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the moment (tests swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def _log_to_stderr() -> None:
    logger = logging.getLogger("flowtui")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
