"""Spreadsheet-safe CSV cells (OWASP "CSV injection"): pure.

Every CSV the project writes (coverage report tables, the matching run's files)
carries names typed by district staff or imported from other systems. A cell
that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as
a formula by Excel, LibreOffice and WPS when the file is opened; so, following
OWASP's rule, such a text cell is written with a leading single quote, which the
spreadsheet shows as plain text. The full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20) are
treated the same: CJK input methods type them and some spreadsheets read them as
the ASCII operators. Numbers are left alone (a negative number is data, not a
formula); the quoting of separators and quotes is ``csv``'s job.

``restore`` undoes ``neutralise`` for a reader of our own files, so writing and
reading back round-trips.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["TRIGGERS", "SafeWriter", "neutralise", "restore", "safe_writer"]

#: First characters that make a spreadsheet evaluate a cell.
TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would execute."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def restore(text: str) -> str:
    """The inverse of ``neutralise`` on a cell read back from a file we wrote."""
    if text.startswith("'") and text[1:].startswith(TRIGGERS):
        return text[1:]
    return text


class _Writable(Protocol):
    def write(self, s: str, /) -> int: ...


class SafeWriter:
    """``csv.writer`` whose rows go through ``neutralise`` cell by cell."""

    def __init__(self, handle: _Writable, **kwargs: Any) -> None:
        self._writer = csv.writer(handle, **kwargs)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(handle: _Writable, **kwargs: Any) -> SafeWriter:
    """A spreadsheet-safe ``csv.writer`` (see the module docstring)."""
    return SafeWriter(handle, **kwargs)
