"""How the catalog's fields are laid out in SQLite.

The layout is made for size and speed at tens of millions of flows:

* ``flows`` holds one narrow row per record, all integers. Text fields are
  interned in ``strings`` (action, account, interface, VPC …); addresses are
  interned with their enrichment in ``addrs`` (one row per address *and*
  enrichment profile, so a flow keeps the entity that held its address at the
  flow's time); the CloudWatch/Kinesis envelope is interned in ``origins``.
* Custom-format columns are added to ``flows`` the first time a format that
  has them is ingested, so v2-only stores never carry them.
* ``start`` and ``duration`` replace ``start``/``end`` (a duration fits one byte).
* ``version``, ``protocol_number`` and the ports are packed into one integer
  (:data:`PACKED`, since schema 6) and read through generated columns.
* Rollups (:data:`ROLLUPS`) hold per-minute sums (flows, bytes, packets) keyed
  by the columns the dashboard's panes group and filter on. They are upserted
  in the same transaction as the rows they sum, so they always agree with
  ``flows``, and they outlive the raw rows ([store] rollup_retain).

Every other module reaches the layout through :data:`STORAGE`, which maps a
catalog field to where and how it is stored; nothing else knows column names.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from flowtui import catalog

SCHEMA_VERSION: Final = 9
# Readers read a store of this schema or later (up to SCHEMA_VERSION) as it is: what came since
# (8: dead letters' origin and index; 9: RECENT_SEEN) only writers use. An older one needs a writer's upgrade first.
READ_AS_IS_FROM: Final = 7

StorageKind = Literal[
    "int",  # an integer column of flows
    "string",  # flows column holds strings.id
    "address",  # flows column holds addrs.id; the address itself
    "enrich",  # flows column holds addrs.id; ``attr`` is the addrs column
    "origin",  # flows.origin holds origins.id; ``attr`` is the origins column
    "protocol",  # derived from flows.protocol_number
    "end",  # derived: start + duration
    "message",  # derived summary; searched by its parts
]


@dataclass(frozen=True, slots=True)
class Storage:
    kind: StorageKind
    column: str  # the flows column
    attr: str | None = None  # the column of the interned table, for enrich/origin
    core: bool = True  # created with the table (False: added when first seen)


def _storage_for(f: catalog.Field) -> Storage:
    if f.origin in ("flow", "custom"):
        core = f.origin == "flow"
        if f.name == "end":
            return Storage("end", "duration")
        if f.type == "ip":
            return Storage("address", f.name, core=core)
        if f.type == "str":
            return Storage("string", f.name, core=core)
        return Storage("int", f.name, core=core)
    if f.origin == "source":
        return Storage("origin", "origin", attr=f.name.removeprefix("aws_"))
    if f.origin == "enrich":
        assert f.address and f.suffix
        return Storage("enrich", f.address, attr=f.suffix)
    derived: dict[str, Storage] = {
        "protocol": Storage("protocol", "protocol_number"),
        "timestamp": Storage("int", "start"),
        "capture_window_duration_seconds": Storage("int", "duration"),
        "message": Storage("message", ""),
    }
    return derived[f.name]


STORAGE: Final[dict[str, Storage]] = {f.name: _storage_for(f) for f in catalog.FIELDS}
# What a flows column holds: a number, or the id of a string or an address.
STORAGE_BY_COLUMN: Final[dict[str, StorageKind]] = {
    s.column: s.kind for s in STORAGE.values() if s.kind in ("int", "string", "address")
}

# The flows columns a record maps onto, in RECORD_FIELDS order ("end" becomes
# "duration").
RECORD_COLUMNS: Final[tuple[str, ...]] = tuple(
    "duration" if f.name == "end" else f.name for f in catalog.RECORD_FIELDS
)
CORE_COLUMNS: Final[tuple[str, ...]] = tuple(
    "duration" if f.name == "end" else f.name for f in catalog.RECORD_FIELDS if f.origin == "flow"
) + ("origin",)
ADDR_ATTRS: Final[tuple[str, ...]] = tuple(s for s, _, _ in catalog.ENRICH_SUFFIXES)
ORIGIN_ATTRS: Final[tuple[str, ...]] = tuple(f.name.removeprefix("aws_") for f in catalog.SOURCE_FIELDS)

_SQL_TYPE = {"int": "INTEGER", "time": "INTEGER", "bool": "INTEGER", "str": "TEXT", "ip": "INTEGER"}


def flows_column_sql(column: str) -> str:
    """Column definition for a flows column (all integers: ids, numbers, times)."""
    return f'"{column}" INTEGER'


# Schema 6 packs the version, the protocol number and the two ports into one integer, and
# the columns queries name are VIRTUAL generated columns over it, which take no room in a
# row. Ports and protocol are bounded by the parser (0-65535, 0-255) and go in as value + 1
# (0: missing); a version from 1 to 15 goes in as itself, any other (and a missing one) in
# VERSION_SPILL, a column that is NULL, one type byte, for every real flow log. 47 bits:
# six bytes and two type bytes where four columns took 10.5 bytes (a type byte each, an
# ephemeral port three bytes, the version one). Stores made before keep the plain columns;
# a store is packed when it has PACKED.
PACKED: Final = "packed"
VERSION_SPILL: Final = "version_spill"
_PACKING: Final = (("protocol_number", 4, 9), ("dst_port", 13, 17), ("src_port", 30, 17))  # (column, shift, bits)
_VERSION_BITS: Final = 4  # the lowest: a NODATA record (no ports, no protocol) packs into one byte
PACKED_COLUMNS: Final = frozenset({"version", *(c for c, _, _ in _PACKING)})


def _packed_columns_sql() -> list[str]:
    out = [
        f'"{c}" INTEGER GENERATED ALWAYS AS (nullif(("{PACKED}" >> {shift}) & {(1 << bits) - 1}, 0) - 1) VIRTUAL'
        for c, shift, bits in _PACKING
    ]
    mask = (1 << _VERSION_BITS) - 1
    return [*out, f'"version" INTEGER GENERATED ALWAYS AS (coalesce(nullif("{PACKED}" & {mask}, 0), "{VERSION_SPILL}")) VIRTUAL']


def flows_insert_sql(columns: Sequence[str], packed: bool) -> str:
    """The INSERT of flows rows holding ``columns`` in this order; into a packed store, the packed ones go in packed."""
    if not packed or not PACKED_COLUMNS & set(columns):
        names = ", ".join(f'"{c}"' for c in columns)
        return f"INSERT INTO flows ({names}) VALUES ({', '.join('?' * len(columns))})"
    at = {c: i + 1 for i, c in enumerate(columns)}
    plain = [c for c in columns if c not in PACKED_COLUMNS]
    values = [f"?{at[c]}" for c in plain]
    # Each field masked to its bits: a value out of range comes back wrong but never spills into its neighbours.
    pack = [f"((coalesce(?{at[c]} + 1, 0) & {(1 << bits) - 1}) << {shift})" for c, shift, bits in _PACKING if c in at]
    if "version" in at:
        fits = f"?{at['version']} BETWEEN 1 AND {(1 << _VERSION_BITS) - 1}"
        pack.append(f"CASE WHEN {fits} THEN ?{at['version']} ELSE 0 END")
        plain.append(VERSION_SPILL)
        values.append(f"CASE WHEN {fits} THEN NULL ELSE ?{at['version']} END")
    names = ", ".join(f'"{c}"' for c in (*plain, PACKED))
    return f"INSERT INTO flows ({names}) VALUES ({', '.join(values)}, {' | '.join(pack)})"


def create_statements() -> list[str]:
    """The schema of version SCHEMA_VERSION, for an empty database."""
    flow_cols = ",\n  ".join(
        [flows_column_sql(c) for c in (*CORE_COLUMNS, VERSION_SPILL, PACKED) if c not in PACKED_COLUMNS] + _packed_columns_sql()
    )
    addr_cols = ",\n  ".join(
        f'"{suffix}" {_SQL_TYPE[type_]}' for suffix, type_, _ in catalog.ENRICH_SUFFIXES
    )
    origin_cols = ", ".join(f'"{a}" TEXT' for a in ORIGIN_ATTRS)
    return [
        "CREATE TABLE strings (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE)",
        f"CREATE TABLE addrs (\n  id INTEGER PRIMARY KEY,\n  ip TEXT NOT NULL,\n  ipkey ANY NOT NULL,\n  {addr_cols},\n  profile INTEGER\n)",
        "CREATE INDEX addrs_ipkey ON addrs (ipkey)",
        "CREATE INDEX addrs_ip ON addrs (ip)",
        f"CREATE TABLE origins (id INTEGER PRIMARY KEY, {origin_cols})",
        # INTEGER PRIMARY KEY keeps rowids in insertion order: newest last.
        f"CREATE TABLE flows (\n  id INTEGER PRIMARY KEY,\n  {flow_cols}\n)",
        "CREATE INDEX flows_start ON flows (start)",
        # Hashes of stored CloudWatch events live in one table per day of the
        # event's time (seen_YYYYMMDD, see seen_table): a redelivered event has
        # the same time, so it meets its twin there, and retention drops whole days.
        RECENT_SEEN_SQL,
        "CREATE TABLE checkpoints (source TEXT PRIMARY KEY, position TEXT NOT NULL, updated REAL NOT NULL)",
        """CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY,
  received REAL NOT NULL,
  source TEXT NOT NULL,
  location TEXT,
  reason TEXT NOT NULL,
  data TEXT,
  origin INTEGER
)""",
        DEAD_LETTERS_INDEX,
        # Per-source health (lag, rates, errors) for the status bar.
        """CREATE TABLE source_status (
  source TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  detail TEXT,
  records_per_s REAL,
  lag_ms INTEGER,
  errors INTEGER NOT NULL DEFAULT 0,
  updated REAL NOT NULL
)""",
        "CREATE TABLE queries (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT, query TEXT NOT NULL, used REAL NOT NULL)",
        "CREATE UNIQUE INDEX queries_kind_query ON queries (kind, query)",
        *rollup_statements(),
    ]


# Schema 8. Ingest finds the copies of a batch's new dead letters (a payload read twice) by source
# and location, on every write that has rejects: without an index, a read of the whole table.
DEAD_LETTERS_INDEX: Final = "CREATE INDEX IF NOT EXISTS dead_letters_source_location ON dead_letters (source, location)"


def dead_letters_upgrade(has_origin: bool = False) -> list[str]:
    """Schemas 1-7 → 8: dead letters keep the origin (origins.id) of their line, and are indexed by where they came from.

    A payload's dead letter of before names its log group and stream only at the end of its
    location (``"<where> <group>/<stream>"``): it takes the one stored origin that ends it that way
    (none where several do, as when one log stream came through two Kinesis streams). ``has_origin``:
    the table has the column already (a store made by this version and marked older, as tests do).
    """
    tail = " || ".join(("' '", f'o."{ORIGIN_ATTRS[0]}"', "'/'", f'o."{ORIGIN_ATTRS[1]}"'))
    assert ORIGIN_ATTRS[:2] == ("log_group", "log_stream"), "a payload's dead letter names its group and stream"
    recover = (
        f"UPDATE dead_letters SET origin = (SELECT min(o.id) FROM origins o WHERE substr(dead_letters.location, -length({tail})) = {tail} "
        "HAVING count(*) = 1) WHERE location IS NOT NULL"
    )
    return [*(() if has_origin else ("ALTER TABLE dead_letters ADD COLUMN origin INTEGER",)), DEAD_LETTERS_INDEX, recover]


def seen_table(day: int, prefix: str | None = None) -> str:
    """The table of event keys for ``day`` (unix seconds // 86400); ``prefix``: of an older schema's."""
    return (prefix or SEEN_PREFIX) + _day_name(day)


def seen_table_sql(table: str) -> str:
    """A day's table of event keys (schema 5: WITHOUT ROWID, a key is stored once, ~1 byte an event less)."""
    return f"CREATE TABLE IF NOT EXISTS {table} (h INTEGER PRIMARY KEY) WITHOUT ROWID"


def _day_name(day: int) -> str:
    import datetime as _dt

    return (_dt.date(1970, 1, 1) + _dt.timedelta(days=day)).strftime("%Y%m%d")


SEEN_PREFIX: Final = "seen_"
# Schema 9. The event keys of the last few batches, until a write moves them into their days'
# tables in one sorted pass. A day's table takes a batch's keys all over the seconds its flows
# started in (a minute or more of them): at 50,000 records/s each 5,000-record write dirtied
# ~2,000 of its 8 kB pages (20 MB to the log and again to the file, 4 kB a record); written
# here, a batch's keys dirty this small table's few pages, and a move touches each page of the
# days' tables once for many batches. A key is seen if it is in either table.
RECENT_SEEN: Final = "recent_seen"  # not "seen_…": those are the days' tables
RECENT_SEEN_SQL: Final = f"CREATE TABLE IF NOT EXISTS {RECENT_SEEN} (day INTEGER NOT NULL, h INTEGER NOT NULL, PRIMARY KEY (day, h)) WITHOUT ROWID"
# Older schemas' days of event keys, kept under these names until retention drops them, so an
# event delivered again after an upgrade is still recognised. Both hashed events with blake2b;
# schema 1 stored the plain 64-bit hash, schemas 2-4 :func:`seen_key` of it (5 hashes with xxh3).
LEGACY_SEEN_PREFIX: Final = "seenv1_"
BLAKE_SEEN_PREFIX: Final = "seenv4_"
LEGACY_SEEN_PREFIXES: Final = (LEGACY_SEEN_PREFIX, BLAKE_SEEN_PREFIX)


def seen_key(key_hash: int, start: int) -> int:
    """The stored key of an event: its second of the day in the top 17 bits, 47 bits of its hash below.

    Keys of events that arrive together are close, so inserting them touches
    the few newest pages of the table instead of random ones (three times
    faster at tens of millions of keys). A false match needs two events of the
    same second with the same 47 bits, which over a day is as likely as two
    events with the same 64-bit hash: the time bits split the day's keys into
    seconds exactly as the hash bits they replace would have.
    """
    return ((start % 86400) << 47 | (key_hash & _HASH_MASK)) - (1 << 63)


_HASH_MASK: Final = (1 << 47) - 1


# --- rollups ----------------------------------------------------------------------
# Per-minute sums of flows, bytes and packets by a few flows columns. Key columns
# cannot be NULL in a WITHOUT ROWID table, so NULL is stored as a sentinel (0 for
# interned ids, which start at 1; -1 for numbers) and the rollup's view turns it
# back into NULL: queries compiled for ``flows f`` run unchanged on ``<view> f``.


@dataclass(frozen=True, slots=True)
class Rollup:
    table: str
    dims: tuple[str, ...]  # flows columns the sums are keyed by (after the bucket)
    only: tuple[str, str] | None = None  # (string column, value): only flows with that value are summed
    seconds: int = 60  # bucket length: a row sums the flows with start in [start, start + seconds)
    by_profile: bool = False  # address columns hold profiles ids: the enrichment, not the address
    # SQL on a flows row (0 or 1): the flows this rollup sums straight from flows, one upsert
    # each, not through the batch table; for keys nearly unique per flow (replies to ephemeral
    # ports), which would make the batch as large as the write. The others go through the batch.
    direct: str | None = None
    # Rows keep the first and last flows id they sum, for a search's first page (flowtui.query.pages);
    # a family's finest buckets are the ones read for that, so the others leave them out (schema 6).
    ids: bool = True

    @property
    def metrics(self) -> tuple[str, ...]:
        """The columns a row sums or keeps for its key."""
        return (*ROLLUP_METRICS, "first_id", "last_id") if self.ids else ROLLUP_METRICS

    @property
    def view(self) -> str:
        return f"{self.table}_v"

    @property
    def family(self) -> tuple[tuple[str, ...], tuple[str, str] | None, bool]:
        """Rollups of one family hold the same sums over buckets of different lengths."""
        return (self.dims, self.only, self.by_profile)


ROLLUP_SECONDS: Final = 60  # the finest bucket
ROLLUP_METRICS: Final[tuple[str, ...]] = ("flows", "bytes", "packets")
_PAIRS: Final = ("src_addr", "dst_addr", "protocol_number", "action")
# The Rejects pane groups by (src_addr, dst_port): that order after the bucket keeps a
# group's rows together, summed without sorting (schema 4; 3 had dst_addr second).
_REJECTS: Final = ("src_addr", "dst_port", "dst_addr", "protocol_number", "action")
# In order of preference: a query is answered from the first family that holds its fields.
ROLLUPS: Final[tuple[Rollup, ...]] = (
    # Totals per minute: "*" histograms and counts, and how many flows a minute holds.
    Rollup("rollup_minutes", ()),
    # Per pair of enrichment profiles (not addresses): histograms and counts of queries
    # on what addresses are (EC2, internal, threat-listed, a country…), action and
    # protocol; a few hundred rows a minute however many addresses talk.
    Rollup("rollup_profiles", _PAIRS, by_profile=True),
    # Rejects by port. Accepted flows are left out: half of them are replies whose
    # destination port is ephemeral, which would make this as large as flows itself.
    Rollup("rollup_rejects", _REJECTS, ("action", "REJECT")),
    Rollup("rollup_rejects_5m", _REJECTS, ("action", "REJECT"), seconds=300, ids=False),
    # Top talkers, External → EC2, Threat matches, and any query on addresses, their
    # enrichment, protocol and action; five-minute buckets too, where the same pairs
    # of a busy VPC repeat minute after minute (a 15-minute window reads half the rows).
    Rollup("rollup_pairs", _PAIRS),
    Rollup("rollup_pairs_5m", _PAIRS, seconds=300, ids=False),
    # Any query on ports, protocol and action alone (`flowtui top --by dst_port`, a port
    # nobody uses): every flow, accepted ones too. Replies go to ephemeral ports, so a
    # bucket holds a row for most of them however long it is: five-minute buckets only
    # (a third of the rows of one-minute ones, 0.9 bytes a flow at 11,000 flows/s).
    # Replies (to a port above the source's) go straight in; requests and rejects, whose ports
    # repeat, through the batch: half the upserts of summing every flow straight in.
    Rollup("rollup_ports_5m", ("dst_port", "protocol_number", "action"), seconds=300,
           direct='coalesce("dst_port" > "src_port", 0)'),
)  # fmt: skip
ROLLUP_ALIGN: Final = max(r.seconds for r in ROLLUPS)  # rollups are pruned in whole buckets of every length
_NULL_ID = 0
_NULL_NUMBER = -1


def rollup_null(column: str) -> int:
    """The sentinel that stands for NULL in a rollup key column."""
    return _NULL_ID if STORAGE_BY_COLUMN.get(column) in ("string", "address") else _NULL_NUMBER


def rollup_statements() -> list[str]:
    """Tables and views of the rollups (part of the schema since version 3).

    Each row of a family's finest buckets also keeps the first and last flows id
    it sums: a search for rare matches reads just those stretches of flows.
    """
    # Where flows and rollups are complete from (flowtui.rollups.horizons).
    attrs = ", ".join(f'"{suffix}" {_SQL_TYPE[type_]}' for suffix, type_, _ in catalog.ENRICH_SUFFIXES)
    out = [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID",
        # The distinct enrichment profiles (addrs.profile): what rollup_profiles is keyed by.
        f"CREATE TABLE profiles (id INTEGER PRIMARY KEY, {attrs})",
    ]
    for r in ROLLUPS:
        out += rollup_table_statements(r)
    return out + tops_statements()


def rollup_table_statements(r: Rollup) -> list[str]:
    """The table of rollup ``r`` and its view."""
    keys = ", ".join(f'"{c}" INTEGER NOT NULL' for c in ("start", *r.dims))
    metrics = ", ".join(f'"{m}" INTEGER NOT NULL' for m in r.metrics)
    pk = ", ".join(f'"{c}"' for c in ("start", *r.dims))
    # Key columns as queries see them (NULL for none), and as stored (``_<column>``: the
    # primary key's order, for grouping a bucket without sorting it).
    cols = "".join(f'nullif("{c}", {rollup_null(c)}) AS "{c}", "{c}" AS "_{c}", ' for c in r.dims)
    return [
        f"CREATE TABLE {r.table} ({keys}, {metrics}, PRIMARY KEY ({pk})) WITHOUT ROWID",
        f'CREATE VIEW {r.view} AS SELECT "start", {cols}{", ".join(r.metrics)} FROM {r.table}',
    ]


# --- the biggest rows of closed buckets --------------------------------------------
# A pane's top groups are found from each bucket's biggest rows (flowtui.query.aggregate).
# Reading those from the pairs rollup sorts a whole bucket (tens of thousands of rows
# with many outside clients) on every dashboard start; the writer keeps them instead,
# once per bucket that has stopped gaining flows, in the order they are read. Per
# metric and per group of rows whose addresses share their enrichment profiles (the
# profiles rollup's keys): its ``TOPS_KEEP`` biggest rows (edge 0), and the biggest of
# those left out (edge 1: nothing left out is bigger). A query that depends only on
# what those keys hold (the panes') matches a whole group or none of it, so the rows it
# matches here, and the biggest edge it matches, stand for the bucket. The bucket's
# seal (its minutes' count, flows and last id) says whether they still do.
TOPS_OF: Final = next(r for r in ROLLUPS if r.table == "rollup_pairs_5m")
TOPS_TABLE: Final = f"{TOPS_OF.table}_top"
TOPS_VIEW: Final = f"{TOPS_TABLE}_v"
SEALS_TABLE: Final = f"{TOPS_OF.table}_sealed"
TOPS_METRICS: Final = ("flows", "bytes")  # stored as their index here
TOPS_KEEP: Final = 64
assert any(r.by_profile and r.dims == TOPS_OF.dims for r in ROLLUPS), "tops are grouped by the profiles rollup's keys"


def tops_statements() -> list[str]:
    """The table of closed buckets' biggest rows, its view (keys as the rollup's view has them) and the seals."""
    head = ("start", "metric", "edge", "value")
    keys = ", ".join(f'"{c}" INTEGER NOT NULL' for c in (*head, *TOPS_OF.dims))
    pk = ", ".join('"value" DESC' if c == "value" else f'"{c}"' for c in (*head, *TOPS_OF.dims))
    cols = ", ".join(f'nullif("{c}", {rollup_null(c)}) AS "{c}", "{c}" AS "_{c}"' for c in TOPS_OF.dims)
    return [
        f"CREATE TABLE {TOPS_TABLE} ({keys}, PRIMARY KEY ({pk})) WITHOUT ROWID",
        f'CREATE VIEW {TOPS_VIEW} AS SELECT "start", metric, edge, value, {cols} FROM {TOPS_TABLE}',
        f'CREATE TABLE {SEALS_TABLE} ("start" INTEGER PRIMARY KEY, minutes INTEGER NOT NULL, flows INTEGER NOT NULL, last_id INTEGER NOT NULL)',
    ]


# A write sums its flows once, per minute and every key any rollup has, into a temporary
# table; each rollup is then upserted from those few rows (not from the flows again).
BATCH_TABLE: Final = "temp.rollup_batch"
BATCH_DIMS: Final[tuple[str, ...]] = tuple(dict.fromkeys(c for r in ROLLUPS for c in r.dims))
_UNSET: Final = -2  # a batch key column a flow does not need (outside the rollups that have it)


def rollup_batch_sql() -> tuple[str, str]:
    """(CREATE, INSERT) of the batch table; the INSERT sums the flows ``?1``..``?2`` (``?3``: the id of ``only``'s value)."""
    cols = ", ".join(f'"{c}" INTEGER NOT NULL' for c in ("start", *BATCH_DIMS))
    metrics = ", ".join(f'"{m}" INTEGER NOT NULL' for m in (*ROLLUP_METRICS, "first_id", "last_id"))
    pk = ", ".join(f'"{c}"' for c in ("start", *BATCH_DIMS))
    create = f"CREATE TEMP TABLE IF NOT EXISTS rollup_batch ({cols}, {metrics}, PRIMARY KEY ({pk})) WITHOUT ROWID"
    exprs = []
    for c in BATCH_DIMS:
        value = f'coalesce("{c}", {rollup_null(c)})'
        kept = _batch_keeps(c)
        if kept is not None:  # only some rollups key by it: keep it for their flows
            value = f"CASE WHEN {kept} THEN {value} ELSE {_UNSET} END"
        exprs.append(value)
    # An upsert per flow into the (in-memory, keyed) batch table costs half a GROUP BY's sort.
    insert = (
        f'INSERT INTO {BATCH_TABLE} SELECT "start" - "start" % {ROLLUP_SECONDS}, {", ".join(exprs)}, 1, '
        f'coalesce("bytes", 0), coalesce("packets", 0), id, id FROM flows WHERE id BETWEEN ?1 AND ?2 AND 1 '
        "ON CONFLICT DO UPDATE SET flows = flows + 1, bytes = bytes + excluded.bytes, "
        "packets = packets + excluded.packets, last_id = excluded.last_id"
    )
    return create, insert


def _batch_keeps(column: str, only: bool = True, direct: bool = True) -> str | None:
    """SQL on a flows row: whether the batch keeps ``column`` for it; None: always.

    A rollup filtered by ``only`` needs it for the flows with that value (``?3``), one with
    ``direct`` flows for the others; any other rollup for every flow. (``only``/``direct``
    False: leave those rollups out.)
    """
    needs = []
    for r in ROLLUPS:
        if column not in r.dims:
            continue
        if r.only is None and r.direct is None:
            return None
        if r.only is not None and only:
            needs.append(f'"{r.only[0]}" = ?3')
        if r.direct is not None and direct:
            needs.append(f"NOT {r.direct}")
    return " OR ".join(dict.fromkeys(needs)) or "0"


def rollup_upsert_sql(r: Rollup) -> str:
    """Adds the batch table's sums to rollup ``r`` (``?1``: the id of ``r.only``'s value, when it has one).

    A rollup with ``direct`` flows adds the batch rows that keep its keys and, one
    upsert each, the direct flows of those the batch covers (its first to its last id)
    that the batch keeps for no other rollup.

    The batch holds one-minute buckets in its key's order, so a rollup keyed by a
    leading part of that key groups the rows as they are read, without sorting them
    (the bucket's start is grouped on as stored; a five-minute bucket's rows are
    merged by the upsert), and one keyed by the whole key needs no grouping at all:
    half to a third of the time of grouping by the bucket's expression, which sorts
    (0.03-0.1 µs a flow less each; see :func:`_batch_grouping`).
    """
    if r.direct is not None:
        return _split_upsert_sql(r)
    keys = "".join(f', "{c}"' for c in r.dims)
    joins = ""
    exprs = ""
    for c in r.dims:
        if r.by_profile and STORAGE_BY_COLUMN.get(c) == "address":
            joins += f' LEFT JOIN addrs a_{c} ON a_{c}.id = b."{c}"'
            exprs += f", coalesce(a_{c}.profile, {rollup_null(c)})"
        else:
            exprs += f', b."{c}"'
    where = f'b."{r.only[0]}" = ?1' if r.only else "1"
    grouping = _batch_grouping(r)
    sums = ("sum(b.flows), sum(b.bytes), sum(b.packets)", ", min(b.first_id), max(b.last_id)")
    if grouping == "":  # one batch row, one rollup row
        sums = ("b.flows, b.bytes, b.packets", ", b.first_id, b.last_id")
    update = ", ".join(f"{m} = {m} + excluded.{m}" for m in ROLLUP_METRICS)
    ids = (sums[1], ", first_id = min(first_id, excluded.first_id), last_id = max(last_id, excluded.last_id)")
    return (
        f'INSERT INTO {r.table} ("start"{keys}, {", ".join(r.metrics)}) '
        f"SELECT {_bucket('b', r.seconds)}{exprs}, {sums[0]}"
        f"{ids[0] if r.ids else ''} FROM {BATCH_TABLE} b{joins} WHERE {where}{grouping} "
        f"ON CONFLICT DO UPDATE SET {update}{ids[1] if r.ids else ''}"
    )


def _bucket(alias: str, seconds: int) -> str:
    """The start of a batch row's bucket of ``seconds`` (the batch's own are one minute long)."""
    start = f'{alias}."start"'
    return start if seconds == ROLLUP_SECONDS else f"{start} - {start} % {seconds}"


def _batch_grouping(r: Rollup) -> str:
    """The GROUP BY that sums the batch rows for rollup ``r`` ('' when each row is one of its rows).

    A rollup keyed by every batch key column (after the bucket) takes the rows as
    they are; one keyed by the columns the batch key begins with groups on them as
    stored, in the batch key's order (no sort; the upsert merges a longer bucket's
    minutes); any other (keyed by profiles, or by columns in another order) groups
    by its own key, which sorts the rows.
    """
    if not r.by_profile:
        if set(r.dims) == set(BATCH_DIMS):
            return ""
        if tuple(r.dims) == BATCH_DIMS[: len(r.dims)]:
            return " GROUP BY " + ", ".join(f'b."{c}"' for c in ("start", *r.dims))
    return " GROUP BY " + ", ".join(str(i) for i in range(1, len(r.dims) + 2))


def _split_upsert_sql(r: Rollup) -> str:
    assert r.only is None and not r.by_profile and r.direct is not None and r.ids
    partial = [c for c in r.dims if _batch_keeps(c) is not None]
    from_batch = " AND ".join(f'b."{c}" <> {_UNSET}' for c in partial) or "1"
    groups = ", ".join(str(i) for i in range(1, len(r.dims) + 2))
    batch = (
        f'SELECT b."start" - b."start" % {r.seconds}{"".join(f", b.{chr(34)}{c}{chr(34)}" for c in r.dims)}, '
        f"sum(b.flows), sum(b.bytes), sum(b.packets), min(b.first_id), max(b.last_id) "
        f"FROM {BATCH_TABLE} b WHERE {from_batch} GROUP BY {groups}"
    )
    # The direct flows the batch keeps for another rollup's sake are in the batch rows already.
    taken = " OR ".join(dict.fromkeys(o for o in (_batch_keeps(c, direct=False) for c in partial) if o and o != "0"))
    only_values = {x.only[1] for x in ROLLUPS if x.only}
    assert len(only_values) <= 1, "the batch keeps one filter's keys"
    for value in only_values:  # a constant of this module, not user input
        taken = taken.replace("?3", f"(SELECT id FROM strings WHERE value = '{value}')")
    keys = "".join(f', coalesce("{c}", {rollup_null(c)})' for c in r.dims)
    direct = (
        f'SELECT "start" - "start" % {r.seconds}{keys}, 1, coalesce("bytes", 0), coalesce("packets", 0), id, id '
        f"FROM flows WHERE id BETWEEN (SELECT min(first_id) FROM {BATCH_TABLE}) AND (SELECT max(last_id) FROM {BATCH_TABLE}) "
        f"AND {r.direct}{f' AND NOT coalesce({taken}, 0)' if taken else ''}"
    )
    names = "".join(f', "{c}"' for c in r.dims)
    update = ", ".join(f"{m} = {m} + excluded.{m}" for m in ROLLUP_METRICS)
    return (
        f'INSERT INTO {r.table} ("start"{names}, flows, bytes, packets, first_id, last_id) '
        f"SELECT * FROM ({batch} UNION ALL {direct}) WHERE 1 ON CONFLICT DO UPDATE SET {update}, "
        "first_id = min(first_id, excluded.first_id), last_id = max(last_id, excluded.last_id)"
    )


def rollup_fill_sql(r: Rollup, ids: str = "?1 AND ?2") -> str:
    """Adds the flows with ids ``BETWEEN {ids}`` to rollup ``r`` straight from flows (``?3``: ``r.only``'s id).

    For building a new rollup from the stored flows (an upgrade). One upsert per flow:
    sorting the flows to sum them first costs more than it saves where keys are nearly
    unique per flow (ports: 1.4 against 0.9 µs a flow).
    """
    assert not r.by_profile and r.ids, "profiles are looked up in the batch; ids are kept"
    keys = "".join(f', coalesce("{c}", {rollup_null(c)})' for c in r.dims)
    where = f' AND "{r.only[0]}" = ?3' if r.only else ""
    names = "".join(f', "{c}"' for c in r.dims)
    return (
        f'INSERT INTO {r.table} ("start"{names}, flows, bytes, packets, first_id, last_id) '
        f'SELECT "start" - "start" % {r.seconds}{keys}, 1, coalesce("bytes", 0), coalesce("packets", 0), id, id '
        f"FROM flows WHERE id BETWEEN {ids}{where} AND 1 ON CONFLICT DO UPDATE SET flows = flows + 1, "
        "bytes = bytes + excluded.bytes, packets = packets + excluded.packets, "
        "first_id = min(first_id, excluded.first_id), last_id = max(last_id, excluded.last_id)"
    )


# --- addresses as sortable keys -------------------------------------------------
# IPv4 is stored as an integer, IPv6 as a 16-byte big-endian blob. SQLite orders
# every integer before every blob, and blobs by memcmp, so a CIDR block is one
# contiguous key range: ``ipkey BETWEEN lo AND hi`` uses the index.


def ip_key(text: str) -> int | bytes:
    """The sortable key of a canonical address string (ValueError if it is none)."""
    addr = ipaddress.ip_address(text)
    if addr.version == 4:
        return int(addr)
    return addr.packed


def cidr_range(text: str) -> tuple[int | bytes, int | bytes]:
    """First and last key of a CIDR block or single address (ValueError if neither)."""
    net = ipaddress.ip_network(text, strict=False)
    if net.version == 4:
        return int(net.network_address), int(net.broadcast_address)
    return net.network_address.packed, net.broadcast_address.packed
