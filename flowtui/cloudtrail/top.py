"""Top-N over CloudTrail events: who calls what, most often first (``flowtui top --source cloudtrail``).

Events have no bytes or packets: a group is ranked by how many events it
holds. A field that holds a list (``resources.ARN``, ``resources.type``)
groups by each of its items, as a terms aggregation does in Graylog: an event
naming two resources counts in both groups, and one naming none falls in the
group of no value. SQLite groups, ranks and cuts; ties are broken by the
values as text, so the order never depends on how rows were stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowtui.cloudtrail import fields, table
from flowtui.cloudtrail.search import Row, TrailSearch, check_fields
from flowtui.errors import UsageError
from flowtui.query.window import TimeWindow

METRIC = "events"  # what a CloudTrail group is ranked by (and its column)


def top(search: TrailSearch, query: str, window: TimeWindow | None, by: Sequence[str], limit: int = 10) -> list[Row]:
    """The ``limit`` groups of ``by`` with the most matching events, then one ``other`` row for the rest.

    Rows hold the group's values under the documented names of ``by``, then
    ``events`` and ``other`` (True only for the last row, left out when
    nothing remains), and ``group``, mapping each name to its value as flow rows
    do (``flowtui top``'s JSON has one shape for both sources). A store without
    CloudTrail events has no groups.
    """
    names = check_fields(by)
    if not names:
        raise UsageError("--by needs at least one field")
    names = list(dict.fromkeys(names))  # a field named twice (by two of its names) is one key
    where, params = search._where(query, window)  # a bad query is an error even with no table
    limit = max(0, limit)
    keys, joins = _keys(names)
    cols = ", ".join(f"k{i}" for i in range(len(keys)))
    ties = ", ".join(f"k{i} IS NULL, CAST(k{i} AS TEXT)" for i in range(len(keys)))
    grouped = (
        f"SELECT {', '.join(f'{k} AS k{i}' for i, k in enumerate(keys))}, count(*) AS n "
        f"FROM {table.TABLE} f{joins} WHERE {where} GROUP BY {cols}"
    )
    sql = f"SELECT {cols}, n, count(*) OVER (), sum(n) OVER () FROM ({grouped}) ORDER BY n DESC, {ties} LIMIT ?"
    # One read (Store.reading, under the engine's time limit): whether the table is there and what it
    # holds are judged together, as TrailSearch.count does, on a store read without locks too.
    with search.engine._session():
        if not search.available():
            return []
        got = search.store.conn.execute(sql, [*params, limit or 1]).fetchall()
    if not got:
        return []
    groups, total = int(got[0][-2]), int(got[0][-1])
    shown = got[:limit]
    out: list[Row] = []
    for row in shown:
        values = {n: _value(n, v) for n, v in zip(names, row)}
        out.append({**values, METRIC: int(row[len(keys)]), "other": False, "group": dict(values)})
    if groups > len(shown):
        rest: Row = dict.fromkeys(names)
        rest.update({METRIC: total - sum(int(r[len(keys)]) for r in shown), "other": True, "group": dict.fromkeys(names)})
        out.append(rest)
    return out


def _keys(names: Sequence[str]) -> tuple[list[str], str]:
    """The SQL of each key, and the joins that spread list fields into one row per item."""
    keys: list[str] = []
    joins = ""
    for i, name in enumerate(names):
        f = fields.BY_NAME[name]
        if f.each:
            # LEFT JOIN: an event whose list is empty or missing keeps one row, with no value.
            joins += f' LEFT JOIN json_each(f."{f.column}") j{i}'
            keys.append(f"j{i}.value")
        else:
            keys.append(f'f."{f.column}"')
    return keys, joins


def _value(name: str, value: Any) -> Any:
    """A key as output shows it: as stored, but a bool as a bool (a list field's key is one item already)."""
    if fields.BY_NAME[name].type == "bool" and value is not None:
        return bool(value)
    return value
