"""What the dashboard reads about CloudTrail: the cloudtrail scope's pages, an address's calls, an event's page.

Plain functions over a store and its engine (a DataSource lane), so the
screens stay thin and the CLI-tested core does the searching.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from flowtui.cloudtrail import fields
from flowtui.cloudtrail.search import AROUND_SECONDS, TrailSearch, columns_for, recent_values, split_scope
from flowtui.errors import QueryError
from flowtui.query.compiler import compile_query
from flowtui.query.complete import completions
from flowtui.query.engine import QueryEngine
from flowtui.query.window import TimeWindow
from flowtui.store import Store
from flowtui.ui.columns import FLOW_FIELDS
from flowtui.ui.terms import order_text, quote

EVENT_FLOWS = 200  # the flows an event page lists: half before the call, half from it on
CALLS = 200


@dataclass(slots=True)
class TrailEvent:
    """One CloudTrail event and the flows of its source address around its time."""

    event: dict[str, Any]  # documented names → values, plus "user" and "record" (the whole record)
    around: TimeWindow  # the flows' window: the event's time ± AROUND_SECONDS
    flows: list[dict[str, Any]] = field(default_factory=list)  # oldest first, the ones nearest the call
    total: int = 0  # the source's flows in ``around``: ``flows`` is all of them or the nearest EVENT_FLOWS
    first_after: int = 0  # index in ``flows`` of the first flow at or after the call (len(flows): none)
    address: str | None = None  # the source address, when it is one (not a service name)
    label: str = ""  # who the source address is, as the panes say it ('spamhaus · RU Neva …', 'web-1')


def is_trail_query(text: str) -> bool:
    return split_scope(text)[0] == "cloudtrail"


def validate(text: str) -> QueryError | None:
    """The error in a ``@cloudtrail …`` query, its position in the whole text."""
    _, query, offset = split_scope(text)
    try:
        compile_query(query, None, fields.SCOPE)
    except QueryError as exc:
        return QueryError(exc.message, exc.start + offset, exc.end + offset, text)
    return None


def query_columns(text: str) -> list[str]:
    return columns_for(split_scope(text)[1])


def page_rows(
    store: Store, engine: QueryEngine, text: str, window: TimeWindow, order: tuple[str, bool], offset: int, limit: int
) -> list[dict[str, Any]]:
    query = split_scope(text)[1].strip() or "*"
    search = TrailSearch(store, engine=engine)
    return search.search(query, window, query_columns(text), limit=limit, order=order_text(order), with_id=True, offset=offset)


def count(store: Store, engine: QueryEngine, text: str, window: TimeWindow) -> int:
    return TrailSearch(store, engine=engine).count(split_scope(text)[1].strip() or "*", window)


def named(text: str) -> tuple[str, ...]:
    try:
        return compile_query(split_scope(text)[1], None, fields.SCOPE).fields
    except QueryError:
        return ()


def complete(store: Store, text: str, cursor: int, limit: int = 20) -> list[Any]:
    """Completions inside a ``@cloudtrail …`` query (field names and recent values), in the whole text's offsets."""
    _, query, offset = split_scope(text)
    if cursor < offset:
        return []
    found = completions(
        query, cursor - offset, store, limit, fields.names(), lambda name: recent_values(store, name)
    )
    return [type(c)(c.text, c.start + offset, c.end + offset, c.kind) for c in found]


def calls_from(store: Store, engine: QueryEngine, address: str, window: TimeWindow) -> list[dict[str, Any]]:
    return TrailSearch(store, engine=engine).from_address(address, window, limit=CALLS)


def event_page(store: Store, engine: QueryEngine, event_id: str, around: int = AROUND_SECONDS) -> TrailEvent | None:
    event = TrailSearch(store, engine=engine).event(event_id)
    if event is None:
        return None
    t = int(event["eventTime"])
    window = TimeWindow(t - around, t + around + 1)
    source = event.get("sourceIPAddress")
    out = TrailEvent(event, window)
    if source and is_address(source):
        out.address = source
        q = quote(source)
        query = f"src_addr:{q} OR dst_addr:{q}"
        out.total = engine.count(query, window)
        out.flows, out.first_after = nearest_flows(engine, query, window, t, EVENT_FLOWS)
    return out


def nearest_flows(
    engine: QueryEngine, query: str, around: TimeWindow, t: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The ``limit`` flows of ``around`` nearest the time ``t``, oldest first, and the index of
    the first one at or after ``t``.

    Half before ``t`` and half from it on; when one side has fewer, the other
    gives more. Not the newest of the window: those are minutes after the call,
    and the flows the call is about would be cut off when the window is busy.
    """
    assert around.start is not None and around.end is not None
    fields = list(FLOW_FIELDS)
    before = engine.search(query, TimeWindow(around.start, t), fields=fields, limit=limit, order="-timestamp")
    after = engine.search(query, TimeWindow(t, around.end), fields=fields, limit=limit, order="timestamp")
    take_before = min(len(before), max(limit // 2, limit - len(after)))
    take_after = min(len(after), limit - take_before)
    before = before[:take_before][::-1]
    return before + after[:take_after], len(before)


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True

