"""The threat-list ids a store knows, and the check that a query names only those.

``X_threat_indicated_<id>:true`` or ``X_threat_indicated_by:<id>`` with an id no
list has would match nothing without a word: a typo (``spamhaus_dropp``) looks
like a quiet network. The CLI, the alert rules and the dashboard's query bar all
ask here, so the same query is refused the same way everywhere.

The ids known are the config's ``[[threat.lists]]`` and those the store's
addresses were listed by (a demo store's lists, a store filled under another
config), read from the store's few enrichment profiles, not from every address.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from flowtui.config import Config
from flowtui.query.compiler import CompiledQuery, compile_query

if TYPE_CHECKING:
    from flowtui.store import Store


def configured_threat_lists(config: Config) -> frozenset[str]:
    """The ids of the config's ``[[threat.lists]]`` (a ConfigError for a bad ``[threat]``)."""
    from flowtui.enrich.threat import ThreatSettings  # not at import: flowtui.enrich loads the enrichers

    return frozenset(spec.id for spec in ThreatSettings.from_config(config).lists)


def stored_threat_lists(store: Store) -> frozenset[str]:
    """The ids the store's addresses were listed by: a few dozen profile rows, ~0.3 ms."""
    rows = store.conn.execute(
        "SELECT DISTINCT threat_indicated_by FROM profiles WHERE coalesce(threat_indicated_by, '') <> ''"
    )
    return frozenset(list_id for (ids,) in rows for list_id in ids.split(",") if list_id)


def known_threat_lists(config: Config, store: Store | None = None) -> frozenset[str]:
    """The ids a query may name: the config's lists, and the store's when there is one."""
    known = configured_threat_lists(config)
    return known if store is None else known | stored_threat_lists(store)


def check_threat_lists(text: str, known: Callable[[], Collection[str]]) -> CompiledQuery:
    """``text`` compiled; a QueryError (at the id, with a did-you-mean) when it names a list
    ``known()`` does not have. ``known`` is called only for a query that names a list, so a
    query that names none costs no read of the config or the store."""
    compiled = compile_query(text)
    if compiled.lists and not set(compiled.lists) <= set(ids := known()):
        compile_query(text, threat_lists=ids)  # raises at the first unknown id
    return compiled
