"""What the screens ask of the core, answered off the UI thread.

Plain Python, no Textual: every method here runs in a thread worker. The store
is opened read-only, once per *lane* (panes, interactive queries, completion),
each lane behind its own lock, so a slow search never holds up the dashboard
and typing never waits for either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowtui import catalog
from flowtui.config import Config
from flowtui.errors import FlowtuiError, QueryError
from flowtui.query.compiler import compile_query
from flowtui.query.complete import Completion, completions
from flowtui.query.engine import DEFAULT_TIMEOUT, QueryEngine, columns_for
from flowtui.query.history import QueryHistory
from flowtui.query.threat_lists import check_threat_lists, known_threat_lists
from flowtui.query.window import TimeWindow
from flowtui.store import Store, StoreError
from flowtui.ui import trail_data
from flowtui.ui.columns import is_ip
from flowtui.ui.formatting import window_text
from flowtui.ui.panes import PaneSpec
from flowtui.ui.terms import order_text, quote
from flowtui.ui.who import LABEL_SUFFIXES, address_label, profile_label

Now = Callable[[], float]
RATE_BUCKETS = 60
PANE_DEFAULT_ROWS = 10  # groups in a pane whose height is not known yet (and the config sets no limit)
PANE_MAX_ROWS = 500  # as the config's `limit` allows
PANE_FEWEST_GROUPS = 3  # a pane shows its '(other)' row only below at least this many groups
PAGE_SIZE = 200
ADDRESS_FLOWS = 50
_SUFFIXES = tuple(s for s, _, _ in catalog.ENRICH_SUFFIXES)
OTHER = "(other)"


@dataclass(frozen=True, slots=True)
class PaneRow:
    key: str  # the row's id in the table: its group values
    values: tuple[Any, ...]  # one per PaneSpec.by field
    flows: int
    bytes: int
    packets: int
    other: bool = False  # the '(other)' row: everything below the top N
    threats: tuple[bool, ...] = ()  # per value: an address some threat list names
    labels: tuple[str, ...] = ()  # per value: who an address is (Name tag, or country and AS)


@dataclass(frozen=True, slots=True)
class PaneResult:
    spec: PaneSpec
    rows: list[PaneRow]
    rate: list[float]  # the metric per bucket over the window, oldest first
    bucket_seconds: float
    window_label: str
    error: str | None = None
    room: int | None = None  # the rows on screen it was fetched for (None: not known)


@dataclass(frozen=True, slots=True)
class SourceState:
    name: str
    state: str
    detail: str | None
    records_per_s: float | None
    lag_ms: int | None
    errors: int
    updated: float


@dataclass(frozen=True, slots=True)
class StatusInfo:
    sources: list[SourceState]
    dead_letters: int
    size_bytes: int
    error: str | None = None  # the store cannot be read (yet)


@dataclass(slots=True)
class AddressInfo:
    address: str
    profile: dict[str, Any]  # enrichment suffix -> value, from the newest flow that has it
    seen: bool  # any flow in the window
    peers: list[dict[str, Any]] = field(default_factory=list)  # direction, peer, flows, bytes, packets
    ports: list[dict[str, Any]] = field(default_factory=list)  # direction, dst_port, protocol, flows, bytes, packets
    rate: list[float] = field(default_factory=list)
    bucket_seconds: float = 0.0
    flows: list[dict[str, Any]] = field(default_factory=list)
    flow_fields: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Page:
    query: str
    rows: list[dict[str, Any]]
    columns: list[str]
    offset: int
    total: int
    order: tuple[str, bool]  # field, descending
    named: tuple[str, ...] = ()  # the fields the query names (their columns always show)
    window: TimeWindow | None = None  # the window pinned for this page (start and end fixed)
    upto_id: int | None = None  # when counted: the newest flow id the count saw (a later flow is not in ``total``)


_WRITABLE_LANES = frozenset({"history"})


class _Lane:
    """One connection and the engine over it (read-only, but for the history lane)."""

    def __init__(self, path: Path, now: Now, writable: bool = False, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        if writable and not path.exists():
            # A viewer pointed at the wrong file must not leave an empty store there.
            Store(path, readonly=True)  # raises the one-sentence "no store at …"
        self.store = Store(path, readonly=not writable)
        self.engine = QueryEngine(self.store, timeout=timeout)
        self.lock = threading.Lock()


def pinned(window: TimeWindow, now: float) -> TimeWindow:
    """``window`` with a relative start fixed at ``now``: every query of one refresh sees the same window."""
    start, end = window.bounds(now)
    return TimeWindow(start, end)


class DataSource:
    """The store as the UI sees it: read-only, opened lazily, one lane per kind of work."""

    def __init__(self, path: Path, now: Now, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = Path(path)
        self.now = now
        self.timeout = timeout  # [query] timeout, for every lane but the export's
        self._lanes: dict[str, _Lane] = {}
        self._open_lock = threading.Lock()

    @contextmanager
    def lane(self, name: str) -> Iterator[_Lane]:
        """The lane ``name``, held; on a read-only lane, everything done with it is one read
        (:meth:`Store.reading`): one snapshot, and the store opened again first if a writer
        changed it while it was read without locks."""
        with self._open_lock:
            lane = self._lanes.get(name)
            if lane is None:
                # An export has no time limit: it is as long as the snapshot, and cancellable.
                timeout = None if name == "export" else self.timeout
                lane = self._lanes[name] = _Lane(self.path, self.now, name in _WRITABLE_LANES, timeout)
        with lane.lock:
            if name in _WRITABLE_LANES:  # its writes make their own transactions
                yield lane
                return
            with lane.store.reading():
                yield lane

    def close(self) -> None:
        with self._open_lock:
            for lane in self._lanes.values():
                with lane.lock:
                    lane.store.close()
            self._lanes.clear()

    # --- change detection ---------------------------------------------------------
    def marker(self) -> tuple[Any, ...]:
        """Cheap to read, different whenever flows were added or dropped: rowid bounds.

        Two subqueries, one index probe each: ``SELECT min(id), max(id)`` would read every row.
        """
        with self.lane("panes") as lane:
            row = lane.store.conn.execute("SELECT (SELECT min(id) FROM flows), (SELECT max(id) FROM flows)").fetchone()
            return (row[0], row[1])

    # --- status -----------------------------------------------------------------------
    def status(self) -> StatusInfo:
        try:
            with self.lane("panes") as lane:
                store = lane.store
                sources = [
                    SourceState(
                        name=str(s["source"]),
                        state=str(s["state"]),
                        detail=s.get("detail"),
                        records_per_s=s.get("records_per_s"),
                        lag_ms=s.get("lag_ms"),
                        errors=int(s.get("errors") or 0),
                        updated=float(s.get("updated") or 0),
                    )
                    for s in store.statuses()
                ]
                return StatusInfo(sources, store.dead_letter_count(), store.size_bytes())
        except StoreError as exc:
            return StatusInfo([], 0, 0, error=str(exc))

    # --- panes --------------------------------------------------------------------------
    def pane(self, spec: PaneSpec, window: TimeWindow, room: int | None = None) -> PaneResult:
        """The pane's top groups and rate. ``room``: rows the pane has on screen (its
        ``(other)`` row included), which sets how many groups come when the config sets no limit."""
        label = window_text(window)
        if room is None:
            room = PANE_DEFAULT_ROWS + 1
        # A pane too short for PANE_FEWEST_GROUPS groups above its '(other)' row gives that
        # row's line to one more group (80×24: 2–3 groups each, not 1–2 and the rest's sum).
        other = spec.limit is not None or room - 1 >= PANE_FEWEST_GROUPS
        limit = spec.limit or max(1, min(PANE_MAX_ROWS, room - 1 if other else room))
        now = self.now()
        # The addresses' enrichment comes along (threat flags to colour them, names to label
        # them): it is grouped on the same stored address id, so it costs no extra grouping.
        flags = [f"{n}_{s}" for n in spec.by if is_ip(n) for s in LABEL_SUFFIXES]
        # Whole minutes in minute buckets: answered from the rollups, not from every flow.
        whole, buckets = window.on_minutes(now, RATE_BUCKETS)
        try:
            with self.lane("panes") as lane:
                top = lane.engine.top(
                    spec.query, whole, by=[*spec.by, *flags], metric=spec.metric, limit=limit  # type: ignore[arg-type]
                )
                hist = lane.engine.histogram(spec.query, whole, buckets=buckets, now=now)
        except QueryError as exc:
            return PaneResult(spec, [], [], 0.0, label, error=f"bad query at {exc.start + 1}: {exc.message}")
        except FlowtuiError as exc:
            return PaneResult(spec, [], [], 0.0, label, error=str(exc))
        rate, width = _rate(hist, spec.metric, now)
        rows = _pane_rows(spec, top)
        if not other:
            rows = [row for row in rows if not row.other]
        return PaneResult(spec, rows, rate, width, label, room=room)

    # --- queries ------------------------------------------------------------------------
    def validate(self, query: str, config: Config | None = None) -> QueryError | None:
        """The error in ``query``, or None; fast enough to run per key. With ``config``, a
        threat-list id the query names must be one the config or the store knows: that
        costs a read of the store's few enrichment profiles (on the typing's lane) only for
        a query that names one."""
        try:
            if config is None:
                compile_query(query)
            else:
                check_threat_lists(query, lambda: self._threat_lists(config))
        except QueryError as exc:
            return exc
        except FlowtuiError:  # a bad [threat] in the config: the check cannot be made
            return None
        return None

    def _threat_lists(self, config: Config) -> frozenset[str]:
        try:
            with self.lane("complete") as lane:
                return known_threat_lists(config, lane.store)
        except StoreError:  # no store yet: the config's lists are all there are
            return known_threat_lists(config)

    def columns_for(self, query: str) -> list[str]:
        return list(columns_for(query))

    def page(
        self,
        query: str,
        window: TimeWindow,
        order: tuple[str, bool],
        offset: int,
        total: int | None,
        upto_id: int | None = None,
    ) -> Page:
        """A page of ``query``'s rows; with ``total`` None, counted too, in one read snapshot
        with the newest flow id it saw. A later page (or sort) of that snapshot passes the
        id back as ``upto_id``: flows stored since never shift its pages."""
        columns = self.columns_for(query)
        fixed = pinned(window, self.now())
        upto = upto_id
        counting = total is None
        with self.lane("interactive") as lane:  # one read: the count, the newest id and the rows agree
            if counting:
                upto = int(lane.store.conn.execute("SELECT coalesce(max(id), 0) FROM flows").fetchone()[0])
                total = lane.engine.count(query, fixed)
            rows = lane.engine.search(
                query, fixed, fields=columns, limit=PAGE_SIZE, offset=offset, order=order_text(order),
                upto_id=None if counting else upto,
            )
        assert total is not None
        return Page(query, rows, columns, offset, total, order, named_fields(query), fixed, upto)

    def export_rows(
        self,
        query: str,
        window: TimeWindow,
        columns: Sequence[str],
        order: tuple[str, bool],
        upto_id: int | None,
        stop: threading.Event | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row of a results snapshot: ``window`` pinned, no flow newer than ``upto_id``
        (so the rows are the ones the results counted, however many arrived since).

        One streaming read on a lane of its own, with no time limit (a big snapshot takes
        long; ``stop`` ends it with QueryCancelled instead): a long export never holds up
        the results view or an address page, and never pages by OFFSET.
        """
        fixed = pinned(window, self.now())
        with self.lane("export") as lane:
            yield from lane.engine.iter_search(
                query, fixed, fields=list(columns), limit=None, order=order_text(order), upto_id=upto_id, stop=stop
            )

    def completions(self, text: str, cursor: int) -> list[Suggestion]:
        with self.lane("complete") as lane:
            found = completions(text, cursor, lane.store, limit=20)
        return [Suggestion(c.text, c.start, c.end, c.text, c.kind, _detail(c)) for c in found]

    # --- history and saved queries ------------------------------------------------------
    # They live in the store (shared with the CLI), written through a connection of
    # their own: the only writes the UI makes, each a tiny transaction in a worker.
    def history(self, limit: int = 200) -> list[str]:
        """Queries run lately, oldest first (the order ↑ walks them backwards)."""
        with self.lane("complete") as lane:
            return list(reversed(QueryHistory(lane.store).recent(limit)))

    def add_history(self, query: str) -> None:
        with self.lane("history") as lane:
            QueryHistory(lane.store).add(query)

    def saved(self) -> list[tuple[str, str]]:
        with self.lane("complete") as lane:
            return QueryHistory(lane.store).saved()

    def save(self, name: str, query: str) -> None:
        with self.lane("history") as lane:
            QueryHistory(lane.store).save(name, query)

    def delete_saved(self, name: str) -> None:
        with self.lane("history") as lane:
            QueryHistory(lane.store).delete(name)

    # --- one address -------------------------------------------------------------------
    def address(self, address: str, window: TimeWindow, flow_fields: Sequence[str]) -> AddressInfo:
        q = quote(address)
        either = f"src_addr:{q} OR dst_addr:{q}"
        now = self.now()
        fixed = pinned(window, now)
        whole, buckets = window.on_minutes(now, RATE_BUCKETS)
        with self.lane("interactive") as lane:
            engine = lane.engine
            profile = newest_profile(engine, address, fixed)
            out_peers = engine.top(f"src_addr:{q}", fixed, by=["dst_addr"], metric="bytes", limit=10)
            in_peers = engine.top(f"dst_addr:{q}", fixed, by=["src_addr"], metric="bytes", limit=10)
            out_ports = engine.top(f"src_addr:{q}", fixed, by=["dst_port", "protocol"], metric="flows", limit=10)
            in_ports = engine.top(f"dst_addr:{q}", fixed, by=["dst_port", "protocol"], metric="flows", limit=10)
            hist = engine.histogram(either, whole, buckets=buckets, now=now)
            flows = engine.search(either, fixed, fields=list(flow_fields), limit=ADDRESS_FLOWS, order="-timestamp")
        peers = [{"direction": "→", "peer": r["dst_addr"], **_metrics(r)} for r in out_peers if not r["other"]]
        peers += [{"direction": "←", "peer": r["src_addr"], **_metrics(r)} for r in in_peers if not r["other"]]
        peers.sort(key=lambda r: (-r["bytes"], -r["flows"], str(r["peer"])))
        ports = [{"direction": "→", **_port(r)} for r in out_ports if not r["other"]]
        ports += [{"direction": "←", **_port(r)} for r in in_ports if not r["other"]]
        ports.sort(key=lambda r: (-r["flows"], -r["bytes"], r["dst_port"] if r["dst_port"] is not None else -1))
        rate, width = _rate(hist, "bytes", now)
        return AddressInfo(
            address=address,
            profile=profile,
            seen=bool(flows),
            peers=peers[:10],
            ports=ports[:10],
            rate=rate,
            bucket_seconds=width,
            flows=flows,
            flow_fields=list(flow_fields),
        )

    # --- CloudTrail: the @cloudtrail scope of the query bar, an address's calls, an event's page ---
    def trail_validate(self, text: str) -> QueryError | None:
        return trail_data.validate(text)

    def trail_page(
        self,
        text: str,
        window: TimeWindow,
        order: tuple[str, bool],
        offset: int,
        total: int | None,
        upto_id: int | None = None,  # flows only: CloudTrail events carry no such bound yet
    ) -> Page:
        fixed = pinned(window, self.now())
        with self.lane("interactive") as lane:
            if total is None:
                total = trail_data.count(lane.store, lane.engine, text, fixed)
            rows = trail_data.page_rows(lane.store, lane.engine, text, fixed, order, offset, PAGE_SIZE)
        return Page(text, rows, trail_data.query_columns(text), offset, total, order, trail_data.named(text), fixed)

    def trail_completions(self, text: str, cursor: int) -> list[Suggestion]:
        with self.lane("complete") as lane:
            found = trail_data.complete(lane.store, text, cursor)
        return [Suggestion(c.text, c.start, c.end, c.text, c.kind, "" if c.kind == "field" else c.kind) for c in found]

    def trail_calls(self, address: str, window: TimeWindow) -> list[dict[str, Any]]:
        """The CloudTrail calls made from ``address`` in ``window``, newest first."""
        with self.lane("interactive") as lane:
            return trail_data.calls_from(lane.store, lane.engine, address, pinned(window, self.now()))

    def trail_event(self, event_id: str) -> trail_data.TrailEvent | None:
        with self.lane("interactive") as lane:
            page = trail_data.event_page(lane.store, lane.engine, event_id)
            if page is not None and page.address is not None:
                page.label = profile_label(newest_profile(lane.engine, page.address, TimeWindow(None, page.around.end)))
            return page


def named_fields(query: str) -> tuple[str, ...]:
    try:
        return tuple(compile_query(query).fields)
    except QueryError:
        return ()


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    return {"flows": row.get("flows"), "bytes": row.get("bytes"), "packets": row.get("packets")}


def _port(row: dict[str, Any]) -> dict[str, Any]:
    return {"dst_port": row.get("dst_port"), "protocol": row.get("protocol"), **_metrics(row)}


def _rate(hist: list[dict[str, Any]], metric: str, now: float) -> tuple[list[float], float]:
    """The metric per bucket, oldest first, up to the last bucket that ended by ``now``.

    The bucket ``now`` falls in is left out: it holds a few seconds of flows
    (fewer still, as records arrive after their flows end), and drawn it would
    read as traffic that just stopped.
    """
    complete = [b for b in hist if b["end"] <= now]
    if not complete:
        return [], float(hist[0]["end"] - hist[0]["start"]) if hist else 0.0
    width = float(complete[0]["end"] - complete[0]["start"])
    return [float(b[metric]) for b in complete], width


def newest_profile(engine: QueryEngine, address: str, window: TimeWindow) -> dict[str, Any]:
    """Who ``address`` is (enrichment suffix → value) by its newest flow in ``window``, on
    either side of it: the address page's card and the CloudTrail page's label both say this."""
    newest: tuple[int, dict[str, Any]] | None = None
    for side in ("src_addr", "dst_addr"):
        names = ["timestamp", *(f"{side}_{s}" for s in _SUFFIXES)]
        got = engine.search(f"{side}:{quote(address)}", window, fields=names, limit=1, order="-timestamp")
        if got and (newest is None or got[0]["timestamp"] > newest[0]):
            newest = (got[0]["timestamp"], {s: got[0].get(f"{side}_{s}") for s in _SUFFIXES})
    return newest[1] if newest else {}


def _pane_rows(spec: PaneSpec, top: list[dict[str, Any]]) -> list[PaneRow]:
    """Rows of ``top`` merged by the pane's own fields (an address with two profiles is one row)."""
    merged: dict[str, PaneRow] = {}
    for row in top:
        values = tuple(row.get("group", row).get(name) for name in spec.by)  # `by` may name a metric
        other = bool(row.get("other"))
        key = OTHER if other else "\x1f".join("" if v is None else str(v) for v in values)
        ips = [is_ip(name) for name in spec.by]
        threats = tuple(ip and bool(row.get(f"{name}_threat_indicated")) for name, ip in zip(spec.by, ips))
        labels = tuple(address_label(row, name) if ip else "" for name, ip in zip(spec.by, ips))
        new = PaneRow(
            key, values, int(row.get("flows") or 0), int(row.get("bytes") or 0), int(row.get("packets") or 0),
            other, () if other else threats, () if other else labels,
        )
        old = merged.get(key)
        if old is not None:
            new = PaneRow(
                key, values, old.flows + new.flows, old.bytes + new.bytes, old.packets + new.packets, other,
                tuple(a or b for a, b in zip(old.threats, new.threats)), old.labels,
            )
        merged[key] = new
    rows = [r for r in merged.values() if not r.other]
    rows.sort(key=lambda r: (-getattr(r, spec.metric), -r.flows))
    if OTHER in merged:
        rows.append(merged[OTHER])
    return rows


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One completion: replace ``text[start:end]`` with ``insert``."""

    insert: str
    start: int
    end: int
    label: str
    kind: str  # field, value, operator
    detail: str = ""


def _detail(c: Completion) -> str:
    if c.kind == "field":
        f = catalog.BY_NAME.get(c.text.rstrip(":"))
        return f.type if f is not None else ""
    return c.kind
