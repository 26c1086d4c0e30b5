"""Fixtures every test file may use: the shared test data and a fresh store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowtui import catalog
from flowtui.store import Store

SHARED = Path(__file__).resolve().parents[2] / "shared" / "testdata"


@pytest.fixture
def shared_testdata() -> Path:
    """../shared/testdata beside the checkout; tests that need it skip cleanly without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared/testdata is not beside this checkout")
    return SHARED


@pytest.fixture
def user_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No config file of the user's, and the default config and data folders under ``tmp_path``."""
    monkeypatch.delenv("FLOWTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "flows.db")
    yield s
    s.close()


def make_record(**values: Any) -> tuple[Any, ...]:
    """A record in RECORD_FIELDS layout with the given fields set and the rest None."""
    record: list[Any] = [None] * len(catalog.RECORD_FIELDS)
    for name, value in values.items():
        record[catalog.RECORD_INDEX[name]] = value
    return tuple(record)


V2_PRESENT = tuple(catalog.RECORD_INDEX[f.name] for f in catalog.RECORD_FIELDS if f.origin == "flow")
