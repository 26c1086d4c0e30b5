"""Counts in messages: '1 shard', '2 shards', '1,200 flows'.

One place decides the noun's number, so no message says '1 shards' (a
sentence a person reads, or a script matches, must not depend on where
it was written).
"""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and ``noun``, singular for exactly one.

    ``plural`` is for nouns that do not just take an 's' ('entry', 'entries').
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
