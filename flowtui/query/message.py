"""Bare terms: searching the summary line without building it for every flow.

Graylog's ``message`` is an analysed text field, so a bare term matches one
word of ``eni-3244234 ACCEPT TCP 172.1.1.2:80 -> 172.1.1.2:2264`` ignoring
case. The line is made of a few columns, so a term becomes an OR over the
columns it could be: an address, a port, a protocol keyword, or the interface,
action or log status. Only a phrase of several words needs the line itself,
rebuilt by the ``flowtui_message`` SQL function.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from flowtui import protocols, schema
from flowtui.query import values
from flowtui.query.conditions import FALSE, Cond, lookup, or_, sql

# The parts of the summary line, in flow_message's argument order.
MESSAGE_FIELDS = ("interface_id", "action", "protocol_number", "src_addr", "src_port", "dst_addr", "dst_port", "log_status")
_STRINGS = ("interface_id", "action", "log_status")
_ADDRS = ("src_addr", "dst_addr")
_PORTS = ("src_port", "dst_port")
_IP_PORT = re.compile(r"\[?([0-9A-Fa-f:.]+)\]?:(\d{1,5})")
PROTOCOLS = tuple((n, protocols.protocol_name(n) or str(n)) for n in range(256))


def column(name: str) -> str:
    return f'f."{schema.STORAGE[name].column}"'


def protocol_in(numbers: Collection[int]) -> Cond:
    nums = sorted(set(numbers))
    if not nums:
        return FALSE
    if len(nums) == 1:
        return sql('f."protocol_number" = ?', (nums[0],))
    return sql(f'f."protocol_number" IN ({", ".join("?" * len(nums))})', tuple(nums))


def term(text: str) -> Cond:
    """A bare term: equal (ignoring case) to one part of the summary line."""
    key: tuple[int | bytes, ...] | None = None
    try:
        key = values.cidr(text) if "/" in text else (values.address_key(text),)
    except ValueError:
        pass
    if key is not None:
        pred = "ipkey BETWEEN ? AND ?" if len(key) == 2 else "ipkey = ?"
        return or_([lookup(column(name), "addrs", pred, key) for name in _ADDRS])
    m = _IP_PORT.fullmatch(text)
    if m and int(m.group(2)) <= 65535:
        try:
            k = values.address_key(m.group(1))
        except ValueError:
            pass
        else:
            port = int(m.group(2))
            return or_(
                [
                    Cond("and", items=(lookup(column(a), "addrs", "ipkey = ?", (k,)), sql(f"{column(p)} = ?", (port,))))
                    for a, p in zip(_ADDRS, _PORTS)
                ]
            )
    alts: list[Cond] = []
    number = protocols.protocol_number(text)
    if number is not None and number <= 255 and (not text.isdigit() or protocols.protocol_name(number) == text):
        alts.append(protocol_in([number]))  # the line shows the keyword, or the number when there is none
    if text.isascii() and text.isdigit():
        if int(text) <= 65535:
            alts += [sql(f"{column(name)} = ?", (int(text),)) for name in _PORTS]
    else:
        alts += [lookup(column(name), "strings", "value = ? COLLATE NOCASE", (text,)) for name in _STRINGS]
    return or_(alts)


def pattern(like: str | None, regex: str) -> Cond:
    """A bare wildcard (``like`` given) or regular expression, matched to one part, ignoring case."""
    rx = values.compiled("(?i)" + regex)
    alts: list[Cond] = [protocol_in([n for n, name in PROTOCOLS if rx.fullmatch(name)])]
    if like is not None:
        text_pred, param = "{} LIKE ? ESCAPE '\\'", like
    else:
        text_pred, param = "{} REGEXP ?", "(?i)" + regex
    alts += [lookup(column(name), "strings", text_pred.format("value"), (param,)) for name in _STRINGS]
    alts += [lookup(column(name), "addrs", text_pred.format("ip"), (param,)) for name in _ADDRS]
    if like is None or all(c.isdigit() or c in "%_" for c in like):
        alts += [sql(text_pred.format(f"CAST({column(name)} AS TEXT)"), (param,)) for name in _PORTS]
    return or_(alts)


def phrase(text: str) -> Cond:
    """Words in a row; one word is a term. Parts are whole: "10.0.1" does not match 10.0.1.2."""
    words = text.split()
    if len(words) <= 1:
        return term(text.strip())
    body = r"\s+".join(re.escape(w) for w in words)
    args = ", ".join(column(name) for name in MESSAGE_FIELDS)
    return sql(f"flowtui_search(?, flowtui_message({args}))", (rf"(?i)(?<![\w.]){body}(?![\w.])",))
