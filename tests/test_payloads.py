"""CloudWatch Logs subscription payloads: single Kinesis records and files of them, good and damaged."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtui import payloads
from flowtui.errors import FlowtuiError
from flowtui.formats import DEFAULT_FORMAT
from flowtui.payloads import (
    CONTROL_MESSAGE,
    DATA_MESSAGE,
    Payload,
    PayloadError,
    decode_payload,
    is_payload_file,
    iter_payload_documents,
)


def _orjson_says(data: bytes) -> str:
    """orjson's own words for what is wrong with ``data`` (they vary between its releases)."""
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError as error:
        return error.msg
    raise AssertionError(f"{data!r} is valid JSON")


def _gz(data: bytes, compresslevel: int = 9) -> bytes:
    """gzip with a fixed mtime: the bytes (and so the test ids) are the same in every run and worker."""
    return gzip.compress(data, compresslevel, mtime=0)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "testdata"

LINES = [
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
    "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
]


def envelope(stream: str = "eni-1235b8ca123456789-all", lines: list[str] = LINES, **extra: object) -> dict[str, object]:
    """A document shaped exactly like the ones CloudWatch Logs sends to Kinesis."""
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789010",
        "logGroup": "vpc-flow-logs",
        "logStream": stream,
        "subscriptionFilters": ["to-kinesis"],
        "logEvents": [
            {
                "id": f"3195310660696698337880902507980421114328961542429EXAMPLE{i}",
                "timestamp": 1432826855000 + i,
                "message": m,
            }
            for i, m in enumerate(lines)
        ],
        **extra,
    }


def compact(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


CONTROL = compact(
    {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [
            {
                "id": "",
                "timestamp": 1432826855000,
                "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.",
            }
        ],
    }
)
EXPECTED_EVENTS = [
    (f"3195310660696698337880902507980421114328961542429EXAMPLE{i}", 1432826855000 + i, m) for i, m in enumerate(LINES)
]


def streams(items: list[bytes | PayloadError]) -> list[str]:
    """Each item as the log stream of its document, or 'error: <reason>'."""
    out = []
    for item in items:
        if isinstance(item, PayloadError):
            out.append(f"error: {item}")
        else:
            assert isinstance(item, bytes)
            out.append(decode_payload(item).log_stream)
    return out


# -- one payload -----------------------------------------------------------------------------------------------------


def test_gzip_payload_as_kinesis_delivers_it() -> None:
    payload = decode_payload(_gz(compact(envelope())))
    assert payload == Payload(
        DATA_MESSAGE, "123456789010", "vpc-flow-logs", "eni-1235b8ca123456789-all", EXPECTED_EVENTS
    )
    # And the messages are flow-log lines the default format takes as they are.
    records, rejects = DEFAULT_FORMAT.parse_lines(message for _, _, message in payload.events)
    assert len(records) == 3 and rejects == []


def test_plain_json_payload() -> None:
    assert decode_payload(json.dumps(envelope(), indent=2).encode()).events == EXPECTED_EVENTS
    assert decode_payload(b"\xef\xbb\xbf" + compact(envelope())).events == EXPECTED_EVENTS
    assert decode_payload(bytearray(_gz(compact(envelope())))).events == EXPECTED_EVENTS


def test_control_message_is_skipped_not_an_error() -> None:
    assert decode_payload(_gz(CONTROL)) == Payload(CONTROL_MESSAGE, "CloudwatchLogs", "", "", [])
    assert decode_payload(b'{"messageType":"CONTROL_MESSAGE"}') == Payload(CONTROL_MESSAGE, "", "", "", [])


def test_unknown_keys_are_ignored() -> None:
    document = envelope(policyLevel="ACCOUNT_LEVEL_POLICY", newThing={"nested": [1, 2]})
    document["logEvents"][0]["extractedFields"] = {"a": "b"}  # type: ignore[index]
    assert decode_payload(compact(document)).events == EXPECTED_EVENTS


def test_empty_log_events() -> None:
    assert decode_payload(compact(envelope(lines=[]))).events == []


def without(key: str) -> bytes:
    document = envelope()
    del document[key]
    return compact(document)


def with_event(event: object) -> bytes:
    return compact(envelope() | {"logEvents": [envelope()["logEvents"][0], event]})  # type: ignore[index]


GOOD_GZIP = _gz(compact(envelope()))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "payload is empty"),
        (b" \n", "payload is empty"),
        (GOOD_GZIP[:-3], f"truncated gzip data: the stream ends early ({len(GOOD_GZIP) - 3} bytes)"),
        (GOOD_GZIP[:30], "truncated gzip data: the stream ends early (30 bytes)"),
        (b"\x1f\x8b", "truncated gzip data: the stream ends early (2 bytes)"),
        (GOOD_GZIP[:-8] + b"\0\0\0\0" + GOOD_GZIP[-4:], "corrupt gzip data (incorrect data check)"),
        (GOOD_GZIP[:-4] + b"\0\0\0\0", "corrupt gzip data (incorrect length check)"),
        (b"\x1f\x8b\x08" + b"\x00" * 20, "corrupt gzip data (invalid stored block lengths)"),
        (b"\x1f\x8b\x07" + b"\x00" * 20, "corrupt gzip data (unknown compression method)"),
        (GOOD_GZIP + b"x", "1 bytes follow the gzip stream; a file of several payloads needs iter_payload_documents"),
        (b'{"messageType": "\xff"}', "not UTF-8 text (invalid byte at offset 17)"),
        (_gz(b"\xfe\xff{}"), "not UTF-8 text (invalid byte at offset 0)"),
        (
            b"2 123456789010 eni-1 - - - - - - - 1 2 - NODATA",
            "not JSON (unexpected content after document at offset 2)",
        ),
        (b'{"messageType":"DATA_MESSAGE"', "not JSON (unexpected end of data at offset 29)"),
        (b"[1, 2]", "payload is a list, not a JSON object"),
        (b'"text"', "payload is a string, not a JSON object"),
        (b"null", "payload is null, not a JSON object"),
        (b"{}", "payload has no 'messageType'"),
        (b'{"messageType": 7}', "payload 'messageType' is a number, not a string"),
        (
            b'{"messageType": "SOMETHING_NEW"}',
            "unknown messageType 'SOMETHING_NEW' (expected DATA_MESSAGE or CONTROL_MESSAGE)",
        ),
        (without("owner"), "payload has no 'owner'"),
        (without("logGroup"), "payload has no 'logGroup'"),
        (compact(envelope() | {"logStream": None}), "payload 'logStream' is null, not a string"),
        (without("logEvents"), "payload 'logEvents' is null, not a list"),
        (compact(envelope() | {"logEvents": {"id": "1"}}), "payload 'logEvents' is an object, not a list"),
        (with_event("a line"), "logEvents[1] is a string, not an object"),
        (with_event(["1", 2, "x"]), "logEvents[1] is a list, not an object"),
        (with_event({"id": "1", "timestamp": 1}), "logEvents[1] has no 'message'"),
        (with_event({"timestamp": 1, "message": "m"}), "logEvents[1] has no 'id'"),
        (with_event({"id": "1", "message": "m"}), "logEvents[1] has no 'timestamp'"),
        (with_event({"id": "1", "timestamp": 1, "message": 5}), "logEvents[1].message is a number, not a string"),
        (with_event({"id": 1.5, "timestamp": 1, "message": "m"}), "logEvents[1].id is a number, not a string"),
        (
            with_event({"id": "1", "timestamp": "1", "message": "m"}),
            "logEvents[1].timestamp is a string, not an integer",
        ),
        (
            with_event({"id": "1", "timestamp": 1.5, "message": "m"}),
            "logEvents[1].timestamp is a number, not an integer",
        ),
        (
            with_event({"id": "1", "timestamp": True, "message": "m"}),
            "logEvents[1].timestamp is a boolean, not an integer",
        ),
    ],
)
def test_bad_payloads(data: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        decode_payload(data)
    assert str(caught.value) == reason
    assert isinstance(caught.value, FlowtuiError)


# -- files of payloads -----------------------------------------------------------------------------------------------

DOCS = [compact(envelope(f"eni-{n}-all")) for n in range(3)]
NAMES = ["eni-0-all", "eni-1-all", "eni-2-all"]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"".join(_gz(d) for d in DOCS), id="gzip members back to back (Firehose)"),
        pytest.param(_gz(b"".join(DOCS)), id="one gzip of documents back to back"),
        pytest.param(_gz(b"\n".join(DOCS) + b"\n"), id="one gzip of JSON lines"),
        pytest.param(_gz(b"".join(_gz(d) for d in DOCS)), id="gzip of gzip members"),
        pytest.param(b"\n".join(DOCS), id="JSON lines"),
        pytest.param(b"\r\n".join(DOCS) + b"\r\n\r\n", id="JSON lines with CRLF"),
        pytest.param(b"".join(DOCS), id="documents back to back"),
        pytest.param(b" \t ".join(DOCS), id="documents separated by blanks"),
        pytest.param(b"\n".join(json.dumps(json.loads(d), indent=2).encode() for d in DOCS), id="pretty-printed"),
        pytest.param(b"\xef\xbb\xbf" + b"\n".join(DOCS), id="with a BOM"),
        pytest.param(b"".join(_gz(d) for d in DOCS) + b"\0\0\n", id="padded"),
    ],
)
def test_payload_files_in_every_form(data: bytes) -> None:
    items = list(iter_payload_documents(data))
    assert streams(items) == NAMES
    assert is_payload_file(data[:4096])


def test_large_single_gzip_is_split_across_reads() -> None:
    docs = [compact(envelope(f"eni-{n}-all", LINES * 40)) for n in range(40)]
    items = list(iter_payload_documents(_gz(b"\n".join(docs))))
    assert streams(items) == [f"eni-{n}-all" for n in range(40)]


def test_braces_inside_messages_do_not_split_documents() -> None:
    # (A raw newline cannot occur inside a JSON string, so '\n{' is no danger there.)
    tricky = compact(envelope("eni-tricky-all", ["a}{b", "}{}{}{", '{"messageType": 1}']))
    items = list(iter_payload_documents(b"".join([DOCS[0], tricky, DOCS[1]])))
    assert streams(items) == ["eni-0-all", "eni-tricky-all", "eni-1-all"]
    assert decode_payload(items[1]).events[2][2] == '{"messageType": 1}'  # type: ignore[arg-type]


def test_corrupt_gzip_member_between_two_good_ones() -> None:
    bad = bytearray(_gz(compact(envelope("eni-bad-all", LINES * 20))))
    for offset in range(40, 60):
        bad[offset] ^= 0x5A
    first = _gz(DOCS[0])
    items = list(iter_payload_documents(first + bytes(bad) + _gz(DOCS[2])))
    assert [s for s in streams(items) if not s.startswith("error")] == ["eni-0-all", "eni-2-all"]
    errors = [s for s in streams(items) if s.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith(f"error: gzip member at offset {len(first)} is corrupt (")


def test_member_with_bad_checksum_yields_no_documents() -> None:
    good = _gz(DOCS[1])
    bad = good[:-8] + b"\0\0\0\0" + good[-4:]
    first = _gz(DOCS[0])
    items = list(iter_payload_documents(first + bad + _gz(DOCS[2])))
    assert streams(items) == [
        "eni-0-all",
        f"error: gzip member at offset {len(first)} is corrupt (incorrect data check)",
        "eni-2-all",
    ]


def test_truncated_member_in_the_middle_and_at_the_end() -> None:
    first, second = _gz(DOCS[0]), _gz(DOCS[1])
    items = list(iter_payload_documents(first + second[:-20] + _gz(DOCS[2])))
    # The cut member runs into the next one's bytes; the next member is found again and kept.
    assert streams(items)[0] == "eni-0-all" and streams(items)[-1] == "eni-2-all"
    assert any(s.startswith(f"error: gzip member at offset {len(first)} is ") for s in streams(items))
    assert streams(list(iter_payload_documents(first + second[:-20]))) == [
        "eni-0-all",
        f"error: gzip member at offset {len(first)} is truncated",
    ]


def test_truncated_gzip_keeps_the_complete_documents() -> None:
    data = _gz(b"\n".join(DOCS))
    # Only the 8-byte trailer is lost: every document is complete and is kept.
    assert streams(list(iter_payload_documents(data[:-8]))) == [*NAMES, "error: gzip member at offset 0 is truncated"]
    # Cut deep into the data: what was complete is kept, the cut document is covered by the one error.
    items = streams(list(iter_payload_documents(data[: len(data) * 2 // 3])))
    assert items[-1] == "error: gzip member at offset 0 is truncated"
    assert items[:-1] == NAMES[: len(items) - 1]


def test_broken_json_line_between_two_good_ones() -> None:
    cut = DOCS[1][:-9]
    assert cut[-1:] != b" "
    assert streams(list(iter_payload_documents(b"\n".join([DOCS[0], cut, DOCS[2]])))) == [
        "eni-0-all",
        f"error: document 2: not JSON (unexpected end of data at offset {len(cut)})",
        "eni-2-all",
    ]
    # Even glued to the next document without a newline, only the broken one is lost.
    assert streams(list(iter_payload_documents(DOCS[0] + cut + DOCS[2]))) == [
        "eni-0-all",
        f"error: document 2: not JSON (unexpected end of data at offset {len(cut)})",
        "eni-2-all",
    ]


def test_junk_between_gzip_members_is_reported_and_skipped() -> None:
    first = _gz(DOCS[0])
    data = b"junk!" + first + b"more junk" + _gz(DOCS[1])
    assert streams(list(iter_payload_documents(data))) == [
        "error: 5 bytes at offset 0 are not a gzip member",
        "eni-0-all",
        f"error: 9 bytes at offset {5 + len(first)} are not a gzip member",
        "eni-1-all",
    ]


def test_document_that_is_not_utf8_is_reported_alone() -> None:
    data = b"\n".join([DOCS[0], b'{"messageType":"\xff"}', DOCS[1]])
    assert streams(list(iter_payload_documents(data))) == [
        "eni-0-all",
        "error: document 2: not UTF-8 text (invalid byte at offset 16)",
        "eni-1-all",
    ]


def test_oversized_documents_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payloads, "_MAX_PAYLOAD_BYTES", 1 << 20)
    bomb = _gz(b"{" + b"0" * (3 << 20) + b"}", 9)
    with pytest.raises(PayloadError, match="^gzip data inflates to more than 1 MiB$"):
        decode_payload(bomb)
    assert streams(list(iter_payload_documents(bomb + _gz(DOCS[0])))) == [
        "error: document 1: larger than 1 MiB",
        "eni-0-all",
    ]
    # Inflated in one step, the huge piece is cut off by the next document and refused as what it is.
    items = streams(list(iter_payload_documents(_gz(b"{" + b"0" * (3 << 20) + b"}\n" + DOCS[1]))))
    assert items == [f"error: document 1: not JSON ({_orjson_says(b'{0}')} at offset 1)", "eni-1-all"]


def test_control_messages_in_a_file() -> None:
    items = list(iter_payload_documents(b"".join(_gz(d) for d in (CONTROL, DOCS[0]))))
    assert [decode_payload(i).message_type for i in items if isinstance(i, bytes)] == [CONTROL_MESSAGE, DATA_MESSAGE]


def test_empty_file() -> None:
    assert list(iter_payload_documents(b"")) == []
    assert list(iter_payload_documents(b"\n\n")) == []


def test_is_payload_file() -> None:
    assert is_payload_file(GOOD_GZIP)
    assert is_payload_file(_gz(b"\n".join(DOCS * 100))[:256])  # the head of a large file
    assert is_payload_file(b'\n  {"messageType"')
    assert is_payload_file(_gz(GOOD_GZIP))
    assert not is_payload_file(b"")
    assert not is_payload_file(LINES[0].encode())
    assert not is_payload_file(_gz(b"version account-id interface-id\n" + LINES[0].encode()))
    assert not is_payload_file(b"\x1f\x8b\x08garbage")
    flowlogs = SHARED / "flowlogs"
    if flowlogs.is_dir():
        for path in flowlogs.glob("*.log"):
            assert not is_payload_file(path.read_bytes()[:4096]), path.name


# -- properties -----------------------------------------------------------------------------------------------------

PIECES = st.sampled_from(
    [DOCS[0], CONTROL, GOOD_GZIP, GOOD_GZIP[:40], b"\n", b"}{", b"\x1f\x8b\x08", b'{"messageType"', b"\xff", b"{", b"]"]
)
BYTES = st.one_of(st.binary(max_size=300), st.lists(PIECES, max_size=6).map(b"".join))


@settings(max_examples=200, deadline=None)
@given(BYTES)
def test_decode_payload_raises_only_payload_error(data: bytes) -> None:
    try:
        payload = decode_payload(data)
    except PayloadError as error:
        assert str(error)
        return
    assert payload.message_type in (DATA_MESSAGE, CONTROL_MESSAGE)


@settings(max_examples=200, deadline=None)
@given(BYTES)
def test_iter_payload_documents_never_raises(data: bytes) -> None:
    for item in iter_payload_documents(data):
        assert isinstance(item, (bytes, PayloadError))
        if isinstance(item, bytes):
            assert item == item.strip()
    for compressed in (_gz(data), _gz(data)[:-5]):
        assert all(isinstance(item, (bytes, PayloadError)) for item in iter_payload_documents(compressed))
    assert is_payload_file(data) in (True, False)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(DOCS + [CONTROL]), max_size=6), st.sampled_from([b"", b"\n", b"\r\n", b" "]), st.booleans()
)
def test_good_documents_come_back_exactly(docs: list[bytes], separator: bytes, members: bool) -> None:
    data = b"".join(_gz(d) for d in docs) if members else separator.join(docs)
    assert list(iter_payload_documents(data)) == docs


def test_numeric_event_ids_are_kept_as_their_digits() -> None:
    """moto (and perhaps other producers) write ids as JSON numbers."""
    doc = {
        "messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "g", "logStream": "s",
        "subscriptionFilters": [], "logEvents": [{"id": 0, "timestamp": 5, "message": "m"}, {"id": "7", "timestamp": 6, "message": "n"}],
    }
    assert decode_payload(json.dumps(doc).encode()).events == [("0", 5, "m"), ("7", 6, "n")]
