"""Query text → luqum tree, with every position in the user's own text.

luqum parses Lucene's classic syntax but leaves three gaps that matter to a
Graylog user, so a small scanner that mirrors luqum's own token rules runs
first:

* ``&&``, ``||`` and ``!`` are rewritten to ``AND``, ``OR`` and ``NOT``;
* IPv6 addresses (``src_addr:2001:db8::/32``) get their colons escaped, since
  Lucene would read the first colon as a field separator;
* unbalanced parentheses, brackets and quotes are found here, where the exact
  character is known, instead of as luqum's "unexpected end of expression".

The rewrite keeps a map from each rewritten character to the original one, so
every tree position (and every error) points into the text the user typed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import luqum.parser as _lp
from luqum.exceptions import ParseError
from luqum.tree import Item

from flowtui import catalog
from flowtui.errors import QueryError

_TERM = re.compile(_lp.TERM_RE, re.VERBOSE)
_PHRASE = re.compile(_lp.PHRASE_RE, re.VERBOSE)
_REGEX = re.compile(_lp.REGEX_RE, re.VERBOSE)
_APPROX = re.compile(_lp.APPROX_RE)
_BOOST = re.compile(_lp.BOOST_RE)
_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"\d+(\.\d*)?|\.\d+")
# An IPv6 address, CIDR block or wildcard: hex groups with at least two colons,
# ending where a term would end.
_IPV6 = re.compile(r"(?=[0-9A-Fa-f*?]*:[0-9A-Fa-f*?]*:)[0-9A-Fa-f:.*?]+(?:/\d{1,3})?(?=[\s()\]}]|$)")
_SIMPLE = {"+": "PLUS", "-": "MINUS", ":": "COLUMN", "(": "LPAREN", ")": "RPAREN"}
_OPERATORS = {"AND", "OR", "NOT", "&&", "||", "!", "+", "-"}

_parse_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # TERM, PHRASE, REGEX, AND, OR, NOT, TO, PLUS, MINUS, COLUMN, LPAREN, RPAREN, LBRACKET, RBRACKET, CMP, APPROX, BOOST
    text: str  # as the user typed it
    start: int  # offsets into the user's text
    end: int
    at: int  # offset of the token in the rewritten text


@dataclass(slots=True)
class Parsed:
    """A luqum tree and the way back from its positions to the user's text."""

    text: str
    tree: Item | None  # None for an empty query
    tokens: list[Token]
    posmap: list[int]  # rewritten offset -> user offset (one extra entry for the end)

    def span(self, item: Item) -> tuple[int, int]:
        """Where ``item`` is in the user's text."""
        start, end = item.span()
        if start is None:
            return 0, len(self.text)
        return self.user(start), self.user(max(start, end - 1)) + 1

    def user(self, offset: int) -> int:
        return self.posmap[min(max(offset, 0), len(self.posmap) - 1)]

    def error(self, message: str, start: int, end: int) -> QueryError:
        return QueryError(message, start, max(end, start + 1), self.text)


def parse(text: str) -> Parsed:
    """Parse ``text``; a QueryError names what is wrong and where."""
    rewritten, posmap, tokens = _scan(text)
    parsed = Parsed(text, None, tokens, posmap)
    if not tokens:
        return parsed
    try:
        with _parse_lock:
            parsed.tree = _lp.parser.parse(rewritten, lexer=_lexer())
    except ParseError as exc:
        raise _explain(parsed, str(exc)) from None
    except (ValueError, ArithmeticError) as exc:  # luqum building a node from odd input
        raise parsed.error(f"cannot read this query: {exc}", 0, len(text)) from None
    return parsed


_thread = threading.local()


def _lexer():  # type: ignore[no-untyped-def]
    lexer = getattr(_thread, "lexer", None)
    if lexer is None:
        lexer = _thread.lexer = _lp.lexer.clone()
    return lexer


# --- the scanner -------------------------------------------------------------------------


class _Out:
    def __init__(self) -> None:
        self.chars: list[str] = []
        self.posmap: list[int] = []

    def put(self, text: str, origin: int, step: bool = True) -> None:
        """Append ``text``; char i maps to origin+i (or to origin alone when not ``step``)."""
        for i, ch in enumerate(text):
            self.chars.append(ch)
            self.posmap.append(origin + i if step else origin)

    @property
    def at(self) -> int:
        return len(self.chars)


def _scan(text: str) -> tuple[str, list[int], list[Token]]:
    out = _Out()
    tokens: list[Token] = []
    parens: list[int] = []
    bracket: int | None = None
    i, n = 0, len(text)

    def error(message: str, start: int, end: int) -> QueryError:
        return QueryError(message, start, max(end, start + 1), text)

    while i < n:
        ch = text[i]
        m = _SPACE.match(text, i)
        if m:
            out.put(m.group(), i)
            i = m.end()
            continue
        at = out.at
        two = text[i : i + 2]
        if two in ("&&", "||"):
            word = "AND" if two == "&&" else "OR"
            out.put(f" {word} ", i, step=False)
            tokens.append(Token(word, two, i, i + 2, at + 1))
            i += 2
            continue
        if ch == "!":
            out.put(" NOT ", i, step=False)
            tokens.append(Token("NOT", "!", i, i + 1, at + 1))
            i += 1
            continue
        after_term = bool(tokens) and tokens[-1].end == i and tokens[-1].kind == "TERM"
        m = None if after_term else _IPV6.match(text, i)
        if m and m.group().split(":", 1)[0] not in catalog.BY_NAME:
            for j, c in enumerate(m.group()):
                if c == ":":
                    out.put("\\", i + j)
                out.put(c, i + j)
            tokens.append(Token("TERM", m.group(), i, m.end(), at))
            i = m.end()
            continue
        m = _TERM.match(text, i)
        if m:
            value = m.group()
            kind = value if value in ("AND", "OR", "NOT", "TO") else "TERM"
            out.put(value, i)
            tokens.append(Token(kind, value, i, m.end(), at))
            i = m.end()
            continue
        if ch in _SIMPLE:
            if ch == "(":
                if bracket is not None:
                    raise error("'(' inside a range", i, i + 1)
                parens.append(i)
            elif ch == ")":
                if not parens:
                    raise error("unbalanced parentheses: this ')' has no '('", i, i + 1)
                if bracket is not None:
                    raise error("range '[' … is not closed", bracket, i)
                parens.pop()
            out.put(ch, i)
            tokens.append(Token(_SIMPLE[ch], ch, i, i + 1, at))
            i += 1
            continue
        if ch in "[{":
            if bracket is not None:
                raise error("a range cannot contain another range", i, i + 1)
            bracket = i
            out.put(ch, i)
            tokens.append(Token("LBRACKET", ch, i, i + 1, at))
            i += 1
            continue
        if ch in "]}":
            if bracket is None:
                raise error(f"unbalanced brackets: this '{ch}' closes no range", i, i + 1)
            bracket = None
            out.put(ch, i)
            tokens.append(Token("RBRACKET", ch, i, i + 1, at))
            i += 1
            continue
        if ch in "<>":
            j = i + 2 if text[i + 1 : i + 2] == "=" else i + 1
            out.put(text[i:j], i)
            tokens.append(Token("CMP", text[i:j], i, j, at))
            i = j
            continue
        if ch == '"':
            m = _PHRASE.match(text, i)
            if not m:
                raise error('unterminated phrase: this \'"\' is never closed', i, n)
            kind = "PHRASE"
        elif ch == "/":
            m = _REGEX.match(text, i)
            if not m:
                raise error("unterminated regular expression: this '/' is never closed", i, n)
            kind = "REGEX"
        elif ch in "~^":
            m = (_APPROX if ch == "~" else _BOOST).match(text, i)
            kind = "APPROX" if ch == "~" else "BOOST"
            if m and m.group(1) is not None and not _NUMBER.fullmatch(m.group(1)):
                raise error(f"'{ch}' takes a number, e.g. {ch}2", i, m.end())
        else:
            m = None
            kind = ""
        if m is None:
            if ch == "\\":
                what = "'\\' at the end escapes nothing"
            elif ch == "'":
                what = "unexpected \"'\": use double quotes for phrases"
            else:
                what = f"unexpected character {ch!r}"
            raise error(what, i, i + 1)
        out.put(m.group(), i)
        tokens.append(Token(kind, m.group(), i, m.end(), at))
        i = m.end()
    if bracket is not None:
        raise error("range is not closed: add ']' or '}'", bracket, n)
    if parens:
        raise error("unbalanced parentheses: this '(' is never closed", parens[-1], parens[-1] + 1)
    out.posmap.append(n)
    return "".join(out.chars), out.posmap, tokens


# --- explaining luqum's errors -----------------------------------------------------------

_AT = re.compile(r"at position (\d+)")


def _explain(parsed: Parsed, message: str) -> QueryError:
    tokens = parsed.tokens
    m = _AT.search(message)
    if m is None:  # the text ended too early: blame the last token
        index = len(tokens) - 1
    else:
        at = int(m.group(1))
        index = next((k for k, t in enumerate(tokens) if t.at >= at), len(tokens) - 1)
    tok = tokens[index]
    prev = tokens[index - 1] if index > 0 else None
    inside_range = _inside_range(tokens, index)
    if inside_range is not None:
        start, end = inside_range
        return parsed.error("bad range: write [low TO high], {low TO high} or * for an open end", start, end)
    if m is None:
        if tok.kind in ("AND", "OR", "NOT", "PLUS", "MINUS"):
            return parsed.error(f"'{tok.text}' must be followed by a term", tok.start, tok.end)
        if tok.kind == "COLUMN":
            start = prev.start if prev is not None else tok.start
            return parsed.error("a field needs a value after ':'", start, tok.end)
        if tok.kind == "CMP":
            return parsed.error(f"'{tok.text}' needs a value", tok.start, tok.end)
        return parsed.error("the query ends too early", tok.start, tok.end)
    if tok.kind in ("AND", "OR"):
        if prev is None or prev.kind in ("AND", "OR", "NOT", "LPAREN", "PLUS", "MINUS", "COLUMN"):
            return parsed.error(f"'{tok.text}' needs a term on its left", tok.start, tok.end)
        return parsed.error(f"'{tok.text}' must stand between two terms", tok.start, tok.end)
    if tok.kind == "RPAREN" and prev is not None and prev.kind == "LPAREN":
        return parsed.error("empty parentheses", prev.start, tok.end)
    if tok.kind == "RPAREN" and prev is not None and prev.text in _OPERATORS:
        return parsed.error(f"'{prev.text}' must be followed by a term", prev.start, prev.end)
    if tok.kind == "COLUMN":
        return parsed.error("':' must follow a field name", tok.start, tok.end)
    return parsed.error(f"unexpected {tok.text!r}", tok.start, tok.end)


def _inside_range(tokens: list[Token], index: int) -> tuple[int, int] | None:
    """The span of the range around token ``index``, if it is inside one."""
    for k in range(index, -1, -1):
        kind = tokens[k].kind
        if kind == "LBRACKET":
            end = next((t.end for t in tokens[k:] if t.kind == "RBRACKET"), tokens[-1].end)
            return tokens[k].start, end
        if kind == "RBRACKET" and k != index:
            return None
    return None
