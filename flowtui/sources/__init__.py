"""Sources: Kinesis streams and CloudWatch Logs groups tailed into the store, and S3 exports read once.

Everything here is plain Python (no UI). :func:`run_sources` is the one entry
point the CLI and the dashboard's ingestion process need.
"""

from flowtui.sources.runner import TailJob, run_sources, tail_sources
from flowtui.sources.spec import (
    KinesisSpec,
    LogGroupSpec,
    SourceSpec,
    parse_source,
    parse_sources,
    parse_start,
    sources_from_config,
)

__all__ = [
    "KinesisSpec",
    "LogGroupSpec",
    "SourceSpec",
    "TailJob",
    "parse_source",
    "parse_sources",
    "parse_start",
    "run_sources",
    "sources_from_config",
    "tail_sources",
]
