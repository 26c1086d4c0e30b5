"""Inputs whose content the store holds already, under another name.

A file's checkpoint is kept by its path, so the same file copied elsewhere, or the
same bytes piped to standard input twice, would be read as new and every flow
stored again (flow-log lines carry no ids to tell a copy by; payloads and CloudTrail
records do, and are de-duplicated by them anyway). So an input read to its end
leaves one more checkpoint, keyed by its content (its size and SHA-256), whose
position is the source that stored it. An input with that content under another
name is then not read again. Standard input is told by its content when it ends
within :data:`STDIN_WHOLE` bytes; a longer one (or a pipe left open) is streamed,
its batches stored as they come, as before.

Only a whole, clean read counts: an input cut short, damaged, or of which nothing
fitted the format is not remembered, so running again (with ``--format``) reads it.

The content checkpoint of a file (or standard input) of flow-log lines is written in the
transaction of its last batch (:meth:`Content.with_last_batch`): a crash between the two
would leave the lines stored and the content unknown, and a copy stored again.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sqlite3
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Final

from flowtui.ingest import Prefixed, TableWrite
from flowtui.store import Store

PREFIX: Final = "content:"  # the checkpoints' source prefix
STDIN: Final = "stdin"  # the source standard input is remembered as
STDIN_WHOLE: Final = 4 << 20  # standard input up to this size is told by its content; beyond, it streams (two batches of lines)
_CHUNK = 1 << 20
_GZIP_MAGIC: Final = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Content:
    """An input's content key and the source it is read as (``file:<real path>`` or ``stdin``)."""

    key: str
    source: str
    size: int
    # A gzip input's key by its raw bytes, as stores written before the key was the decompressed
    # content's hold it: looked up too, never written, so a copy stored then is still known.
    raw_key: str | None = None

    def stored_as(self, store: Store) -> str | None:
        """The other source this content was stored from; None when it is new (or only this source's)."""
        held = store.checkpoint(self.key)
        if held is None and self.raw_key is not None:
            held = store.checkpoint(self.raw_key)
        if held is None or (held == self.source and self.source != STDIN):
            return None  # a file read again under its own name resumes where it ended
        return held

    def with_last_batch(self) -> TableWrite | None:
        """What the input's last batch writes in its transaction (``Pipeline.ingest_path``'s ``last``):
        this content is stored, from this source, unless another source stored it first.

        An empty input is not remembered: there is nothing of it to store twice.
        """
        if not self.size:
            return None

        def remember(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO checkpoints (source, position, updated) VALUES (?, ?, ?) ON CONFLICT (source) DO NOTHING",
                (self.key, self.source, time.time()),
            )

        return remember

    def remember(self, store: Store) -> None:
        """Say this content is stored, after a whole, clean read that did not say it in its last batch (a
        file of payloads or CloudTrail records, whose ids tell copies anyway; a batch another run wrote)."""
        if (write := self.with_last_batch()) is not None:
            with store.transaction():
                write(store.conn)

    def forget(self, store: Store) -> None:
        """Unsay it: nothing of the input was stored after all (all its lines rejected: left unread)."""
        with store.transaction():
            store.conn.execute("DELETE FROM checkpoints WHERE source = ? AND position = ?", (self.key, self.source))


def of_file(path: str | os.PathLike[str]) -> Content | None:
    """A file's content key (it is read once for it, in chunks: cheap beside parsing its lines);
    None for a damaged gzip file, which is not read whole, so never remembered (ingest says why)."""
    with open(path, "rb") as fh:
        return _of_stream(fh, f"file:{os.path.realpath(path)}")


def _of_stream(raw: BinaryIO, source: str) -> Content | None:
    """The key of what ingest reads from ``raw``: its bytes, or a gzip input's decompressed bytes
    (with the raw bytes' key beside it, see :attr:`Content.raw_key`)."""
    if raw.read(2) != _GZIP_MAGIC:
        raw.seek(0)
        size, digest = _digest(raw)
        return Content(_key(size, digest), source, size)
    raw.seek(0)
    raw_digest = _Digesting(raw)
    try:
        size, digest = _digest(gzip.GzipFile(fileobj=raw_digest))  # type: ignore[arg-type]
    except (OSError, EOFError, zlib.error):
        return None
    return Content(_key(size, digest), source, size, _key(raw_digest.size, raw_digest.digest.hexdigest()))


def _digest(stream: IO[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


class _Digesting(io.RawIOBase):
    """A raw stream that hashes the bytes read through it: a gzip input's raw key, in the same pass."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.digest, self.size = raw, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        data = self.raw.read(len(b))
        self.digest.update(data)
        self.size += len(data)
        b[: len(data)] = data
        return len(data)


def standard_input(stream: BinaryIO, limit: int = STDIN_WHOLE) -> tuple[Content | None, IO[bytes]]:
    """Standard input's content key, when it ends within ``limit`` bytes (None for a damaged gzip
    one too), and a stream of all of it.

    The key must be known before anything is stored, and standard input can be read only
    once: up to ``limit`` bytes are read first. A longer input (or a pipe that stays open)
    is streamed on as before, its batches stored as they come, with no key (None).
    """
    head = bytearray()
    while len(head) < limit and (chunk := stream.read(min(_CHUNK, limit - len(head)))):
        head += chunk
    rest = stream.read(1) if len(head) >= limit else b""
    if not rest:
        return _of_stream(io.BytesIO(bytes(head)), STDIN), io.BytesIO(bytes(head))
    return None, io.BufferedReader(Prefixed(bytes(head) + rest, stream), _CHUNK)  # type: ignore[arg-type,type-var]


def shown(source: str) -> str:
    """A remembered source as the user named it: a file's path, or standard input."""
    if source.startswith("file:"):
        return str(Path(source[len("file:") :]))
    return "standard input" if source == STDIN else source


def _key(size: int, digest: str) -> str:
    return f"{PREFIX}{size}:{digest}"
