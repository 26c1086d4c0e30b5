"""One CloudTrail record → one row of the ``cloudtrail`` table.

A record is the JSON object the CloudTrail User Guide documents under "record
contents": ``eventVersion``, ``eventSource``, ``eventName``, ``eventTime`` and
``eventID`` always, ``userIdentity`` in one of its shapes (IAMUser,
AssumedRole, AWSService, Root, …), ``sourceIPAddress`` that is an address or
a service name (``ec2.amazonaws.com``), ``errorCode``/``errorMessage`` for a
call that failed, and ``resources`` for the ARNs it touched. The searched
fields become columns; the whole record is kept, compact, for the event page.
Bytes from outside are never trusted: the only exception this module raises
is :class:`RecordError`, whose message is the dead letter's reason.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any, Final

import orjson

from flowtui.errors import FlowtuiError
from flowtui.payloads import _type_name
from flowtui.schema import ip_key

# The row layout, in the order parse_record returns it (the table's columns after id).
COLUMNS: Final[tuple[str, ...]] = (
    "event_id",
    "time",
    "event_source",
    "event_name",
    "aws_region",
    "source_ip",
    "source_ip_key",
    "user_type",
    "user_arn",
    "user_account_id",
    "user_principal_id",
    "access_key_id",
    "user_name",
    "invoked_by",
    "error_code",
    "error_message",
    "user_agent",
    "read_only",
    "event_type",
    "event_category",
    "recipient_account_id",
    "request_id",
    "vpc_endpoint_id",
    "resources",
    "resource_types",
    "record",
)
INDEX: Final[dict[str, int]] = {c: i for i, c in enumerate(COLUMNS)}
REQUIRED: Final[tuple[str, ...]] = ("eventVersion", "eventSource", "eventName", "eventTime")
_TRAIL_FILE = re.compile(rb'\A\s*\{\s*"Records"\s*:')
_DIGEST = re.compile(r"CloudTrail-Digest")
_UTF8_BOM: Final[bytes] = b"\xef\xbb\xbf"

TrailRow = tuple[Any, ...]


class RecordError(FlowtuiError):
    """A CloudTrail record that cannot be stored; the message says why."""


def is_trail_file(head: bytes) -> bool:
    """Whether decompressed text starting with ``head`` is a CloudTrail log file (``{"Records": [``)."""
    return _TRAIL_FILE.match(head.removeprefix(_UTF8_BOM)) is not None


def digest_skipped(name: str) -> str:
    """What a user is told of a CloudTrail-Digest file (``name``: its path or s3:// address)."""
    return f"{name}: a CloudTrail-Digest file (hashes, not events); skipped"


def is_digest_name(name: str) -> bool:
    """CloudTrail-Digest files (integrity validation) hold hashes, not events."""
    return _DIGEST.search(name) is not None


def looks_like_record(message: str) -> bool:
    """Whether a log event's text is a JSON object (a flow-log line never starts with '{')."""
    return message.lstrip()[:1] == "{"


def parse_message(message: str) -> TrailRow:
    """A log event's text (one record as JSON) → a row."""
    try:
        record = orjson.loads(message)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"not a CloudTrail record: not JSON ({exc})") from None
    return parse_record(record)


def parse_record(record: Any) -> TrailRow:
    """A decoded record → a row; RecordError names what is missing or wrong."""
    if type(record) is not dict:
        raise RecordError(f"CloudTrail record is {_type_name(record)}, not an object")
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise RecordError(f"not a CloudTrail record: it has no {', '.join(missing)}")
    for key in ("eventSource", "eventName", "eventTime"):
        if type(record[key]) is not str:
            raise RecordError(f"CloudTrail record {key} is {_type_name(record[key])}, not a string")
    when = event_time(record["eventTime"])
    compact = orjson.dumps(record).decode()
    event_id = _text(record.get("eventID")) or "sha1:" + hashlib.sha1(compact.encode()).hexdigest()
    identity = record.get("userIdentity")
    if not isinstance(identity, dict):
        identity = {}
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    issuer_name = _text(issuer.get("userName")) if isinstance(issuer, dict) else None
    source_ip = _text(record.get("sourceIPAddress"))
    arns, types = _resources(record.get("resources"))
    return (
        event_id,
        when,
        record["eventSource"],
        record["eventName"],
        _text(record.get("awsRegion")),
        source_ip,
        _address_key(source_ip),
        _text(identity.get("type")),
        _text(identity.get("arn")),
        _text(identity.get("accountId")),
        _text(identity.get("principalId")),
        _text(identity.get("accessKeyId")),
        _text(identity.get("userName")) or issuer_name,
        _text(identity.get("invokedBy")),
        _text(record.get("errorCode")),
        _text(record.get("errorMessage")),
        _text(record.get("userAgent")),
        _boolean(record.get("readOnly")),
        _text(record.get("eventType")),
        _text(record.get("eventCategory")),
        _text(record.get("recipientAccountId")),
        _text(record.get("requestID")),
        _text(record.get("vpcEndpointId")),
        arns,
        types,
        compact,
    )


def event_time(text: str) -> int:
    """``2014-03-06T21:22:54Z`` → unix seconds."""
    try:
        parsed = datetime.fromisoformat(text)  # 3.11 reads the Z
    except ValueError:
        raise RecordError(f"CloudTrail record eventTime {text!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise RecordError(f"CloudTrail record eventTime {text!r} has no time zone")
    return int(parsed.timestamp())


def user_label(user_name: str | None, user_type: str | None, invoked_by: str | None, arn: str | None) -> str:
    """Who made a call, in a few characters: the user or role, root, or the service."""
    if user_name:
        return user_name
    if user_type == "Root":
        return "root"
    if invoked_by:
        return invoked_by
    if arn:
        return arn.rsplit("/", 1)[-1]
    return user_type or "-"


def _resources(value: Any) -> tuple[str | None, str | None]:
    """JSON arrays of the ARNs and types of ``resources`` (None when there are none)."""
    if not isinstance(value, list):
        return None, None
    arns = [r["ARN"] for r in value if isinstance(r, dict) and isinstance(r.get("ARN"), str)]
    types = [r["type"] for r in value if isinstance(r, dict) and isinstance(r.get("type"), str)]
    return (orjson.dumps(arns).decode() if arns else None, orjson.dumps(types).decode() if types else None)


def _address_key(text: str | None) -> int | bytes | None:
    if not text or not (text[0].isdigit() or ":" in text):
        return None
    try:
        return ip_key(text)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return orjson.dumps(value).decode()


def _boolean(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return int(value.lower() == "true")
    return None
