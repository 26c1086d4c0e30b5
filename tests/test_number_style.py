"""One number style in what people read: counts grouped by thousands in tables and alert conditions; JSON and CSV raw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowtui.alerts.firings import Firing
from flowtui.alerts.notifiers import email_body
from flowtui.alerts.rules import parse_condition
from tests import query_data
from tests.test_query_cli import flowtui

FIRING = Firing("ssh-scan", {"src_addr": "203.0.113.9"}, 5553, 1_764_324_000, 1_764_324_300, 1_764_324_301.0,
                condition="count > 5000", flows=5553, bytes=1_234_567, packets=21412)  # fmt: skip


def test_an_alert_condition_reads_like_its_value() -> None:
    assert FIRING.measured() == "count 5,553 > 5,000"
    assert FIRING.condition_text == "count > 5,000"
    assert "(count > 5,000)" in FIRING.summary()
    assert "condition:  count > 5,000 (value 5,553)" in email_body(FIRING)
    assert FIRING.to_json()["condition"] == "count > 5000"  # machine form: raw
    assert parse_condition("sum(bytes) >= 1000000").shown == "sum(bytes) >= 1,000,000"
    assert str(parse_condition("sum(bytes) >= 1000000")) == "sum(bytes) >= 1000000"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("numbers")) / "flows.db"
    query_data.build(path).close()
    return path


def test_query_table_groups_counts_not_ports_and_csv_json_stay_raw(db: Path) -> None:
    args = ("query", "--db", str(db), "--all", "--limit", "1", "--fields", "dst_port,packets,bytes", "bytes:9999")
    out = flowtui(*args, columns=200)
    assert out.stdout.splitlines() == ["dst_port  packets  bytes", "   51004        9  9,999"]
    assert flowtui(*args, "--format", "csv").stdout.splitlines() == ["dst_port,packets,bytes", "51004,9,9999"]
    assert json.loads(flowtui(*args, "--format", "json").stdout) == [{"dst_port": 51004, "packets": 9, "bytes": 9999}]
