"""Flow-log exports on disk: a directory read the way its S3 prefix is.

``aws s3 sync s3://bucket/AWSLogs ./AWSLogs`` copies each object to a file at the path
of its key, so ``flowtui ingest ./AWSLogs`` takes what ``flowtui ingest s3://bucket/AWSLogs/``
takes: every file below the directory, in the order S3 lists keys (by path, as text),
CloudTrail-Digest files and Parquet exports left out, ``--since`` judged by the dates in
the path (:class:`~flowtui.sources.s3.ExportWalk`). Names beginning with '.' are left out
too (``.DS_Store``, a ``.git`` folder): S3 exports have none. Each file is then read as a
file named on the command line is: resumed where it ended, a copy of stored content not read.

The directory is listed before anything is read, so one with nothing to read is a bad
argument that stops the command, as a PATH that does not exist is.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from flowtui.sources.s3 import ExportWalk
from flowtui.words import counted


@dataclass(slots=True)
class Folder:
    """A directory's files to read, in order, and what its walk says of the rest."""

    root: str
    files: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # what was left out, and folders that could not be read
    unreadable: int = 0  # folders that could not be listed: errors (exit status 1)
    old: int = 0  # files left out by --since

    @property
    def empty(self) -> bool:
        """Nothing to read and nothing that explains why (no old files, no unreadable folder)."""
        return not (self.files or self.old or self.unreadable)


def list_folder(root: str, since: dt.datetime | None = None) -> Folder:
    """The files below ``root`` an S3 export's walk would read, sorted as S3 lists keys.

    Symbolic links to folders are not followed (a link may lead back up the tree);
    links to files are read.
    """
    folder = Folder(root)
    found: list[str] = []
    hidden = 0

    def unreadable(exc: OSError) -> None:
        folder.unreadable += 1
        folder.messages.append(f"cannot read {exc.filename}: {exc.strerror}")

    for here, dirs, files in os.walk(root, onerror=unreadable):
        hidden += sum(d.startswith(".") for d in dirs) + sum(f.startswith(".") for f in files)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = os.path.relpath(here, root)
        for name in files:
            if not name.startswith("."):
                found.append(name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}")
    walk = ExportWalk("file", since, folder.messages)
    for rel in sorted(found):
        path = os.path.join(root, rel)
        if walk.takes(path, path):  # the whole path: the dates may be in the part the user typed
            folder.files.append(path)
    walk.close()
    folder.old = walk.old
    if hidden:
        folder.messages.append(f"{root}: {counted(hidden, 'name')} beginning with '.' left out")
    return folder
