"""Referential rules as pure functions over a snapshot."""

from __future__ import annotations

from registry.models import Classroom, Kind, School, SchoolKind, Teacher, TeacherRole
from registry.rules import Snapshot, check, check_batch, users_of

L1 = School(id="L1", name="Lead", kind=SchoolKind.LEAD)
SNAP = Snapshot(
    schools={"L1": L1},
    classrooms={"c1": Classroom(id="c1", school="L1", node="n1")},
    teachers={"t1": Teacher(id="t1", name="Li", school="L1", role=TeacherRole.LEAD)},
    nodes=frozenset({"n1", "n2"}),
)


def test_missing_school_and_unregistered_node() -> None:
    problems = check(Classroom(id="c9", school="X", node="nx"), SNAP)
    assert len(problems) == 2
    assert "school 'X'" in problems[0] and "node 'nx'" in problems[1]


def test_node_serving_two_classrooms_is_refused_but_replacing_itself_is_fine() -> None:
    assert "already serves" in check(Classroom(id="c2", school="L1", node="n1"), SNAP)[0]
    assert check(Classroom(id="c1", school="L1", node="n1"), SNAP) == []


def test_batch_duplicates_and_node_moves() -> None:
    rows = [
        (2, Classroom(id="c2", school="L1", node="n1")),  # n1 moves from c1 ...
        (3, Classroom(id="c1", school="L1", node="n2")),  # ... as c1 takes n2: fine
        (4, Classroom(id="c2", school="L1")),
        (5, Classroom(id="c3", school="L1", node="n2")),
    ]
    errors = check_batch(rows, SNAP)
    assert errors[0].line == 4 and "duplicate" in errors[0].message
    assert errors[1].line == 5 and "line 3" in errors[1].message
    assert len(errors) == 2


def test_users_block_school_deletion() -> None:
    assert users_of(Kind.SCHOOLS, "L1", SNAP) == ["classroom 'c1'", "teacher 't1'"]
    assert users_of(Kind.CLASSROOMS, "c1", SNAP) == []
