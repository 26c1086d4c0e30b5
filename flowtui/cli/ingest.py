"""``flowtui ingest``: flow-log files and payload files into the store."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from flowtui import copies
from flowtui.cli.common import add_store_args, load_config, open_store
from flowtui.config import Config
from flowtui.errors import UsageError
from flowtui.formats import LogFormat
from flowtui.ingest import IngestError, IngestStats, Pipeline
from flowtui.sources.folder import Folder, list_folder
from flowtui.sources.s3 import parse_since
from flowtui.store import Enrich
from flowtui.words import counted


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "ingest",
        help="read flow-log files or CloudWatch payload files into the store",
        description=(
            "Read plain or gzip files of VPC flow-log lines (default v2 format, a custom format given by"
            " --format, or the header line of S3 exports) or of CloudWatch Logs subscription payloads."
            " A file read before is resumed where it ended; '-' reads standard input. A file, or standard input"
            " of up to 4 MiB, whose content was stored whole from another name before is not read again."
            " A directory (one `aws s3 sync` made of an export) is read as its S3 prefix is: every file below"
            " it, sorted by path as S3 lists keys, CloudTrail-Digest files, Parquet exports and names beginning"
            " with '.' left out, --since judged by the dates in the paths."
        ),
        epilog=(
            "Exit status: 0 when every file was read; 1 when a file could not be read to its end, or when"
            " nothing of a file or S3 object could be stored (a wrong format: it is left unread, no dead letters,"
            " so running again with --format reads it); 2 for bad arguments, among them a PATH that does not exist, a directory with"
            " no files to read and an --inventory FILE that cannot be read (every PATH and FILE is checked before any PATH is"
            " read). What was read is stored either way."
        ),
    )
    add_store_args(p)
    p.add_argument("--format", metavar="FMT", help="custom format as AWS writes it: '${version} ${vpc-id} …'")
    p.add_argument(
        "--inventory",
        metavar="FILE",
        action="append",
        default=[],
        help="JSON of `aws ec2 describe-network-interfaces`/`describe-instances`/`describe-vpcs` or "
        "`aws rds describe-db-instances` (names RDS addresses after their DB instance; repeatable)",
    )
    p.add_argument(
        "paths",
        metavar="PATH",
        nargs="+",
        help="files to read ('-' for standard input), directories (every file below them), or s3://bucket/prefix/",
    )
    walked = p.add_argument_group("S3 prefixes and directories")
    walked.add_argument(
        "--since", metavar="WHEN", help="only objects and files whose key or path dates are this recent: 7d, 2024-05-01"
    )
    s3 = p.add_argument_group("S3 exports (s3://bucket/prefix/)")
    s3.add_argument("--region", metavar="R", help="AWS region of the bucket")
    s3.add_argument("--profile", metavar="P", help="AWS profile from your AWS config files")
    s3.add_argument("--endpoint-url", metavar="URL", help="an S3-compatible endpoint")
    p.set_defaults(run=run)


def build_enrich(config: Config, inventory: list[str], live: bool = False) -> Enrich | None:
    """The enricher the config describes (offline inventory only unless ``live``), with the ``inventory``
    files the command line named: a bad one is a bad argument (exit 2), said before any PATH is read;
    a bad one the config names stays a config error (exit 1)."""
    from flowtui.enrich import Enricher
    from flowtui.enrich.inventory import InventoryFileError

    try:
        enricher = Enricher.from_config(config, inventory_files=inventory)
    except InventoryFileError as exc:
        if exc.path not in {Path(p) for p in inventory}:
            raise
        raise UsageError(f"{exc} (nothing was read)") from None
    return enricher.profile


def check_paths(paths: list[str]) -> None:
    """Every local PATH exists, before any is read: a mistyped name is a bad argument (exit 2) that
    stops the command before it stores anything or makes a store, as tar checks its names first,
    not a file that failed midway (exit 1) after the others were read."""
    missing = [p for p in paths if p != "-" and not p.startswith("s3://") and not os.path.exists(p)]
    if missing:
        what = "no such file" if len(missing) == 1 else "no such files"
        raise UsageError(f"{what}: {', '.join(missing)} (nothing was read)")


def list_folders(paths: list[str], since: dt.datetime | None) -> dict[str, Folder]:
    """The directories among the PATHs, listed before any is read: one with no file to read is a
    bad argument, as a missing PATH is (most often the wrong folder, or a sync not run yet)."""
    folders = {p: list_folder(p, since) for p in paths if p != "-" and not p.startswith("s3://") and os.path.isdir(p)}
    empty = [p for p, folder in folders.items() if folder.empty]
    if empty:
        raise UsageError(f"no flow-log files in {', '.join(empty)} (nothing was read)")
    return folders


def run(args: argparse.Namespace) -> int:
    check_paths(args.paths)
    since = parse_since(args.since) if args.since else None
    folders = list_folders(args.paths, since)
    config = load_config(args)
    fmt_text = args.format or config.get("ingest", "format", None, str)
    log_format = LogFormat.from_spec(fmt_text) if fmt_text else None
    enrich = build_enrich(config, args.inventory)
    total = IngestStats()
    copies_seen = 0
    with open_store(args, config) as store:
        pipeline = Pipeline(store, enrich, log_format)
        for path in args.paths:
            if path in folders:
                stats, copied = _ingest_folder(pipeline, folders[path], args, log_format)
            else:
                stats, copied = _ingest_one(pipeline, path, args, since, log_format)
            copies_seen += copied
            for message in stats.messages:
                print(f"flowtui: {message}", file=sys.stderr)
            if stats.nothing_good() and not stats.errors:  # an unreadable file has said so already
                stats.errors += 1
                why = f" ({stats.first_reject})" if stats.first_reject else ""
                # Flow-log lines all rejected: most often a custom format not given.
                hint = "; a custom format is given with --format or [ingest] format" if stats.first_reject_kind == "line" else ""
                if stats.left_unread:
                    what = f"{counted(stats.left_unread, 'line')} rejected, so it is left unread"
                else:
                    what = f"{stats.rejected:,} rejected to dead letters"
                print(f"flowtui: {path}: nothing stored and {what}{why}{hint}", file=sys.stderr)
            total.merge(stats)
    print(summary(total, copies_seen))
    if total.rejected > total.damaged:  # lines among them, not only damaged parts of files (no line to list or parse)
        print("flowtui: `flowtui dead-letters` lists the rejected lines; `flowtui dead-letters --retry` parses them again", file=sys.stderr)
    return 1 if total.errors else 0


def summary(total: IngestStats, copies_seen: int) -> str:
    """The last line: the files read and what they stored. A copy of content stored before is not
    read, and counts apart: '0 files read (1 copy already stored): 0 flows stored, …'."""
    if not copies_seen:
        return f"{counted(total.files, 'file')}: {total.summary()}"
    return f"{counted(total.files, 'file')} read ({counted(copies_seen, 'copy', 'copies')} already stored): {total.summary()}"


def _ingest_one(
    pipeline: Pipeline, path: str, args: argparse.Namespace, since: dt.datetime | None, log_format: LogFormat | None
) -> tuple[IngestStats, int]:
    """One PATH argument, and how many copies of content stored before it held (not read); a file
    that cannot be read is an error counted, and the other files are still read."""
    try:
        if path.startswith("s3://"):
            from flowtui.sources.s3 import S3Export
            from flowtui.sources.spec import AwsTarget

            target = AwsTarget(args.region, args.profile, args.endpoint_url)
            return S3Export(pipeline, target, since, log_format).ingest(path), 0
        return _ingest_local(pipeline, path, log_format)
    except IngestError as exc:
        return IngestStats(errors=1, messages=[str(exc)]), 0


def _ingest_folder(
    pipeline: Pipeline, folder: Folder, args: argparse.Namespace, log_format: LogFormat | None
) -> tuple[IngestStats, int]:
    """A directory's files, each read as a file named alone is (resumed, a copy not read again), summed
    as an S3 prefix's objects are; what its walk left out is said after them."""
    total = IngestStats(errors=folder.unreadable)
    copies_seen = 0
    for path in folder.files:
        stats, copied = _ingest_one(pipeline, path, args, None, log_format)
        total.merge(stats)
        copies_seen += copied
    total.messages.extend(folder.messages)
    return total, copies_seen


def _ingest_local(pipeline: Pipeline, path: str, log_format: LogFormat | None) -> tuple[IngestStats, int]:
    """A file, or standard input, unless the store holds its content already from another name
    (:mod:`flowtui.copies`: then no file is read, and 1 copy is counted); a whole, clean read is
    remembered by its content."""
    store = pipeline.store
    content: copies.Content | None = None
    if path == "-":
        content, data = copies.standard_input(sys.stdin.buffer)
        if content is not None and (held := content.stored_as(store)) is not None:
            return _copy_of("standard input", held), 1
        stats = pipeline._ingest_stream(data, "<stdin>", None, log_format, None, content.with_last_batch() if content else None)
    else:
        try:
            content = copies.of_file(path) if os.path.isfile(path) else None
        except OSError:
            pass  # unreadable: ingest_path says why
        if content is not None and (held := content.stored_as(store)) is not None:
            return _copy_of(path, held), 1
        stats = pipeline.ingest_path(path, log_format, content.with_last_batch() if content else None)
    if content is not None and stats.left_unread:  # nothing of it stored: its last batch said too much
        content.forget(store)
    elif content is not None and not (stats.errors or stats.nothing_good()):
        content.remember(store)
    return stats, 0


def _copy_of(name: str, held: str) -> IngestStats:
    return IngestStats(messages=[f"{name}: not read again: the same content was stored from {copies.shown(held)}"])
