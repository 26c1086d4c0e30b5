"""Bad queries are answered with what is wrong and where; nothing a user types reaches SQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowtui import catalog
from flowtui.errors import QueryError
from flowtui.query.compiler import compile_query
from flowtui.query.engine import QueryEngine
from tests import query_data

ERRORS = [
    # (query, words the message holds, start, end)
    ("(action:ACCEPT", "unbalanced parentheses", 0, 1),
    ("action:ACCEPT)", "unbalanced parentheses", 13, 14),
    ("(a OR (b)", "unbalanced parentheses", 0, 1),
    ("a OR (b AND (c)", "unbalanced parentheses", 5, 6),
    ("action:ACCEPT AND", "'AND' must be followed by a term", 14, 17),
    ("action:ACCEPT ||", "'||' must be followed by a term", 14, 16),
    ("AND action:ACCEPT", "'AND' needs a term on its left", 0, 3),
    ("a OR OR b", "'OR' needs a term on its left", 5, 7),
    ("(a AND) b", "'AND' must be followed by a term", 3, 6),
    ("NOT", "'NOT' must be followed by a term", 0, 3),
    ("dst_port:", "needs a value after ':'", 0, 9),
    ("dst_port:>=", "'>=' needs a value", 9, 11),
    ('"ACCEPT TCP', "unterminated phrase", 0, 11),
    ('action:ACCEPT message:"abc', "unterminated phrase", 22, 26),
    ("interface_id:/eni-", "unterminated regular expression", 13, 18),
    ("dst_adr:80", "unknown field 'dst_adr' (did you mean dst_addr?)", 0, 7),
    ("action:ACCEPT AND dst_prot:22", "unknown field 'dst_prot' (did you mean dst_port?)", 18, 26),
    ("_exists_:vpcid", "unknown field 'vpcid' (did you mean vpc_id?)", 9, 14),
    ("Action:ACCEPT", "unknown field 'Action' (did you mean action?)", 0, 6),
    ("zzzz:1", "unknown field 'zzzz' (flowtui fields lists them)", 0, 4),
    ("bytes:[1 TO]", "bad range", 6, 12),
    ("bytes:[1 5]", "bad range", 6, 11),
    ("bytes:[1 TO 5", "range is not closed", 6, 13),
    ("bytes:1 TO 5]", "closes no range", 12, 13),
    ("bytes:[abc TO 5]", "'abc' is not a number", 7, 10),
    ("bytes:[1 TO 5x]", "'5x' is not a number", 12, 14),
    ("dst_port:abc", "dst_port: 'abc' is not a number", 9, 12),
    ("dst_port:>abc", "'abc' is not a number", 10, 13),
    ("dst_port:(80 OR http)", "'http' is not a number", 16, 20),
    ("src_addr:notanip", "src_addr: 'notanip' is not an IP address", 9, 16),
    ("src_addr:10.0.0.0/33", "not an IP address or CIDR block", 9, 20),
    ("src_addr_internal:maybe", "'maybe' is not a boolean: use true or false", 18, 23),
    ("src_addr_threat_indicated_tor:yes", "'yes' is not a boolean", 30, 33),
    ("timestamp:yesterday", "'yesterday' is not a time", 10, 19),
    ("timestamp:2026-13-01", "'2026-13-01' is not a time", 10, 20),
    ("interface_id:/eni-[/", "bad regular expression", 18, 19),
    ("action:ACCEPT AND interface_id:/(/", "bad regular expression", 32, 33),
    ("protocol:xyz", "'xyz' is not a protocol", 9, 12),
    ("action:REJCT", "action: 'REJCT' is not ACCEPT or REJECT (did you mean REJECT?)", 7, 12),
    ('action:"acept"', "action: 'acept' is not ACCEPT or REJECT (did you mean ACCEPT?)", 7, 14),
    ("action:xyz", "action: 'xyz' is not ACCEPT or REJECT", 7, 10),
    ("log_status:NODTA", "log_status: 'NODTA' is not OK, NODATA or SKIPDATA (did you mean NODATA?)", 11, 16),
    ("log_status:xyz", "log_status: 'xyz' is not OK, NODATA or SKIPDATA", 11, 14),
    ("eni-web~", "fuzzy and proximity searches", 0, 8),
    ("src_addr:'10.0.0.1'", "use double quotes", 9, 10),
    ("action:dst_port:22", "inside another field's value", 7, 18),
    (
        "dst_addr_entity:ec2:i-0123456789abcdef0",
        (
            "a field cannot be searched inside another field's value; to search for a value with ':' in it,"
            ' quote it: dst_addr_entity:"ec2:i-0123456789abcdef0"'
        ),
        16, 39,
    ),
    ("dst_addr_entity_aws_type:LAMDBA", "dst_addr_entity_aws_type: 'LAMDBA' is not EC2, ELB, RDS, NAT, LAMBDA, VPCE, ECS, EKS, TGW or ENI (did you mean LAMBDA?)", 25, 31),
    ("src_addr_entity_aws_type:vpn", "src_addr_entity_aws_type: 'vpn' is not EC2, ELB, RDS, NAT, LAMBDA, VPCE, ECS, EKS, TGW or ENI", 25, 28),
    ("a\\", "escapes nothing", 1, 2),
    ("message:[a TO b]", "message cannot be searched by range", 8, 16),
    ("src_addr_internal:[true TO false]", "cannot be searched by range", 18, 33),
]


@pytest.mark.parametrize(("query", "words", "start", "end"), ERRORS)
def test_error_names_the_problem_and_its_place(query: str, words: str, start: int, end: int) -> None:
    with pytest.raises(QueryError) as info:
        compile_query(query)
    err = info.value
    assert words in err.message
    assert (err.start, err.end) == (start, end), err.pointer()
    assert err.query == query
    assert err.exit_code == 2


def test_fixed_set_values_match_in_any_case(engine: QueryEngine) -> None:
    rejects = engine.ids("action:REJECT")
    assert rejects and engine.ids("action:reject") == engine.ids('action:"Reject"') == rejects
    assert engine.ids("log_status:ok") == engine.ids("log_status:OK")
    assert engine.ids("action:REJ*") == engine.ids("action:rej*") == rejects  # patterns too (test_query_closed_sets)
    ec2 = engine.ids("dst_addr_entity_aws_type:EC2")
    assert ec2 and engine.ids("dst_addr_entity_aws_type:ec2") == engine.ids('dst_addr_entity_aws_type:"Ec2"') == ec2


def test_a_quoted_value_with_a_colon_is_found(engine: QueryEngine) -> None:
    assert engine.ids('dst_addr_entity:"ec2:i-42e0d1ca"') == [1, 2, 3, 5]  # web-1; flow 10 goes to another instance


def test_pointer_draws_a_caret_under_the_spot() -> None:
    with pytest.raises(QueryError) as info:
        compile_query("action:ACCEPT AND dst_prot:22")
    assert info.value.pointer() == "action:ACCEPT AND dst_prot:22\n                  ^^^^^^^^"


# --- injection ---------------------------------------------------------------------------

INJECTIONS = [
    "vpc_id:\"ACCEPT'; DROP TABLE flows; --\"",
    "interface_id:\"x') OR 1=1 --\"",
    "interface_id:x\\'\\)\\ OR\\ 1\\=1\\ --",
    "vpc_id:ACCEPT\\;DROP\\ TABLE\\ flows",
    "\"'); DELETE FROM flows; --\"",
    "src_addr_entity:\"' UNION SELECT id FROM flows --\"",
    "src_addr_threat_indicated_by:\"tor') OR ('1'='1\"",
    "interface_id:/x'\\)\\); DROP TABLE flows; --/",
    "aws_log_group:\"\\\"; ATTACH DATABASE '/tmp/x.db' AS x; --\"",
    "bytes:[\"1 OR 1=1\" TO *]",
]
FIELD_INJECTIONS = [
    "flows;DROP:1",
    "action\\\"\\ OR\\ 1:x",
    "src_addr_threat_indicated_x\\'\\)\\;DROP:true",
    "id:1",
    "f.id:1",
    "sqlite_master:x",
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueryEngine]:
    store = query_data.build(Path(tmp_path_factory.mktemp("inj")) / "flows.db")
    yield QueryEngine(store)
    store.close()


def _state(engine: QueryEngine) -> tuple[int, list[tuple[str, str]]]:
    tables = engine.store.conn.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
    return engine.store.flow_count(), tables


@pytest.mark.parametrize("query", INJECTIONS)
def test_injected_values_are_only_values(engine: QueryEngine, query: str) -> None:
    before = _state(engine)
    try:
        assert engine.ids(query) == []
    except QueryError as err:  # a value of the wrong type
        assert "is not a number" in err.message
    assert _state(engine) == before
    assert before[0] == len(query_data.NAMES)


@pytest.mark.parametrize("query", FIELD_INJECTIONS)
def test_injected_field_names_are_refused(engine: QueryEngine, query: str) -> None:
    before = _state(engine)
    with pytest.raises(QueryError):
        engine.ids(query)
    assert _state(engine) == before


def test_threat_alias_ids_are_parameters(engine: QueryEngine) -> None:
    compiled = compile_query("src_addr_threat_indicated_a.b-c:true")
    assert ",a.b-c," in compiled.params
    assert "a.b-c" not in compiled.where
    assert engine.ids("src_addr_threat_indicated_a.b-c:true") == []


def test_compiled_sql_holds_no_value_text() -> None:
    compiled = compile_query('action:ACCEPT AND interface_id:"eni-x" AND src_addr:10.0.0.0/8 AND dst_port:443')
    for value in ("ACCEPT", "eni-x", "10.0.0.0", "443"):
        assert value not in compiled.where
    assert compiled.params == ("ACCEPT", "eni-x", 167772160, 184549375, 443)


# --- random input ------------------------------------------------------------------------

_PIECES = [
    "(", ")", "[", "]", "{", "}", ":", '"', "\\", "/", "*", "?", "~", "^", "+", "-", "!", "&&", "||",
    "<", ">", "=", " ", " AND ", " OR ", " NOT ", " TO ", "_exists_", "'", ",", ".", "::", "10.0.0.0/8",
    "true", "2026-11-27T10:00:00Z", "eni-1", "0", "65535", "-1", "é", "\x00", "\n",
    *(f.name for f in catalog.FIELDS[::3]), "src_addr_threat_indicated_tor",
]
queries = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=12).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=queries)
def test_any_text_compiles_or_is_a_query_error(text: str) -> None:
    try:
        compiled = compile_query(text)
    except QueryError as err:
        assert 0 <= err.start < err.end <= max(len(text), 1) + 1
        return
    assert isinstance(compiled.where, str)


@settings(max_examples=150, deadline=None)
@given(text=queries)
def test_what_compiles_also_runs(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    engine = _shared_engine(tmp_path_factory)
    try:
        engine.count(text)
    except QueryError:
        pass
    except sqlite3.Error as exc:  # pragma: no cover - a bug: the SQL is malformed
        raise AssertionError(f"{text!r} compiled to bad SQL: {exc}") from exc


_ENGINES: dict[str, QueryEngine] = {}


def _shared_engine(factory: pytest.TempPathFactory) -> QueryEngine:
    if "e" not in _ENGINES:
        _ENGINES["e"] = QueryEngine(query_data.build(Path(factory.mktemp("hyp")) / "flows.db"))
    return _ENGINES["e"]


@pytest.mark.parametrize(
    ("query", "message", "start", "end"),
    [
        ("src_addr_threat_indicated_bogus:true", "unknown threat list 'bogus' (lists: feodo, spamhaus, tor)", 0, 31),
        ("action:REJECT AND dst_addr_threat_indicated_spamhau:true",
         "unknown threat list 'spamhau' (did you mean spamhaus?)", 18, 51),
        ("_exists_:src_addr_threat_indicated_tr", "unknown threat list 'tr' (did you mean tor?)", 9, 37),
    ],
)
def test_an_unknown_threat_list_id_is_named_with_the_known_ones(query: str, message: str, start: int, end: int) -> None:
    with pytest.raises(QueryError) as info:
        compile_query(query, threat_lists=("spamhaus", "tor", "feodo"))
    assert (info.value.message, info.value.start, info.value.end) == (message, start, end)
    assert info.value.exit_code == 2


def test_threat_list_ids_are_checked_only_against_lists_given() -> None:
    assert compile_query("src_addr_threat_indicated_tor:true", threat_lists=["tor"]).fields == ("src_addr_threat_indicated_by",)
    assert compile_query("src_addr_threat_indicated_bogus:true").fields == ("src_addr_threat_indicated_by",)
    with pytest.raises(QueryError) as info:
        compile_query("src_addr_threat_indicated_tor:true", threat_lists=[])
    assert info.value.message == "unknown threat list 'tor' (no lists are configured: [[threat.lists]] in the config)"


@pytest.mark.parametrize(
    ("query", "message", "start", "end"),
    [
        ("src_addr_threat_indicated_by:spamhaus_dropp",
         "unknown threat list 'spamhaus_dropp' (did you mean spamhaus_drop?)", 29, 43),
        ('action:REJECT AND dst_addr_threat_indicated_by:"tr"', "unknown threat list 'tr' (did you mean tor?)", 47, 51),
        ("dst_addr_threat_indicated_by:(tor OR feodo)", "unknown threat list 'feodo' (lists: spamhaus_drop, tor)", 37, 42),
        ("src_addr_threat_indicated_by:tor,spamhaus", "unknown threat list 'spamhaus' (did you mean spamhaus_drop?)", 29, 41),
    ],
)
def test_an_unknown_id_as_the_value_of_threat_indicated_by_is_named_too(
    query: str, message: str, start: int, end: int
) -> None:
    with pytest.raises(QueryError) as info:
        compile_query(query, threat_lists=("spamhaus_drop", "tor"))
    assert (info.value.message, info.value.start, info.value.end) == (message, start, end)


def test_a_query_tells_the_list_ids_it_names_and_patterns_name_none() -> None:
    known = ("spamhaus_drop", "tor")
    assert compile_query("src_addr_threat_indicated_by:tor OR dst_addr_threat_indicated_spamhaus_drop:true", threat_lists=known).lists == (
        "tor",
        "spamhaus_drop",
    )
    assert compile_query('src_addr_threat_indicated_by:"tor,spamhaus_drop"', threat_lists=known).lists == ("tor", "spamhaus_drop")
    # A wildcard, a regex or _exists_ on the list field names no id: nothing to check.
    for query in ("src_addr_threat_indicated_by:spam*", "src_addr_threat_indicated_by:/sp.m/", "_exists_:src_addr_threat_indicated_by", "action:REJECT"):
        assert compile_query(query, threat_lists=known).lists == ()
