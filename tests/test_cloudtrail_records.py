"""CloudTrail records in AWS's documented shapes → rows; what tells a CloudTrail file or payload from flow logs."""

from __future__ import annotations

import gzip
import json

import pytest

from flowtui.cloudtrail.records import (
    INDEX,
    RecordError,
    is_digest_name,
    is_trail_file,
    looks_like_record,
    parse_message,
    parse_record,
    user_label,
)
from tests.cloudtrail_data import LOG_FILE, by_type, compact, records


def field(row: tuple, column: str) -> object:
    return row[INDEX[column]]


def test_iam_user_call() -> None:
    row = parse_record(by_type("IAMUser"))
    assert {c: field(row, c) for c in ("event_id", "time", "event_source", "event_name", "aws_region")} == {
        "event_id": "e0a1b2c3-0001-4000-8000-000000000001",
        "time": 1_795_773_605,  # 2026-11-27T10:00:05Z
        "event_source": "ec2.amazonaws.com",
        "event_name": "StartInstances",
        "aws_region": "us-east-2",
    }
    assert field(row, "source_ip") == "10.0.1.25"
    assert field(row, "source_ip_key") == 0x0A000119
    assert (field(row, "user_type"), field(row, "user_arn"), field(row, "user_name")) == (
        "IAMUser",
        "arn:aws:iam::111122223333:user/Alice",
        "Alice",
    )
    assert (field(row, "user_account_id"), field(row, "user_principal_id"), field(row, "access_key_id")) == (
        "111122223333",
        "AIDAEXAMPLEPRINCIPAL1",
        "AKIAEXAMPLEKEYID0001",
    )
    assert (field(row, "read_only"), field(row, "event_type"), field(row, "recipient_account_id")) == (0, "AwsApiCall", "111122223333")
    assert (field(row, "error_code"), field(row, "resources")) == (None, None)
    assert json.loads(str(field(row, "record"))) == by_type("IAMUser")  # the whole record, compact
    assert " " not in str(field(row, "record"))[:40]


def test_assumed_role_is_named_by_its_session_issuer_and_keeps_its_resources() -> None:
    row = parse_record(by_type("AssumedRole"))
    assert field(row, "user_name") == "Deployer"
    assert field(row, "user_arn") == "arn:aws:sts::111122223333:assumed-role/Deployer/deploy-session"
    assert field(row, "resources") == '["arn:aws:s3:::example-logs-bucket"]'
    assert field(row, "resource_types") == '["AWS::S3::Bucket"]'


def test_aws_service_call_from_a_service_name_has_no_address_key() -> None:
    row = parse_record(by_type("AWSService"))
    assert (field(row, "source_ip"), field(row, "source_ip_key")) == ("ec2.amazonaws.com", None)
    assert (field(row, "invoked_by"), field(row, "user_arn"), field(row, "read_only")) == ("ec2.amazonaws.com", None, 1)
    assert user_label(None, "AWSService", "ec2.amazonaws.com", None) == "ec2.amazonaws.com"


def test_root_sign_in() -> None:
    row = parse_record(by_type("Root"))
    assert (field(row, "user_type"), field(row, "user_name"), field(row, "access_key_id")) == ("Root", None, None)
    assert field(row, "event_type") == "AwsConsoleSignIn"
    assert user_label(None, "Root", None, "arn:aws:iam::111122223333:root") == "root"


def test_errors_and_an_ipv6_source() -> None:
    failed = [parse_record(r) for r in records() if "errorCode" in r]
    assert [(field(r, "error_code"), field(r, "source_ip")) for r in failed] == [
        ("Client.UnauthorizedOperation", "198.51.100.77"),
        ("AccessDenied", "2001:db8::42"),
    ]
    assert str(field(failed[1], "error_message")).startswith("User: arn:aws:iam::111122223333:user/Bob is not authorized")
    assert field(failed[1], "source_ip_key") == bytes.fromhex("20010db8000000000000000000000042")


def test_a_log_event_message_is_one_record() -> None:
    assert parse_message(compact(by_type("Root"))) == parse_record(by_type("Root"))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("[1, 2]", "CloudTrail record is a list, not an object"),
        ('{"eventVersion": "1.08"}', "not a CloudTrail record: it has no eventSource, eventName, eventTime"),
        (
            '{"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": 7, "eventTime": "2026-11-27T10:00:00Z"}',
            "CloudTrail record eventName is a number, not a string",
        ),
        (
            '{"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventTime": "yesterday"}',
            "CloudTrail record eventTime 'yesterday' is not an ISO 8601 time",
        ),
    ],
)
def test_malformed_records_say_why(value: str, reason: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_message(value)
    assert str(caught.value) == reason


def test_a_message_that_is_not_json() -> None:
    with pytest.raises(RecordError, match=r"^not a CloudTrail record: not JSON \("):
        parse_message('{"eventVersion": "1.08", ')


def test_a_record_without_event_id_gets_one_from_its_content() -> None:
    record = by_type("Root")
    del record["eventID"]
    first, again = parse_record(record), parse_record(json.loads(json.dumps(record)))
    assert str(field(first, "event_id")).startswith("sha1:")
    assert field(first, "event_id") == field(again, "event_id")


def test_detection() -> None:
    text = LOG_FILE.read_bytes()
    assert is_trail_file(text[:64])
    assert is_trail_file(b'\xef\xbb\xbf  {\n "Records" : [')
    assert not is_trail_file(b'{"messageType": "DATA_MESSAGE"')
    assert not is_trail_file(gzip.compress(text)[:64])  # the caller looks inside gzip first
    assert looks_like_record(' {"eventVersion": "1.08"}')
    assert not looks_like_record("2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK")
    assert is_digest_name("AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2026/11/27/x_CloudTrail-Digest_y.json.gz")
    assert not is_digest_name(LOG_FILE.name)
