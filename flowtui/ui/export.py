"""Writing a results snapshot to a file: CSV, JSON or JSONL, written by the code ``flowtui query`` prints with.

CSV is what ``flowtui query --format csv --fields <the results' columns>``
prints: the columns the results view shows, times in ISO 8601 UTC, for a
spreadsheet or ``lnav``. JSON and JSONL are what ``flowtui query --format
json`` (``jsonl``) prints: every catalog field — the entity, country, threat
and log-group fields the table has no room for — keyed by its catalog name,
JSON null for a missing value, numbers as numbers (times as unix seconds) and
booleans as booleans, so a script reads the dashboard's file and the CLI's alike.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from flowtui import catalog
from flowtui.errors import FlowtuiError
from flowtui.query.output import WRITERS
from flowtui.ui.formatting import clean
from flowtui.words import counted

PROGRESS_EVERY = 5000  # rows between two progress reports


class ExportError(FlowtuiError):
    """The export file cannot be written."""


FORMATS = tuple(WRITERS)  # csv, json, jsonl


def export_columns(fmt: str, shown: Sequence[str]) -> list[str]:
    """The fields a ``fmt`` export writes: CSV the ``shown`` columns, JSON and JSONL every catalog field."""
    return list(shown) if fmt == "csv" else [f.name for f in catalog.FIELDS]


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


def shown_path(path: Path) -> str:
    """``path`` as a toast shows it: the home folder as ``~`` (as the dialog shows it), the file's
    name on a line of its own. A toast wraps at spaces, and a path has none: it was cut wherever
    the line ended ('…/flowtui-export-20261128-15' / '1755.csv'); a line break before the name
    keeps the name whole, and the folder breaks at the space before it."""
    text = clean(str(path))
    home = str(Path.home())
    if text == home or text.startswith(home.rstrip("/") + "/"):
        text = "~" + text[len(home.rstrip("/")) :]
    folder, slash, name = text.rpartition("/")
    return f"{folder}{slash}\n{name}" if slash else text


def written_text(count: int, path: Path) -> str:
    """The toast at an export's end: 'Wrote 450 flows to /tmp/' / 'flows.csv'."""
    return f"Wrote {counted(count, 'flow')} to {shown_path(path)}"


def cancelled_text(written: int, total: int, path: Path, kept: bool) -> str:
    """The toast when x stopped an export, the file's name on a line of its own as at the end
    ('… nothing was written to /tmp/' / 'flows.csv'); ``kept``: a file already at ``path``
    is left as it was."""
    where = f"{shown_path(path)} is as it was" if kept else f"nothing was written to {shown_path(path)}"
    return f"Export cancelled after {written:,} of {total:,} flows: the partial file was removed and {where}"


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
    if fmt not in WRITERS:
        raise ExportError(f"unknown export format {fmt!r}: use {', '.join(FORMATS[:-1])} or {FORMATS[-1]}")
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            count = WRITERS[fmt](columns, _counted(rows, progress), out)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise ExportError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        _remove(tmp)
        raise
    return count


def _counted(rows: Iterable[dict[str, Any]], progress: Callable[[int], object] | None) -> Iterator[dict[str, Any]]:
    """``rows`` as they are, ``progress`` told the count every PROGRESS_EVERY rows."""
    if progress is None:
        yield from rows
        return
    for count, row in enumerate(rows, 1):
        yield row
        if count % PROGRESS_EVERY == 0:
            progress(count)


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
