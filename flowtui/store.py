"""The SQLite store: flows, their interned values, checkpoints and dead letters.

One writer transaction holds a batch's rows, its dead letters and the source
position that follows it, so a crash at any point neither loses nor doubles a
record. Readers (the dashboard, ``flowtui query``) may run in other processes
at the same time: the file is in WAL mode.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from flowtui import catalog, schema
from flowtui.config import Config, parse_duration, parse_size
from flowtui.errors import FlowtuiError

Record = tuple[Any, ...]
Profile = tuple[Any, ...]
Enrich = Callable[[str, int], Profile]

NO_PROFILE: Profile = (None,) * len(catalog.ENRICH_SUFFIXES)
_I = catalog.RECORD_INDEX
_START, _END = _I["start"], _I["end"]


class StoreError(FlowtuiError):
    """The store file cannot be opened or used."""


@dataclass(slots=True)
class Part:
    """Records of one format from one envelope (a payload, a file)."""

    records: list[Record]
    present: Sequence[int]  # RECORD_FIELDS indexes the format fills
    origin: tuple[str | None, ...] | None = None  # (log_group, log_stream, kinesis_stream, owner)
    event_keys: list[bytes] | None = None  # per record; a key seen before is skipped
    fallback_start: int | None = None  # the start of records whose format has none


@dataclass(slots=True)
class DeadLetter:
    source: str
    location: str | None
    reason: str
    data: str | bytes | None


@dataclass(slots=True)
class Batch:
    parts: list[Part] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    checkpoint: tuple[str, str] | None = None  # (source, position) after this batch


@dataclass(slots=True)
class Retention:
    """How long flows are kept and how large the store may grow ([store] retain, max_size)."""

    max_age: float | None = None  # seconds
    max_bytes: int | None = None
    step_rows: int = 20_000  # flows deleted per step
    interval: float = 5.0  # seconds between steps while writing

    @property
    def active(self) -> bool:
        return self.max_age is not None or self.max_bytes is not None

    @classmethod
    def from_config(cls, config: Config) -> Retention:
        retain = config.get("store", "retain", None, (str, int, float))
        size = config.get("store", "max_size", None, (str, int))
        return cls(
            max_age=parse_duration(retain, "[store] retain") if retain is not None else None,
            max_bytes=parse_size(size) if size is not None else None,
        )


@dataclass(slots=True)
class WriteResult:
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    # The flows ids this write stored, first_id..last_id with no gaps (None: it stored none).
    first_id: int | None = None
    last_id: int | None = None


def event_key(group: str, stream: str, event_id: str, timestamp: int, message: str) -> bytes:
    """A stable identity for a CloudWatch event.

    The id alone is not enough: some producers (moto among them) restart ids per call.
    """
    return f"{group}\x1f{stream}\x1f{event_id}\x1f{timestamp}\x1f{message}".encode("utf-8", "surrogateescape")


def _key_hash(key: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big", signed=True)


class Store:
    """A flowtui SQLite file. Not shared between threads without a lock."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        timeout: float = 10.0,
        retention: Retention | None = None,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._strings: _Interned = _Interned(self._new_string)
        self._txn: _Transaction | None = None
        self._string_values: dict[int, str] = {}
        self._addrs: dict[tuple[str, Profile], int] = {}
        self._addr_rows: dict[int, tuple[str, Profile]] = {}
        self._origins: dict[tuple[str | None, ...], int] = {}
        self._origin_rows: dict[int, tuple[str | None, ...]] = {}
        self._max = {"strings": 0, "addrs": 0, "origins": 0}
        self._columns: set[str] = set()
        self._insert_sql: dict[tuple[int, ...], tuple[str, _RowBuilder]] = {}
        self._data_version = -1
        self.retention = retention or Retention()
        self._next_prune = time.monotonic() + self.retention.interval
        self._last_addr: dict[str, tuple[Profile, int]] = {}
        # Called with each WriteResult after its transaction commits, on the writing
        # thread (alert rules evaluate the new rows here). A listener must not raise.
        self.on_write: list[Callable[[WriteResult], None]] = []
        try:
            if readonly:
                if not self.path.exists():
                    raise StoreError(f"no store at {self.path}: ingest something first (flowtui ingest, tail or demo)")
                uri = f"file:{self.path}?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
            else:
                self._create_file()
                self.conn = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False)
            self.conn.isolation_level = None  # explicit transactions only
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            if not readonly:
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")
            self.db = sqlite_utils.Database(self.conn)
            self._migrate()
            self.sync()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from None

    # --- opening -----------------------------------------------------------------
    def _create_file(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
        except OSError as exc:
            raise StoreError(f"cannot create store {self.path}: {exc.strerror}") from None

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == schema.SCHEMA_VERSION:
            return
        if version > schema.SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer flowtui (schema {version}); upgrade flowtui")
        if self.readonly:
            raise StoreError(f"{self.path} needs an upgrade; open it once without --readonly")
        if version == 0 and self.db.table_names():
            raise StoreError(f"{self.path} is an SQLite file but not a flowtui store")
        with _Transaction(self, sync=False):
            if version == 0:
                for stmt in schema.create_statements():
                    self.conn.execute(stmt)
            # Later versions: one ``if version < N:`` step each, in place.
            self.conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions --------------------------------------------------------------
    def transaction(self) -> _Transaction:
        return _Transaction(self)

    def sync(self) -> None:
        """Learn the interned values other processes have added since we last looked."""
        ex = self.conn.execute
        for sid, value in ex("SELECT id, value FROM strings WHERE id > ?", (self._max["strings"],)):
            self._strings[value] = sid
            self._string_values[sid] = value
            self._max["strings"] = max(self._max["strings"], sid)
        attrs = ", ".join(f'"{a}"' for a in schema.ADDR_ATTRS)
        for row in ex(f"SELECT id, ip, {attrs} FROM addrs WHERE id > ?", (self._max["addrs"],)):
            key = (row[1], tuple(row[2:]))
            self._addrs[key] = row[0]
            self._addr_rows[row[0]] = key
            self._max["addrs"] = max(self._max["addrs"], row[0])
        cols = ", ".join(f'"{a}"' for a in schema.ORIGIN_ATTRS)
        for row in ex(f"SELECT id, {cols} FROM origins WHERE id > ?", (self._max["origins"],)):
            self._origins[tuple(row[1:])] = row[0]
            self._origin_rows[row[0]] = tuple(row[1:])
            self._max["origins"] = max(self._max["origins"], row[0])
        if len(self._columns) != len(self.db["flows"].columns_dict):
            self._columns = set(self.db["flows"].columns_dict)
            self._insert_sql.clear()

    # --- writing -------------------------------------------------------------------
    def write(self, batch: Batch, enrich: Enrich | None = None) -> WriteResult:
        """Store a batch, its dead letters and its checkpoint in one transaction."""
        result = WriteResult()
        with self.transaction() as txn:
            before = self._last_flow_id() if batch.parts else 0
            for part in batch.parts:
                self._write_part(part, enrich, txn, result)
            if result.stored:
                # Rowids are max + 1 and this transaction holds the write lock: one run of ids.
                result.first_id, result.last_id = before + 1, self._last_flow_id()
            if batch.dead:
                now = time.time()
                self.conn.executemany(
                    "INSERT INTO dead_letters (received, source, location, reason, data) VALUES (?, ?, ?, ?, ?)",
                    [(now, d.source, d.location, d.reason, _text(d.data)) for d in batch.dead],
                )
                result.dead = len(batch.dead)
            if batch.checkpoint is not None:
                self._put_checkpoint(*batch.checkpoint)
        for listener in self.on_write:
            listener(result)
        if self.retention.active and time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self.retention.interval
            self.prune()
        return result

    def _last_flow_id(self) -> int:
        return int(self.conn.execute("SELECT coalesce(max(id), 0) FROM flows").fetchone()[0])

    # --- retention -------------------------------------------------------------------
    def prune(self, now: float | None = None) -> int:
        """One small step of retention (by age, then by size); the flows it deleted.

        Steps are small (``Retention.step_rows``) so a writer calling this between
        batches never stalls; the next call continues where this one stopped.
        """
        r = self.retention
        deleted = 0
        now = time.time() if now is None else now
        with self.transaction():
            if r.max_age is not None:
                cutoff = int(now - r.max_age)
                deleted += self.conn.execute(
                    "DELETE FROM flows WHERE id IN (SELECT id FROM flows WHERE start < ? ORDER BY start LIMIT ?)",
                    (cutoff, r.step_rows),
                ).rowcount
                self.conn.execute("DELETE FROM dead_letters WHERE received < ?", (cutoff,))
                self._drop_seen_before(cutoff // 86400)
            if r.max_bytes is not None and self.used_bytes() > r.max_bytes:
                row = self.conn.execute("SELECT min(id) FROM flows").fetchone()
                if row[0] is not None:
                    deleted += self.conn.execute(
                        "DELETE FROM flows WHERE id < ?", (row[0] + r.step_rows,)
                    ).rowcount
                    oldest = self.conn.execute("SELECT min(start) FROM flows").fetchone()[0]
                    if oldest is not None:
                        self._drop_seen_before(oldest // 86400 - 1)
        return deleted

    def _drop_seen_before(self, day: int) -> None:
        limit = schema.seen_table(day)
        for table in self.db.table_names():
            if table.startswith(schema.SEEN_PREFIX) and table < limit:
                self.conn.execute(f"DROP TABLE {table}")

    def used_bytes(self) -> int:
        """Bytes of the file in use (free pages are reused before the file grows)."""
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    def _write_part(self, part: Part, enrich: Enrich | None, txn: _Transaction, result: WriteResult) -> None:
        records = part.records
        if not records:
            return
        if part.event_keys is not None:
            records = self._drop_seen(part, result)
            if not records:
                return
        sql, build = self._insert_plan(tuple(part.present))
        origin_id = self._origin_id(part.origin, txn) if part.origin is not None else None
        fallback = part.fallback_start if part.fallback_start is not None else int(time.time())
        self._txn = txn
        rows = build(records, fallback, self._strings, self._address_resolver(enrich), origin_id)
        self.conn.executemany(sql, rows)
        result.stored += len(rows)

    def _address_resolver(self, enrich: Enrich | None) -> Callable[[str, int], int]:
        last = self._last_addr

        def resolve(ip: str, start: int) -> int:
            profile = enrich(ip, start) if enrich is not None else NO_PROFILE
            known = last.get(ip)
            if known is not None and known[0] is profile:
                return known[1]
            return self._addr_id(ip, profile)

        return resolve

    def _drop_seen(self, part: Part, result: WriteResult) -> list[Record]:
        """The records whose events are new; remembers them.

        The common case (nothing seen before) costs one INSERT OR IGNORE per day
        the records fall on: only when it inserts fewer keys than it was given
        are the duplicates sought.
        """
        assert part.event_keys is not None
        fallback = part.fallback_start or 0
        starts = [fallback if r[_START] is None else r[_START] for r in part.records]
        hashes = [_key_hash(k) for k in part.event_keys]
        days = {t // 86400 for t in starts}
        if len(days) == 1:
            if self._insert_new(schema.seen_table(next(iter(days))), hashes):
                return part.records
        else:
            by_day: dict[int, list[int]] = {}
            for t, h in zip(starts, hashes):
                by_day.setdefault(t // 86400, []).append(h)
            if all([self._insert_new(schema.seen_table(d), hs) for d, hs in by_day.items()]):
                return part.records
        keep: list[Record] = []
        for day in days:
            table = schema.seen_table(day)
            idx = [i for i, t in enumerate(starts) if t // 86400 == day]
            day_hashes = [hashes[i] for i in idx]
            seen: set[int] = set()
            for i in range(0, len(day_hashes), 900):
                chunk = day_hashes[i : i + 900]
                q = f"SELECT h FROM {table} WHERE h IN ({','.join('?' * len(chunk))})"
                seen.update(h for (h,) in self.conn.execute(q, chunk))
            new: list[tuple[int]] = []
            for i, h in zip(idx, day_hashes):
                if h in seen:
                    result.duplicates += 1
                    continue
                seen.add(h)
                keep.append(part.records[i])
                new.append((h,))
            self.conn.executemany(f"INSERT INTO {table} (h) VALUES (?)", new)
        return keep

    def _insert_new(self, table: str, hashes: list[int]) -> bool:
        """Insert all of ``hashes`` if none is there yet; False (and nothing inserted) otherwise."""
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (h INTEGER PRIMARY KEY)")
        before = self.conn.total_changes
        self.conn.execute("SAVEPOINT seen")
        self.conn.executemany(f"INSERT OR IGNORE INTO {table} (h) VALUES (?)", [(h,) for h in hashes])
        all_new = self.conn.total_changes - before == len(hashes)
        if not all_new:
            self.conn.execute("ROLLBACK TO seen")
        self.conn.execute("RELEASE seen")
        return all_new

    def _insert_plan(self, present: tuple[int, ...]) -> tuple[str, _RowBuilder]:
        """The INSERT for records of one format, and a row builder compiled for it.

        The builder is generated code (one tuple expression per record), because a
        generic per-field loop costs more than everything else on the write path.
        """
        cached = self._insert_sql.get(present)
        if cached is not None:
            return cached
        indexes = [_START] + [i for i in present if i != _START]
        columns = [schema.RECORD_COLUMNS[i] for i in indexes]
        for col in columns:
            if col not in self._columns:
                self.conn.execute(f"ALTER TABLE flows ADD COLUMN {schema.flows_column_sql(col)}")
                self._columns.add(col)
        exprs = ["start"]
        for i in indexes[1:]:
            kind = schema.STORAGE[catalog.RECORD_FIELDS[i].name].kind
            v = f"r[{i}]"
            if kind == "int":
                exprs.append(v)
            elif kind == "string":
                exprs.append(f"(None if {v} is None else S[{v}])")
            elif kind == "address":
                exprs.append(f"(None if {v} is None else A({v}, start))")
            else:  # end -> duration
                exprs.append(f"(None if {v} is None else {v} - start)")
        source = (
            "def build(records, fallback, S, A, origin):\n"
            "    out = []\n"
            "    append = out.append\n"
            "    for r in records:\n"
            f"        start = r[{_START}]\n"
            "        if start is None:\n"
            "            start = fallback\n"
            f"        append(({', '.join(exprs)}, origin))\n"
            "    return out\n"
        )
        namespace: dict[str, Any] = {}
        exec(compile(source, f"<flowtui.store row builder {present}>", "exec"), namespace)  # noqa: S102
        cols = ", ".join(f'"{c}"' for c in columns) + ", origin"
        sql = f"INSERT INTO flows ({cols}) VALUES ({', '.join('?' * (len(columns) + 1))})"
        entry = (sql, namespace["build"])
        self._insert_sql[present] = entry
        return entry

    def _new_string(self, value: str) -> int:
        sid = self.conn.execute("INSERT INTO strings (value) VALUES (?)", (value,)).lastrowid
        assert sid is not None and self._txn is not None
        self._string_values[sid] = value
        self._txn.added.append((self._strings, value, self._string_values, sid))
        return sid

    def _addr_id(self, ip: str, profile: Profile) -> int:
        txn = self._txn
        assert txn is not None
        key = (ip, profile)
        aid = self._addrs.get(key)
        if aid is None:
            cols = ", ".join(f'"{a}"' for a in schema.ADDR_ATTRS)
            aid = self.conn.execute(
                f"INSERT INTO addrs (ip, ipkey, {cols}) VALUES (?, ?, {', '.join('?' * len(profile))})",
                (ip, schema.ip_key(ip), *profile),
            ).lastrowid
            assert aid is not None
            self._addrs[key] = aid
            self._addr_rows[aid] = key
            txn.added.append((self._addrs, key, self._addr_rows, aid))
        self._last_addr[ip] = (profile, aid)
        return aid

    def _origin_id(self, origin: tuple[str | None, ...], txn: _Transaction) -> int:
        oid = self._origins.get(origin)
        if oid is None:
            cols = ", ".join(f'"{a}"' for a in schema.ORIGIN_ATTRS)
            oid = self.conn.execute(
                f"INSERT INTO origins ({cols}) VALUES ({', '.join('?' * len(origin))})", origin
            ).lastrowid
            assert oid is not None
            self._origins[origin] = oid
            self._origin_rows[oid] = origin
            txn.added.append((self._origins, origin, self._origin_rows, oid))
        return oid

    # --- checkpoints and status --------------------------------------------------------
    def _put_checkpoint(self, source: str, position: str) -> None:
        self.conn.execute(
            "INSERT INTO checkpoints (source, position, updated) VALUES (?, ?, ?) "
            "ON CONFLICT (source) DO UPDATE SET position = excluded.position, updated = excluded.updated",
            (source, position, time.time()),
        )

    def checkpoint(self, source: str) -> str | None:
        row = self.conn.execute("SELECT position FROM checkpoints WHERE source = ?", (source,)).fetchone()
        return row[0] if row else None

    def checkpoints(self, prefix: str = "") -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT source, position FROM checkpoints WHERE substr(source, 1, ?) = ?", (len(prefix), prefix)
        )
        return dict(rows.fetchall())

    def set_checkpoint(self, source: str, position: str) -> None:
        with self.transaction():
            self._put_checkpoint(source, position)

    def set_status(
        self,
        source: str,
        state: str,
        detail: str | None = None,
        records_per_s: float | None = None,
        lag_ms: int | None = None,
        errors: int = 0,
    ) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO source_status (source, state, detail, records_per_s, lag_ms, errors, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (source, state, detail, records_per_s, lag_ms, errors, time.time()),
            )

    def statuses(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM source_status ORDER BY source"))

    # --- reading -----------------------------------------------------------------------
    def string(self, sid: int | None) -> str | None:
        if sid is None:
            return None
        value = self._string_values.get(sid)
        if value is None:
            self.sync()
            value = self._string_values.get(sid)
        return value

    def address(self, aid: int | None) -> tuple[str, Profile] | None:
        if aid is None:
            return None
        row = self._addr_rows.get(aid)
        if row is None:
            self.sync()
            row = self._addr_rows.get(aid)
        return row

    def origin(self, oid: int | None) -> tuple[str | None, ...] | None:
        if oid is None:
            return None
        row = self._origin_rows.get(oid)
        if row is None:
            self.sync()
            row = self._origin_rows.get(oid)
        return row

    def has_column(self, column: str) -> bool:
        return column in self._columns

    def flow_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM flows").fetchone()[0])

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?", [limit]))

    def dead_letter_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0])

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += os.path.getsize(f"{self.path}{suffix}")
            except OSError:
                pass
        return total

    def time_bounds(self) -> tuple[int, int] | None:
        # Two subqueries: each is one index probe, where min() and max() together scan.
        row = self.conn.execute("SELECT (SELECT min(start) FROM flows), (SELECT max(start) FROM flows)").fetchone()
        return None if row[0] is None else (int(row[0]), int(row[1]))


_RowBuilder = Callable[[list[Record], int, "_Interned", Callable[[str, int], int], int | None], list[tuple[Any, ...]]]


class _Interned(dict[str, int]):
    """value → id; a miss interns the value (one C-level lookup on the hit path)."""

    def __init__(self, add: Callable[[str], int]) -> None:
        super().__init__()
        self._add = add

    def __missing__(self, value: str) -> int:
        sid = self[value] = self._add(value)
        return sid


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT; on failure, roll back and forget ids interned inside."""

    def __init__(self, store: Store, sync: bool = True) -> None:
        self.store = store
        self.sync = sync
        self.added: list[tuple[dict[Any, int], Any, dict[int, Any], int]] = []

    def __enter__(self) -> _Transaction:
        conn = self.store.conn
        conn.execute("BEGIN IMMEDIATE")
        if self.sync:
            # data_version changes only when another connection commits.
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self.store._data_version:
                self.store.sync()
                self.store._data_version = version
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.store.conn.execute("COMMIT")
            self._raise_max()
            return
        self.store.conn.execute("ROLLBACK")
        for forward, key, backward, new_id in self.added:
            forward.pop(key, None)
            backward.pop(new_id, None)
        self.store._last_addr.clear()
        self.store._columns = set(self.store.db["flows"].columns_dict)
        self.store._insert_sql.clear()

    def _raise_max(self) -> None:
        m = self.store._max
        for forward, _, _, new_id in self.added:
            name = (
                "strings" if forward is self.store._strings else "addrs" if forward is self.store._addrs else "origins"
            )
            if new_id > m[name]:
                m[name] = new_id


def _text(data: str | bytes | None) -> str | None:
    if data is None or isinstance(data, str):
        return data
    return data.decode("utf-8", "backslashreplace")


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
