"""Exceptions of the matching package.

One root so that callers (the CLI, the API) can catch everything we raise on purpose::

    MatchingError
    ├── InputError      a CSV file is wrong; says which file, line and field
    └── InstanceError   an in-memory instance breaks an invariant (duplicate id,
                        double-booked lead classroom) — the CSV reader turns these
                        into InputError with a line number before they can happen

Exceptions carry their data as attributes and build their message in ``__str__``,
so a caller can both show the message and react to the fields.
"""

from __future__ import annotations

__all__ = ["InputError", "InstanceError", "MatchingError"]


class MatchingError(Exception):
    """Root of every error the matching package raises on purpose."""


class InputError(MatchingError):
    """A CSV input is invalid.

    ``line`` is the 1-based physical line in the file (the header is line 1) and
    ``field`` the column name; either may be ``None`` when the problem is the whole
    file (unreadable) or a whole line (wrong number of fields).
    """

    def __init__(self, file: str, line: int | None, field: str | None, message: str) -> None:
        super().__init__(file, line, field, message)
        self.file = file
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        if self.field is not None:
            where += f", field {self.field}" if self.line is not None else f" field {self.field}"
        return f"{where}: {self.message}"


class InstanceError(MatchingError):
    """An instance built in memory breaks an invariant of the matching problem."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
