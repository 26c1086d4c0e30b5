"""``flowtui query --source cloudtrail`` and ``flowtui fields --source cloudtrail``: the query language over CloudTrail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowtui.cli import main
from flowtui.cloudtrail.search import TrailSearch
from flowtui.ingest import Pipeline
from flowtui.query.window import TimeWindow
from flowtui.store import Store
from tests.cloudtrail_data import LOG_FILE


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("ct")) / "ct.db"
    with Store(path) as store:
        Pipeline(store).ingest_trail_file(LOG_FILE.read_bytes(), LOG_FILE.name, "file:x")
    return path


@pytest.fixture
def run(db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("COLUMNS", raising=False)

    def go(*args: str) -> tuple[int, str, str]:
        code = main(["query", "--db", str(db), "--source", "cloudtrail", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


def names(db: Path, query: str) -> list[str]:
    with Store(db, readonly=True) as store:
        return [r["eventName"] for r in TrailSearch(store).search(query, names=["eventName"], order="eventTime")]


def test_the_guide_example_as_a_table(run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("eventName:Delete* AND NOT errorCode:*")
    assert (code, err) == (0, "")
    assert out == (
        "eventTime             sourceIPAddress  eventSource       eventName           userIdentity.userName  errorCode  awsRegion\n"
        "2026-11-27T10:02:30Z  198.51.100.77    s3.amazonaws.com  DeleteBucketPolicy  Deployer               -          us-east-2\n"
    )


def test_json_keyed_by_the_documented_names(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("--format", "json", "--fields", "eventTime,event_name,src_addr,resources.ARN,read_only", "user_type:AWSService")
    assert code == 0
    assert json.loads(out) == [
        {
            "eventTime": 1_795_773_840,
            "eventName": "AssumeRole",
            "sourceIPAddress": "ec2.amazonaws.com",
            "resources.ARN": ["arn:aws:iam::111122223333:role/AppInstanceRole"],
            "readOnly": True,
        }
    ]


def test_csv_and_count(run) -> None:  # type: ignore[no-untyped-def]
    assert run("--format", "csv", "--fields", "eventName,errorCode", "errorCode:*") == (
        0,
        "eventName,errorCode\nListUsers,AccessDenied\nDeleteSecurityGroup,Client.UnauthorizedOperation\n",
        "",
    )
    assert run("--count", "sourceIPAddress:198.51.100.77") == (0, "2\n", "")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("eventSource:ec2.amazonaws.com", ["StartInstances", "DeleteSecurityGroup"]),
        ("event_source:ec2*", ["StartInstances", "DeleteSecurityGroup"]),
        ('userIdentity.arn:"arn:aws:iam::111122223333:user/Bob"', ["DeleteSecurityGroup", "ListUsers"]),
        ("user_name:(Alice OR Deployer)", ["StartInstances", "DeleteBucketPolicy"]),
        ("userIdentity.sessionContext.sessionIssuer.userName:Deployer", ["DeleteBucketPolicy"]),
        ("src_addr:198.51.100.0/24", ["DeleteBucketPolicy", "DeleteSecurityGroup"]),
        ("source_address:10.0.0.0/8 OR sourceIPAddress:2001:db8::/32", ["StartInstances", "ListUsers"]),
        ("sourceIPAddress:ec2.amazonaws.com", ["AssumeRole"]),
        ("sourceIPAddress:*.amazonaws.com", ["AssumeRole"]),
        ("sourceIPAddress:[198.51.100.0 TO 203.0.113.255]", ["DeleteBucketPolicy", "DeleteSecurityGroup", "ConsoleLogin"]),
        ("eventTime:[2026-11-27T10:03:00Z TO 2026-11-27T10:05:00Z]", ["DeleteSecurityGroup", "AssumeRole"]),
        ("eventTime:>=2026-11-27T10:05:00Z", ["ConsoleLogin", "ListUsers"]),
        ("readOnly:true", ["AssumeRole", "ListUsers"]),
        ("NOT _exists_:errorCode AND aws_region:us-east-1", ["ConsoleLogin"]),
        ("_exists_:resources.ARN", ["DeleteBucketPolicy", "AssumeRole"]),
        ('resources.ARN:"arn:aws:s3:::example-logs-bucket"', ["DeleteBucketPolicy"]),
        ("resource_type:AWS\\:\\:IAM*", ["AssumeRole"]),
        ("error_code:/Client\\..*/", ["DeleteSecurityGroup"]),
        ("userIdentity.type:Root", ["ConsoleLogin"]),
        ("user_agent:*Firefox*", ["ConsoleLogin"]),
        ("Bob", ["DeleteSecurityGroup", "ListUsers"]),
        ("accessdenied", ["ListUsers"]),
        ('"not authorized"', ["DeleteSecurityGroup", "ListUsers"]),
        ("example-logs*", ["DeleteBucketPolicy"]),
        ("i-0example1234abcd1", ["StartInstances", "AssumeRole"]),
        ("+eventName:Delete* -user_name:Bob", ["DeleteBucketPolicy"]),
        ("eventName:Delete* eventName:ListUsers", ["DeleteBucketPolicy", "DeleteSecurityGroup", "ListUsers"]),
        ("*", ["StartInstances", "DeleteBucketPolicy", "DeleteSecurityGroup", "AssumeRole", "ConsoleLogin", "ListUsers"]),
    ],
)
def test_query_semantics(db: Path, query: str, expected: list[str]) -> None:
    assert names(db, query) == expected


def test_the_window_applies(db: Path) -> None:
    with Store(db, readonly=True) as store:
        search = TrailSearch(store)
        window = TimeWindow.parse(from_="2026-11-27T10:02:00Z", to="2026-11-27T10:03:59Z")
        assert [r["eventName"] for r in search.search("*", window, ["eventName"])] == ["DeleteSecurityGroup", "DeleteBucketPolicy"]
        assert search.count("*", window) == 2


def test_a_bad_query_answers_with_a_caret(run) -> None:  # type: ignore[no-untyped-def]
    assert run("eventname:Delete*") == (
        2,
        "",
        "flowtui: bad query: unknown field 'eventname' (did you mean eventName?)\n  eventname:Delete*\n  ^^^^^^^^^\n",
    )
    code, _, err = run("sourceIPAddress:10.0.0.300")
    assert code == 2
    assert err.startswith("flowtui: bad query: sourceIPAddress: ")
    assert run("--sort=-eventName", "*") == (
        2,
        "",
        "flowtui: cannot sort CloudTrail events by 'eventName': sort by eventTime (or -eventTime)\n",
    )
    assert run("--fields", "dst_port", "*")[0] == 2


def test_fields_lists_names_and_aliases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "--source", "cloudtrail", "--format", "json"]) == 0
    listed = {f["name"]: f for f in json.loads(capsys.readouterr().out)}
    assert listed["eventName"]["aliases"] == ["event_name"]
    assert listed["sourceIPAddress"]["aliases"] == ["source_address", "src_addr", "source_ip_address"]
    assert listed["userIdentity.arn"]["aliases"] == ["user_arn"]
    assert listed["resources.ARN"]["type"] == "str"
    assert main(["fields", "--source", "cloudtrail"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0] == "CloudTrail fields (flowtui query --source cloudtrail; the record's name, then its aliases)"
    assert "  errorCode " in table


MANY = 1_234  # more events than one streamed batch (500)
T_MANY = 1_795_780_000


@pytest.fixture(scope="module")
def many_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.cloudtrail_data import event_at, records, trail_file

    base = records()
    recs = [event_at(base[i % len(base)], f"ev-{i:04d}", T_MANY + i, f"203.0.113.{i % 200}") for i in range(MANY)]
    path = Path(tmp_path_factory.mktemp("ct-many")) / "ct.db"
    with Store(path) as store:
        Pipeline(store).ingest_trail_file(trail_file(recs), "many.json.gz", "file:many")
    return path


def test_every_event_streams_with_limit_0(many_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["query", "--db", str(many_db), "--source", "cloudtrail", "--limit", "0", "--format", "jsonl",
                 "--fields", "eventTime,sourceIPAddress"])  # fmt: skip
    out = capsys.readouterr()
    assert (code, out.err) == (0, "")
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert rows == [{"eventTime": T_MANY + i, "sourceIPAddress": f"203.0.113.{i % 200}"} for i in reversed(range(MANY))]


def test_a_stream_read_in_part_and_closed_leaves_the_store_ready(many_db: Path) -> None:
    with Store(many_db, readonly=True) as store:
        search = TrailSearch(store)
        stream = search.iter_search("*", names=["eventTime"], limit=0, order="eventTime")
        assert [next(stream)["eventTime"] for _ in range(3)] == [T_MANY, T_MANY + 1, T_MANY + 2]
        assert store.conn.in_transaction  # one snapshot while rows are still coming
        stream.close()
        assert not store.conn.in_transaction
        assert search.count("*") == MANY
        assert search.search("*", names=["eventTime"], limit=2) == [{"eventTime": T_MANY + MANY - 1}, {"eventTime": T_MANY + MANY - 2}]


# --- top --------------------------------------------------------------------------------------

T_TOP = 1_795_790_000
# eventName -> (how many, source address): the six documented records, repeated.
TOP_EVENTS = {
    "DeleteBucketPolicy": (4, "198.51.100.77"),
    "ListUsers": (4, "2001:db8::42"),
    "AssumeRole": (3, "ec2.amazonaws.com"),
    "DeleteSecurityGroup": (2, "198.51.100.77"),
    "ConsoleLogin": (1, "203.0.113.9"),
    "StartInstances": (1, "10.0.1.25"),
}
ALICE_INSTANCES = ["arn:aws:ec2:us-east-2:111122223333:instance/i-1", "arn:aws:ec2:us-east-2:111122223333:instance/i-2"]


@pytest.fixture(scope="module")
def top_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.cloudtrail_data import event_at, records, trail_file

    by_name = {r["eventName"]: r for r in records()}
    by_name["StartInstances"]["resources"] = [{"type": "AWS::EC2::Instance", "ARN": arn} for arn in ALICE_INSTANCES]
    recs = []
    for name, (n, source) in TOP_EVENTS.items():
        for i in range(n):  # one a second, in this order
            recs.append(event_at(by_name[name], f"{name}-{i}", T_TOP + len(recs), source))
    path = Path(tmp_path_factory.mktemp("ct-top")) / "ct.db"
    with Store(path) as store:
        Pipeline(store).ingest_trail_file(trail_file(recs), "top.json.gz", "file:top")
    return path


@pytest.fixture
def top(top_db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "200")

    def go(*args: str, db: Path = top_db) -> tuple[int, str, str]:
        code = main(["top", "--db", str(db), "--source", "cloudtrail", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


def test_top_by_event_name_ranks_by_events_ties_by_name(top) -> None:  # type: ignore[no-untyped-def]
    code, out, err = top("--by", "eventName", "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out) == [
        {"eventName": "DeleteBucketPolicy", "events": 4, "other": False, "group": {"eventName": "DeleteBucketPolicy"}},
        {"eventName": "ListUsers", "events": 4, "other": False, "group": {"eventName": "ListUsers"}},
        {"eventName": "AssumeRole", "events": 3, "other": False, "group": {"eventName": "AssumeRole"}},
        {"eventName": "DeleteSecurityGroup", "events": 2, "other": False, "group": {"eventName": "DeleteSecurityGroup"}},
        {"eventName": "ConsoleLogin", "events": 1, "other": False, "group": {"eventName": "ConsoleLogin"}},
        {"eventName": "StartInstances", "events": 1, "other": False, "group": {"eventName": "StartInstances"}},
    ]
    code, out, _ = top("--by", "event_name", "--limit", "3", "--format", "json")
    assert code == 0
    assert json.loads(out)[2:] == [
        {"eventName": "AssumeRole", "events": 3, "other": False, "group": {"eventName": "AssumeRole"}},
        {"eventName": None, "events": 4, "other": True, "group": {"eventName": None}},
    ]


def test_top_by_caller_and_address_as_a_table(top) -> None:  # type: ignore[no-untyped-def]
    code, out, err = top("--by", "userIdentity.arn,sourceIPAddress", "--limit", "2")
    assert (code, err) == (0, "")
    assert out == (
        "userIdentity.arn                                                sourceIPAddress  events  share\n"
        "arn:aws:iam::111122223333:user/Bob                              2001:db8::42          4  26.7%\n"
        "arn:aws:sts::111122223333:assumed-role/Deployer/deploy-session  198.51.100.77         4  26.7%\n"
        "(other)                                                         -                     7  46.7%\n"
    )
    # The aliases name the same fields; the output keeps the documented names.
    assert top("--by", "user_arn,src_addr", "--limit", "2") == (code, out, err)


def test_top_with_a_query_and_a_window(top) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = top("--by", "userIdentity.userName", "--format", "json", "_exists_:errorCode")
    assert (code, json.loads(out)) == (0, [{"userIdentity.userName": "Bob", "events": 6, "other": False, "group": {"userIdentity.userName": "Bob"}}])
    # The first five events: DeleteBucketPolicy x4 and the first ListUsers.
    window = ["--from", str(T_TOP), "--to", str(T_TOP + 4)]
    code, out, _ = top("--by", "eventName", "--format", "json", *window)
    assert code == 0
    assert json.loads(out) == [
        {"eventName": "DeleteBucketPolicy", "events": 4, "other": False, "group": {"eventName": "DeleteBucketPolicy"}},
        {"eventName": "ListUsers", "events": 1, "other": False, "group": {"eventName": "ListUsers"}},
    ]


def test_top_by_a_list_field_counts_each_item(top) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = top("--by", "resources.ARN", "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {"resources.ARN": None, "events": 7, "other": False, "group": {"resources.ARN": None}},  # ListUsers, DeleteSecurityGroup, ConsoleLogin name none
        {"resources.ARN": "arn:aws:s3:::example-logs-bucket", "events": 4, "other": False, "group": {"resources.ARN": "arn:aws:s3:::example-logs-bucket"}},
        {"resources.ARN": "arn:aws:iam::111122223333:role/AppInstanceRole", "events": 3, "other": False, "group": {"resources.ARN": "arn:aws:iam::111122223333:role/AppInstanceRole"}},
        {"resources.ARN": ALICE_INSTANCES[0], "events": 1, "other": False, "group": {"resources.ARN": ALICE_INSTANCES[0]}},
        {"resources.ARN": ALICE_INSTANCES[1], "events": 1, "other": False, "group": {"resources.ARN": ALICE_INSTANCES[1]}},
    ]
    code, out, _ = top("--by", "readOnly", "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {"readOnly": False, "events": 8, "other": False, "group": {"readOnly": False}},
        {"readOnly": True, "events": 7, "other": False, "group": {"readOnly": True}},
    ]


def test_top_errors_and_a_store_without_events(top, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert top("--by", "eventNme") == (2, "", "flowtui: unknown field 'eventNme' (did you mean eventName?)\n")
    assert top("--by", "eventName", "--metric", "bytes") == (
        2,
        "",
        "flowtui: --metric bytes: CloudTrail events have no bytes or packets; they are ranked by how many there are (events)\n",
    )
    code, _, err = top("--by", "eventName", "eventName:(Delete*")
    assert (code, err.splitlines()[0]) == (2, "flowtui: bad query: unbalanced parentheses: this '(' is never closed")
    assert top("--by", "") == (2, "", "flowtui: --by needs at least one field\n")
    assert top("--by", "eventName", "--limit", "-1") == (2, "", "flowtui: --limit -1 must be 0 or more\n")
    empty = tmp_path / "flows-only.db"
    Store(empty).close()
    assert top("--by", "eventName", "--format", "json", db=empty) == (0, "[]\n", "")
    assert top("--by", "eventName", db=empty) == (0, "eventName  events  share\n", "")
    # Flows are not ranked by events.
    assert main(["top", "--db", str(empty), "--by", "src_addr", "--metric", "events"]) == 2
