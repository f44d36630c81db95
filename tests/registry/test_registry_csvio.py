"""CSV parsing of the registry: every bad row reported with its line, good rows typed."""

from __future__ import annotations

from registry.csvio import parse
from registry.models import Classroom, Kind, School, SchoolKind, Teacher


def test_schools_parse_with_bom_blank_lines_and_booleans() -> None:
    text = (
        "\ufeffid,name,kind,region,rural\n"
        "L1,First Middle,lead,east,no\n"
        "\n"
        "P1,Hill School,partner,west,yes\n"
    )
    rows, errors = parse(Kind.SCHOOLS, text)
    assert errors == []
    assert [line for line, _ in rows] == [2, 4]
    second = rows[1][1]
    assert isinstance(second, School)
    assert second.kind is SchoolKind.PARTNER and second.rural is True


def test_classroom_optional_columns_and_lists() -> None:
    text = "id,school,node,grades\nc1,L1,,7;8;7\nc2,P1,p1,\n"
    rows, errors = parse(Kind.CLASSROOMS, text)
    assert errors == []
    first, second = (item for _, item in rows)
    assert isinstance(first, Classroom) and first.node is None and first.grades == [7, 8]
    assert isinstance(second, Classroom) and second.node == "p1" and second.seats == 40


def test_teacher_subjects_lower_cased() -> None:
    rows, errors = parse(
        Kind.TEACHERS, "id,name,school,role,subjects\nt1,Li,L1,lead,English; Math\n"
    )
    assert errors == []
    teacher = rows[0][1]
    assert isinstance(teacher, Teacher) and teacher.subjects == ["english", "math"]


def test_every_bad_row_reported_with_line() -> None:
    text = (
        "id,school,seats,grades\n"
        "c1,L1,40,7\n"
        "c 2,L1,40,7\n"  # bad id
        "c3,L1,zero,7\n"  # bad seats
        "c4,L1,40\n"  # short row
        "c5,L1,40,13\n"  # grade out of range
    )
    rows, errors = parse(Kind.CLASSROOMS, text)
    assert [line for line, _ in rows] == [2]
    assert [e.line for e in errors] == [3, 4, 5, 6]
    assert "id" in errors[0].message and "seats" in errors[1].message
    assert "fields" in errors[2].message and "grades" in errors[3].message


def test_header_problems_are_line_1() -> None:
    rows, errors = parse(Kind.SCHOOLS, "id,name,colour\n")
    assert rows == []
    assert {e.line for e in errors} == {1}
    text = " ".join(e.message for e in errors)
    assert "colour" in text and "kind" in text
    assert parse(Kind.TEACHERS, "")[1][0].line == 1
