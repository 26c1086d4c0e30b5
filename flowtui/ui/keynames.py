"""Whether a ``[ui.keys]`` value names keys Textual can deliver: a typo there would bind a key
that is never pressed (``ctrl+qq+zz``) and leave the action without one."""

from __future__ import annotations

import difflib
from functools import cache

from textual.keys import KEY_ALIASES, KEY_NAME_REPLACEMENTS, Keys, key_to_character

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


@cache
def key_names() -> frozenset[str]:
    """The names of keys without modifiers: Textual's named keys and printable characters' names."""
    named = {k.value.rpartition("+")[2] for k in Keys if not k.value.startswith("<")}
    return frozenset(named | set(KEY_NAME_REPLACEMENTS.values()) | set(KEY_ALIASES))


def key_problem(keys: str) -> str | None:
    """Why ``keys`` ('ctrl+q', 'q,escape') is not a list of keys, with the closest name; None when it is."""
    for key in keys.split(","):
        key = key.strip()
        if not key:
            return f"{keys!r} has an empty key"
        *modifiers, name = key.split("+") if key != "+" else ["+"]
        for modifier in modifiers:
            if modifier not in MODIFIERS:
                return f"{modifier!r} in {key!r} is not a modifier ({', '.join(MODIFIERS)})" + _closest(modifier, MODIFIERS)
        if not _is_key(name):
            # A doubled letter ('qq') was most likely meant as the letter.
            return f"{name!r} in {key!r} is not a key name" + _closest(name, [*sorted(key_names()), *set(name)])
    return None


def _is_key(name: str) -> bool:
    return len(name) == 1 or name in key_names() or key_to_character(name) is not None


def _closest(name: str, known: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""
