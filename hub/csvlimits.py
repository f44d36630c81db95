"""Bounds of an uploaded CSV file, checked before any real parsing: pure.

A registry or matching CSV comes from a spreadsheet or from anyone holding the
admin key; one with 200,000 header columns once froze the hub for 8 minutes (a
quadratic duplicate-column check on the event loop). ``check_csv_shape`` walks
the text once, linear whatever its shape, and refuses too many columns or rows
or an oversized field with ``CsvLimitExceeded`` (its ``limit`` names which).
The caller runs it, and the parser after it, in a worker thread.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

__all__ = ["CsvLimitExceeded", "CsvLimits", "check_csv_shape"]


@dataclass(frozen=True, kw_only=True)
class CsvLimits:
    """Bounds of one uploaded CSV file."""

    max_bytes: int = 16 * 1024 * 1024
    max_columns: int = 64
    max_rows: int = 100_000


class CsvLimitExceeded(ValueError):
    """A CSV file over one of its limits (``limit``: csv_bytes, csv_columns, ...)."""

    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(detail)
        self.limit = limit
        self.detail = detail


def check_csv_shape(text: str, limits: CsvLimits) -> None:
    """Raise ``CsvLimitExceeded`` if ``text`` is over a limit; malformations pass
    (the parser reports those with their line).

    ``csv`` caps a single field at 128 KiB by default (an error here, not memory)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise CsvLimitExceeded("csv_bytes", f"{size} bytes; the limit is {limits.max_bytes}")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    rows = 0
    try:
        for record in reader:
            if len(record) > limits.max_columns:
                raise CsvLimitExceeded(
                    "csv_columns",
                    f"line {reader.line_num} has {len(record)} columns; "
                    f"the limit is {limits.max_columns}",
                )
            rows += 1
            if rows > limits.max_rows + 1:  # + the header line
                raise CsvLimitExceeded("csv_rows", f"more than {limits.max_rows} rows")
    except csv.Error as exc:
        if "field larger than" in str(exc):
            raise CsvLimitExceeded("csv_field", f"line {reader.line_num}: {exc}") from None
