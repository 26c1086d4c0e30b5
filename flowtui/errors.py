"""The errors a user can cause, each turned into one clear sentence by the CLI and UI.

Anything else that escapes is a bug and deserves its traceback.
"""

from __future__ import annotations


class FlowtuiError(Exception):
    """A problem the user can fix: bad file, bad config, bad query, no credentials."""

    exit_code = 1


class UsageError(FlowtuiError):
    """Bad arguments on the command line."""

    exit_code = 2


class ConfigError(FlowtuiError):
    """The configuration file (or a file it names) is missing or wrong."""


class FormatError(FlowtuiError):
    """A flow-log format string that cannot be used."""

    exit_code = 2


class QueryError(FlowtuiError):
    """A query that cannot be compiled; ``start``/``end`` are offsets into the query text."""

    exit_code = 2

    def __init__(self, message: str, start: int = 0, end: int | None = None, query: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = start + 1 if end is None else end
        self.query = query

    def pointer(self) -> str:
        """The query with a caret line under the offending span, for a terminal."""
        width = max(1, self.end - self.start)
        return f"{self.query}\n{' ' * self.start}{'^' * width}"


class SourceError(FlowtuiError):
    """A source (Kinesis, CloudWatch Logs, S3) that cannot be read: no stream, no access."""
