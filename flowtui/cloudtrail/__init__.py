"""CloudTrail events beside the flows: parsed, stored in their own table, searched, correlated.

CloudTrail reaches flowtui the ways flow logs do: a CloudWatch Logs
subscription (one record per log event) through Kinesis or payload files, and
the ``{"Records": [...]}`` files CloudTrail writes to S3. The pipeline tells
them from flow logs per payload and per file (a flow-log line never starts
with ``{``) and hands them here. Nothing in this package imports Textual.
"""

from __future__ import annotations

from flowtui.cloudtrail.records import RecordError, TrailRow, is_digest_name, is_trail_file, parse_record

__all__ = ["RecordError", "TrailRow", "is_digest_name", "is_trail_file", "parse_record"]
