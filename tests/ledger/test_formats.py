"""Formats: xAPI statements (validated), CSV tables, HTML page, JSON schema."""

from __future__ import annotations

import base64
import copy
import csv
import json
from pathlib import Path

import pytest

from ledger import Ledger, ReportWindow, Term, build_report, term_from_ledger
from ledger.formats.csvfmt import TABLES, write_csv_dir
from ledger.formats.html import to_html
from ledger.formats.jsonfmt import read_json, report_schema, write_json
from ledger.formats.xapi import VERBS, iso_duration, statements
from ledger.schema import CoverageReport
from tests.ledger.script import DIRECTORY, FIRST_DAY, LAST_DAY, TZ, build_script, inputs
from tests.ledger.xapi_validator import validate_statement

WINDOW = ReportWindow(FIRST_DAY, LAST_DAY, TZ)


@pytest.fixture(scope="module")
def term() -> Term:
    plans = build_script()
    ledger = Ledger()
    ledger.feed_many(inputs(plans))
    return term_from_ledger(ledger, [p.info for p in plans], DIRECTORY)


@pytest.fixture(scope="module")
def report(term: Term) -> CoverageReport:
    return build_report(term, WINDOW)


# ---------------------------------------------------------------------- xAPI


def test_iso_duration() -> None:
    assert iso_duration(0) == "PT0S"
    assert iso_duration(2_400_000) == "PT40M"
    assert iso_duration(3_723_450) == "PT1H2M3.45S"
    assert iso_duration(999) == "PT1S"


def test_xapi_export_is_valid_and_complete(term: Term) -> None:
    items = statements(term, WINDOW)
    problems = {s["id"]: validate_statement(s) for s in items}
    assert all(not p for p in problems.values()), [p for p in problems.values() if p][:3]
    ids = [s["id"] for s in items]
    assert len(ids) == len(set(ids))
    by_verb: dict[str, int] = {}
    for s in items:
        by_verb[s["verb"]["id"]] = by_verb.get(s["verb"]["id"], 0) + 1
    started = [lesson for lesson in term.lessons if lesson.figures.started]
    attended = sum(1 for lsn in started for r in lsn.figures.classrooms if r.connected_ms > 0)
    assert by_verb[VERBS["attended"]] == attended
    assert by_verb[VERBS["asked"]] == sum(len(lsn.figures.hand_raises) for lsn in started)
    assert by_verb[VERBS["answered"]] == sum(len(lsn.figures.answers) for lsn in started)
    regs = {s["context"]["registration"] for s in items}
    assert len(regs) == len(started)  # one registration per session
    assert any(s["result"].get("success") is True for s in items if "result" in s)


def test_xapi_export_is_stable(term: Term) -> None:
    assert statements(term, WINDOW) == statements(term, WINDOW)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("id",), "not-a-uuid", "id: not a UUID"),
        (("verb", "id"), "attended", "verb.id"),
        (("result", "duration"), "40 minutes", "result.duration"),
        (("timestamp",), "2025-03-03T08:00:00", "timestamp"),
        (("actor", "account", "homePage"), "dualclass", "homePage"),
        (("context", "registration"), "1234", "registration"),
    ],
)
def test_validator_catches_broken_statements(
    term: Term, path: tuple[str, ...], value: str, message: str
) -> None:
    good = next(s for s in statements(term, WINDOW) if s["verb"]["id"] == VERBS["attended"])
    assert validate_statement(good) == []
    broken = copy.deepcopy(good)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any(message in p for p in validate_statement(broken))


def test_validator_requires_one_identifier_and_the_core_properties(term: Term) -> None:
    good = statements(term, WINDOW)[0]
    two = copy.deepcopy(good)
    two["actor"]["mbox"] = "mailto:a@b.c"
    assert any("exactly one" in p for p in validate_statement(two))
    missing = {k: v for k, v in good.items() if k != "verb"}
    assert "statement: missing verb" in validate_statement(missing)


# ----------------------------------------------------------------------- CSV


def test_csv_tables(report: CoverageReport, tmp_path: Path) -> None:
    paths = write_csv_dir(report, tmp_path / "out")
    assert [p.stem for p in paths] == list(TABLES)

    def read(name: str) -> list[dict[str, str]]:
        with (tmp_path / "out" / f"{name}.csv").open(newline="") as fh:
            return list(csv.DictReader(fh))

    schools = read("schools")
    assert [r["school"] for r in schools] == [s.school for s in report.schools]
    assert [int(r["lessons_received"]) for r in schools] == [
        s.lessons_received for s in report.schools
    ]
    assert schools[0]["subjects"] == ";".join(report.schools[0].subjects)
    cells = read("coverage_regions")
    n_cells = sum(len(r.matrix.grades) * len(r.matrix.subjects) for r in report.coverage.regions)
    assert len(cells) == n_cells
    assert sum(1 for c in cells if c["lessons"] == "0") == (
        report.summary.region_cells - report.summary.region_cells_covered
    )
    summary = {r["metric"]: r["value"] for r in read("summary")}
    assert summary["lessons"] == str(report.summary.lessons)
    assert summary["from"] == FIRST_DAY.isoformat()
    assert len(read("pairs")) == len(report.pairs)
    assert len(read("weeks")) == len(report.weeks)
    assert len(read("teachers")) == len(report.teachers)


# ---------------------------------------------------------------------- HTML


def test_html_is_one_page_with_images(report: CoverageReport) -> None:
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>")
    images = page.split('src="data:image/png;base64,')[1:]
    assert len(images) == len(report.coverage.regions) + 2  # heatmaps, weeks, attendance
    for chunk in images:
        png = base64.b64decode(chunk.split('"', 1)[0])
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "http://" not in page and "https://" not in page  # nothing external
    for row in report.schools:
        assert f"<td>{row.school}</td>" in page


# ---------------------------------------------------------------------- JSON


def test_json_round_trip_and_schema(report: CoverageReport, tmp_path: Path) -> None:
    path = write_json(report, tmp_path / "r.json")
    data = json.loads(path.read_text())
    assert data["window"]["from"] == FIRST_DAY.isoformat()
    assert data["schema_version"] == 1
    assert read_json(path) == report
    schema = report_schema()
    assert set(schema["required"]) >= {"window", "summary", "schools", "coverage"}


def test_html_in_chinese_with_a_language_switch(report: CoverageReport) -> None:
    from i18n.catalogue import catalogue, messages

    switch = {"zh-CN": "/r?lang=zh-CN", "en": "/r?lang=en"}
    page = to_html(report, messages("zh-CN"), switch=switch)
    assert '<html lang="zh-CN">' in page and "覆盖报告" in page
    assert '<a href="/r?lang=en" hreflang="en">English</a>' in page
    en, zh = catalogue("en"), catalogue("zh-CN")
    # no English heading or column name left (texts without placeholders)
    for key in en:
        if key.startswith("report.") and "{" not in en[key] and en[key] != zh[key]:
            assert f">{en[key]}<" not in page, key
