"""The CloudTrail field catalog: the names a CloudTrail query, ``--fields`` and completion accept.

Each field answers to the record's own documented name (``eventName``,
``userIdentity.arn``, ``resources.ARN``) and to a snake_case alias in
Graylog's style (``event_name``, ``user_arn``, ``resource_arn``); a few have
more aliases that flow-query habits reach for (``src_addr``, ``region``).
Bare terms search the whole record, word by word, ignoring case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from flowtui.catalog import FieldType
from flowtui.query import values
from flowtui.query.compiler import Scope, Target
from flowtui.query.conditions import Cond, sql
from flowtui.schema import Storage


@dataclass(frozen=True, slots=True)
class TrailField:
    name: str  # as the CloudTrail User Guide documents it
    alias: str  # snake_case, Graylog's style
    type: FieldType
    column: str  # of the cloudtrail table
    description: str
    more: tuple[str, ...] = ()  # further aliases
    each: bool = False  # the column holds a JSON list (a match on any item matches)


def _f(name: str, alias: str, type_: FieldType, column: str, desc: str, *more: str, each: bool = False) -> TrailField:
    return TrailField(name, alias, type_, column, desc, more, each)


FIELDS: Final[tuple[TrailField, ...]] = (
    _f("eventTime", "event_time", "time", "time", "When the request was made (UTC).", "timestamp"),
    _f("eventSource", "event_source", "str", "event_source", "The service the request went to, e.g. s3.amazonaws.com."),
    _f("eventName", "event_name", "str", "event_name", "The API action, e.g. DeleteBucketPolicy."),
    _f("awsRegion", "aws_region", "str", "aws_region", "The region the request went to.", "region"),
    _f(
        "sourceIPAddress",
        "source_address",
        "ip",
        "source_ip",
        "Where the request came from: an address, or a service name (ec2.amazonaws.com).",
        "src_addr",
        "source_ip_address",
    ),
    _f("userAgent", "user_agent", "str", "user_agent", "The tool or SDK that made the request."),
    _f("userIdentity.type", "user_type", "str", "user_type", "IAMUser, AssumedRole, AWSService, Root, FederatedUser …"),
    _f("userIdentity.arn", "user_arn", "str", "user_arn", "ARN of the principal that made the call."),
    _f("userIdentity.accountId", "user_account_id", "str", "user_account_id", "Account of the principal."),
    _f("userIdentity.principalId", "user_principal_id", "str", "user_principal_id", "Unique id of the principal."),
    _f("userIdentity.accessKeyId", "access_key_id", "str", "access_key_id", "Access key the request was signed with."),
    _f(
        "userIdentity.userName",
        "user_name",
        "str",
        "user_name",
        "IAM user name; for an assumed role, the role's (sessionIssuer) name.",
        "userIdentity.sessionContext.sessionIssuer.userName",
        "user",
    ),
    _f("userIdentity.invokedBy", "invoked_by", "str", "invoked_by", "The AWS service that made the request for you."),
    _f("errorCode", "error_code", "str", "error_code", "The error of a call that failed, e.g. AccessDenied."),
    _f("errorMessage", "error_message", "str", "error_message", "The error's description."),
    _f("readOnly", "read_only", "bool", "read_only", "Whether the call only reads."),
    _f("eventType", "event_type", "str", "event_type", "AwsApiCall, AwsConsoleSignIn, AwsServiceEvent …"),
    _f("eventCategory", "event_category", "str", "event_category", "Management, Data, NetworkActivity or Insight."),
    _f("recipientAccountId", "recipient_account_id", "str", "recipient_account_id", "Account that received the event."),
    _f("eventID", "event_id", "str", "event_id", "CloudTrail's unique id of the event."),
    _f("requestID", "request_id", "str", "request_id", "The service's id of the request."),
    _f("vpcEndpointId", "vpc_endpoint_id", "str", "vpc_endpoint_id", "VPC endpoint the request came through."),
    _f("resources.ARN", "resource_arn", "str", "resources", "ARNs of the resources the call named.", each=True),
    _f("resources.type", "resource_type", "str", "resource_types", "Types of those resources (AWS::S3::Bucket).", each=True),
)
MESSAGE: Final[str] = "message"  # bare terms: the whole record, word by word
BY_NAME: Final[dict[str, TrailField]] = {
    name: f for f in FIELDS for name in (f.name, f.alias, *f.more)
}
DEFAULT_COLUMNS: Final[tuple[str, ...]] = (
    "eventTime",
    "sourceIPAddress",
    "eventSource",
    "eventName",
    "userIdentity.userName",
    "errorCode",
    "awsRegion",
)
_WORD = r"[\w.@-]"  # what a bare term may not touch on either side: it matches whole words


def resolve(name: str) -> Target | None:
    """A field's place in the cloudtrail table, under any of its names."""
    if name == MESSAGE:
        return Target(MESSAGE, "str", Storage("message", ""))
    f = BY_NAME.get(name)
    if f is None:
        return None
    key = f'f."{f.column}_key"' if f.type == "ip" else None
    return Target(f.name, f.type, Storage("int", f.column), key=key, each=f.each)


def names() -> list[str]:
    """Every accepted name: the documented ones, then the aliases."""
    return [f.name for f in FIELDS] + [n for f in FIELDS for n in (f.alias, *f.more)] + [MESSAGE]


def _record_search(like: str, rx: str) -> Cond:
    # LIKE runs in C and throws most rows out before the regular expression looks at them.
    return sql("(f.\"record\" LIKE ? ESCAPE '\\' AND flowtui_search(?, f.\"record\"))", (like, rx))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def term(text: str) -> Cond:
    """A bare term: a whole word of the record, ignoring case."""
    return _record_search(f"%{_like_escape(text)}%", rf"(?i)(?<!{_WORD}){re.escape(text)}(?!{_WORD})")


def phrase(text: str) -> Cond:
    words = text.split()
    if len(words) <= 1:
        return term(text.strip())
    body = r"\s+".join(re.escape(w) for w in words)
    return _record_search(f"%{_like_escape(words[0])}%", rf"(?i)(?<!{_WORD}){body}(?!{_WORD})")


def pattern(like: str | None, regex: str) -> Cond:
    """A bare wildcard (its ``like`` given) or regular expression, matched to whole words."""
    if like is not None:
        regex = _within_words(regex)
        values.compiled(regex)
        return _record_search(f"%{like}%", rf"(?i)(?<!{_WORD}){regex}(?!{_WORD})")
    return sql('flowtui_search(?, f."record")', (rf"(?i)(?<!{_WORD}){regex}(?!{_WORD})",))


def _within_words(regex: str) -> str:
    """A wildcard's regex whose ``*`` and ``?`` stay inside one JSON string (never past a quote)."""
    out = []
    i = 0
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if c == "." and regex[i + 1 : i + 2] == "*":
            out.append('[^"]*')
            i += 2
            continue
        out.append('[^"]' if c == "." else c)
        i += 1
    return "".join(out)


SCOPE: Final[Scope] = Scope("cloudtrail", resolve, names, term, phrase, pattern)


def canonical(name: str) -> str | None:
    """The documented name a field goes by in output (``user_arn`` → ``userIdentity.arn``)."""
    f = BY_NAME.get(name)
    return None if f is None else f.name
