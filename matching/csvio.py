"""Reading (and writing) the three CSV files of a matching run.

The only module of the package that touches files. Why so strict: an operator
uploads these files from spreadsheets; a silently skipped row is a classroom that
never gets its lesson. Every row is validated and the first problem stops the import
with an ``InputError`` naming file, line (the header is line 1) and field — nothing
is returned from a file with an error. A UTF-8 byte-order mark (Excel) is stripped.

Normalisation: surrounding spaces are stripped everywhere; ``subject`` and ``slot``
are lower-cased, so "English" and "english", "Mon-09:00" and "mon-09:00" match.
A slot is ``day-HH:MM`` with day one of mon..sun.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, TypeVar

from matching.exceptions import InputError
from matching.models import Instance, Offer, Pair, Request
from protocols.csvsafe import restore, safe_writer

__all__ = [
    "OFFER_FIELDS",
    "PAIR_FIELDS",
    "REQUEST_FIELDS",
    "read_instance",
    "read_offers",
    "read_pairs",
    "read_requests",
    "write_instance",
]

OFFER_FIELDS: Final = (
    "offer_id",
    "lead_school",
    "lead_classroom",
    "teacher",
    "subject",
    "grade",
    "slot",
    "capacity",
    "bitrate_kbps",
)
REQUEST_FIELDS: Final = (
    "request_id",
    "partner_school",
    "partner_classroom",
    "subject",
    "grade",
    "slots",
    "downlink_kbps",
    "priority",
)
PAIR_FIELDS: Final = ("lead_school", "partner_school")

SLOT_RE: Final = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)-([01]\d|2[0-3]):[0-5]\d$")
MAX_KBPS: Final = 10_000_000

T = TypeVar("T")


class _Row:
    """One CSV record with the file and line, so every check can say where it failed."""

    def __init__(self, file: str, line: int, values: dict[str, str]) -> None:
        self.file = file
        self.line = line
        self.values = values

    def error(self, field: str | None, message: str) -> InputError:
        return InputError(self.file, self.line, field, message)

    def text(self, field: str) -> str:
        # a cell our own writer neutralised for spreadsheets reads back as typed
        value = restore(self.values[field].strip())
        if not value:
            raise self.error(field, "must not be empty")
        return value

    def integer(self, field: str, low: int, high: int) -> int:
        raw = self.text(field)
        try:
            value = int(raw)
        except ValueError:
            raise self.error(field, f"must be an integer, got {raw!r}") from None
        if not low <= value <= high:
            bounds = f">= {low}" if high >= MAX_KBPS else f"in {low}..{high}"
            raise self.error(field, f"must be an integer {bounds}, got {value}")
        return value

    def slot(self, field: str, raw: str) -> str:
        value = raw.strip().lower()
        if not SLOT_RE.match(value):
            raise self.error(field, f"slot must look like mon-09:00 (mon..sun-HH:MM), got {raw!r}")
        return value


def _rows(path: Path, fields: tuple[str, ...]) -> Iterator[_Row]:
    """Validated header, then one ``_Row`` per non-blank record."""
    file = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                raise InputError(
                    file, 1, None, f"empty file or blank header; expected {','.join(fields)}"
                )
            names = [name.strip() for name in header]
            for name in names:
                if name not in fields:
                    raise InputError(
                        file, 1, name or "(blank)", f"unknown column; expected {','.join(fields)}"
                    )
                if names.count(name) > 1:
                    raise InputError(file, 1, name, "column appears twice")
            for name in fields:
                if name not in names:
                    raise InputError(file, 1, name, "missing column")
            for record in reader:
                if not record or all(not cell.strip() for cell in record):
                    continue
                if len(record) != len(names):
                    raise InputError(
                        file,
                        reader.line_num,
                        None,
                        f"has {len(record)} fields, the header has {len(names)}",
                    )
                yield _Row(file, reader.line_num, dict(zip(names, record, strict=True)))
    except UnicodeDecodeError as exc:
        raise InputError(file, None, None, f"not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise InputError(file, None, None, f"malformed CSV ({exc})") from None
    except OSError as exc:
        raise InputError(file, None, None, f"cannot read ({exc.strerror or exc})") from None


def _unique(
    rows: Iterator[_Row], parse: Callable[[_Row], T], key: Callable[[T], str], field: str
) -> list[T]:
    """Parse every row and reject a repeated id, naming the first line that had it."""
    seen: dict[str, int] = {}
    out: list[T] = []
    for row in rows:
        item = parse(row)
        ident = key(item)
        if ident in seen:
            raise row.error(field, f"duplicate {field} {ident!r} (first on line {seen[ident]})")
        seen[ident] = row.line
        out.append(item)
    return out


def _offer(row: _Row) -> Offer:
    return Offer(
        offer_id=row.text("offer_id"),
        lead_school=row.text("lead_school"),
        lead_classroom=row.text("lead_classroom"),
        teacher=row.text("teacher"),
        subject=row.text("subject").lower(),
        grade=row.integer("grade", 1, 12),
        slot=row.slot("slot", row.text("slot")),
        capacity=row.integer("capacity", 1, MAX_KBPS),
        bitrate_kbps=row.integer("bitrate_kbps", 1, MAX_KBPS),
    )


def _request(row: _Row) -> Request:
    parts = [part for part in row.text("slots").split(";") if part.strip()]
    if not parts:
        raise row.error("slots", "must list at least one slot, separated by ';'")
    slots = tuple(dict.fromkeys(row.slot("slots", part) for part in parts))
    return Request(
        request_id=row.text("request_id"),
        partner_school=row.text("partner_school"),
        partner_classroom=row.text("partner_classroom"),
        subject=row.text("subject").lower(),
        grade=row.integer("grade", 1, 12),
        slots=slots,
        downlink_kbps=row.integer("downlink_kbps", 1, MAX_KBPS),
        priority=row.integer("priority", 1, 5),
    )


def read_offers(path: Path) -> list[Offer]:
    """Offers, with unique ids and no lead classroom in two offers at one slot."""
    offers: list[Offer] = []
    seen_id: dict[str, int] = {}
    booked: dict[tuple[str, str, str], tuple[str, int]] = {}
    for row in _rows(path, OFFER_FIELDS):
        offer = _offer(row)
        if offer.offer_id in seen_id:
            raise row.error(
                "offer_id",
                f"duplicate offer_id {offer.offer_id!r} (first on line {seen_id[offer.offer_id]})",
            )
        seen_id[offer.offer_id] = row.line
        key = (offer.lead_school, offer.lead_classroom, offer.slot)
        if key in booked:
            other, line = booked[key]
            raise row.error(
                "slot",
                f"double-booked lead classroom {offer.lead_school}/{offer.lead_classroom}"
                f" at {offer.slot}: also offer {other!r} on line {line}",
            )
        booked[key] = (offer.offer_id, row.line)
        offers.append(offer)
    return offers


def read_requests(path: Path) -> list[Request]:
    """Requests, with unique ids."""
    return _unique(_rows(path, REQUEST_FIELDS), _request, lambda r: r.request_id, "request_id")


def read_pairs(path: Path) -> list[Pair]:
    """Existing long-term pairs; a repeated pair is harmless and kept once."""
    pairs = [
        Pair(row.text("lead_school"), row.text("partner_school"))
        for row in _rows(path, PAIR_FIELDS)
    ]
    return list(dict.fromkeys(pairs))


def read_instance(offers: Path, requests: Path, pairs: Path | None = None) -> Instance:
    """All three files as one validated ``Instance``."""
    return Instance.build(
        read_offers(offers),
        read_requests(requests),
        read_pairs(pairs) if pairs is not None else (),
    )


def write_instance(instance: Instance, directory: Path) -> tuple[Path, Path, Path]:
    """Write ``offers.csv``, ``requests.csv`` and ``pairs.csv`` into ``directory``.

    The inverse of ``read_instance``: used by tests and to export a synthetic district.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = (directory / "offers.csv", directory / "requests.csv", directory / "pairs.csv")
    with paths[0].open("w", encoding="utf-8", newline="") as handle:
        writer = safe_writer(handle)
        writer.writerow(OFFER_FIELDS)
        for o in instance.offers:
            writer.writerow(
                [
                    o.offer_id,
                    o.lead_school,
                    o.lead_classroom,
                    o.teacher,
                    o.subject,
                    o.grade,
                    o.slot,
                    o.capacity,
                    o.bitrate_kbps,
                ]
            )
    with paths[1].open("w", encoding="utf-8", newline="") as handle:
        writer = safe_writer(handle)
        writer.writerow(REQUEST_FIELDS)
        for r in instance.requests:
            writer.writerow(
                [
                    r.request_id,
                    r.partner_school,
                    r.partner_classroom,
                    r.subject,
                    r.grade,
                    ";".join(r.slots),
                    r.downlink_kbps,
                    r.priority,
                ]
            )
    with paths[2].open("w", encoding="utf-8", newline="") as handle:
        writer = safe_writer(handle)
        writer.writerow(PAIR_FIELDS)
        for p in sorted(instance.pairs, key=lambda p: (p.lead_school, p.partner_school)):
            writer.writerow([p.lead_school, p.partner_school])
    return paths
