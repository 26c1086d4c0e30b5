"""Rows as other programs read them: the CSV that ``flowtui query --format csv`` prints
and the results view exports.

One CSV for both, made for a spreadsheet or ``lnav``: a header row of catalog
names, times (``timestamp``, ``start``, ``end``, CloudTrail's ``eventTime``) in
ISO 8601 UTC (``2026-11-27T09:59:30Z``) — a spreadsheet reads that as a date,
where 1795773570 is only a big number — counts and ports as plain numbers, a
missing value as an empty field, booleans as ``true``/``false`` and lists
comma-joined. JSON keeps times as unix seconds (numbers as numbers), as
DESIGN.md's ``query --format json`` says: one array of objects (``json``) or
one object a line (``jsonl``), each row as the search gives it, keyed by the
catalog names it was asked for, JSON null for a missing value.

The writers stream: a big result never sits in memory, and each returns the
row count (the export's toast says it).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

from flowtui import catalog
from flowtui.cloudtrail import fields as trail_fields


def iso_utc(seconds: float) -> str:
    """Unix seconds as ISO 8601 UTC: ``2026-11-27T09:59:30Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def is_time(name: str) -> bool:
    """A flow or CloudTrail time field (stored as unix seconds)."""
    f = catalog.BY_NAME.get(name) or trail_fields.BY_NAME.get(name)
    return f is not None and f.type == "time"


def csv_cell(value: Any, time_field: bool) -> Any:
    """One value as a CSV field (see the module's docstring)."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if time_field and isinstance(value, (int, float)):
        return iso_utc(value)
    if isinstance(value, list):
        return ",".join(map(str, value))
    return value  # the csv module writes numbers and text as they are


def csv_row(columns: Sequence[str]) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A function from a row to its CSV fields in ``columns``' order (time columns looked up once)."""
    times = [(c, is_time(c)) for c in columns]
    return lambda row: [csv_cell(row.get(c), t) for c, t in times]


def write_csv(fields: Sequence[str], rows: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """A header row of ``fields``, then each row's CSV fields; the row count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    cells = csv_row(fields)
    count = 0
    for row in rows:
        writer.writerow(cells(row))
        count += 1
    return count


def write_json(rows: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """One JSON array, an object a line, written as rows arrive; the row count."""
    out.write("[")
    count = 0
    for row in rows:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_jsonl(rows: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """One JSON object a line; the row count."""
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


WRITERS: dict[str, Callable[[Sequence[str], Iterable[Mapping[str, Any]], TextIO], int]] = {
    "csv": write_csv,
    "json": lambda _fields, rows, out: write_json(rows, out),
    "jsonl": lambda _fields, rows, out: write_jsonl(rows, out),
}
