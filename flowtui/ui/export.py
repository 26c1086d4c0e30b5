"""Writing a results snapshot to a file: CSV or JSON, the columns the results view has.

Both are what ``flowtui query`` prints (:mod:`flowtui.query.output`), so a
script reads either: CSV with times in ISO 8601 UTC for a spreadsheet or
``lnav``; JSON as one array of objects keyed by the catalog names, JSON null
for a missing value, numbers as numbers (times too) and booleans as booleans.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from flowtui.errors import FlowtuiError
from flowtui.query.output import csv_row

PROGRESS_EVERY = 5000  # rows between two progress reports


class ExportError(FlowtuiError):
    """The export file cannot be written."""


def default_export_path(taken_at: float, fmt: str = "csv") -> str:
    """``~/flowtui-export-YYYYmmdd-HHMMSS.csv``: the home folder, named for the snapshot's time.

    Not the working directory: a dashboard started by tmux, systemd or a script
    runs wherever that was (often ``/`` or a read-only checkout), and nobody
    looks there afterwards. Not the store's folder either: that is often a data
    folder another user owns (``/var/lib/flowtui``), and an export beside the
    database and its WAL is easy to mistake for part of it. The home folder is
    writable and the first place ``ls`` or ``scp host:`` looks; the snapshot's
    local time in the name keeps two exports apart and says which snapshot a
    file is. The dialog shows it with ``~`` and the path can be edited.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(taken_at))
    return f"~/flowtui-export-{stamp}.{fmt}"


def write_export(
    path: Path,
    fmt: str,
    columns: Sequence[str],
    rows: Iterable[dict[str, Any]],
    progress: Callable[[int], object] | None = None,
) -> int:
    """Write ``rows`` to ``path``; the row count. ``progress`` hears the count every PROGRESS_EVERY rows.

    Atomic: the rows go to a hidden file beside ``path`` that replaces it only
    when complete, so a failed or abandoned export never leaves half a file
    (nor clobbers a good one of the same name).
    """
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
                cells = csv_row(columns)
            else:
                out.write("[")
            for row in rows:
                if fmt == "csv":
                    writer.writerow(cells(row))
                else:
                    out.write(",\n  " if count else "\n  ")
                    out.write(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False))
                count += 1
                if progress is not None and count % PROGRESS_EVERY == 0:
                    progress(count)
            if fmt == "json":
                out.write("\n]\n" if count else "]\n")
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise ExportError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        _remove(tmp)
        raise
    return count


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
