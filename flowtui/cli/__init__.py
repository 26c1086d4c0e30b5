"""The command line: ``flowtui [COMMAND] …``.

Each command lives in its own module with a ``register(subparsers)`` function
that adds its parser and sets ``run``. User errors (FlowtuiError) become one
line on stderr and exit status 1 or 2, as does an sqlite3.DatabaseError (a
damaged file, or one changed under a reader); anything else is a bug.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sqlite3
import sys
from collections.abc import Sequence

from flowtui import __version__
from flowtui.errors import FlowtuiError

# Modules under flowtui.cli, in the order --help lists them.
COMMANDS: tuple[str, ...] = ("dashboard", "demo", "tail", "setup", "ingest", "dead_letters", "query", "top", "alerts", "threat", "fields", "config")


# A query term negated as Graylog users write it: -action:ACCEPT, -"a phrase", -(a OR b). No
# option of flowtui has a ':' or begins with '"' or '(', so such a word is a query's, never a flag.
NEGATED_TERM = re.compile(r'-(?:[A-Za-z_][\w.]*:|["(])')
# A bare word negated (-ssh) could be a mistyped flag (-limit): refused, with the way to say it.
NEGATED_WORD = re.compile(r"-[A-Za-z_][\w.]*")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"flowtui: error: {message}\n")

    def takes_query(self) -> bool:
        """The command has a QUERY positional (query, top)."""
        return any(a.dest == "query" and not a.option_strings for a in self._actions)

    def _parse_optional(self, arg_string: str) -> tuple[argparse.Action | None, str, str | None] | None:
        # argparse's hook that tells a flag from a positional (None: a positional): a negated
        # term is a word of the query, in its place among the others (``flowtui query --all
        # '-action:ACCEPT'`` was 'unrecognized arguments').
        if NEGATED_TERM.match(arg_string) and self.takes_query():
            return None
        return super()._parse_optional(arg_string)


def unrecognized(parser: argparse.ArgumentParser, extra: Sequence[str]) -> str:
    """argparse's complaint, with how to negate a word of a query where one looks meant."""
    message = f"unrecognized arguments: {' '.join(extra)}"
    word = next((e for e in extra if NEGATED_WORD.fullmatch(e)), None)
    if word is not None and isinstance(parser, _Parser) and parser.takes_query():
        message += f" (to negate, put the query after --: {parser.prog} … -- '{word}')"
    return message


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flowtui", description="AWS VPC Flow Logs in your terminal.")
    parser.add_argument("--version", action="version", version=f"flowtui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"flowtui.cli.{name}").register(sub, parser)
    return parser


# Options whose value may begin with '-' (--sort -bytes, --start -2h). argparse takes such a
# value for an option of its own and fails with "expected one argument"; written as one
# word (--sort=-bytes) it is read as meant, so that is what they are turned into.
DASH_VALUE_OPTIONS: frozenset[str] = frozenset(("--sort", "--start"))


def join_dash_values(argv: Sequence[str]) -> list[str]:
    """``--sort -bytes`` → ``--sort=-bytes`` (up to a ``--``, after which all are positional)."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--":
            out.append(arg)
            out.extend(args)
            break
        if arg in DASH_VALUE_OPTIONS:
            value = next(args, None)
            if value is not None and value.startswith("-") and not value.startswith("--"):
                out.append(f"{arg}={value}")
                continue
            out.append(arg)
            if value is not None:
                out.append(value)
            continue
        out.append(arg)
    return out


def command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub)command ``args`` were parsed for: ``flowtui alerts list`` → alerts list's."""
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        name = getattr(args, subs[0].dest, None) if subs else None
        if not subs or name not in subs[0].choices:
            return parser
        parser = subs[0].choices[name]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C at any moment, the imports of the first half second included, exits 130 quietly."""
    args: argparse.Namespace | None = None
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(join_dash_values(sys.argv[1:] if argv is None else argv))
        if extra:  # said by the command's parser, with its usage (argparse would give the top-level one)
            command = command_parser(parser, args)
            command.error(unrecognized(command, extra))
        run = getattr(args, "run", None)
        if run is None:  # no command: the dashboard
            run = getattr(args, "run_default", None)
            if run is None:
                parser.print_help()
                return 0
        return int(run(args) or 0)
    except FlowtuiError as exc:
        print(f"flowtui: {exc}", file=sys.stderr)
        return exc.exit_code
    except sqlite3.DatabaseError as exc:  # one the store's own checks did not turn into a sentence
        print(f"flowtui: the store could not be read ({exc}); run the command again, and if it fails alike the file is damaged", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args is not None and getattr(args, "command", None) == "ingest":
            from flowtui.cli.common import written  # imported by then: ingest opened its store through it

            print(f"flowtui: interrupted: {written.summary()}; the same command again goes on where this one stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
