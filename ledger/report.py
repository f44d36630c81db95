"""Coverage reports: a pure function from a ``Term`` and a window to a ``CoverageReport``.

Why a module of its own: what the district is told must be computable and
checkable without Redis; ``store.load_term`` or ``term_from_ledger`` supply the term.
Every definition below is repeated in docs/reports.md, "Reports".

- A session belongs to the window when its lesson started (or, never started, was
  scheduled) on a day of the window, read in ``tz``. With ``region`` only sessions
  with a partner school of that region count, and only those schools' classrooms.
- A partner classroom *received* the lesson when connected >= ``min_minutes``; a
  partner school received it when any of its classrooms did.
- Partner schools (the universe of school shares): schools listed as partner in a
  session of the window, plus every rural school of the directory (a rural school no
  lesson reached is exactly what a coverage report must show).
- Cells: a region's matrix spans the grades x subjects of all sessions scheduled for
  its partner schools; ``requested`` cells are (school, grade, subject) with at least
  one scheduled session; a cell is covered when at least one lesson was received.
- Replay viewing (a recording watched later) never counts as receiving a lesson:
  it is reported apart, as ``replay_minutes`` of the lesson (every viewer), of the
  partner school whose classroom watched, and in the summary. ``replays`` maps a
  session to its replay page's address; each lesson row carries it.
- Video layers: for each partner classroom, the minutes it received the lesson's
  video on the high and on the low layer (the hub's choice for its link) and the
  switches between them, summed over the window's lessons (``classrooms`` rows,
  and totals in the summary). A lesson below ``min_minutes`` still counts its
  minutes here: the layer time is about the link, not about receiving.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone

from tqdm import tqdm

from ledger.directory import Directory
from ledger.figures import ClassroomFigures
from ledger.schema import (
    AttendanceBucket,
    ClassroomRow,
    Coverage,
    CoverageMatrix,
    CoverageReport,
    LessonRow,
    PairRow,
    Params,
    RegionCoverage,
    SchoolCoverage,
    SchoolRow,
    Summary,
    TeacherRow,
    WeekRow,
    Window,
)
from ledger.term import Lesson, Term

__all__ = [
    "DEFAULT_TZ",
    "ReportWindow",
    "build_report",
    "iso_week",
    "lesson_day",
    "pair_kind",
    "parse_tz",
    "regions",
    "tz_label",
]

#: China Standard Time: the programme's own calendar.
DEFAULT_TZ = timezone(timedelta(hours=8))
_MIN = 60_000.0


def parse_tz(text: str) -> timezone:
    """``+08:00`` / ``-0530`` / ``Z`` / ``UTC`` as a fixed-offset timezone."""
    if text.upper() in ("Z", "UTC"):
        return UTC
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").replace(":", "")
    if not digits.isdigit() or len(digits) not in (2, 4):
        raise ValueError(f"not a UTC offset: {text!r}")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def tz_label(tz: timezone) -> str:
    offset = tz.utcoffset(None)
    total = int(offset.total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


@dataclass(frozen=True, slots=True)
class ReportWindow:
    """Days ``start`` .. ``end`` inclusive in ``tz``, optionally one region."""

    start: date
    end: date
    tz: timezone = DEFAULT_TZ
    region: str | None = None

    @property
    def lo_ms(self) -> int:
        return int(datetime.combine(self.start, time(), self.tz).timestamp() * 1000)

    @property
    def hi_ms(self) -> int:
        nxt = self.end + timedelta(days=1)
        return int(datetime.combine(nxt, time(), self.tz).timestamp() * 1000)

    def weeks(self) -> list[tuple[str, date]]:
        """ISO weeks overlapping the window as (label, monday)."""
        monday = self.start - timedelta(days=self.start.weekday())
        out = []
        while monday <= self.end:
            out.append((iso_week(monday), monday))
            monday += timedelta(days=7)
        return out


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def lesson_day(lesson: Lesson, tz: timezone) -> date:
    ms = lesson.figures.start_ts
    if ms is None:
        ms = lesson.info.scheduled_start
    return datetime.fromtimestamp(ms / 1000, tz).date()


def pair_kind(weeks_active: int, long_term_weeks: int) -> str:
    if weeks_active >= long_term_weeks:
        return "long_term"
    return "one_off" if weeks_active <= 1 else "occasional"


def _share(part: int | float, whole: int | float) -> float | None:
    return None if not whole else part / whole


@dataclass(slots=True)
class _Room:
    """One partner classroom's totals over the window (the ``classrooms`` table)."""

    school: str
    lessons: int = 0
    ms: int = 0
    high_ms: int = 0
    low_ms: int = 0
    switches: int = 0

    def add(self, room: ClassroomFigures, *, received: bool) -> None:
        self.lessons += 1 if received else 0
        self.ms += room.connected_ms
        self.high_ms += room.high_ms
        self.low_ms += room.low_ms
        self.switches += room.layer_switches

    def row(self, classroom: str) -> ClassroomRow:
        video = self.high_ms + self.low_ms
        return ClassroomRow(
            classroom=classroom,
            school=self.school,
            lessons_received=self.lessons,
            minutes=round(self.ms / _MIN, 3),
            high_minutes=round(self.high_ms / _MIN, 3),
            low_minutes=round(self.low_ms / _MIN, 3),
            low_share=round(self.low_ms / video, 3) if video else None,
            layer_switches=self.switches,
        )


@dataclass
class _School:
    scheduled: int = 0
    received: int = 0
    ms: int = 0
    subjects: set[str] = field(default_factory=set)
    grades: set[int] = field(default_factory=set)
    present: int = 0
    enrolled: int = 0
    interactions: int = 0
    hands: int = 0
    answers: int = 0
    correct: int = 0
    floor_ms: int = 0
    replay_ms: int = 0
    replayed: set[str] = field(default_factory=set)
    weeks: set[str] = field(default_factory=set)
    cells: dict[tuple[int, str], list[int]] = field(default_factory=dict)


@dataclass(slots=True)
class _Teacher:
    school: str
    delivered: int = 0
    ms: int = 0
    rooms: dict[str, int] = field(default_factory=dict)  # room -> max present
    schools: set[str] = field(default_factory=set)
    student_lessons: int = 0


def _matrix(
    grades: list[int], subjects: list[str], cells: dict[tuple[int, str], list[int]]
) -> CoverageMatrix:
    zero = [0, 0]
    return CoverageMatrix(
        grades=grades,
        subjects=subjects,
        lessons=[[cells.get((g, s), zero)[1] for s in subjects] for g in grades],
        scheduled=[[cells.get((g, s), zero)[0] for s in subjects] for g in grades],
    )


def build_report(
    term: Term,
    window: ReportWindow,
    *,
    min_minutes: float = 5.0,
    long_term_weeks: int = 4,
    progress: bool = False,
    replays: Mapping[str, str] | None = None,
) -> CoverageReport:
    """The coverage report of ``term`` over ``window`` (see the module docstring)."""
    directory: Directory = term.directory
    tz, region = window.tz, window.region
    min_ms = min_minutes * _MIN
    lo, hi = window.start, window.end
    weeks = window.weeks()

    schools: dict[str, _School] = {}
    teachers: dict[str, _Teacher] = {}
    pairs: dict[tuple[str, str], list[date]] = defaultdict(list)
    week_lessons: dict[str, int] = defaultdict(int)
    week_school_lessons: dict[str, int] = defaultdict(int)
    week_schools: dict[str, set[str]] = defaultdict(set)
    histogram = [0] * 10
    region_cells: dict[str, dict[tuple[int, str], list[int]]] = defaultdict(dict)
    lessons_started = 0
    deck_lessons = deck_pages = partner_decks = partner_decks_ready = 0
    lesson_rows: list[LessonRow] = []
    rooms: dict[str, _Room] = {}
    replay_ms_total = replay_views = lessons_replayed = 0
    total_ms = 0
    present_sum = enrolled_sum = 0

    for lesson in tqdm(term.lessons, desc="report", unit="session", disable=not progress):
        info, fig = lesson.info, lesson.figures
        day = lesson_day(lesson, tz)
        if not lo <= day <= hi:
            continue
        partner_schools = {
            s for s in info.partners.values() if region is None or directory.region_of(s) == region
        }
        if not partner_schools:
            continue
        week = iso_week(day)
        started = fig.start_ts is not None
        cell = (info.grade, info.subject)
        teacher = teachers.get(info.lead_teacher)
        if teacher is None:
            teacher = teachers[info.lead_teacher] = _Teacher(school=info.lead_school)
        if started:
            lessons_started += 1
            shown = [d for d in fig.decks if d.pages_used]
            deck_lessons += 1 if shown else 0
            deck_pages += sum(len(d.pages_used) for d in shown)
            for deck in shown:
                for partner, ready in deck.ready.items():
                    if info.partners.get(partner) in partner_schools:
                        partner_decks += 1
                        partner_decks_ready += 1 if ready else 0
            week_lessons[week] += 1
            teacher.delivered += 1
            teacher.ms += fig.duration_ms
        received: set[str] = set()
        for school_id in partner_schools:
            row = schools.get(school_id)
            if row is None:
                row = schools[school_id] = _School()
            row.scheduled += 1
            counts = row.cells.setdefault(cell, [0, 0])
            counts[0] += 1
            rcounts = region_cells[directory.region_of(school_id)].setdefault(cell, [0, 0])
            rcounts[0] += 1
        for room in fig.classrooms:
            school_id = info.partners.get(room.classroom)
            if room.role != "partner" or school_id not in partner_schools:
                continue
            row = schools[school_id]
            row.ms += room.connected_ms
            total_ms += room.connected_ms
            seen = rooms.get(room.classroom)
            if seen is None:
                seen = rooms[room.classroom] = _Room(school=school_id)
            seen.add(room, received=room.connected_ms >= min_ms)
            if room.connected_ms < min_ms:
                continue
            received.add(school_id)
            row.interactions += room.interactions
            row.hands += room.hands
            row.answers += room.answers
            row.correct += room.correct
            row.floor_ms += room.floor_ms
            present = room.present or 0
            teacher.rooms[room.classroom] = max(teacher.rooms.get(room.classroom, 0), present)
            teacher.student_lessons += present
            if room.present is not None and room.enrolled:
                row.present += room.present
                row.enrolled += room.enrolled
                present_sum += room.present
                enrolled_sum += room.enrolled
                histogram[min(9, int(10 * room.present / room.enrolled))] += 1
        for school_id in received:
            row = schools[school_id]
            row.received += 1
            row.subjects.add(info.subject)
            row.grades.add(info.grade)
            row.weeks.add(week)
            row.cells[cell][1] += 1
            region_cells[directory.region_of(school_id)][cell][1] += 1
            teacher.schools.add(school_id)
            pairs[(info.lead_school, school_id)].append(day)
            week_school_lessons[week] += 1
            week_schools[week].add(school_id)
        for replay in fig.replays:
            room = replay.classroom
            school_id = None
            if room is not None:
                school_id = info.partners.get(room)
                if school_id is None and room in directory.classrooms:
                    school_id = directory.classrooms[room].school
            if school_id in schools:
                schools[school_id].replay_ms += replay.watched_ms
                schools[school_id].replayed.add(info.session)
        if fig.replays:
            replay_ms_total += fig.replay_ms
            replay_views += len(fig.replays)
            lessons_replayed += 1
        if started:
            lesson_rows.append(
                LessonRow(
                    session=info.session,
                    day=day,
                    title=fig.title,
                    subject=info.subject,
                    grade=info.grade,
                    lead_school=info.lead_school,
                    partner_schools_received=len(received),
                    minutes=round(fig.duration_ms / _MIN, 3),
                    replay_minutes=round(fig.replay_ms / _MIN, 3),
                    replay_views=len(fig.replays),
                    replay=(replays or {}).get(info.session),
                )
            )

    # Rural schools of the directory belong to the universe even with no session.
    for school in directory.schools.values():
        if school.rural and (region is None or school.region == region):
            schools.setdefault(school.school, _School())
            region_cells.setdefault(school.region, {})

    school_rows = []
    for school_id in sorted(schools):
        row = schools[school_id]
        info_school = directory.school(school_id)
        school_rows.append(
            SchoolRow(
                school=school_id,
                name=info_school.name,
                region=info_school.region,
                rural=info_school.rural,
                lessons_scheduled=row.scheduled,
                lessons_received=row.received,
                minutes=round(row.ms / _MIN, 3),
                subjects=sorted(row.subjects),
                grades=sorted(row.grades),
                attendance_rate=_share(row.present, row.enrolled),
                interactions_per_lesson=_share(row.interactions, row.received),
                hands=row.hands,
                answers=row.answers,
                correct=row.correct,
                floor_minutes=round(row.floor_ms / _MIN, 3),
                weeks_with_lesson=len(row.weeks),
                replay_minutes=round(row.replay_ms / _MIN, 3),
                lessons_replayed=len(row.replayed),
            )
        )

    axes: dict[str, tuple[list[int], list[str]]] = {}
    region_rows = []
    region_total = region_covered = 0
    for region_id in sorted(region_cells):
        cells = region_cells[region_id]
        grades = sorted({g for g, _ in cells})
        subjects = sorted({s for _, s in cells})
        axes[region_id] = (grades, subjects)
        region_total += len(grades) * len(subjects)
        region_covered += sum(1 for c in cells.values() if c[1] > 0)
        members = sum(1 for r in school_rows if r.region == region_id)
        region_rows.append(
            RegionCoverage(
                region=region_id, schools=members, matrix=_matrix(grades, subjects, cells)
            )
        )
    school_coverage = []
    requested = requested_covered = 0
    for srow in school_rows:
        cells = schools[srow.school].cells
        requested += len(cells)
        requested_covered += sum(1 for c in cells.values() if c[1] > 0)
        grades, subjects = axes.get(srow.region, ([], []))
        school_coverage.append(
            SchoolCoverage(
                school=srow.school, region=srow.region, matrix=_matrix(grades, subjects, cells)
            )
        )

    teacher_rows = [
        TeacherRow(
            teacher=name,
            school=t.school,
            lessons_delivered=t.delivered,
            minutes_taught=round(t.ms / _MIN, 3),
            partner_classrooms_reached=len(t.rooms),
            partner_schools_reached=len(t.schools),
            students_reached=sum(t.rooms.values()),
            student_lessons=t.student_lessons,
        )
        for name, t in sorted(teachers.items())
    ]
    pair_rows = []
    for (lead_school, partner_school), days in sorted(pairs.items()):
        active = len({iso_week(d) for d in days})
        pair_rows.append(
            PairRow(
                lead_school=lead_school,
                partner_school=partner_school,
                lessons=len(days),
                weeks_active=active,
                first_lesson=min(days),
                last_lesson=max(days),
                kind=pair_kind(active, long_term_weeks),
            )
        )
    week_rows = [
        WeekRow(
            week=label,
            monday=monday,
            lessons=week_lessons.get(label, 0),
            school_lessons=week_school_lessons.get(label, 0),
            schools_reached=len(week_schools.get(label, ())),
        )
        for label, monday in weeks
    ]
    universe = len(school_rows)
    week_labels = [label for label, _ in weeks]
    every_week = sum(
        1 for s in schools.values() if week_labels and all(w in s.weeks for w in week_labels)
    )
    weekly = [_share(len(week_schools.get(w, ())), universe) for w in week_labels]
    kinds = [p.kind for p in pair_rows]
    summary = Summary(
        lessons=lessons_started,
        partner_schools=universe,
        schools_reached=sum(1 for s in schools.values() if s.received),
        weeks=week_labels,
        every_week_share=_share(every_week, universe),
        weekly_reach_share=(
            None if not universe or not weekly else sum(w or 0.0 for w in weekly) / len(weekly)
        ),
        requested_cells=requested,
        requested_cells_covered=requested_covered,
        requested_cell_share=_share(requested_covered, requested),
        region_cells=region_total,
        region_cells_covered=region_covered,
        region_cell_share=_share(region_covered, region_total),
        school_lessons=sum(s.received for s in schools.values()),
        minutes=round(total_ms / _MIN, 3),
        student_lessons=sum(t.student_lessons for t in teachers.values()),
        attendance_rate=_share(present_sum, enrolled_sum),
        long_term_pairs=kinds.count("long_term"),
        occasional_pairs=kinds.count("occasional"),
        one_off_pairs=kinds.count("one_off"),
        deck_lessons=deck_lessons,
        deck_pages_shown=deck_pages,
        partner_decks=partner_decks,
        partner_decks_ready_in_time=partner_decks_ready,
        deck_ready_share=_share(partner_decks_ready, partner_decks),
        replay_minutes=round(replay_ms_total / _MIN, 3),
        replay_views=replay_views,
        lessons_replayed=lessons_replayed,
        high_minutes=round(sum(r.high_ms for r in rooms.values()) / _MIN, 3),
        low_minutes=round(sum(r.low_ms for r in rooms.values()) / _MIN, 3),
        layer_switches=sum(r.switches for r in rooms.values()),
    )
    return CoverageReport(
        window=Window(from_=window.start, to=window.end, tz=tz_label(tz), region=region),
        params=Params(min_minutes=min_minutes, long_term_weeks=long_term_weeks),
        summary=summary,
        schools=school_rows,
        coverage=Coverage(regions=region_rows, schools=school_coverage),
        teachers=teacher_rows,
        pairs=pair_rows,
        weeks=week_rows,
        attendance_histogram=[
            AttendanceBucket(lo=i / 10, hi=(i + 1) / 10, classroom_lessons=n)
            for i, n in enumerate(histogram)
        ],
        lessons=sorted(lesson_rows, key=lambda r: (r.day, r.session)),
        classrooms=[rooms[name].row(name) for name in sorted(rooms)],
    )


def regions(term: Term) -> list[str]:
    """Regions of the term's partner schools (for a dashboard's filter list)."""
    return sorted(
        {
            term.directory.region_of(s)
            for lesson in term.lessons
            for s in lesson.info.partners.values()
        }
    )
