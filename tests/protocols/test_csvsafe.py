"""Spreadsheet-safe CSV (OWASP): every CSV writer of the project neutralises formulas."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ledger.formats import csvfmt
from matching.csvio import read_instance, write_instance
from matching.models import Instance, Offer, Pair, Request
from protocols.csvsafe import TRIGGERS, neutralise, restore, safe_writer

HOSTILE = ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "\uff1dA1", "\uff20x"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_trigger_cells_get_a_quote_and_come_back(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    assert restore(neutralise(cell)) == cell


def test_plain_text_and_numbers_are_untouched() -> None:
    for value in ["School 1", "'quoted", "a=b", "", -5, 2.5, None]:
        assert neutralise(value) == value
    assert restore("'plain") == "'plain"  # only our own quoting is undone
    assert set(TRIGGERS) >= {"=", "+", "-", "@", "\t", "\r"}


def test_safe_writer_writes_neutralised_rows() -> None:
    out = io.StringIO()
    safe_writer(out).writerows([HOSTILE, [1, -2]])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert all(cell.startswith("'") for cell in rows[0])
    assert rows[1] == ["1", "-2"]


def test_report_tables_on_disk_are_neutralised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvfmt, "tables", lambda report: {"schools": (["name"], [HOSTILE[:4]])})
    [path] = csvfmt.write_csv_dir(None, tmp_path)  # type: ignore[arg-type]
    rows = list(csv.reader(path.open()))
    assert rows[1] == ["'" + cell for cell in HOSTILE[:4]]


def test_matching_files_round_trip_hostile_names(tmp_path: Path) -> None:
    offer = Offer("o1", "=L1", "@c1", "-t1", "math", 4, "mon-09:00", 2, 1000)
    request = Request("r1", "+P1", "=c2", "math", 4, ("mon-09:00",), 1000, 1)
    instance = Instance.build([offer], [request], [Pair("=L1", "+P1")])
    paths = write_instance(instance, tmp_path)
    text = paths[0].read_text()
    assert "'=L1" in text and "'@c1" in text and "'-t1" in text
    again = read_instance(*paths)
    assert again.offers == instance.offers and again.requests == instance.requests
    assert again.pairs == instance.pairs
