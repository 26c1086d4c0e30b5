"""The SQLite store: flows, their interned values, rollups, checkpoints and dead letters.

One writer transaction holds a batch's rows, the rollup sums they add to, its
dead letters and the source position that follows it, so a crash at any point
neither loses nor doubles a record, and the rollups always agree with the rows.
Readers (the dashboard, ``flowtui query``) may run in other processes at the
same time: the file is in WAL mode.

Opening costs the same for a thousand flows as for a hundred million: nothing
proportional to the data is read up front. Strings and origins (a few hundred
values) are loaded whole; addresses, which grow with the outside world, are
looked up by id when a row needs them and kept in a bounded cache.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from hashlib import blake2b
from itertools import chain, repeat
from operator import sub
from pathlib import Path
from typing import Any, NamedTuple, Protocol, Self, runtime_checkable
from urllib.parse import quote

import orjson
import sqlite_utils
from xxhash import xxh3_64_intdigest

from flowtui import catalog, rollups, schema
from flowtui.cloudtrail import table as trail_table
from flowtui.config import Config, parse_duration, parse_size
from flowtui.errors import FlowtuiError

Record = tuple[Any, ...]
Profile = tuple[Any, ...]
Enrich = Callable[[str, int], Profile]

NO_PROFILE: Profile = (None,) * len(catalog.ENRICH_SUFFIXES)
_I = catalog.RECORD_INDEX
_START, _END = _I["start"], _I["end"]
_ADDR_CACHE = 200_000  # addresses kept in memory before the cache starts over
_PAGE_SIZE = 8192  # new files: fewer, fuller pages for the narrow rows and their indexes
_WRITER_CACHE_KB = 32_768  # page cache of a writing connection (SQLite's default is 2 MB)
# A writer copies the log into the file once it holds this much (SQLite's default: 1,000 pages, 8 MB).
# Each write at 50,000 records/s dirties ~900 pages, mostly the same ones (rollups, the newest keys
# and index pages): copied after every write at 8 MB, once for ~8 writes here (ingest CPU 17.7-20.1
# → 15.9-16.1 µs a record over 1.5M records). The log file stays that large while a writer is open.
_WRITER_WAL_BYTES = 64 << 20
# What the log file is cut back to whenever a write starts it over after a copy: without it the file
# keeps its high point (~77 MB) until the last connection closes, and a dashboard left open keeps it
# so for days, counted in the store's size. One truncate each 64 MB; ingest speed unchanged.
_WRITER_WAL_KEEP = 4 << 20
_CLOSE_PRUNE_S = 1.0  # the most a closing writer spends on retention's remaining steps
_REBUILD_STEP = 500_000  # flows summed at a time when an upgrade builds the rollups
_TOPS_AGAIN = 180.0  # seconds between two re-keeps of buckets changed by late flows (each a sort inside a write)
_TOPS_PER_WRITE = 1  # closed buckets kept by one write, at most (~0.2 s for 80,000 rows)
_SEEN_MOVE = 40_000  # event keys a writer leaves in schema.RECENT_SEEN before moving them to their days' tables
_MASK47 = (1 << 47) - 1
_TOP = 1 << 63


def no_store(path: Path) -> StoreError:
    """What a command that only reads (or retries) says of a store that is not there."""
    return StoreError(f"no store at {path}: ingest something first (flowtui ingest, tail or demo)")


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
    # The records column by column instead (one list per ``present`` index, in that order), as
    # LogFormat.parse_columns gives them: the fast path builds rows without a Python loop per field.
    columns: list[list[Any]] | None = None

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns is not None else len(self.records)

    def starts(self, fallback: int) -> list[int]:
        """The start of every record (``fallback`` for those that have none)."""
        if self.columns is None:
            return [fallback if r[_START] is None else r[_START] for r in self.records]
        if _START not in self.present:
            return [fallback] * len(self)
        col = self.columns[list(self.present).index(_START)]
        return col if None not in col else [fallback if t is None else t for t in col]

    def full_records(self) -> list[Record]:
        """The records as tuples in RECORD_FIELDS order, whichever way the part holds them."""
        if self.columns is None:
            return self.records
        full: list[Iterable[Any]] = [repeat(None)] * len(catalog.RECORD_FIELDS)
        for i, col in zip(self.present, self.columns):
            full[i] = col
        return list(zip(*full))


@dataclass(slots=True)
class DeadLetter:
    source: str
    location: str | None
    reason: str
    data: str | bytes | None
    origin: tuple[str | None, ...] | None = None  # as Part.origin: a retry stores its line's flow with it


@dataclass(slots=True)
class Batch:
    parts: list[Part] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    checkpoint: tuple[str, str] | None = None  # (source, position) after this batch
    # Writers of other tables (CloudTrail events), called with the connection inside the transaction.
    tables: list[Callable[[sqlite3.Connection], None]] = field(default_factory=list)


@dataclass(slots=True)
class Retention:
    """How long flows and rollups are kept and how large the store may grow.

    ``[store] retain`` and ``max_size`` bound the raw flows; ``rollup_retain``
    (default 30 days, never less than ``retain``) bounds the per-minute rollups,
    which cost a small fraction of the rows they sum. Over ``max_size``, the
    oldest flows go first, then the oldest rollups.
    """

    max_age: float | None = None  # seconds
    max_bytes: int | None = None
    step_rows: int = 20_000  # flows (or rollup rows) deleted per step
    interval: float = 5.0  # seconds between steps while writing
    rollup_max_age: float | None = 30 * 86400.0

    @property
    def active(self) -> bool:
        return self.max_age is not None or self.max_bytes is not None

    @property
    def rollup_age(self) -> float | None:
        """The age rollups are kept to: never shorter than the flows they sum (None: for ever)."""
        if self.rollup_max_age is None or not self.active:
            return None
        return max(self.rollup_max_age, self.max_age or 0.0)

    @classmethod
    def from_config(cls, config: Config) -> Retention:
        retain = config.get("store", "retain", None, (str, int, float))
        size = config.get("store", "max_size", None, (str, int))
        rollup = config.get("store", "rollup_retain", "30d", (str, int, float))
        return cls(
            max_age=parse_duration(retain, "[store] retain") if retain is not None else None,
            max_bytes=parse_size(size) if size is not None else None,
            rollup_max_age=parse_duration(rollup, "[store] rollup_retain"),
        )


@dataclass(slots=True)
class WriteResult:
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    # The flows ids this write stored, first_id..last_id with no gaps (None: it stored none).
    first_id: int | None = None
    last_id: int | None = None


def event_keys(group: str, stream: str, events: Iterable[tuple[str, int, str]]) -> list[bytes]:
    """A stable identity for each CloudWatch event (id, timestamp, message) of one log stream.

    The id alone is not enough: some producers (moto among them) restart ids per call.
    """
    head = f"{group}\x1f{stream}\x1f"
    return [f"{head}{eid}\x1f{ts}\x1f{msg}".encode("utf-8", "surrogateescape") for eid, ts, msg in events]


def event_key(group: str, stream: str, event_id: str, timestamp: int, message: str) -> bytes:
    """:func:`event_keys` of one event."""
    return event_keys(group, stream, ((event_id, timestamp, message),))[0]


def _key_hashes(keys: Sequence[bytes]) -> list[int]:
    """The unsigned 64-bit hash of every event key (xxh3: a sixth of blake2b's cost, schema 5)."""
    return list(map(xxh3_64_intdigest, keys))


def _blake_hashes(keys: Sequence[bytes]) -> list[int]:
    """The unsigned 64-bit blake2b hash of every key, as schemas 1-4 hashed events (one unpack for all)."""
    digests = b"".join(map(blake2b.digest, map(_blake8, keys)))
    return list(struct.unpack(f">{len(keys)}Q", digests))


_blake8 = partial(blake2b, digest_size=8)


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
        self.immutable = False  # read without locks: see _connect_readonly
        self._identity: tuple[int, int, int] | None = None  # the file an immutable connection reads: see refresh
        self.generation = 0  # how many times refresh opened the store again (what was read before may be stale)
        self._timeout = timeout
        # Called with each connection :meth:`refresh` opens anew (query functions are registered again).
        self.on_connect: list[Callable[[sqlite3.Connection], None]] = []
        self._strings: _Interned = _Interned(self._new_string)
        self._txn: _Transaction | None = None
        self._string_values: dict[int, str] = {}
        self._addrs: dict[tuple[str, Profile], int] = {}
        self._profiles: dict[Profile, int] = {}
        self._addr_rows: dict[int, tuple[str, Profile]] = {}
        self._origins: dict[tuple[str | None, ...], int] = {}
        self._origin_rows: dict[int, tuple[str | None, ...]] = {}
        self._max = {"strings": 0, "origins": 0, "profiles": 0}
        self._columns: set[str] = set()
        self._insert_sql: dict[tuple[int, ...], _InsertPlan] = {}
        self._seen_tables: set[str] = set()
        self._legacy_seen: set[str] = set()
        self._data_version = -1
        self._schema_version = -1
        self.retention = retention or Retention()
        self._next_prune = time.monotonic() + self.retention.interval  # a run shorter than that catches up at close
        self._last_addr: dict[str, tuple[Profile, int]] = {}
        # address → (lo, hi, addrs id): the id its flows get for starts in [lo, hi), while the
        # enricher that said so (and its generation, see _SpanSource) stays the one in _span_of.
        self._spans: dict[str, tuple[float, float, int]] = {}
        self._span_of: tuple[object, int] | None = None
        self._tops_again_at = 0.0  # monotonic time from which this writer may keep a changed bucket anew
        # Event keys waiting in schema.RECENT_SEEN (None until this writer's first: _keys_waiting).
        self._recent_added: int | None = None
        # Called with each WriteResult after its transaction commits, on the writing
        # thread (alert rules evaluate the new rows here). A listener must not raise.
        self.on_write: list[Callable[[WriteResult], None]] = []
        try:
            if readonly:
                self.conn = self._connect_readonly(timeout)
            else:
                new = self._create_file()
                self.conn = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False)
                if new:
                    self.conn.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
            self.conn.isolation_level = None  # explicit transactions only
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            if not readonly:
                self._enter_wal(timeout)
                self.conn.execute("PRAGMA synchronous = NORMAL")
                self.conn.execute(f"PRAGMA cache_size = -{_WRITER_CACHE_KB}")
                page = self.conn.execute("PRAGMA page_size").fetchone()[0]
                self.conn.execute(f"PRAGMA wal_autocheckpoint = {_WRITER_WAL_BYTES // page}")
                self.conn.execute(f"PRAGMA journal_size_limit = {_WRITER_WAL_KEEP}")
                self.conn.execute("PRAGMA temp_store = MEMORY")  # the batch sums of the rollups
            self.db = sqlite_utils.Database(self.conn)
            self._migrate()
            self.sync()
            self._load_seen_tables()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from None

    # --- opening -----------------------------------------------------------------
    def _connect_readonly(self, timeout: float) -> sqlite3.Connection:
        """A read-only connection, also to a store in a directory this user cannot write.

        A WAL reader needs the -shm file: readable when a writer has it open, else created
        beside the store. Where it cannot be (SQLITE_READONLY_DIRECTORY) and neither it nor
        a -wal exists, no writer has the file open and it holds every commit: it is read as
        immutable (no locks, no -shm); :meth:`refresh` opens it again once a writer has touched it.
        """
        self.immutable, self._identity = False, None
        if not self.path.exists():
            raise no_store(self.path)
        uri = f"file:{quote(str(self.path))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
        try:
            conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            error = getattr(exc, "sqlite_errorname", "")
            locked_dir = error == "SQLITE_READONLY_DIRECTORY" or (error == "SQLITE_CANTOPEN" and self._has_wal_files())
            if not locked_dir or os.access(self.path.parent, os.W_OK):
                raise
        if self._has_wal_files():
            raise StoreError(
                f"cannot read {self.path}: its write-ahead log has no -shm file and {self.path.parent} is not writable"
                " to create one; run any flowtui command on it once as its owner"
            )
        self.immutable, self._identity = True, self._file_identity()
        return sqlite3.connect(f"{uri}&immutable=1", uri=True, timeout=timeout, check_same_thread=False)

    def _file_identity(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def refresh(self) -> None:
        """Before a read: reopen an immutable connection whose file a writer has touched since.

        Immutable means SQLite trusts its cached pages and takes no locks, so a writer that
        opened, committed, checkpointed and closed in between (a cron ``flowtui ingest``:
        its -wal and -shm are gone again) would leave pages mixed from both versions. A
        -wal/-shm or another inode, size or mtime opens the store again: immutable once more
        if no writer is left, else with locks (or the one-sentence StoreError of opening).
        """
        if not self.immutable or self.conn.in_transaction:  # inside a read: check_unchanged judges it at its end
            return
        if not self._has_wal_files() and self._file_identity() == self._identity:
            return
        identity = self._identity
        try:
            conn = self._connect_readonly(self._timeout)
            conn.isolation_level = None
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        except (sqlite3.DatabaseError, StoreError) as exc:
            self.immutable, self._identity = True, identity  # the old connection stays: the next read tries again
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open store {self.path} again: {exc}") from None
        self.conn.close()
        self.conn, self.db = conn, sqlite_utils.Database(conn)
        self._forget_interned()  # the writer may have emptied and refilled it (a demo store): ids are read anew
        self.generation += 1
        for hook in self.on_connect:
            hook(conn)

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """One read, in one snapshot, re-checked against a writer: every read outside a write goes through here.

        A store read without locks is opened again first if a writer has touched its file
        (:meth:`refresh`), and judged at the end (:meth:`check_unchanged`): rows read while
        the file changed may mix both versions. Inside a transaction already open (a write,
        or the read around this one) it adds nothing: that one is judged.
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        self.refresh()
        conn = self.conn
        conn.execute("BEGIN")
        try:
            yield conn
        except sqlite3.DatabaseError:
            self.check_unchanged()  # "malformed" from pages of two versions: say so
            raise
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")
        self.check_unchanged()

    def _forget_interned(self) -> None:
        """Drop every id → value read so far; sync reads them (and the columns) again."""
        self._strings = _Interned(self._new_string)
        self._string_values = {}
        self._profiles = {}
        self._origins = {}
        self._origin_rows = {}
        self._max = dict.fromkeys(self._max, 0)
        self._forget_addresses()
        self._schema_version = -1

    def check_unchanged(self) -> None:
        """After a read without locks: raise if the file changed under it (its rows may mix both versions)."""
        if self.immutable and self._file_identity() != self._identity:
            raise StoreError(f"{self.path} changed while it was read without locks; run the command again")

    def _has_wal_files(self) -> bool:
        return any(os.path.exists(f"{self.path}{suffix}") for suffix in ("-wal", "-shm"))

    def _create_file(self) -> bool:
        """Make sure the file exists, private to its owner; whether it is new (empty)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                return os.fstat(fd).st_size == 0
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreError(f"cannot create store {self.path}: {exc.strerror}") from None

    def _enter_wal(self, timeout: float) -> None:
        """Switch the file to WAL, waiting while another process holds it.

        Changing the journal mode of a file another connection is creating or
        switching at the same moment returns "database is locked" at once, without
        the busy timeout's wait, so it is retried here until that timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        if self._version_checked(locked=False):
            return
        with _Transaction(self, sync=False):
            # Read again under the write lock: another process may have created or
            # upgraded the file since (two `flowtui` commands started on a new store).
            if self._version_checked(locked=True):
                return
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for stmt in schema.create_statements():
                    self.conn.execute(stmt)
            if version == 1:
                self._keep_legacy_seen(schema.LEGACY_SEEN_PREFIX)
            elif version in (2, 3, 4):
                self._keep_legacy_seen(schema.BLAKE_SEEN_PREFIX)
            if version in (1, 2):
                self._rebuild_rollups()
            elif version == 3:
                self._add_rollups()
            if version == 6:  # its closed buckets' biggest rows were kept in another layout: kept again below
                for stmt in (f"DROP VIEW {schema.TOPS_VIEW}", f"DROP TABLE {schema.TOPS_TABLE}", f"DROP TABLE {schema.SEALS_TABLE}"):
                    self.conn.execute(stmt)
            if version in (3, 4, 5, 6):  # what schemas 6 and 7 added (1, 2: rebuilt above): the writer keeps closed
                for stmt in schema.tops_statements():  # buckets' biggest rows, and five-minute buckets keep no flows ids
                    self.conn.execute(stmt)
                for r in schema.ROLLUPS:
                    self._reorder_rollup(r)
            if version and version < 8:
                has_origin = "origin" in {row[1] for row in self.conn.execute("PRAGMA table_info(dead_letters)")}
                for stmt in schema.dead_letters_upgrade(has_origin):
                    self.conn.execute(stmt)
                self._keep_tops(again_after=0, most=1 << 30)
            if version:  # schema 9: new event keys wait in a small table of their own
                self.conn.execute(schema.RECENT_SEEN_SQL)
            self.conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")

    def _version_checked(self, locked: bool) -> bool:
        """Whether the file is at this schema version (for a reader: one it reads as it is); raises where
        this opener cannot bring it there.

        Unless ``locked`` (under the write lock), another process may be creating the
        schema between the two reads, so tables without a version prove nothing yet.
        """
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == schema.SCHEMA_VERSION:
            return True
        self._check_not_newer(version)
        if self.readonly:
            if version >= schema.READ_AS_IS_FROM:
                return True
            raise StoreError(
                f"{self.path} needs an upgrade (schema {version} → {schema.SCHEMA_VERSION}), which a reader cannot do: "
                "run `flowtui ingest` or `flowtui tail` on it once"
            )
        if locked and version == 0 and self.db.table_names():
            raise StoreError(f"{self.path} is an SQLite file but not a flowtui store")
        return False

    def _check_not_newer(self, version: int) -> None:
        if version > schema.SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer flowtui (schema {version}); upgrade flowtui")

    def _keep_legacy_seen(self, prefix: str) -> None:
        """Older schemas hashed events otherwise; their days stay readable under ``prefix`` names.

        Until retention drops them, an event delivered again after the upgrade is still recognised.
        """
        for table in self.db.table_names():
            if table.startswith(schema.SEEN_PREFIX):
                self.conn.execute(f"ALTER TABLE {table} RENAME TO {prefix}{table[len(schema.SEEN_PREFIX):]}")

    def _rebuild_rollups(self) -> None:
        """Schemas 1 and 2 → 3: the rollups of this version, summed from the rows already stored.

        (Schema 2 was a development version with fewer rollups; what it has is dropped.)
        """
        ex = self.conn.execute
        for name, kind in ex("SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view')").fetchall():
            if name.startswith("rollup_") or name in ("meta", "profiles"):
                ex(f"DROP {'VIEW' if kind == 'view' else 'TABLE'} {name}")
        for stmt in schema.rollup_statements():
            ex(stmt)
        if "profile" not in {row[1] for row in ex("PRAGMA table_info(addrs)")}:
            ex("ALTER TABLE addrs ADD COLUMN profile INTEGER")
        attrs = ", ".join(f'"{a}"' for a in schema.ADDR_ATTRS)
        profiles: dict[Profile, list[int]] = {}
        for row in ex(f"SELECT id, {attrs} FROM addrs"):
            profiles.setdefault(tuple(row[1:]), []).append(row[0])
        for profile, ids in profiles.items():
            pid = self._profile_id(profile)
            self.conn.executemany("UPDATE addrs SET profile = ? WHERE id = ?", [(pid, i) for i in ids])
        first = int(ex("SELECT coalesce(min(id), 1) FROM flows").fetchone()[0])
        last = self._last_flow_id()
        if last:
            rows = ex("SELECT id, value FROM strings").fetchall()
            self._strings.update({v: i for i, v in rows})
            for lo in range(first, last + 1, _REBUILD_STEP):  # the batch sums stay small
                rollups.add(self.conn, self._strings, lo, min(last, lo + _REBUILD_STEP - 1))
            self._strings.clear()

    def _add_rollups(self) -> None:
        """Schema 3 → 4: the rollups it lacks (rollup_ports_5m), summed from the stored flows in steps.

        Each step sums a stretch of ids straight into the new rollup; the others keep
        their rows (rollup_rejects and rollup_rejects_5m in the key order of schema 4).
        """
        ex = self.conn.execute
        have = {row[0] for row in ex("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        first = int(ex("SELECT coalesce(min(id), 1) FROM flows").fetchone()[0])
        last = self._last_flow_id()
        for r in schema.ROLLUPS:
            if r.table in have:
                self._reorder_rollup(r)
                continue
            for stmt in schema.rollup_table_statements(r):
                ex(stmt)
            only = None
            if r.only is not None:
                got = ex("SELECT id FROM strings WHERE value = ?", (r.only[1],)).fetchone()
                if got is None:
                    continue  # no flow has the value it keeps
                only = got[0]
            sql = schema.rollup_fill_sql(r)
            for lo in range(first, last + 1, _REBUILD_STEP):
                ex(sql, (lo, min(last, lo + _REBUILD_STEP - 1), *(() if only is None else (only,))))
            raw_from = rollups.horizons(self.conn)[0]
            if raw_from:  # retention has deleted older flows: the new rollup is complete from there on
                bound = rollups.ceil(raw_from, rollups.ALIGN)
                ex(f'DELETE FROM {r.table} WHERE "start" < ?', (bound,))
                rollups.set_added_from(self.conn, r, bound)

    def _reorder_rollup(self, r: schema.Rollup) -> None:
        """A rollup stored otherwise than ``r`` says is copied into its layout: key columns in another order
        (rollup_rejects in schema 3), or first and last ids its buckets no longer keep (five-minute ones, schema 6).

        Its rows may be older than any flow still stored, so they are copied, not summed again.
        """
        ex = self.conn.execute
        cols = ("start", *r.dims, *r.metrics)
        stored = tuple(row[1] for row in ex(f"PRAGMA table_info({r.table})"))
        if stored == cols:
            return
        ex(f"DROP VIEW IF EXISTS {r.view}")
        ex(f"ALTER TABLE {r.table} RENAME TO {r.table}_old")
        for stmt in schema.rollup_table_statements(r):
            ex(stmt)
        names = ", ".join(f'"{c}"' for c in cols)
        ex(f"INSERT INTO {r.table} ({names}) SELECT {names} FROM {r.table}_old")
        ex(f"DROP TABLE {r.table}_old")

    def _load_seen_tables(self) -> None:
        names = self.db.table_names()
        self._seen_tables = {t for t in names if t.startswith(schema.SEEN_PREFIX)}
        self._legacy_seen = {t for t in names if t.startswith(schema.LEGACY_SEEN_PREFIXES)}

    def close(self) -> None:
        """Close; a writer first catches retention up (for up to _CLOSE_PRUNE_S: a short cron run whose
        one step kept less than it added would fall behind) and cuts its log file back where no reader
        is in it (a dashboard left open would otherwise keep the last -wal at its size)."""
        if not self.readonly:
            try:
                self.conn.execute(f"PRAGMA busy_timeout = {int(_CLOSE_PRUNE_S * 1000)}")  # another writer's turn: not ours to wait out
                self._catch_up()
                self.conn.execute("PRAGMA busy_timeout = 0")
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # SQLITE_BUSY: a reader is in it, left as it is
            except sqlite3.Error:
                pass  # closing must not fail for what was only tidying
        self.conn.close()

    def _catch_up(self) -> None:
        if not self.retention.active or self.conn.in_transaction:
            return
        until = time.monotonic() + _CLOSE_PRUNE_S
        while self.prune() and time.monotonic() < until:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions --------------------------------------------------------------
    def transaction(self) -> _Transaction:
        """BEGIN IMMEDIATE … COMMIT; inside it, string_id/address_id/origin_id intern values."""
        return _Transaction(self)

    def sync(self) -> None:
        """Learn the strings and origins other processes have added since we last looked.

        Addresses need no syncing: they are read by id when first needed.
        """
        self.refresh()
        try:
            self._sync()
        except sqlite3.DatabaseError:
            self.check_unchanged()  # a file changed while read: that sentence, not "malformed"
            raise
        self.check_unchanged()

    def _sync(self) -> None:
        ex = self.conn.execute
        for sid, value in ex("SELECT id, value FROM strings WHERE id > ?", (self._max["strings"],)):
            self._strings[value] = sid
            self._string_values[sid] = value
            self._max["strings"] = max(self._max["strings"], sid)
        attrs = ", ".join(f'"{a}"' for a in schema.ADDR_ATTRS)
        for row in ex(f"SELECT id, {attrs} FROM profiles WHERE id > ?", (self._max["profiles"],)):
            self._profiles[tuple(row[1:])] = row[0]
            self._max["profiles"] = max(self._max["profiles"], row[0])
        cols = ", ".join(f'"{a}"' for a in schema.ORIGIN_ATTRS)
        for row in ex(f"SELECT id, {cols} FROM origins WHERE id > ?", (self._max["origins"],)):
            self._origins[tuple(row[1:])] = row[0]
            self._origin_rows[row[0]] = tuple(row[1:])
            self._max["origins"] = max(self._max["origins"], row[0])
        schema_version = ex("PRAGMA schema_version").fetchone()[0]
        if schema_version != self._schema_version:  # a column may have been added, or a newer flowtui upgraded the file
            self._check_not_newer(ex("PRAGMA user_version").fetchone()[0])
            self._schema_version = schema_version
            columns = self._flow_columns()
            if columns != self._columns:
                self._columns = columns
                self._insert_sql.clear()

    # --- writing -------------------------------------------------------------------
    def write(self, batch: Batch, enrich: Enrich | None = None) -> WriteResult:
        """Store a batch, the rollup sums it adds, its dead letters and its checkpoint in one transaction."""
        result = WriteResult()
        with self.transaction():
            before = self._last_flow_id() if batch.parts else 0
            # Event keys of the whole batch in one go; only when one was seen before
            # is each part checked on its own (with the keys hashed here).
            keyed = {id(p): self._event_keys(p) for p in batch.parts if p.event_keys is not None and len(p)}
            fresh = self._all_new(list(keyed.values()))
            plans: dict[str, _Rows] = {}
            for part in batch.parts:
                self._build_part(part, enrich, None if fresh else keyed.get(id(part)), result, plans)
            if (self._recent_added or 0) >= _SEEN_MOVE:
                self._move_recent_seen()
            for sql, rows in plans.items():
                self.conn.executemany(sql, rows.all())
                result.stored += len(rows)
            if result.stored:
                # Rowids are max + 1 and this transaction holds the write lock: one run of ids.
                result.first_id, result.last_id = before + 1, before + result.stored
                rollups.add(self.conn, self._strings, result.first_id, result.last_id)
                self._keep_tops()
            if batch.dead:
                now = time.time()
                self.conn.executemany(
                    "INSERT INTO dead_letters (received, source, location, reason, data, origin) VALUES (?, ?, ?, ?, ?, ?)",
                    [(now, d.source, d.location, d.reason, _text(d.data), self._dead_origin(d)) for d in batch.dead],
                )
                result.dead = len(batch.dead)
            for write_table in batch.tables:
                write_table(self.conn)
            if batch.checkpoint is not None:
                self._put_checkpoint(*batch.checkpoint)
        self._after_write(result)
        return result

    def write_rows(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> WriteResult:
        """The bulk path: rows already in the stored layout (``columns`` of flows, interned ids).

        For generators and imports that intern their values themselves (string_id,
        address_id, origin_id inside :meth:`transaction`); the rows and their rollup
        sums are written in one transaction, exactly as :meth:`write` writes them.
        """
        if "start" not in columns:
            raise ValueError("rows need a start")
        result = WriteResult()
        with self.transaction():
            for col in columns:
                self._add_column(col)
            before = self._last_flow_id()
            self.conn.executemany(schema.flows_insert_sql(columns, schema.PACKED in self._columns), rows)
            last = self._last_flow_id()
            if last > before:
                result.stored, result.first_id, result.last_id = last - before, before + 1, last
                rollups.add(self.conn, self._strings, before + 1, last)
                self._keep_tops()
        self._after_write(result)
        return result

    def _keep_tops(self, again_after: float = _TOPS_AGAIN, most: int = _TOPS_PER_WRITE) -> None:
        """Keep the biggest rows of buckets that have closed since (see :data:`schema.TOPS_TABLE`), inside the write.

        At most ``most`` buckets a write, each about a sort of its rows; a bucket that
        late flows changed after it was kept is kept anew only when no other was in the
        last ``again_after`` seconds (readers sort it themselves meanwhile), so late
        flows, which every source has, cost a write a sort only now and then.
        """
        now = time.monotonic()
        done = 0
        for bucket, sealed, before in rollups.stale_tops(self.conn):
            if done >= most:
                break
            if before and again_after > 0:
                if now < self._tops_again_at:
                    continue
                self._tops_again_at = now + again_after
            rollups.keep_tops(self.conn, bucket, sealed)
            done += 1

    def keep_all_tops(self) -> None:
        """Keep the biggest rows of every recent closed bucket now (a bulk build's last step; an upgrade calls :meth:`_keep_tops` itself)."""
        with self.transaction():
            self._keep_tops(again_after=0, most=1 << 30)
        self._tops_again_at = time.monotonic() + _TOPS_AGAIN  # all just kept: late flows wait for the next re-keep

    def _after_write(self, result: WriteResult) -> None:
        for listener in self.on_write:
            listener(result)
        if self.retention.active and time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self.retention.interval
            self.prune()

    def _last_flow_id(self) -> int:
        return int(self.conn.execute("SELECT coalesce(max(id), 0) FROM flows").fetchone()[0])

    def _add_column(self, col: str) -> None:
        if col not in self._columns:
            if col not in schema.STORAGE_BY_COLUMN:
                raise ValueError(f"flows has no column {col!r}")
            self.conn.execute(f"ALTER TABLE flows ADD COLUMN {schema.flows_column_sql(col)}")
            self._columns.add(col)

    # --- retention -------------------------------------------------------------------
    def prune(self, now: float | None = None) -> int:
        """One small step of retention (by age, then by size); the flows it deleted.

        Steps are small (``Retention.step_rows``) so a writer calling this between
        batches never stalls; the next call continues where this one stopped.
        Flows go oldest start first and whole seconds at a time, so the flows kept
        are every flow from some second on (see :func:`rollups.raw_from`).
        """
        r = self.retention
        deleted = 0
        now = time.time() if now is None else now
        with self.transaction():
            if r.max_age is not None:
                cutoff = int(now - r.max_age)
                deleted += self._delete_oldest_flows(cutoff)
                self.conn.execute("DELETE FROM dead_letters WHERE received < ?", (cutoff,))
                trail_table.prune(self.conn, cutoff, r.step_rows)
                self._drop_seen_before(cutoff // 86400)
            rollup_age = r.rollup_age
            if rollup_age is not None:
                rollups.prune(self.conn, int(now - rollup_age), r.step_rows)
            if r.max_bytes is not None and self.used_bytes() > r.max_bytes:
                if self.conn.execute("SELECT 1 FROM flows LIMIT 1").fetchone():
                    deleted += self._delete_oldest_flows(None)
                    oldest = self.conn.execute("SELECT min(start) FROM flows").fetchone()[0]
                    if oldest is not None:
                        self._drop_seen_before(oldest // 86400 - 1)
                        trail_table.prune(self.conn, oldest, r.step_rows)  # no older than the flows kept
                else:
                    rollups.prune(self.conn, None, r.step_rows)
        return deleted

    def _delete_oldest_flows(self, cutoff: int | None) -> int:
        """Delete about step_rows of the oldest flows (only those with start < cutoff, when given)."""
        ex = self.conn.execute
        first = ex('SELECT min("start") FROM flows').fetchone()[0]
        if first is None or (cutoff is not None and first >= cutoff):
            return 0
        row = ex('SELECT "start" FROM flows ORDER BY "start" LIMIT 1 OFFSET ?', (self.retention.step_rows,)).fetchone()
        bound = int(row[0]) if row is not None else int(ex('SELECT max("start") FROM flows').fetchone()[0]) + 1
        if cutoff is not None:
            bound = min(bound, cutoff)
        bound = max(bound, first + 1)  # one second holding more than a step goes whole
        n = ex('DELETE FROM flows WHERE "start" < ?', (bound,)).rowcount
        rollups.set_raw_from(self.conn, bound)
        return int(n)

    def _drop_seen_before(self, day: int) -> None:
        self.conn.execute(f"DELETE FROM {schema.RECENT_SEEN} WHERE day < ?", (day,))
        for table in self.db.table_names():
            for prefix in (schema.SEEN_PREFIX, *schema.LEGACY_SEEN_PREFIXES):
                if table.startswith(prefix) and table < schema.seen_table(day, prefix):
                    self.conn.execute(f"DROP TABLE {table}")
                    self._seen_tables.discard(table)
                    self._legacy_seen.discard(table)

    def used_bytes(self) -> int:
        """Bytes of the file in use (free pages are reused before the file grows)."""
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    # --- the write path ---------------------------------------------------------------
    def _build_part(
        self,
        part: Part,
        enrich: Enrich | None,
        keys: _EventKeys | None,
        result: WriteResult,
        plans: dict[str, _Rows],
    ) -> None:
        """The part's rows, added to those of its INSERT (one executemany per format and batch).

        ``keys``: the part's event keys when the batch holds an event seen before (its new ones are kept).
        """
        if not len(part):
            return
        records: list[Record] | None = None
        if keys is not None:
            records = self._drop_seen(part, keys, result)
            if not records:
                return
        plan = self._insert_plan(tuple(part.present))
        origin_id = self._origin_id(part.origin) if part.origin is not None else None
        fallback = part.fallback_start if part.fallback_start is not None else int(time.time())
        E = enrich or _no_profile
        rows = plans.get(plan.sql)
        if rows is None:
            rows = plans[plan.sql] = _Rows()
        if records is None and part.columns is not None:
            rows.add_columns(self._build_columns(part, plan, fallback, E, origin_id))
        else:
            records = part.records if records is None else records
            rows.rows += plan.build(records, fallback, self._strings, E, self._last_addr, self._addr_id, origin_id)

    def _build_columns(
        self, part: Part, plan: _InsertPlan, fallback: int, enrich: Enrich, origin_id: int | None
    ) -> list[list[Any]]:
        """The stored columns of a columnar part: a C-level map per column, a loop only for addresses."""
        assert part.columns is not None
        starts = part.starts(fallback)
        out: list[list[Any]] = [starts]
        S = self._strings
        spans = self._span_source(enrich)
        for position, kind in plan.kinds:
            col = part.columns[position]
            if kind == "int":
                out.append(col)
            elif kind == "string":
                out.append(_string_ids(col, S))
            elif kind == "address":
                if spans is not None:
                    out.append(_spanned_address_ids(col, starts, spans, self._spans, self._last_addr, self._addr_id))
                else:
                    out.append(_address_ids(col, starts, enrich, self._last_addr, self._addr_id))
            else:  # end -> duration
                out.append(list(map(sub, col, starts)) if None not in col else [None if e is None else e - t for e, t in zip(col, starts)])
        out.append([origin_id] * len(starts))
        return out

    def _span_source(self, enrich: Enrich) -> _SpanSource | None:
        """The enricher behind ``enrich`` when it tells how long its answers hold; its spans kept meanwhile are
        forgotten when it is another one or its generation changed (a new inventory or threat lists)."""
        owner = getattr(enrich, "__self__", None)
        if getattr(enrich, "__name__", None) != "profile" or not isinstance(owner, _SpanSource):
            return None
        generation = owner.settled_generation()
        if self._span_of is None or self._span_of[0] is not owner or self._span_of[1] != generation:
            self._spans.clear()
            self._span_of = (owner, generation)
        return owner

    def _event_keys(self, part: Part) -> _EventKeys:
        """(starts, events, stored keys) of a part's events: see :func:`schema.seen_key`."""
        assert part.event_keys is not None
        starts = part.starts(part.fallback_start or 0)
        hashes = _key_hashes(part.event_keys)
        keys = [((t % 86400) << 47 | (h & _MASK47)) - _TOP for t, h in zip(starts, hashes)]
        return _EventKeys(starts, part.event_keys, keys)

    def _all_new(self, parts: list[_EventKeys]) -> bool:
        """Store the event keys of all ``parts``, if none was seen before; whether they were all new.

        One INSERT per day for the whole batch, its keys sorted, into
        :data:`schema.RECENT_SEEN` (the day's table is only read): see :meth:`_move_recent_seen`.
        """
        if not parts:
            return True
        by_day: dict[int, _EventKeys] = {}
        count = 0
        for part in parts:
            count += len(part.keys)
            first_day = min(part.starts) // 86400
            if max(part.starts) // 86400 == first_day:
                got = by_day.setdefault(first_day, _EventKeys([], [], []))
                got.starts.extend(part.starts)
                got.events.extend(part.events)
                got.keys.extend(part.keys)
            else:
                for t, e, k in zip(*part):
                    got = by_day.setdefault(t // 86400, _EventKeys([], [], []))
                    got.starts.append(t)
                    got.events.append(e)
                    got.keys.append(k)
        self._seen_tables_for(by_day)
        self.conn.execute("SAVEPOINT seen")
        before = self.conn.total_changes
        all_new = True
        for day, got in by_day.items():
            if self._legacy_present(day, got.events, got.starts):
                all_new = False
                break
            self.conn.execute(
                f"INSERT OR IGNORE INTO {schema.RECENT_SEEN} (day, h) SELECT ?, j.value FROM json_each(?) j "
                f"WHERE NOT EXISTS (SELECT 1 FROM {schema.seen_table(day)} s WHERE s.h = j.value)",
                (day, _json_ints(got.keys)),
            )
        all_new = all_new and self.conn.total_changes - before == count
        if all_new:
            self._keys_waiting(count)
        else:
            self.conn.execute("ROLLBACK TO seen")
        self.conn.execute("RELEASE seen")
        return all_new

    def _keys_waiting(self, added: int) -> None:
        """Count ``added`` new keys in :data:`schema.RECENT_SEEN`; at this writer's first, count the
        table instead: writers that ended before a move (a cron ingest, a restarted tail) left theirs."""
        if self._recent_added is None:
            self._recent_added = self.conn.execute(f"SELECT count(*) FROM {schema.RECENT_SEEN}").fetchone()[0]
        else:
            self._recent_added += added

    def _move_recent_seen(self) -> None:
        """Move every key of :data:`schema.RECENT_SEEN` into its day's table (inside a write).

        Sorted by day and key, the insert passes over the pages of the seconds the
        keys started in once, for all the batches since the last move: a batch's keys
        are spread over those seconds, so inserting each batch's keys there directly
        dirtied most of those pages every time (see :data:`schema.RECENT_SEEN`).
        Every writer's keys go, whoever moves them.
        """
        ex = self.conn.execute
        day = ex(f"SELECT min(day) FROM {schema.RECENT_SEEN}").fetchone()[0]
        while day is not None:
            self._seen_tables_for((day,))
            ex(f"INSERT OR IGNORE INTO {schema.seen_table(day)} (h) SELECT h FROM {schema.RECENT_SEEN} WHERE day = ?", (day,))
            day = ex(f"SELECT min(day) FROM {schema.RECENT_SEEN} WHERE day > ?", (day,)).fetchone()[0]
        ex(f"DELETE FROM {schema.RECENT_SEEN}")
        self._recent_added = 0

    def _seen_tables_for(self, days: Iterable[int]) -> None:
        for day in days:
            table = schema.seen_table(day)
            if table not in self._seen_tables:
                self.conn.execute(schema.seen_table_sql(table))
                self._seen_tables.add(table)

    def _drop_seen(self, part: Part, event_keys: _EventKeys, result: WriteResult) -> list[Record]:
        """The records whose events are new (counting the others as duplicates); remembers them."""
        records = part.full_records()
        if self._all_new([event_keys]):
            return records
        starts, events, keys = event_keys
        by_day: dict[int, list[int]] = {}
        for i, t in enumerate(starts):
            by_day.setdefault(t // 86400, []).append(i)
        kept: list[int] = []
        for day, idx in by_day.items():
            seen = self._seen_keys(day, [keys[i] for i in idx])
            old = self._legacy_present(day, [events[i] for i in idx], [starts[i] for i in idx])
            new: list[int] = []
            for j, i in enumerate(idx):
                k = keys[i]
                if k in seen or j in old:
                    result.duplicates += 1
                    continue
                seen.add(k)
                kept.append(i)
                new.append(k)
            self.conn.execute(f"INSERT INTO {schema.RECENT_SEEN} (day, h) SELECT ?, value FROM json_each(?)", (day, _json_ints(new)))
            self._keys_waiting(len(new))
        kept.sort()
        return [records[i] for i in kept]

    def _seen_keys(self, day: int, keys: list[int]) -> set[int]:
        """Those of ``keys`` (of events of ``day``) stored before: in the day's table or still in the recent one."""
        q = (
            f"SELECT h FROM {schema.seen_table(day)} WHERE h IN (SELECT value FROM json_each(?1)) "
            f"UNION ALL SELECT h FROM {schema.RECENT_SEEN} WHERE day = ?2 AND h IN (SELECT value FROM json_each(?1))"
        )
        return {h for (h,) in self.conn.execute(q, (_json_ints(keys), day))}

    def _present(self, table: str, keys: list[int]) -> set[int]:
        q = f"SELECT h FROM {table} WHERE h IN (SELECT value FROM json_each(?))"
        return {h for (h,) in self.conn.execute(q, (_json_ints(keys),))}

    def _legacy_present(self, day: int, events: Sequence[bytes], starts: Sequence[int]) -> set[int]:
        """The positions of ``events`` (starting at ``starts``) that an older schema's table of ``day`` holds.

        Those hashed with blake2b (:data:`schema.LEGACY_SEEN_PREFIXES`): hashed again only where such a day is kept.
        """
        if not self._legacy_seen:  # a store made at schema 5, or an upgraded one once retention dropped its older days
            return set()
        prefixes = [p for p in schema.LEGACY_SEEN_PREFIXES if schema.seen_table(day, p) in self._legacy_seen]
        if not prefixes:
            return set()
        hashes = _blake_hashes(events)
        found: set[int] = set()
        for prefix in prefixes:
            if prefix == schema.LEGACY_SEEN_PREFIX:  # the plain hash, signed
                keys = [h - (1 << 64) if h >= _TOP else h for h in hashes]
            else:
                keys = [schema.seen_key(h, t) for h, t in zip(hashes, starts)]
            held = self._present(schema.seen_table(day, prefix), keys)
            found.update(i for i, k in enumerate(keys) if k in held)
        return found

    def _insert_plan(self, present: tuple[int, ...]) -> _InsertPlan:
        """The INSERT for records of one format, and a row builder compiled for it.

        The builder is generated code (one tuple expression per record, the
        address lookups inlined), because a generic per-field loop costs more
        than everything else on the write path.
        """
        cached = self._insert_sql.get(present)
        if cached is not None:
            return cached
        indexes = [_START] + [i for i in present if i != _START]
        columns = [schema.RECORD_COLUMNS[i] for i in indexes]
        for col in columns:
            self._add_column(col)
        lines: list[str] = []
        exprs = ["start"]
        for n, i in enumerate(indexes[1:]):
            kind = schema.STORAGE[catalog.RECORD_FIELDS[i].name].kind
            v = f"r[{i}]"
            if kind == "int":
                exprs.append(v)
            elif kind == "string":
                exprs.append(f"(None if {v} is None else S[{v}])")
            elif kind == "address":
                # The enricher hands back the same profile object while it holds, so an
                # identity check against the last id given for the address skips the
                # dict of every (address, profile) seen.
                lines += [
                    f"        ip = {v}",
                    "        if ip is None:",
                    f"            a{n} = None",
                    "        else:",
                    "            p = E(ip, start)",
                    "            k = L.get(ip)",
                    f"            a{n} = k[1] if k is not None and k[0] is p else A(ip, p)",
                ]
                exprs.append(f"a{n}")
            else:  # end -> duration
                exprs.append(f"(None if {v} is None else {v} - start)")
        body = "\n".join(lines)
        source = (
            "def build(records, fallback, S, E, L, A, origin):\n"
            "    out = []\n"
            "    append = out.append\n"
            "    for r in records:\n"
            f"        start = r[{_START}]\n"
            "        if start is None:\n"
            "            start = fallback\n"
            f"{body}\n"
            f"        append(({', '.join(exprs)}, origin))\n"
            "    return out\n"
        )
        namespace: dict[str, Any] = {}
        exec(compile(source, f"<flowtui.store row builder {present}>", "exec"), namespace)  # noqa: S102
        sql = schema.flows_insert_sql([*columns, "origin"], schema.PACKED in self._columns)
        kinds = [(present.index(i), schema.STORAGE[catalog.RECORD_FIELDS[i].name].kind) for i in indexes[1:]]
        entry = _InsertPlan(sql, namespace["build"], kinds)
        self._insert_sql[present] = entry
        return entry

    # --- interning -------------------------------------------------------------------
    def string_id(self, value: str) -> int:
        """The id of ``value`` in strings, adding it (inside a transaction)."""
        return self._strings[value]

    def address_id(self, ip: str, profile: Profile = NO_PROFILE) -> int:
        """The id of ``ip`` with this enrichment in addrs, adding it (inside a transaction)."""
        return self._addr_id(ip, profile)

    def origin_id(self, origin: tuple[str | None, ...]) -> int:
        """The id of a (log_group, log_stream, kinesis_stream, owner) envelope, adding it (inside a transaction)."""
        return self._origin_id(origin)

    def _new_string(self, value: str) -> int:
        sid = self.conn.execute("INSERT INTO strings (value) VALUES (?)", (value,)).lastrowid
        assert sid is not None and self._txn is not None
        self._string_values[sid] = value
        self._txn.added.append((self._strings, value, self._string_values, sid))
        return sid

    def _addr_id(self, ip: str, profile: Profile) -> int:
        key = (ip, profile)
        aid = self._addrs.get(key)
        if aid is None:
            aid = self._find_addr(ip, profile)
            if aid is None:
                txn = self._txn
                assert txn is not None
                cols = ", ".join(f'"{a}"' for a in schema.ADDR_ATTRS)
                aid = self.conn.execute(
                    f"INSERT INTO addrs (ip, ipkey, {cols}, profile) VALUES (?, ?, {', '.join('?' * len(profile))}, ?)",
                    (ip, schema.ip_key(ip), *profile, self._profile_id(profile)),
                ).lastrowid
                assert aid is not None
                txn.added.append((self._addrs, key, self._addr_rows, aid))
            if len(self._addrs) >= _ADDR_CACHE:
                self._forget_addresses()
            self._addrs[key] = aid
            self._addr_rows[aid] = key
        self._last_addr[ip] = (profile, aid)
        return aid

    def _profile_id(self, profile: Profile) -> int:
        pid = self._profiles.get(profile)
        if pid is None:
            pid = self._intern_row("profiles", schema.ADDR_ATTRS, profile, self._profiles, {})
        return pid

    def _find_addr(self, ip: str, profile: Profile) -> int | None:
        """The id another writer (or an earlier run) gave this address and profile."""
        attrs = ", ".join(f'"{a}"' for a in schema.ADDR_ATTRS)
        for row in self.conn.execute(f"SELECT id, ip, {attrs} FROM addrs WHERE ip = ?", (ip,)):
            if tuple(row[2:]) == profile:
                return int(row[0])
        return None

    def _forget_addresses(self) -> None:
        self._addrs.clear()
        self._addr_rows.clear()
        self._last_addr.clear()
        self._spans.clear()

    def _dead_origin(self, dead: DeadLetter) -> int | None:
        return None if dead.origin is None else self._origin_id(dead.origin)

    def _origin_id(self, origin: tuple[str | None, ...]) -> int:
        oid = self._origins.get(origin)
        if oid is None:
            oid = self._intern_row("origins", schema.ORIGIN_ATTRS, origin, self._origins, self._origin_rows)
        return oid

    def _intern_row(
        self,
        table: str,
        attrs: tuple[str, ...],
        value: tuple[Any, ...],
        forward: dict[Any, int],
        backward: dict[int, Any],
    ) -> int:
        """Insert ``value`` as a new row of an interned table; forgotten again if the transaction fails."""
        txn = self._txn
        assert txn is not None
        cols = ", ".join(f'"{a}"' for a in attrs)
        new_id = self.conn.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(value))})", value
        ).lastrowid
        assert new_id is not None
        forward[value] = new_id
        backward[new_id] = value
        txn.added.append((forward, value, backward, new_id))
        return new_id

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
        """(ip, profile) of an addrs id; None for None or an id that is not there."""
        if aid is None:
            return None
        row = self._addr_rows.get(aid)
        if row is None:
            self.load_addresses((aid,))
            row = self._addr_rows.get(aid)
        return row

    def load_addresses(self, ids: Iterable[int | None]) -> None:
        """Read the addrs rows of ``ids`` not in memory yet, many per statement (before decoding many rows)."""
        missing = [i for i in set(ids) if i is not None and i not in self._addr_rows]
        if not missing:
            return
        if len(self._addr_rows) + len(missing) > _ADDR_CACHE:
            self._forget_addresses()
        attrs = ", ".join(f'"{a}"' for a in schema.ADDR_ATTRS)
        for i in range(0, len(missing), 900):
            chunk = missing[i : i + 900]
            sql = f"SELECT id, ip, {attrs} FROM addrs WHERE id IN ({','.join('?' * len(chunk))})"
            for row in self.conn.execute(sql, chunk):
                self._addr_rows[row[0]] = (row[1], tuple(row[2:]))

    def origin(self, oid: int | None) -> tuple[str | None, ...] | None:
        if oid is None:
            return None
        row = self._origin_rows.get(oid)
        if row is None:
            self.sync()
            row = self._origin_rows.get(oid)
        return row

    def _flow_columns(self) -> set[str]:
        """The columns of flows, generated ones (a packed store's ports and protocol) included."""
        return {row[1] for row in self.conn.execute('PRAGMA table_xinfo("flows")')}

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


_RowBuilder = Callable[..., list[tuple[Any, ...]]]


class _EventKeys(NamedTuple):
    """A part's event keys, hashed once per write."""

    starts: list[int]  # each event's start (the part's fallback where it has none)
    events: list[bytes]  # the events' identities (Part.event_keys), for older schemas' hashes
    keys: list[int]  # as stored: schema.seen_key of the event's hash and start


@dataclass(frozen=True, slots=True)
class _InsertPlan:
    """How records of one format go into flows: the INSERT and two ways to build its rows."""

    sql: str
    build: _RowBuilder  # records -> rows (generated code)
    kinds: list[tuple[int, schema.StorageKind]]  # per column after start: (position in Part.columns, storage kind)


@dataclass(slots=True)
class _Rows:
    """The rows of one INSERT in a write: columnar parts' columns (zipped by the insert itself), and rows."""

    parts: list[list[list[Any]]] = field(default_factory=list)  # per columnar part, its stored columns
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add_columns(self, columns: list[list[Any]]) -> None:
        self.parts.append(columns)  # kept as they are: zipped part by part, never copied into one list

    def all(self) -> Iterable[tuple[Any, ...]]:
        """Every row, columnar parts first."""
        return chain(chain.from_iterable(zip(*columns) for columns in self.parts), self.rows)

    def __len__(self) -> int:
        return sum(len(columns[0]) for columns in self.parts) + len(self.rows)


def _address_ids(
    ips: list[str | None],
    starts: list[int],
    enrich: Enrich,
    last: dict[str, tuple[Profile, int]],
    add: Callable[[str, Profile], int],
) -> list[int | None]:
    """The addrs ids of a column of addresses with their enrichment at each flow's start.

    The enricher hands back the same profile object while it holds, so an identity
    check against the last id given for the address skips the (address, profile) dict.
    """
    out: list[int | None] = []
    append = out.append
    get = last.get
    for ip, t in zip(ips, starts):
        if ip is None:
            append(None)
            continue
        p = enrich(ip, t)
        k = get(ip)
        append(k[1] if k is not None and k[0] is p else add(ip, p))
    return out


@runtime_checkable
class _SpanSource(Protocol):
    """An enricher that also tells how long an answer holds (flowtui.enrich.Enricher)."""

    def span(self, addr: str, ts: int) -> tuple[float, float, Profile]: ...

    def settled_generation(self) -> int: ...


def _spanned_address_ids(
    ips: list[str | None],
    starts: list[int],
    source: _SpanSource,
    spans: dict[str, tuple[float, float, int]],
    last: dict[str, tuple[Profile, int]],
    add: Callable[[str, Profile], int],
) -> list[int | None]:
    """:func:`_address_ids` for an enricher that tells how long its answers hold.

    A flow whose start falls in the span of its address's last answer takes that
    answer's id with one dict lookup, without calling the enricher (0.4 → 0.22 µs
    a flow for both addresses).
    """
    out: list[int | None] = []
    append = out.append
    get = spans.get
    for ip, t in zip(ips, starts):
        s = get(ip)  # type: ignore[arg-type]
        if s is not None and s[0] <= t < s[1]:
            append(s[2])
        elif ip is None:
            append(None)
        else:
            lo, hi, p = source.span(ip, t)
            k = last.get(ip)
            aid = k[1] if k is not None and k[0] is p else add(ip, p)
            spans[ip] = (lo, hi, aid)
            append(aid)
    return out


def _string_ids(values: list[str | None], strings: _Interned) -> list[int | None]:
    """The strings ids of a column; one lookup for a column of one value (the parser hands those over
    as one object repeated: a stream's account, interface, status)."""
    first = values[0]
    if values[-1] is first and values.count(first) == len(values):
        return [None if first is None else strings[first]] * len(values)
    if None not in values:
        return list(map(strings.__getitem__, values))  # type: ignore[arg-type]
    return [None if v is None else strings[v] for v in values]


def _no_profile(ip: str, start: int) -> Profile:
    return NO_PROFILE


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
        self.outer: _Transaction | None = None

    def __enter__(self) -> Self:
        store = self.store
        conn = store.conn
        conn.execute("BEGIN IMMEDIATE")
        self.outer, store._txn = store._txn, self
        if self.sync:
            # data_version changes only when another connection commits.
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != store._data_version:
                try:
                    store.sync()
                except BaseException:  # __exit__ is not called when __enter__ raises (a newer flowtui upgraded the file)
                    store._txn = self.outer
                    conn.execute("ROLLBACK")
                    raise
                store._data_version = version
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        store = self.store
        store._txn = self.outer
        if exc_type is None:
            store.conn.execute("COMMIT")
            self._raise_max()
            return
        store.conn.execute("ROLLBACK")
        for forward, key, backward, new_id in self.added:
            forward.pop(key, None)
            backward.pop(new_id, None)
        store._last_addr.clear()
        store._spans.clear()
        store._columns = store._flow_columns()
        store._schema_version = -1
        store._insert_sql.clear()
        store._load_seen_tables()

    def _raise_max(self) -> None:
        m = self.store._max
        for forward, _, _, new_id in self.added:
            if forward is self.store._strings:
                m["strings"] = max(m["strings"], new_id)
            elif forward is self.store._origins:
                m["origins"] = max(m["origins"], new_id)
            elif forward is self.store._profiles:
                m["profiles"] = max(m["profiles"], new_id)


def _json_ints(values: Iterable[int]) -> str:
    """A JSON array of integers, sorted (so B-tree inserts walk the pages in order).

    orjson writes it in half the time str() and join() took (0.37 → 0.24 µs an event, sort included).
    """
    return orjson.dumps(sorted(values)).decode()


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
