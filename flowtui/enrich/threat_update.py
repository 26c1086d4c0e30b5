"""Download url threat lists into the cache, never losing a good copy.

A list is replaced only by a complete download that parses to at least one
entry; an HTTP error, a timeout, an oversize body or garbage (an HTML error
page, an empty file) leaves the previous copy in place. The new copy is written
to a temporary file beside it and moved over it with ``os.replace``, so a
reader sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import email.utils
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Literal

from flowtui import __version__
from flowtui.enrich.threat import ThreatListSpec, ThreatSettings, load_list, parse_list
from flowtui.words import counted

Status = Literal["updated", "not-modified", "failed", "local"]
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class UpdateResult:
    list_id: str
    status: Status
    detail: str
    entries: int | None = None  # of the copy now in the cache

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def line(self) -> str:
        """The one line ``flowtui threat update`` prints for this list."""
        return f"{self.list_id}: {self.detail}"


class _Failure(Exception):
    pass


def update_all(settings: ThreatSettings, only: tuple[str, ...] = ()) -> list[UpdateResult]:
    return [update_list(spec, settings) for spec in settings.lists if not only or spec.id in only]


def update_list(spec: ThreatListSpec, settings: ThreatSettings) -> UpdateResult:
    """Fetch one list (a conditional GET when a copy exists) and report what happened."""
    if spec.url is None:
        return UpdateResult(spec.id, "local", f"local file {spec.path}, nothing to fetch")
    try:
        return _fetch(spec, settings)
    except _Failure as exc:
        return UpdateResult(spec.id, "failed", f"FAILED: {exc}; {_kept(spec)}")


def _kept(spec: ThreatListSpec) -> str:
    if not spec.path.exists():
        return "no copy in the cache yet"
    return f"kept the old copy ({counted(load_list(spec, strict=False).entries, 'entry', 'entries')})"


def _fetch(spec: ThreatListSpec, settings: ThreatSettings) -> UpdateResult:
    assert spec.url is not None
    headers = {"User-Agent": f"flowtui/{__version__}", "Accept-Encoding": "identity"}
    try:
        mtime = spec.path.stat().st_mtime
    except OSError:
        mtime = None
    if mtime is not None:
        headers["If-Modified-Since"] = email.utils.formatdate(mtime, usegmt=True)
    request = urllib.request.Request(spec.url, headers=headers)
    deadline = time.monotonic() + settings.timeout
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout) as response:
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > settings.max_size:
                raise _Failure(f"{int(length)} bytes is over the {settings.max_size}-byte limit")
            body = _read_capped(response, settings, deadline)
            last_modified = response.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            entries = load_list(spec, strict=False).entries
            return UpdateResult(spec.id, "not-modified", f"not modified ({counted(entries, 'entry', 'entries')})", entries)
        raise _Failure(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _Failure(f"timed out after {settings.timeout:g} s") from None
        raise _Failure(f"cannot fetch {spec.url}: {exc.reason}") from None
    except TimeoutError:
        raise _Failure(f"timed out after {settings.timeout:g} s") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # reset, bad URL, truncated body
        raise _Failure(f"cannot fetch {spec.url}: {exc}") from None

    parsed = parse_list(body.decode("utf-8", errors="replace"), spec.format, spec.path.name)
    if parsed.entries == 0:
        raise _Failure(f"the {len(body)} bytes received hold no addresses (garbage, not {parsed.format})")
    _write_atomically(spec, body, _mtime_from(last_modified))
    detail = f"updated, {counted(parsed.entries, 'entry', 'entries')} ({counted(len(body), 'byte')})"
    if parsed.skipped:
        detail += f", {counted(parsed.skipped, 'line')} skipped"
    return UpdateResult(spec.id, "updated", detail, parsed.entries)


def _read_capped(response: object, settings: ThreatSettings, deadline: float) -> bytes:
    chunks: list[bytes] = []
    total = 0
    read = response.read  # type: ignore[attr-defined]
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > settings.max_size:
            raise _Failure(f"the body is over the {settings.max_size}-byte limit")
        if time.monotonic() > deadline:
            raise _Failure(f"timed out after {settings.timeout:g} s")
        chunks.append(chunk)


def _mtime_from(last_modified: str | None) -> float | None:
    """The server's Last-Modified, so that the file's age is the list's age (never in the future)."""
    if not last_modified:
        return None
    try:
        value = email.utils.parsedate_to_datetime(last_modified).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return min(value, time.time())


def _write_atomically(spec: ThreatListSpec, body: bytes, mtime: float | None) -> None:
    directory = spec.path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{spec.path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _Failure(f"cannot write to {directory}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        if mtime is not None:
            os.utime(tmp, (time.time(), mtime))
        os.replace(tmp, spec.path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise _Failure(f"cannot write {spec.path}: {exc.strerror or exc}") from None
