"""Flow-log formats: every sample line AWS documents, custom formats, rejects, protocol names, summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtui.catalog import BY_AWS_NAME, RECORD_FIELDS, RECORD_INDEX
from flowtui.errors import FormatError
from flowtui.formats import (
    DEFAULT_FORMAT,
    LogFormat,
    canonical_address,
    flow_message,
    is_header_line,
    message_of,
    split_format_and_lines,
)
from flowtui.protocols import protocol_name, protocol_number

SHARED = Path(__file__).resolve().parents[2] / "shared" / "testdata"
FLOWLOGS = SHARED / "flowlogs"


def sample(name: str) -> Path:
    path = FLOWLOGS / name
    if not path.is_file():
        pytest.skip(f"shared test data {path} is not there")
    return path


def as_dict(record: tuple[Any, ...]) -> dict[str, Any]:
    """The non-None values of a record by catalog name: a failing assert then shows names, not positions."""
    assert len(record) == len(RECORD_FIELDS)
    return {name: record[index] for name, index in RECORD_INDEX.items() if record[index] is not None}


def parse_file(path: Path, explicit: LogFormat | str | None = None) -> tuple[LogFormat, list[dict[str, Any]]]:
    with path.open(encoding="utf-8") as lines:
        log_format, rest = split_format_and_lines(lines, explicit)
        records, rejects = log_format.parse_lines(rest)
    assert rejects == []
    return log_format, [as_dict(record) for record in records]


V2_COMMON = {"version": 2, "account_id": "123456789010"}


# -- the AWS documentation samples, field by field ---------------------------------------------------------------


def test_v2_default_format_every_line() -> None:
    log_format, records = parse_file(sample("aws-docs-v2.log"))
    assert log_format is DEFAULT_FORMAT
    assert records == [
        V2_COMMON
        | {
            "interface_id": "eni-1235b8ca123456789",
            "src_addr": "172.31.16.139",
            "dst_addr": "172.31.16.21",
            "src_port": 20641,
            "dst_port": 22,
            "protocol_number": 6,
            "packets": 20,
            "bytes": 4249,
            "start": 1418530010,
            "end": 1418530070,
            "action": "ACCEPT",
            "log_status": "OK",
        },
        V2_COMMON
        | {
            "interface_id": "eni-1235b8ca123456789",
            "src_addr": "172.31.9.69",
            "dst_addr": "172.31.9.12",
            "src_port": 49761,
            "dst_port": 3389,
            "protocol_number": 6,
            "packets": 20,
            "bytes": 4249,
            "start": 1418530010,
            "end": 1418530070,
            "action": "REJECT",
            "log_status": "OK",
        },
        V2_COMMON
        | {"interface_id": "eni-1235b8ca123456789", "start": 1431280876, "end": 1431280934, "log_status": "NODATA"},
        V2_COMMON
        | {"interface_id": "eni-11111111aaaaaaaaa", "start": 1431280876, "end": 1431280934, "log_status": "SKIPDATA"},
        V2_COMMON
        | {
            "interface_id": "eni-1235b8ca123456789",
            "src_addr": "203.0.113.12",
            "dst_addr": "172.31.16.139",
            "src_port": 0,
            "dst_port": 0,
            "protocol_number": 1,
            "packets": 4,
            "bytes": 336,
            "start": 1432917027,
            "end": 1432917142,
            "action": "ACCEPT",
            "log_status": "OK",
        },
        V2_COMMON
        | {
            "interface_id": "eni-1235b8ca123456789",
            "src_addr": "2001:db8:1234:a100:8d6e:3477:df66:f105",
            "dst_addr": "2001:db8:1234:a102:3304:8879:34cf:4071",
            "src_port": 34892,
            "dst_port": 22,
            "protocol_number": 6,
            "packets": 54,
            "bytes": 8855,
            "start": 1477913708,
            "end": 1477913820,
            "action": "ACCEPT",
            "log_status": "OK",
        },
    ]


def test_v2_nodata_fields_are_null_not_zero() -> None:
    records, rejects = DEFAULT_FORMAT.parse_lines(sample("aws-docs-v2.log").read_text().splitlines())
    assert rejects == []
    nodata = records[2]
    for name in ("src_addr", "dst_addr", "src_port", "dst_port", "protocol_number", "packets", "bytes", "action"):
        assert nodata[RECORD_INDEX[name]] is None, name
    # Fields the v2 format does not have are None as well.
    assert nodata[RECORD_INDEX["vpc_id"]] is None
    assert nodata[RECORD_INDEX["tcp_flags"]] is None


def test_v3_header_and_double_space() -> None:
    log_format, records = parse_file(sample("aws-docs-v3.log"))
    assert log_format.aws_names[:4] == ("version", "vpc-id", "subnet-id", "instance-id")
    assert len(log_format.fields) == 21
    common = {
        "version": 3,
        "vpc_id": "vpc-abcdefab012345678",
        "subnet_id": "subnet-aaaaaaaa012345678",
        "instance_id": "i-01234567890123456",
        "interface_id": "eni-1235b8ca123456789",
        "account_id": "123456789010",
        "type": "IPv4",
        "protocol_number": 6,
        "action": "ACCEPT",
        "log_status": "OK",
    }
    assert records == [
        common
        | {
            "src_addr": "52.213.180.42",
            "dst_addr": "10.0.0.62",
            "src_port": 43416,
            "dst_port": 5001,
            "pkt_srcaddr": "52.213.180.42",
            "pkt_dstaddr": "10.0.0.62",
            "bytes": 568,
            "packets": 8,
            "start": 1566848875,
            "end": 1566848933,
            "tcp_flags": 2,
        },
        common
        | {
            "src_addr": "10.0.0.62",
            "dst_addr": "52.213.180.42",
            "src_port": 5001,
            "dst_port": 43638,
            "pkt_srcaddr": "10.0.0.62",
            "pkt_dstaddr": "52.213.180.42",
            "bytes": 967,
            "packets": 14,
            "start": 1566933133,
            "end": 1566933193,
            "tcp_flags": 19,
        },
    ]


def test_v5_dashes_are_none() -> None:
    _, records = parse_file(sample("aws-docs-v5.log"))
    common = {
        "version": 5,
        "protocol_number": 6,
        "start": 1616729292,
        "end": 1616729349,
        "type": "IPv4",
        "account_id": "123456789012",
        "vpc_id": "vpc-abcdefab012345678",
        "subnet_id": "subnet-aaaaaaaa012345678",
        "instance_id": "i-0c50d5961bcb2d47b",
        "interface_id": "eni-1235b8ca123456789",
        "region": "ap-southeast-2",
        "az_id": "apse2-az3",
        "action": "ACCEPT",
        "log_status": "OK",
    }
    assert records == [
        common
        | {
            "src_addr": "52.95.128.179",
            "dst_addr": "10.0.0.71",
            "src_port": 80,
            "dst_port": 34210,
            "packets": 14,
            "bytes": 15044,
            "tcp_flags": 19,
            "pkt_srcaddr": "52.95.128.179",
            "pkt_dstaddr": "10.0.0.71",
            "pkt_src_aws_service": "S3",
            "flow_direction": "ingress",
        },
        common
        | {
            "src_addr": "10.0.0.71",
            "dst_addr": "52.95.128.179",
            "src_port": 34210,
            "dst_port": 80,
            "packets": 7,
            "bytes": 471,
            "tcp_flags": 3,
            "pkt_srcaddr": "10.0.0.71",
            "pkt_dstaddr": "52.95.128.179",
            "pkt_dst_aws_service": "S3",
            "traffic_path": 8,
            "flow_direction": "egress",
        },
    ]


def test_nat_format_without_version() -> None:
    spec = sample("nat-no-version.format").read_text()
    log_format = LogFormat.from_spec(spec)
    assert log_format.aws_names == ("instance-id", "interface-id", "srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr")
    _, records = parse_file(sample("nat-no-version.log"), log_format)
    assert records == [
        {
            "interface_id": "eni-1235b8ca123456789",
            "src_addr": "10.0.1.5",
            "dst_addr": "10.0.0.220",
            "pkt_srcaddr": "10.0.1.5",
            "pkt_dstaddr": "203.0.113.5",
        }
    ]
    records_raw, _ = log_format.parse_lines(sample("nat-no-version.log").read_text().splitlines())
    assert records_raw[0][RECORD_INDEX["version"]] is None
    assert records_raw[0][RECORD_INDEX["instance_id"]] is None


def test_every_shared_sample_is_parsed_without_rejects() -> None:
    formats = {"nat-no-version.log": LogFormat.from_spec(sample("nat-no-version.format").read_text())}
    for path in sorted(sample("aws-docs-v2.log").parent.glob("*.log")):
        _, records = parse_file(path, formats.get(path.name))
        assert records, path.name


# -- formats --------------------------------------------------------------------------------------------------------


def test_default_format_is_v2() -> None:
    assert LogFormat.DEFAULT is DEFAULT_FORMAT
    assert LogFormat.default() is DEFAULT_FORMAT
    assert DEFAULT_FORMAT.aws_names == (
        "version",
        "account-id",
        "interface-id",
        "srcaddr",
        "dstaddr",
        "srcport",
        "dstport",
        "protocol",
        "packets",
        "bytes",
        "start",
        "end",
        "action",
        "log-status",
    )
    assert [f.name for f in DEFAULT_FORMAT.fields][:3] == ["version", "account_id", "interface_id"]


def test_from_spec_accepts_both_spellings() -> None:
    aws = LogFormat.from_spec("${version}  ${vpc-id} ${srcaddr}\n")
    header = LogFormat.from_spec("version vpc-id srcaddr")
    assert aws == header
    assert hash(aws) == hash(header)
    assert aws.spec == "${version} ${vpc-id} ${srcaddr}"
    assert aws.header == "version vpc-id srcaddr"
    assert repr(aws) == "LogFormat('${version} ${vpc-id} ${srcaddr}')"
    assert LogFormat.from_spec(DEFAULT_FORMAT.spec) == DEFAULT_FORMAT


def test_unknown_field_names_it_and_lists_valid_ones() -> None:
    with pytest.raises(FormatError) as caught:
        LogFormat.from_spec("${version} ${vpc_id} ${srcaddr}")
    message = str(caught.value)
    assert message.startswith("unknown flow-log field 'vpc_id' (did you mean 'vpc-id'?); valid fields are: version, ")
    assert "pkt-srcaddr" in message and "reject-reason" in message
    with pytest.raises(FormatError, match=r"^unknown flow-log field 'bogus'; valid fields are: version, account-id"):
        LogFormat.from_spec("version bogus")


def test_bad_format_strings() -> None:
    with pytest.raises(FormatError, match="^the flow-log format names no fields$"):
        LogFormat.from_spec("   ")
    with pytest.raises(FormatError, match="^flow-log field 'srcaddr' appears twice in the format$"):
        LogFormat.from_spec("${srcaddr} ${srcaddr}")
    with pytest.raises(FormatError, match=r"has text outside \$\{\.\.\.\} fields: 'srcaddr'"):
        LogFormat.from_spec("${version} srcaddr")
    # Derived and source fields are not columns of a flow log.
    assert "protocol" in BY_AWS_NAME and BY_AWS_NAME["protocol"].name == "protocol_number"


def test_custom_format_with_version() -> None:
    fmt = LogFormat.from_spec("${version} ${interface-id} ${srcaddr} ${dstaddr} ${tcp-flags} ${flow-direction}")
    records, rejects = fmt.parse_lines(["4 eni-0a 10.0.0.1 2001:DB8:0:0::1 18 egress", "4 eni-0a - - - -"])
    assert rejects == []
    assert [as_dict(r) for r in records] == [
        {
            "version": 4,
            "interface_id": "eni-0a",
            "src_addr": "10.0.0.1",
            "dst_addr": "2001:db8::1",
            "tcp_flags": 18,
            "flow_direction": "egress",
        },
        {"version": 4, "interface_id": "eni-0a"},
    ]


def test_custom_format_without_version_every_catalog_column() -> None:
    columns = [f for f in RECORD_FIELDS if f.name != "version"]
    fmt = LogFormat([f.aws_name or "" for f in columns])
    values = {"ip": "192.0.2.7", "int": "7", "time": "1700000000", "str": "x", "action": "REJECT", "log_status": "NODATA"}
    converted = {"ip": "192.0.2.7", "int": 7, "time": 1700000000, "str": "x", "action": "REJECT", "log_status": "NODATA"}
    records, rejects = fmt.parse_lines([" ".join(values.get(f.name, values[f.type]) for f in columns)])
    assert rejects == []
    assert as_dict(records[0]) == {f.name: converted.get(f.name, converted[f.type]) for f in columns}


def test_is_header_line() -> None:
    assert is_header_line(sample("aws-docs-v3.log").read_text().splitlines()[0])
    assert is_header_line("version account-id\n")
    assert not is_header_line("")
    assert not is_header_line("version version")
    assert not is_header_line("2 123456789010 eni-1235b8ca123456789")
    assert not is_header_line("${version} ${account-id}")


def test_split_format_precedence() -> None:
    explicit = LogFormat.from_spec("${interface-id} ${srcaddr}")
    # Nothing given, no header: the default.
    fmt, rest = split_format_and_lines(["", "2 a b\n"])
    assert fmt is DEFAULT_FORMAT and list(rest) == ["2 a b\n"]
    # --format beats the default; a string is accepted too.
    fmt, rest = split_format_and_lines(["eni-1 10.0.0.1"], explicit)
    assert fmt is explicit and list(rest) == ["eni-1 10.0.0.1"]
    fmt, _ = split_format_and_lines(["eni-1 10.0.0.1"], "interface-id srcaddr")
    assert fmt == explicit
    # A header beats both, and is not returned as a line.
    fmt, rest = split_format_and_lines(["interface-id dstaddr\n", "eni-1 10.0.0.2\n"], explicit)
    assert fmt == LogFormat(["interface-id", "dstaddr"]) and list(rest) == ["eni-1 10.0.0.2\n"]
    # An empty file.
    fmt, rest = split_format_and_lines([], explicit)
    assert fmt is explicit and list(rest) == []


def test_split_format_is_lazy() -> None:
    def lines() -> Any:
        yield "version srcaddr\n"
        yield "2 10.0.0.1\n"
        raise AssertionError("read past what was asked for")

    fmt, rest = split_format_and_lines(lines())
    assert fmt.aws_names == ("version", "srcaddr")
    assert next(rest) == "2 10.0.0.1\n"


# -- rejects --------------------------------------------------------------------------------------------------------

GOOD = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1418530010 1418530070 ACCEPT OK"


def with_field(name: str, value: str) -> str:
    parts = GOOD.split()
    parts[DEFAULT_FORMAT.aws_names.index(name)] = value
    return " ".join(parts)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (GOOD.rsplit(" ", 1)[0], "expected 14 fields, found 13"),
        (GOOD + " extra", "expected 14 fields, found 15"),
        (with_field("dstport", "abc"), "field dstport: 'abc' is not a number"),
        (with_field("srcport", "-1"), "field srcport: '-1' is not a port number (0-65535)"),
        (with_field("dstport", "65536"), "field dstport: '65536' is not a port number (0-65535)"),
        (with_field("protocol", "256"), "field protocol: '256' is not a protocol number (0-255)"),
        (with_field("packets", "-3"), "field packets: '-3' is negative"),
        (with_field("bytes", "1_000"), "field bytes: '1_000' is not a number"),
        (with_field("bytes", "+1000"), "field bytes: '+1000' is not a number"),
        (with_field("bytes", "4.5"), "field bytes: '4.5' is not a number"),
        (with_field("bytes", "9" * 19), f"field bytes: '{'9' * 19}' is too large"),
        (with_field("start", "9" * 40), f"field start: '{'9' * 40}' is too large"),
        (with_field("version", "\u0662"), "field version: '\u0662' is not a number"),
        (with_field("srcaddr", "10.0.0"), "field srcaddr: '10.0.0' is not an IP address"),
        (with_field("dstaddr", "10.0.0.256"), "field dstaddr: '10.0.0.256' is not an IP address"),
        (with_field("dstaddr", "010.0.0.1"), "field dstaddr: '010.0.0.1' is not an IP address"),
        (with_field("srcaddr", "fe80::1%eth0"), "field srcaddr: 'fe80::1%eth0' is not an IP address"),
        (with_field("srcaddr", "2001:db8:::1"), "field srcaddr: '2001:db8:::1' is not an IP address"),
        (with_field("srcaddr", "eni-1"), "field srcaddr: 'eni-1' is not an IP address"),
        ("version srcaddr", "a header line of another format inside the data: 'version srcaddr'"),
        (with_field("action", "ACCPT"), "field action: 'ACCPT' is not ACCEPT, REJECT or -"),
        (with_field("action", "accept"), "field action: 'accept' is not ACCEPT, REJECT or -"),
        (with_field("log-status", "FAIL"), "field log-status: 'FAIL' is not OK, NODATA, SKIPDATA or -"),
        (with_field("end", "1418530009"), "field end: 1418530009 is before start 1418530010"),
    ],
)
def test_reject_reasons(line: str, reason: str) -> None:
    records, rejects = DEFAULT_FORMAT.parse_lines([GOOD, line + "\n", GOOD])
    assert len(records) == 2
    assert rejects == [(line, reason)]


def test_blank_lines_and_repeated_header_are_skipped() -> None:
    records, rejects = DEFAULT_FORMAT.parse_lines(["", "   \n", "\t", DEFAULT_FORMAT.header + "\n", GOOD + "\r\n"])
    assert rejects == []
    assert len(records) == 1


def test_header_of_a_text_only_format_is_not_a_record() -> None:
    fmt = LogFormat.from_spec("${instance-id} ${interface-id}")
    records, rejects = fmt.parse_lines(["instance-id interface-id", "i-1 eni-1", "instance-id interface-id"])
    assert [as_dict(r) for r in records] == [{"instance_id": "i-1", "interface_id": "eni-1"}]
    assert rejects == []


def test_the_fast_path_and_the_strict_path_agree() -> None:
    # A non-ASCII character anywhere sends the line down the strict path: same record.
    fast, _ = DEFAULT_FORMAT.parse_lines([GOOD])
    strict, _ = DEFAULT_FORMAT.parse_lines([GOOD.replace("eni-1", "eni-\u00e9")])
    assert as_dict(strict[0]) == as_dict(fast[0]) | {"interface_id": "eni-\u00e9"}


def test_runs_of_spaces_and_tabs() -> None:
    records, rejects = DEFAULT_FORMAT.parse_lines(["  " + GOOD.replace(" ", " \t  ") + "  "])
    assert rejects == []
    assert as_dict(records[0])["bytes"] == 840


def test_addresses_are_canonical() -> None:
    assert canonical_address("2001:0DB8:0000:0000:0000:0000:0000:0001") == "2001:db8::1"
    assert canonical_address("::FFFF:192.0.2.1") == "::ffff:192.0.2.1"
    assert canonical_address("::ffff:c000:201") == "::ffff:192.0.2.1"
    assert canonical_address("2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1"
    assert canonical_address("192.0.2.1") == "192.0.2.1"
    records, _ = DEFAULT_FORMAT.parse_lines([with_field("srcaddr", "2001:DB8::0:1")])
    assert records[0][RECORD_INDEX["src_addr"]] == "2001:db8::1"


# -- derived values ------------------------------------------------------------------------------------------------


def test_protocol_names() -> None:
    assert protocol_name(6) == "TCP"
    assert protocol_name(17) == "UDP"
    assert protocol_name(1) == "ICMP"
    assert protocol_name(58) == "ICMPv6"
    assert protocol_name(0) == "HOPOPT"
    assert protocol_name(41) == "IPv6"
    assert protocol_name(47) == "GRE"
    assert protocol_name(50) == "ESP"
    assert protocol_name(51) == "AH"
    assert protocol_name(132) == "SCTP"
    assert protocol_name(146) == "Homa"
    assert protocol_name(61) == "61"
    assert protocol_name(250) == "250"
    assert protocol_name(None) is None
    assert protocol_number("tcp") == 6
    assert protocol_number("ICMPv6") == 58
    assert protocol_number("IPv6-ICMP") == 58
    assert protocol_number("250") == 250
    assert protocol_number("nope") is None


def test_flow_message() -> None:
    assert (
        flow_message("eni-3244234", "ACCEPT", 6, "172.1.1.2", 80, "172.1.1.2", 2264, "OK")
        == "eni-3244234 ACCEPT TCP 172.1.1.2:80 -> 172.1.1.2:2264"
    )
    assert (
        flow_message("eni-1", "REJECT", 6, "2001:db8::1", 443, "2001:db8::2", 50000, "OK")
        == "eni-1 REJECT TCP [2001:db8::1]:443 -> [2001:db8::2]:50000"
    )
    assert flow_message("eni-1235b8ca123456789", None, None, None, None, None, None, "NODATA") == (
        "eni-1235b8ca123456789 NODATA"
    )
    assert flow_message("eni-1", "ACCEPT", 250, "10.0.0.1", None, "10.0.0.2", None, None) == (
        "eni-1 ACCEPT 250 10.0.0.1 -> 10.0.0.2"
    )
    assert flow_message(None, None, None, "10.0.0.1", 5, None, None, None) == "10.0.0.1:5 -> -"
    assert flow_message(None, None, None, None, None, None, None, None) == ""


def test_message_of_the_docs_samples() -> None:
    records, _ = DEFAULT_FORMAT.parse_lines(sample("aws-docs-v2.log").read_text().splitlines())
    assert [message_of(r) for r in records] == [
        "eni-1235b8ca123456789 ACCEPT TCP 172.31.16.139:20641 -> 172.31.16.21:22",
        "eni-1235b8ca123456789 REJECT TCP 172.31.9.69:49761 -> 172.31.9.12:3389",
        "eni-1235b8ca123456789 NODATA",
        "eni-11111111aaaaaaaaa SKIPDATA",
        "eni-1235b8ca123456789 ACCEPT ICMP 203.0.113.12:0 -> 172.31.16.139:0",
        (
            "eni-1235b8ca123456789 ACCEPT TCP [2001:db8:1234:a100:8d6e:3477:df66:f105]:34892"
            " -> [2001:db8:1234:a102:3304:8879:34cf:4071]:22"
        ),
    ]


# -- properties -----------------------------------------------------------------------------------------------------

TOKENS = st.sampled_from(
    ["-", "0", "2", "6", "65535", "65536", "-1", "10.0.0.1", "::1", "1.2.3", "ACCEPT", "OK", "eni-1", "\u0663", "1_0"]
)
LINES = st.one_of(
    st.text(max_size=200),
    st.lists(TOKENS, min_size=12, max_size=16).map(" ".join),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(LINES, max_size=8))
def test_parse_lines_never_raises_and_accounts_for_every_line(lines: list[str]) -> None:
    for fmt in (DEFAULT_FORMAT, LogFormat.from_spec("${srcaddr} ${dstport} ${vpc-id}")):
        records, rejects = fmt.parse_lines(lines)
        non_blank = [line for line in lines if line.split() and tuple(line.split()) != fmt.aws_names]
        assert len(records) + len(rejects) == len(non_blank)
        for record in records:
            assert len(record) == len(RECORD_FIELDS)
            for field, value in zip(RECORD_FIELDS, record):
                if value is None:
                    continue
                expected = {"int": int, "time": int, "ip": str, "str": str}[field.type]
                assert type(value) is expected
                assert value != "-"
        for line, reason in rejects:
            assert isinstance(line, str) and reason


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["-", "1", "80", "10.0.0.9", "x", "4.5", "-2", "\u00e9"]), min_size=3, max_size=3))
def test_fast_and_strict_paths_give_the_same_answer(values: list[str]) -> None:
    fmt = LogFormat.from_spec("${srcaddr} ${dstport} ${vpc-id}")
    line = " ".join(values)
    fast = fmt.parse_lines([line])
    strict = fmt.parse_lines([line + "\u2003"])  # U+2003 is whitespace: a non-ASCII line, the same fields
    assert fast[0] == strict[0]
    assert [reason for _, reason in fast[1]] == [reason for _, reason in strict[1]]
    assert all(reason.startswith("field ") for _, reason in fast[1])


def _from_columns(fmt: LogFormat, columns: list[list[Any]]) -> list[tuple[Any, ...]]:
    """Columns (one per format field) as the full records parse_lines gives."""
    full: list[Any] = [[None] * len(columns[0]) for _ in RECORD_FIELDS]
    for field, column in zip(fmt.fields, columns):
        full[RECORD_INDEX[field.name]] = column
    return list(zip(*full))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(TOKENS, min_size=2, max_size=4).map(" ".join) | LINES, min_size=1, max_size=6))
def test_columns_agree_with_lines_or_decline(lines: list[str]) -> None:
    """parse_columns answers only for batches parse_lines takes whole, and with the same values."""
    for fmt in (DEFAULT_FORMAT, LogFormat.from_spec("${srcaddr} ${dstport} ${packets}")):
        columns = fmt.parse_columns(lines)
        records, rejects = fmt.parse_lines(lines)
        if columns is not None:
            assert rejects == [] and _from_columns(fmt, columns) == records


def test_columns_of_a_clean_batch_and_what_they_decline() -> None:
    nodata = "2 123456789010 eni-1 - - - - - - - 1620140661 1620140721 - NODATA"
    columns = DEFAULT_FORMAT.parse_columns([GOOD, nodata])
    assert columns is not None
    assert _from_columns(DEFAULT_FORMAT, columns) == DEFAULT_FORMAT.parse_lines([GOOD, nodata])[0]
    assert columns[8:10] == [[10, None], [840, None]]  # packets, bytes: '-' is None, never 0
    for batch in (
        [GOOD, ""],  # a blank line
        [GOOD, GOOD + " extra"],
        [GOOD.replace("eni-1", "eni-\u00e9")],  # non-ASCII: the strict path decides
        [with_field("bytes", "1_000")],
        [with_field("bytes", "9" * 19)],
        [with_field("dstport", "65536")],
        [DEFAULT_FORMAT.header],
        [],
    ):
        assert DEFAULT_FORMAT.parse_columns(batch) is None, batch
    text_only = LogFormat.from_spec("${instance-id} ${interface-id}")
    assert text_only.parse_columns(["i-1 eni-1"]) is None  # its own header would pass for data


def test_columns_of_one_value_are_converted_once_and_still_checked() -> None:
    """A column whose texts are all the same (a stream's account, interface, status) is converted once."""
    other = with_field("account-id", "210987654321")
    for batch in ([GOOD] * 3, [GOOD, other, GOOD], [other, GOOD, GOOD], [GOOD, GOOD, other]):
        columns = DEFAULT_FORMAT.parse_columns(batch)
        assert columns is not None
        assert _from_columns(DEFAULT_FORMAT, columns) == DEFAULT_FORMAT.parse_lines(batch)[0], batch
    assert DEFAULT_FORMAT.parse_columns([with_field("dstport", "65536")] * 3) is None  # one bad value, declined once
    records, rejects = DEFAULT_FORMAT.parse_lines([with_field("dstport", "65536")] * 3)
    assert records == [] and len(rejects) == 3


def test_columns_of_counts_that_are_all_missing() -> None:
    nodata = "2 123456789010 eni-1 - - - - - - - 1620140661 1620140721 - NODATA"
    columns = DEFAULT_FORMAT.parse_columns([nodata, nodata])
    assert columns is not None and columns[8:10] == [[None, None], [None, None]]
    assert DEFAULT_FORMAT.parse_columns([nodata, with_field("packets", "-3")]) is None


def test_closed_sets_are_the_querys_and_dashes_pass() -> None:
    """What ingest accepts is what a query can ask for: the catalog's sets of the fields a format has."""
    from flowtui.formats import CLOSED_SETS

    assert CLOSED_SETS == {"action": ("ACCEPT", "REJECT"), "log_status": ("OK", "NODATA", "SKIPDATA")}
    nodata = "2 123456789010 eni-1 - - - - - - - 1620140661 1620140721 - NODATA"
    records, rejects = DEFAULT_FORMAT.parse_lines([nodata, with_field("action", "REJECT"), with_field("log-status", "SKIPDATA")])
    assert rejects == [] and [as_dict(r).get("action") for r in records] == [None, "REJECT", "ACCEPT"]


def test_a_window_that_ends_before_it_starts_is_rejected_on_both_paths() -> None:
    backwards = with_field("end", "1418530009")
    same = with_field("end", "1418530010")  # a window of no length is a window
    undated = with_field("end", "-")
    assert DEFAULT_FORMAT.parse_columns([GOOD, backwards]) is None
    assert DEFAULT_FORMAT.parse_columns([GOOD, undated]) is None  # judged line by line
    assert DEFAULT_FORMAT.parse_columns([GOOD, same]) is not None
    records, rejects = DEFAULT_FORMAT.parse_lines([GOOD, backwards, same, undated])
    assert [(as_dict(r)["start"], as_dict(r).get("end")) for r in records] == [
        (1418530010, 1418530070),
        (1418530010, 1418530010),
        (1418530010, None),
    ]
    assert rejects == [(backwards, "field end: 1418530009 is before start 1418530010")]
    # Only a format with both fields compares them.
    ends_only = LogFormat.from_spec("${interface-id} ${end}")
    assert ends_only.parse_lines(["eni-1 5"])[1] == []
