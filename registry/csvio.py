"""CSV rows -> registry models, reporting *every* bad row with its line number.

Why every row, unlike the matching reader which stops at the first: registry files
are typed by district staff in spreadsheets, often hundreds of rows; one run that
lists all the problems saves a dozen round trips. The caller still imports nothing
from a file with any error.

Pure: text in, models and ``RowError`` s out (the command and the API read files or
bodies). Lists inside a cell (``grades``, ``subjects``) are ``;``-separated.
Booleans (``rural``) accept yes/no, true/false, 1/0, y/n. Header = line 1; blank
lines are skipped; a UTF-8 byte-order mark (Excel) is ignored.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any, Final

from pydantic import ValidationError

from protocols.validation import describe_errors
from registry.exceptions import RowError
from registry.models import Entity, Kind, model_of

__all__ = ["COLUMNS", "REQUIRED", "parse"]

COLUMNS: Final[dict[Kind, tuple[str, ...]]] = {
    Kind.SCHOOLS: ("id", "name", "kind", "region", "rural"),
    Kind.CLASSROOMS: ("id", "school", "node", "seats", "grades", "downlink_kbps", "uplink_kbps"),
    Kind.TEACHERS: ("id", "name", "school", "role", "subjects"),
}
REQUIRED: Final[dict[Kind, tuple[str, ...]]] = {
    Kind.SCHOOLS: ("id", "name", "kind"),
    Kind.CLASSROOMS: ("id", "school"),
    Kind.TEACHERS: ("id", "name", "school", "role"),
}
_LISTS: Final = ("grades", "subjects")
_INTS: Final = ("seats", "grades", "downlink_kbps", "uplink_kbps")
_TRUE: Final = {"yes", "y", "true", "1"}
_FALSE: Final = {"no", "n", "false", "0"}


def _number(name: str, text: str) -> int | str:
    """An int when the text is one; else the text, for the model to reject by name."""
    if name not in _INTS:
        return text
    try:
        return int(text)
    except ValueError:
        return text


def _cell(name: str, raw: str) -> Any:
    """Text of one cell -> what the model expects; ``...`` drops an empty optional cell."""
    value = raw.strip()
    if name in _LISTS:
        return [_number(name, part.strip()) for part in value.split(";") if part.strip()]
    if not value:
        return ...
    if name in _INTS:
        return _number(name, value)
    if name == "rural":
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return value


def _messages(exc: ValidationError) -> list[str]:
    return describe_errors(exc.errors(), root="row", skip_indexes=True)


def _header(kind: Kind, header: list[str] | None) -> tuple[list[str], list[RowError]]:
    expected = ",".join(COLUMNS[kind])
    if header is None or not any(cell.strip() for cell in header):
        return [], [RowError(1, f"empty file or blank header; expected {expected}")]
    names = [cell.strip().lstrip("\ufeff").lower() for cell in header]
    errors = [
        RowError(1, f"unknown column {n!r}; expected some of {expected}")
        for n in names
        if n not in COLUMNS[kind]
    ]
    counts = Counter(names)  # linear: a list.count per column was quadratic
    errors += [RowError(1, f"column {n!r} appears twice") for n, c in counts.items() if c > 1]
    errors += [RowError(1, f"missing column {n!r}") for n in REQUIRED[kind] if n not in names]
    return names, errors


def parse(kind: Kind, text: str) -> tuple[list[tuple[int, Entity]], list[RowError]]:
    """``(rows, errors)``: each good row with its line, each bad row's line and reason."""
    model = model_of(kind)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        names, errors = _header(kind, next(reader, None))
        if errors:
            return [], errors
        rows: list[tuple[int, Entity]] = []
        for record in reader:
            line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(names):
                errors.append(
                    RowError(line, f"has {len(record)} fields, the header has {len(names)}")
                )
                continue
            values = {n: _cell(n, raw) for n, raw in zip(names, record, strict=True)}
            try:
                item = model.model_validate({k: v for k, v in values.items() if v is not ...})
            except ValidationError as exc:
                errors.extend(RowError(line, m) for m in _messages(exc))
                continue
            rows.append((line, item))
    except csv.Error as exc:
        return [], [RowError(reader.line_num or None, f"malformed CSV ({exc})")]
    return rows, errors
