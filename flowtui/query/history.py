"""Query history and saved queries, kept in the store's ``queries`` table.

History is what was run, newest first, each text once (running it again
moves it to the top) and bounded; saved queries have a name. Both live in the
store so they travel with it and are shared by the dashboard and the CLI.
Reads go through :meth:`Store.reading`, so a long-lived reader sees what another
process saved since.
"""

from __future__ import annotations

import sqlite3
import time

from flowtui.store import Store, StoreError

HISTORY_KEEP = 1000


class QueryHistory:
    def __init__(self, store: Store, keep: int = HISTORY_KEEP) -> None:
        self.store = store
        self.keep = keep

    def add(self, query: str) -> None:
        """Remember ``query`` as the most recent one."""
        text = query.strip()
        if not text:
            return
        with self._writing():
            self._upsert("history", None, text)
            self.store.conn.execute(
                "DELETE FROM queries WHERE kind = 'history' AND id NOT IN "
                "(SELECT id FROM queries WHERE kind = 'history' ORDER BY used DESC, id DESC LIMIT ?)",
                (self.keep,),
            )

    def recent(self, limit: int = 50, prefix: str = "") -> list[str]:
        """Queries run lately, most recent first, each once; ``prefix`` filters them."""
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT query FROM queries WHERE kind = 'history' AND substr(query, 1, ?) = ? "
                "ORDER BY used DESC, id DESC LIMIT ?",
                (len(prefix), prefix, limit),
            )
            return [q for (q,) in rows]

    def forget(self, query: str) -> bool:
        """Drop one history entry."""
        with self._writing():
            cur = self.store.conn.execute("DELETE FROM queries WHERE kind = 'history' AND query = ?", (query.strip(),))
        return cur.rowcount > 0

    def save(self, name: str, query: str) -> None:
        """Save ``query`` as ``name``, replacing what that name held (a query has one name)."""
        name, text = name.strip(), query.strip()
        if not name or not text:
            raise ValueError("a saved query needs a name and a query")
        with self._writing():
            self.store.conn.execute("DELETE FROM queries WHERE kind = 'saved' AND name = ?", (name,))
            self._upsert("saved", name, text)

    def saved(self) -> list[tuple[str, str]]:
        """(name, query) of every saved query, by name."""
        with self.store.reading() as conn:
            rows = conn.execute("SELECT name, query FROM queries WHERE kind = 'saved' ORDER BY name")
            return [(n, q) for n, q in rows]

    def get(self, name: str) -> str | None:
        with self.store.reading() as conn:
            row = conn.execute("SELECT query FROM queries WHERE kind = 'saved' AND name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def delete(self, name: str) -> bool:
        """Delete the saved query ``name``."""
        with self._writing():
            cur = self.store.conn.execute("DELETE FROM queries WHERE kind = 'saved' AND name = ?", (name,))
        return cur.rowcount > 0

    def _upsert(self, kind: str, name: str | None, text: str) -> None:
        # Strictly increasing, so two queries run within one clock tick keep their order.
        last = self.store.conn.execute("SELECT max(used) FROM queries").fetchone()[0] or 0.0
        used = max(time.time(), last + 1e-6)
        self.store.conn.execute(
            "INSERT INTO queries (kind, name, query, used) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, query) DO UPDATE SET used = excluded.used, name = excluded.name",
            (kind, name, text, used),
        )

    def _writing(self):  # type: ignore[no-untyped-def]
        if self.store.readonly:
            raise StoreError(f"{self.store.path} is open read-only; history cannot be saved")
        try:
            return self.store.transaction()
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot write query history to {self.store.path}: {exc}") from None
