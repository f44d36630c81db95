"""CSV reading: every error names file, line and field; nothing comes back on error."""

from __future__ import annotations

from pathlib import Path

import pytest

from matching.csvio import (
    OFFER_FIELDS,
    REQUEST_FIELDS,
    read_instance,
    read_offers,
    read_pairs,
    read_requests,
    write_instance,
)
from matching.exceptions import InputError
from matching.synthetic import district

OFFERS_HEADER = ",".join(OFFER_FIELDS)
REQUESTS_HEADER = ",".join(REQUEST_FIELDS)
OFFER_ROW = "O1,L1,A,t1,math,3,mon-09:00,2,1200"
REQUEST_ROW = "R1,P1,c1,math,3,mon-09:00;tue-09:00,2000,3"


def write(tmp_path: Path, name: str, *lines: str, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def error_of(read: object, path: Path) -> InputError:
    assert callable(read)
    with pytest.raises(InputError) as info:
        read(path)
    return info.value


def test_valid_files_with_bom_and_normalisation(tmp_path: Path) -> None:
    offers = read_offers(
        write(
            tmp_path, "offers.csv", OFFERS_HEADER, " O1 ,L1,A,t1,Math,3,Mon-09:00,2,1200", bom=True
        )
    )
    assert offers[0].offer_id == "O1" and offers[0].subject == "math"
    assert offers[0].slot == "mon-09:00"
    requests = read_requests(
        write(
            tmp_path,
            "requests.csv",
            REQUESTS_HEADER,
            "R1,P1,c1,math,3,mon-09:00; ;mon-09:00,2000,3",
            "",
        )
    )
    assert requests[0].slots == ("mon-09:00",)


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("O1,L1,A,t1,math,3,mon-09:00,two,1200", "capacity", "must be an integer"),
        ("O1,L1,A,t1,math,3,mon-09:00,0,1200", "capacity", "must be an integer >= 1"),
        ("O1,L1,A,t1,math,13,mon-09:00,2,1200", "grade", "in 1..12"),
        ("O1,L1,A,t1,math,3,monday 9am,2,1200", "slot", "mon-09:00"),
        ("O1,L1,A,,math,3,mon-09:00,2,1200", "teacher", "must not be empty"),
        ("O1,L1,A,t1,math,3,mon-09:00,2,1.5", "bitrate_kbps", "must be an integer"),
    ],
)
def test_offer_field_errors(tmp_path: Path, row: str, field: str, message: str) -> None:
    path = write(tmp_path, "offers.csv", OFFERS_HEADER, "O0,L1,A,t1,math,3,tue-09:00,2,1200", row)
    err = error_of(read_offers, path)
    assert (err.line, err.field) == (3, field)
    assert message in err.message
    assert str(err).startswith(f"{path} line 3, field {field}: ")


def test_message_format() -> None:
    err = InputError("offers.csv", 7, "capacity", "must be an integer >= 1")
    assert str(err) == "offers.csv line 7, field capacity: must be an integer >= 1"
    assert str(InputError("offers.csv", None, None, "cannot read")) == "offers.csv: cannot read"
    assert (
        str(InputError("offers.csv", 4, None, "has 3 fields")) == "offers.csv line 4: has 3 fields"
    )


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("R2,P1,c1,math,3,mon-09:00,2000,6", "priority", "in 1..5"),
        ("R2,P1,c1,math,3,mon-09:00,2000,0", "priority", "in 1..5"),
        ("R2,P1,c1,math,3,,2000,3", "slots", "must not be empty"),
        ("R2,P1,c1,math,3,;;,2000,3", "slots", "at least one slot"),
        ("R2,P1,c1,math,3,mon-09:00;fri-25:00,2000,3", "slots", "mon-09:00"),
        ("R2,P1,c1,math,3,mon-09:00,fast,3", "downlink_kbps", "must be an integer"),
        ("R1,P1,c2,art,3,mon-09:00,2000,3", "request_id", "duplicate request_id 'R1'"),
    ],
)
def test_request_field_errors(tmp_path: Path, row: str, field: str, message: str) -> None:
    path = write(tmp_path, "requests.csv", REQUESTS_HEADER, REQUEST_ROW, row)
    err = error_of(read_requests, path)
    assert (err.file, err.line, err.field) == (str(path), 3, field)
    assert message in err.message


def test_duplicate_offer_id_names_first_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "offers.csv", OFFERS_HEADER, OFFER_ROW, "O1,L2,B,t2,art,3,tue-09:00,2,1200"
    )
    err = error_of(read_offers, path)
    assert (err.line, err.field) == (3, "offer_id")
    assert "duplicate offer_id 'O1' (first on line 2)" in str(err)


def test_double_booked_lead_classroom(tmp_path: Path) -> None:
    path = write(
        tmp_path, "offers.csv", OFFERS_HEADER, OFFER_ROW, "O2,L1,A,t2,art,3,mon-09:00,2,1200"
    )
    err = error_of(read_offers, path)
    assert (err.line, err.field) == (3, "slot")
    assert "double-booked lead classroom L1/A at mon-09:00" in str(err)
    assert "'O1' on line 2" in str(err)


def test_unknown_column(tmp_path: Path) -> None:
    path = write(tmp_path, "offers.csv", OFFERS_HEADER + ",colour", OFFER_ROW + ",red")
    err = error_of(read_offers, path)
    assert (err.line, err.field) == (1, "colour")
    assert "unknown column" in str(err)


def test_missing_column(tmp_path: Path) -> None:
    header = ",".join(f for f in OFFER_FIELDS if f != "bitrate_kbps")
    path = write(tmp_path, "offers.csv", header, "O1,L1,A,t1,math,3,mon-09:00,2")
    err = error_of(read_offers, path)
    assert (err.line, err.field) == (1, "bitrate_kbps")
    assert "missing column" in str(err)


def test_columns_in_any_order(tmp_path: Path) -> None:
    fields = list(reversed(OFFER_FIELDS))
    values = list(reversed(OFFER_ROW.split(",")))
    offers = read_offers(write(tmp_path, "offers.csv", ",".join(fields), ",".join(values)))
    assert offers[0].capacity == 2 and offers[0].bitrate_kbps == 1200


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "offers.csv", OFFERS_HEADER, OFFER_ROW + ",extra")
    err = error_of(read_offers, path)
    assert (err.line, err.field) == (2, None)
    assert "10 fields" in str(err)


def test_empty_missing_and_binary_files(tmp_path: Path) -> None:
    assert "empty file" in str(error_of(read_offers, write(tmp_path, "offers.csv", "")))
    assert "cannot read" in str(error_of(read_offers, tmp_path / "nope.csv"))
    binary = tmp_path / "latin1.csv"
    binary.write_bytes(OFFERS_HEADER.encode() + b"\nO1,L\xe9,A,t1,math,3,mon-09:00,2,1200\n")
    assert "not UTF-8" in str(error_of(read_offers, binary))


def test_pairs_deduplicated(tmp_path: Path) -> None:
    path = write(tmp_path, "pairs.csv", "lead_school,partner_school", "L1,P1", "L1,P1", "L2,P1")
    assert len(read_pairs(path)) == 2
    bad = write(tmp_path, "bad.csv", "lead_school,partner_school", "L1,")
    err = error_of(read_pairs, bad)
    assert (err.line, err.field) == (2, "partner_school")


def test_round_trip(tmp_path: Path) -> None:
    instance = district(30, 200, 40, seed=2)
    assert read_instance(*write_instance(instance, tmp_path)) == instance
