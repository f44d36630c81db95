"""The scripted term: every ledger figure and every report figure, computed from the
script independently, must match what the ledger and the report produce."""

from __future__ import annotations

from collections import defaultdict

import pytest

from ledger import Ledger, ReportWindow, build_report, term_from_ledger
from ledger.schema import CoverageReport
from tests.ledger.script import (
    DIRECTORY,
    FIRST_DAY,
    LAST_DAY,
    LESSON_MIN,
    MIN,
    QUIZZES,
    SCHOOLS,
    TZ,
    SessionPlan,
    build_script,
    connected_minutes,
    correct_count,
    inputs,
    lesson_day,
)

MIN_MINUTES = 5.0


@pytest.fixture(scope="module")
def plans() -> list[SessionPlan]:
    return build_script()


@pytest.fixture(scope="module")
def ledger(plans: list[SessionPlan]) -> Ledger:
    ledger = Ledger()
    for record in inputs(plans):
        ledger.feed(record)
    return ledger


@pytest.fixture(scope="module")
def report(plans: list[SessionPlan], ledger: Ledger) -> CoverageReport:
    term = term_from_ledger(ledger, [p.info for p in plans], DIRECTORY)
    return build_report(term, ReportWindow(FIRST_DAY, LAST_DAY, TZ), min_minutes=MIN_MINUTES)


def test_script_has_the_cases_it_claims(plans: list[SessionPlan]) -> None:
    rooms = [r for p in plans for r in p.rooms]
    assert any(r.join is None for r in rooms)  # absences
    assert any(r.join is not None and r.join > 0 for r in rooms)  # late joins
    assert any(r.gap is not None for r in rooms)  # disconnects
    assert any(r.console for r in rooms)  # a tutor console instead of a node
    assert any(0 < connected_minutes(r) < MIN_MINUTES for r in rooms)  # too short
    assert any(not p.started for p in plans)  # a cancelled lesson
    assert any(r.changed for r in rooms)  # changed answers


def test_every_session_figure(plans: list[SessionPlan], ledger: Ledger) -> None:
    for sp in plans:
        fig = ledger.figures(sp.info.session, sp.info)
        if not sp.started:
            assert fig.start_ts is None and fig.duration_ms == 0
            assert all(room.connected_ms == 0 for room in fig.classrooms)
            continue
        assert fig.start_ts == sp.start_ms
        assert fig.end_ts == sp.start_ms + LESSON_MIN * MIN
        assert fig.slides == 15
        assert fig.quizzes == len(QUIZZES)
        assert fig.subject == sp.info.subject and fig.grade == sp.info.grade
        assert fig.viewers == (1 if sp.viewer else 0)
        assert fig.viewer_ms == (20 * MIN if sp.viewer else 0)
        lead = fig.classroom(sp.info.lead_classroom)
        assert lead is not None and lead.role == "lead"
        assert lead.connected_ms == LESSON_MIN * MIN
        assert sum(r.hands for r in sp.rooms) == len(fig.hand_raises)
        assert sum(len(r.answers) for r in sp.rooms) == len(fig.answers)
        for plan in sp.rooms:
            room = fig.classroom(plan.room)
            assert room is not None, plan.room
            assert room.role == "partner"
            assert room.connected_ms == round(connected_minutes(plan) * MIN), plan
            if plan.join is None:
                assert room.first_join_ts is None and room.intervals == ()
            else:
                assert room.first_join_ts == sp.start_ms + int(max(plan.join, 0) * MIN)
                assert len(room.intervals) == (2 if plan.gap else 1)
            assert room.present == plan.present
            assert room.enrolled == (plan.enrolled if plan.present is not None else None)
            assert room.hands == plan.hands
            assert room.chats == plan.chats
            assert room.floor_grants == (1 if plan.floor else 0)
            floor = plan.floor
            assert room.floor_ms == ((floor[1] - floor[0]) * MIN if floor else 0)
            assert room.answers == len(plan.answers)
            assert room.correct == correct_count(sp, plan)
            assert room.heartbeats == len(plan.fps)
            if plan.fps:
                assert room.fps_mean == pytest.approx(sum(plan.fps) / len(plan.fps))
            else:
                assert room.fps_mean is None
            assert room.freezes == plan.freezes
            assert room.interactions == plan.hands + len(plan.answers) + plan.chats + (
                1 if plan.floor else 0
            )


def _received(plan_room_minutes: float) -> bool:
    return plan_room_minutes >= MIN_MINUTES


def test_every_report_figure(plans: list[SessionPlan], report: CoverageReport) -> None:
    school_of = {s.school: s for s in SCHOOLS}
    sched: dict[str, int] = defaultdict(int)
    received: dict[str, set[str]] = defaultdict(set)
    minutes: dict[str, float] = defaultdict(float)
    subjects: dict[str, set[str]] = defaultdict(set)
    grades: dict[str, set[int]] = defaultdict(set)
    present: dict[str, int] = defaultdict(int)
    enrolled: dict[str, int] = defaultdict(int)
    interactions: dict[str, int] = defaultdict(int)
    hands: dict[str, int] = defaultdict(int)
    answers: dict[str, int] = defaultdict(int)
    correct: dict[str, int] = defaultdict(int)
    floor: dict[str, float] = defaultdict(float)
    weeks: dict[str, set[int]] = defaultdict(set)
    cells: dict[str, dict[tuple[int, str], list[int]]] = defaultdict(dict)
    teachers: dict[str, dict[str, object]] = {}
    pair_weeks: dict[tuple[str, str], list[int]] = defaultdict(list)
    week_sessions: dict[int, int] = defaultdict(int)
    week_school: dict[int, set[str]] = defaultdict(set)
    week_school_lessons: dict[int, int] = defaultdict(int)
    hist = [0] * 10
    for sp in plans:
        info = sp.info
        t = teachers.setdefault(
            info.lead_teacher,
            {"delivered": 0, "rooms": {}, "schools": set(), "student_lessons": 0},
        )
        if sp.started:
            t["delivered"] = int(t["delivered"]) + 1  # type: ignore[call-overload]
            week_sessions[sp.week] += 1
        got: set[str] = set()
        for school in set(info.partners.values()):
            sched[school] += 1
            cell = cells[school].setdefault((info.grade, info.subject), [0, 0])
            cell[0] += 1
        for plan in sp.rooms:
            school = info.partners[plan.room]
            m = connected_minutes(plan) if sp.started else 0.0
            minutes[school] += m
            if not sp.started or not _received(m):
                continue
            got.add(school)
            n_ok = correct_count(sp, plan)
            interactions[school] += (
                plan.hands + len(plan.answers) + plan.chats + (1 if plan.floor else 0)
            )
            hands[school] += plan.hands
            answers[school] += len(plan.answers)
            correct[school] += n_ok
            if plan.floor:
                floor[school] += plan.floor[1] - plan.floor[0]
            rooms: dict[str, int] = t["rooms"]  # type: ignore[assignment]
            rooms[plan.room] = max(rooms.get(plan.room, 0), plan.present or 0)
            t["student_lessons"] = int(t["student_lessons"]) + (plan.present or 0)  # type: ignore[call-overload]
            if plan.present is not None:
                present[school] += plan.present
                enrolled[school] += plan.enrolled
                hist[min(9, int(10 * plan.present / plan.enrolled))] += 1
        for school in got:
            received[school].add(info.session)
            subjects[school].add(info.subject)
            grades[school].add(info.grade)
            weeks[school].add(sp.week)
            cells[school][(info.grade, info.subject)][1] += 1
            t["schools"].add(school)  # type: ignore[attr-defined]
            pair_weeks[(info.lead_school, school)].append(sp.week)
            week_school[sp.week].add(school)
            week_school_lessons[sp.week] += 1

    universe = sorted(s.school for s in SCHOOLS if s.rural)
    assert [r.school for r in report.schools] == universe
    for row in report.schools:
        s = row.school
        assert row.region == school_of[s].region and row.rural
        assert row.name == school_of[s].name
        assert row.lessons_scheduled == sched[s]
        assert row.lessons_received == len(received[s])
        assert row.minutes == pytest.approx(minutes[s])
        assert row.subjects == sorted(subjects[s])
        assert row.grades == sorted(grades[s])
        expected_rate = present[s] / enrolled[s] if enrolled[s] else None
        assert row.attendance_rate == pytest.approx(expected_rate)
        ipl = interactions[s] / len(received[s]) if received[s] else None
        assert row.interactions_per_lesson == pytest.approx(ipl)
        assert (row.hands, row.answers, row.correct) == (hands[s], answers[s], correct[s])
        assert row.floor_minutes == pytest.approx(floor[s])
        assert row.weeks_with_lesson == len(weeks[s])

    # coverage matrices: region axes are the grades x subjects scheduled in the region
    by_region: dict[str, dict[tuple[int, str], list[int]]] = defaultdict(dict)
    for s, sc in cells.items():
        for key, (n_sched, n_got) in sc.items():
            acc = by_region[school_of[s].region].setdefault(key, [0, 0])
            acc[0] += n_sched
            acc[1] += n_got
    assert [r.region for r in report.coverage.regions] == ["R1", "R2"]
    region_cells = region_covered = 0
    for reg in report.coverage.regions:
        want = by_region[reg.region]
        g = sorted({k[0] for k in want})
        subj = sorted({k[1] for k in want})
        assert (reg.matrix.grades, reg.matrix.subjects) == (g, subj)
        for i, gi in enumerate(g):
            for j, sj in enumerate(subj):
                assert reg.matrix.scheduled[i][j] == want.get((gi, sj), [0, 0])[0]
                assert reg.matrix.lessons[i][j] == want.get((gi, sj), [0, 0])[1]
        region_cells += len(g) * len(subj)
        region_covered += sum(1 for v in want.values() if v[1])
        assert reg.schools == sum(1 for s in universe if school_of[s].region == reg.region)
    # R1 has grade 4 and 5 and math and chinese but never grade 5 math: a gap
    r1 = report.coverage.regions[0].matrix
    assert r1.lessons[r1.grades.index(5)][r1.subjects.index("math")] == 0
    for sc in report.coverage.schools:
        want_s = cells.get(sc.school, {})
        for i, gi in enumerate(sc.matrix.grades):
            for j, sj in enumerate(sc.matrix.subjects):
                assert sc.matrix.lessons[i][j] == want_s.get((gi, sj), [0, 0])[1]
                assert sc.matrix.scheduled[i][j] == want_s.get((gi, sj), [0, 0])[0]

    # teachers
    assert [t.teacher for t in report.teachers] == sorted(teachers)
    for trow in report.teachers:
        t = teachers[trow.teacher]
        assert trow.lessons_delivered == t["delivered"]
        assert trow.minutes_taught == pytest.approx(LESSON_MIN * int(t["delivered"]))  # type: ignore[call-overload]
        rooms = t["rooms"]
        assert trow.partner_classrooms_reached == len(rooms)  # type: ignore[arg-type]
        assert trow.partner_schools_reached == len(t["schools"])  # type: ignore[arg-type]
        assert trow.students_reached == sum(rooms.values())  # type: ignore[attr-defined]
        assert trow.student_lessons == t["student_lessons"]

    # pairs
    assert [(p.lead_school, p.partner_school) for p in report.pairs] == sorted(pair_weeks)
    for prow in report.pairs:
        wk = pair_weeks[(prow.lead_school, prow.partner_school)]
        assert prow.lessons == len(wk)
        assert prow.weeks_active == len(set(wk))
        n = len(set(wk))
        assert prow.kind == ("long_term" if n >= 4 else "one_off" if n == 1 else "occasional")
    assert any(p.kind == "long_term" for p in report.pairs)
    assert any(p.kind == "one_off" for p in report.pairs)

    # weeks
    assert [w.week for w in report.weeks] == [f"2025-W{10 + i}" for i in range(5)]
    for i, wrow in enumerate(report.weeks):
        assert wrow.lessons == week_sessions[i]
        assert wrow.schools_reached == len(week_school[i])
        assert wrow.school_lessons == week_school_lessons[i]

    # histogram and summary
    assert [b.classroom_lessons for b in report.attendance_histogram] == hist
    sm = report.summary
    assert sm.lessons == sum(1 for p in plans if p.started)
    assert sm.partner_schools == len(universe)
    assert sm.schools_reached == sum(1 for s in universe if received[s])
    every = sum(1 for s in universe if len(weeks[s]) == WEEKS_N)
    assert sm.every_week_share == pytest.approx(every / len(universe))
    weekly = [len(week_school[i]) / len(universe) for i in range(WEEKS_N)]
    assert sm.weekly_reach_share == pytest.approx(sum(weekly) / WEEKS_N)
    requested = sum(len(c) for c in cells.values())
    covered = sum(1 for c in cells.values() for v in c.values() if v[1])
    assert (sm.requested_cells, sm.requested_cells_covered) == (requested, covered)
    assert sm.requested_cell_share == pytest.approx(covered / requested)
    assert (sm.region_cells, sm.region_cells_covered) == (region_cells, region_covered)
    assert sm.school_lessons == sum(len(v) for v in received.values())
    assert sm.minutes == pytest.approx(sum(minutes.values()))
    assert sm.student_lessons == sum(int(t["student_lessons"]) for t in teachers.values())  # type: ignore[call-overload]
    assert sm.attendance_rate == pytest.approx(sum(present.values()) / sum(enrolled.values()))
    kinds = [p.kind for p in report.pairs]
    assert (sm.long_term_pairs, sm.occasional_pairs, sm.one_off_pairs) == (
        kinds.count("long_term"),
        kinds.count("occasional"),
        kinds.count("one_off"),
    )


WEEKS_N = 5


def test_region_filter(plans: list[SessionPlan], ledger: Ledger) -> None:
    term = term_from_ledger(ledger, [p.info for p in plans], DIRECTORY)
    report = build_report(term, ReportWindow(FIRST_DAY, LAST_DAY, TZ, region="R2"))
    assert [r.school for r in report.schools] == ["P3", "P4", "P5"]
    assert [r.region for r in report.coverage.regions] == ["R2"]
    # only sessions with an R2 partner: course A (c31) and C (c41)
    assert report.summary.lessons == sum(
        1 for p in plans if p.started and p.course.name in ("A", "C")
    )
    assert all(p.partner_school in ("P3", "P4") for p in report.pairs)
    p5 = report.schools[-1]
    assert p5.lessons_scheduled == 0 and p5.lessons_received == 0


def test_window_cuts_by_day(plans: list[SessionPlan], ledger: Ledger) -> None:
    term = term_from_ledger(ledger, [p.info for p in plans], DIRECTORY)
    first_week = ReportWindow(FIRST_DAY, FIRST_DAY.replace(day=FIRST_DAY.day + 6), TZ)
    report = build_report(term, first_week)
    assert report.summary.weeks == ["2025-W10"]
    assert report.summary.lessons == sum(
        1 for p in plans if p.started and lesson_day(p) <= first_week.end
    )
