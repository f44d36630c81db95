"""The CSV format: one file per table in a directory.

Why one file per table: districts open them in a spreadsheet; a single file with
mixed shapes would not load. Lists (subjects, grades) are joined with ``;``; the
matrices are written long-form (one row per cell) so gaps are rows with 0 lessons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ledger.schema import (
    AttendanceBucket,
    ClassroomRow,
    CoverageMatrix,
    CoverageReport,
    LessonRow,
    PairRow,
    SchoolRow,
    TeacherRow,
    WeekRow,
)
from protocols.csvsafe import safe_writer

__all__ = ["TABLES", "tables", "write_csv_dir"]

#: File names written, in order.
TABLES = (
    "summary",
    "schools",
    "coverage_regions",
    "coverage_schools",
    "teachers",
    "pairs",
    "weeks",
    "attendance_histogram",
    "lessons",
    "classrooms",
)

Table = tuple[list[str], list[list[Any]]]


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _rows(models: list[Any], cls: type[BaseModel]) -> Table:
    header = list(cls.model_fields)
    rows = [[_cell(getattr(m, name)) for name in header] for m in models]
    return header, rows


def _long(matrix: CoverageMatrix, prefix: list[Any]) -> list[list[Any]]:
    return [
        [*prefix, grade, subject, matrix.scheduled[i][j], matrix.lessons[i][j]]
        for i, grade in enumerate(matrix.grades)
        for j, subject in enumerate(matrix.subjects)
    ]


def tables(report: CoverageReport) -> dict[str, Table]:
    """Every table of the report as (header, rows)."""
    summary = report.summary.model_dump()
    window = report.window
    meta: list[list[Any]] = [
        ["from", window.from_.isoformat()],
        ["to", window.to.isoformat()],
        ["tz", window.tz],
        ["region", window.region or ""],
        ["min_minutes", report.params.min_minutes],
        ["long_term_weeks", report.params.long_term_weeks],
    ]
    out: dict[str, Table] = {
        "summary": (["metric", "value"], meta + [[k, _cell(v)] for k, v in summary.items()]),
        "schools": _rows(report.schools, SchoolRow),
        "coverage_regions": (
            ["region", "grade", "subject", "scheduled", "lessons"],
            [row for r in report.coverage.regions for row in _long(r.matrix, [r.region])],
        ),
        "coverage_schools": (
            ["school", "region", "grade", "subject", "scheduled", "lessons"],
            [row for s in report.coverage.schools for row in _long(s.matrix, [s.school, s.region])],
        ),
        "teachers": _rows(report.teachers, TeacherRow),
        "pairs": _rows(report.pairs, PairRow),
        "weeks": _rows(report.weeks, WeekRow),
        "attendance_histogram": _rows(report.attendance_histogram, AttendanceBucket),
        "lessons": _rows(report.lessons, LessonRow),
        "classrooms": _rows(report.classrooms, ClassroomRow),
    }
    return out


def write_csv_dir(report: CoverageReport, out_dir: Path) -> list[Path]:
    """Write ``{table}.csv`` for every table into ``out_dir``; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (header, rows) in tables(report).items():
        path = out_dir / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = safe_writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
        paths.append(path)
    return paths
