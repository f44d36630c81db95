"""The timetable as a pure function: weeks, slots, time zones, ranges, registry checks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.scheduling.timetable import Period, SlotError, occurrences, plan, session_id, to_specs
from matching.models import Assignment, Instance, Offer, Request
from registry.models import Classroom, School, SchoolKind, Teacher, TeacherRole
from registry.rules import Snapshot


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _instance() -> Instance:
    offers = [
        Offer("O1", "L1", "lc1", "t1", "math", 7, "mon-09:00", 3, 1000),
        Offer("O2", "L1", "lc1", "t1", "math", 8, "wed-14:30", 3, 1000),
        Offer("O3", "L1", "lc2", "t1", "art", 7, "fri-08:00", 3, 1000),  # nobody assigned
    ]
    requests = [
        Request("R1", "P1", "pc1", "math", 7, ("mon-09:00",), 2000, 3),
        Request("R2", "P2", "pc2", "math", 7, ("mon-09:00",), 2000, 3),
        Request("R3", "P1", "pc1", "math", 8, ("wed-14:30",), 2000, 3),
    ]
    return Instance.build(offers, requests)


ASSIGNED = [Assignment("R1", "O1"), Assignment("R2", "O1"), Assignment("R3", "O2")]


def test_weekly_occurrences_in_shanghai() -> None:
    # 2025-03-03 is a Monday; range ends on a Monday (inclusive).
    period = Period(date(2025, 3, 3), date(2025, 3, 17), "Asia/Shanghai", 40)
    got = occurrences("mon-09:00", period)
    assert [d for d, _, _ in got] == [date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17)]
    _, start, end = got[0]
    assert _utc(start) == datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 +08:00
    assert end - start == 40 * 60_000
    # Shanghai has no DST: every week the same UTC hour.
    assert {_utc(s).hour for _, s, _ in got} == {1}


def test_range_starting_mid_week_and_single_day() -> None:
    period = Period(date(2025, 3, 5), date(2025, 3, 12), "Asia/Shanghai")
    assert [d for d, _, _ in occurrences("mon-09:00", period)] == [date(2025, 3, 10)]
    assert [d for d, _, _ in occurrences("wed-09:00", period)] == [
        date(2025, 3, 5),
        date(2025, 3, 12),
    ]
    one_day = Period(date(2025, 3, 4), date(2025, 3, 4))
    assert occurrences("mon-09:00", one_day) == []
    assert len(occurrences("tue-23:59", one_day)) == 1


def test_dst_zone_keeps_wall_clock() -> None:
    # Berlin switches to summer time on 2025-03-30.
    period = Period(date(2025, 3, 24), date(2025, 4, 1), "Europe/Berlin")
    (_, before, _), (_, after, _) = occurrences("mon-09:00", period)
    assert _utc(before).hour == 8 and _utc(after).hour == 7
    # 02:30 does not exist on 2025-03-30: it starts at the same instant as 03:30.
    gap = Period(date(2025, 3, 30), date(2025, 3, 30), "Europe/Berlin")
    assert _utc(occurrences("sun-02:30", gap)[0][1]) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "last", "tz", "minutes"),
    [
        (date(2025, 3, 10), date(2025, 3, 9), "Asia/Shanghai", 40),
        (date(2025, 1, 1), date(2026, 6, 1), "Asia/Shanghai", 40),
        (date(2025, 1, 1), date(2025, 1, 2), "Mars/Olympus", 40),
        (date(2025, 1, 1), date(2025, 1, 2), "Asia/Shanghai", 0),
    ],
)
def test_bad_periods(first: date, last: date, tz: str, minutes: int) -> None:
    with pytest.raises(SlotError):
        Period(first, last, tz, minutes)


def test_plan_one_lesson_per_offer_per_week_with_partners() -> None:
    period = Period(date(2025, 3, 3), date(2025, 3, 16), "Asia/Shanghai")
    lessons = plan(_instance(), ASSIGNED, period)
    assert [ls.session for ls in lessons] == [
        "O1-20250303",
        "O2-20250305",
        "O1-20250310",
        "O2-20250312",
    ]
    first = lessons[0]
    assert first.partner_classrooms == ("pc1", "pc2") and first.partner_schools == ("P1", "P2")
    assert (first.lead_classroom, first.teacher, first.subject, first.grade) == (
        "lc1",
        "t1",
        "math",
        7,
    )
    assert all(ls.offer_id != "O3" for ls in lessons)


def test_session_ids_stay_in_alphabet() -> None:
    assert session_id("O 1/x", date(2025, 1, 2)).endswith("-20250102")
    assert " " not in session_id("O 1/x", date(2025, 1, 2))
    assert len(session_id("O" * 80, date(2025, 1, 2))) <= 64


def _snapshot(*, with_node: bool = True) -> Snapshot:
    rooms = {
        "lc1": Classroom(id="lc1", school="L1", node="n-lead"),
        "pc1": Classroom(id="pc1", school="P1", node="n-p1" if with_node else None),
        "pc2": Classroom(id="pc2", school="P2", node="n-p2"),
    }
    return Snapshot(
        schools={s: School(id=s, name=s, kind=SchoolKind.LEAD) for s in ("L1", "P1", "P2")},
        classrooms=rooms,
        teachers={"t1": Teacher(id="t1", name="Li", school="L1", role=TeacherRole.LEAD)},
        nodes=frozenset({"n-lead", "n-p1", "n-p2"}),
    )


def test_to_specs_uses_nodes_and_reports_registry_gaps() -> None:
    period = Period(date(2025, 3, 3), date(2025, 3, 9), "Asia/Shanghai")
    lessons = plan(_instance(), ASSIGNED, period)
    specs, problems = to_specs(lessons, _snapshot())
    assert problems == []
    spec = specs[0]
    assert (spec.lead, spec.partners, spec.grade) == ("n-lead", ["n-p1", "n-p2"], 7)
    assert spec.starts_at == lessons[0].starts_at and spec.ends_at == lessons[0].ends_at
    _, problems = to_specs(lessons, _snapshot(with_node=False))
    assert problems == ["classroom 'pc1' has no node"]
