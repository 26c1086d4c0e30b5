"""Writing a query's results to a file: CSV or JSON, the columns the results view shows.

JSON is one array of objects keyed by the catalog names, JSON null for a
missing value, numbers as numbers and booleans as booleans (what
``flowtui query --format json`` prints). CSV has a header row; a missing value
is an empty field and booleans are ``true``/``false``.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from flowtui.errors import FlowtuiError


class ExportError(FlowtuiError):
    """The export file cannot be written."""


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_export(path: Path, fmt: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write ``rows`` to ``path`` (atomically: a half-written file never replaces a good one); returns the row count."""
    if fmt not in ("csv", "json"):
        raise ExportError(f"unknown export format {fmt!r}: use csv or json")
    path = Path(path)
    count = 0
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            if fmt == "csv":
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([_csv_value(row.get(c)) for c in columns])
                    count += 1
            else:
                out.write("[")
                for row in rows:
                    out.write(",\n  " if count else "\n  ")
                    out.write(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False))
                    count += 1
                out.write("\n]\n" if count else "]\n")
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ExportError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return count
