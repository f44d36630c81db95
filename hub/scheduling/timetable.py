"""The timetable: an accepted assignment and a date range become dated lessons.

Pure functions, no clock and no I/O, so weeks, slots and time zones are tested
alone. One lesson per *offer* (not per request) per week: an offer is one lead
classroom teaching live, and every request assigned to it is a partner classroom
in the same lesson. Offers with no assigned request produce no lesson.

Time: a slot ``mon-09:00`` is wall-clock time in the period's zone (e.g.
``Asia/Shanghai``), so a lesson stays at 09:00 local across a DST change and its
UTC instant moves. A slot time that does not exist on a spring-forward day is taken
at the instant its pre-transition offset gives (clock shows one hour later).
Instants are epoch milliseconds, like every ``ts`` of the protocol.

Session ids are ``{offer_id}-{YYYYMMDD}`` (local date), so accepting the same
result twice names the same sessions, and ids stay readable in logs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.sessions import SessionSpec
from matching.models import Assignment, Instance
from registry.models import TeacherRole
from registry.rules import Snapshot

__all__ = [
    "MAX_DAYS",
    "Period",
    "SlotError",
    "TimetableLesson",
    "occurrences",
    "plan",
    "session_id",
    "to_specs",
]

DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A timetable longer than a school year is almost certainly a typo in a date.
MAX_DAYS: Final = 400
_SLOT_RE: Final = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)-([01]\d|2[0-3]):([0-5]\d)$")
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.\-]")


class SlotError(ValueError):
    """A period or slot that cannot be scheduled (bad zone, range, slot text)."""


@dataclass(frozen=True, slots=True)
class Period:
    """Dates ``first..last`` inclusive, wall-clock zone ``tz``, lesson length."""

    first: date
    last: date
    tz: str = "Asia/Shanghai"
    lesson_minutes: int = 40

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise SlotError(f"the range ends ({self.last}) before it starts ({self.first})")
        if (self.last - self.first).days >= MAX_DAYS:
            raise SlotError(f"the range is longer than {MAX_DAYS} days")
        if not 5 <= self.lesson_minutes <= 240:
            raise SlotError("lesson length must be 5..240 minutes")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SlotError(f"unknown time zone {self.tz!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


@dataclass(frozen=True, slots=True)
class TimetableLesson:
    """One dated lesson of one offer: who teaches, who watches, when (epoch ms)."""

    session: str
    offer_id: str
    slot: str
    day: date
    subject: str
    grade: int
    lead_school: str
    lead_classroom: str
    teacher: str
    partner_schools: tuple[str, ...]
    partner_classrooms: tuple[str, ...]
    starts_at: int
    ends_at: int


def _epoch_ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def occurrences(slot: str, period: Period) -> list[tuple[date, int, int]]:
    """``(local date, start ms, end ms)`` of a weekly ``slot`` within ``period``."""
    match = _SLOT_RE.match(slot)
    if match is None:
        raise SlotError(f"slot must look like mon-09:00, got {slot!r}")
    weekday = DAYS.index(match.group(1))
    at = time(int(match.group(2)), int(match.group(3)))
    day = period.first + timedelta(days=(weekday - period.first.weekday()) % 7)
    length = timedelta(minutes=period.lesson_minutes)
    out = []
    while day <= period.last:
        # Round trip through UTC: normalises a non-existent (DST gap) wall time.
        start = datetime.combine(day, at, tzinfo=period.zone).astimezone(UTC)
        out.append((day, _epoch_ms(start), _epoch_ms(start + length)))
        day += timedelta(days=7)
    return out


def session_id(offer_id: str, day: date) -> str:
    """``{offer_id}-{YYYYMMDD}`` in the session-id alphabet, at most 64 characters."""
    base = _UNSAFE.sub("_", offer_id)
    if len(base) > 50 or base != offer_id:
        digest = hashlib.sha256(offer_id.encode()).hexdigest()[:8]
        base = f"{base[:40]}_{digest}"
    return f"{base}-{day:%Y%m%d}"


def plan(
    instance: Instance, assignments: Iterable[Assignment], period: Period
) -> list[TimetableLesson]:
    """Every lesson of the accepted ``assignments`` in ``period``, by start then id."""
    partners: dict[str, list[tuple[str, str]]] = {}
    for a in assignments:
        request = instance.requests[instance.request_index[a.request_id]]
        partners.setdefault(a.offer_id, []).append(request.classroom_key)
    lessons: list[TimetableLesson] = []
    for offer_id, rooms in partners.items():
        offer = instance.offers[instance.offer_index[offer_id]]
        rooms.sort(key=lambda room: room[1])
        for day, start, end in occurrences(offer.slot, period):
            lessons.append(
                TimetableLesson(
                    session=session_id(offer_id, day),
                    offer_id=offer_id,
                    slot=offer.slot,
                    day=day,
                    subject=offer.subject,
                    grade=offer.grade,
                    lead_school=offer.lead_school,
                    lead_classroom=offer.lead_classroom,
                    teacher=offer.teacher,
                    partner_schools=tuple(school for school, _ in rooms),
                    partner_classrooms=tuple(room for _, room in rooms),
                    starts_at=start,
                    ends_at=end,
                )
            )
    lessons.sort(key=lambda lesson: (lesson.starts_at, lesson.session))
    return lessons


def _node_of(school: str, classroom: str, snap: Snapshot, problems: set[str]) -> str | None:
    room = snap.classrooms.get(classroom)
    if room is None:
        problems.add(f"classroom {classroom!r} is not in the registry")
        return None
    if room.school != school:
        problems.add(f"classroom {classroom!r} belongs to {room.school!r}, not {school!r}")
    if room.node is None:
        problems.add(f"classroom {classroom!r} has no node")
    elif room.node not in snap.nodes:
        problems.add(f"node {room.node!r} of classroom {classroom!r} is not registered")
    return room.node


def to_specs(
    lessons: Iterable[TimetableLesson], snap: Snapshot
) -> tuple[list[SessionSpec], list[str]]:
    """Session specs (lead and partner node ids) and every registry problem found.

    Specs are only meaningful when the problem list is empty: the caller creates
    nothing otherwise, so an operator fixes the registry and accepts again.
    """
    problems: set[str] = set()
    specs: list[SessionSpec] = []
    for lesson in lessons:
        teacher = snap.teachers.get(lesson.teacher)
        if teacher is None:
            problems.add(f"teacher {lesson.teacher!r} is not in the registry")
        elif teacher.role is not TeacherRole.LEAD:
            problems.add(f"teacher {lesson.teacher!r} is not a lead teacher")
        lead = _node_of(lesson.lead_school, lesson.lead_classroom, snap, problems)
        nodes = [
            _node_of(school, room, snap, problems)
            for school, room in zip(lesson.partner_schools, lesson.partner_classrooms, strict=True)
        ]
        partners = [n for n in nodes if n is not None]
        if lead is None or len(partners) != len(nodes):
            continue
        try:
            specs.append(
                SessionSpec(
                    session=lesson.session,
                    lead=lead,
                    partners=partners,
                    title=f"{lesson.subject} grade {lesson.grade}",
                    subject=lesson.subject,
                    grade=lesson.grade,
                    starts_at=lesson.starts_at,
                    ends_at=lesson.ends_at,
                )
            )
        except ValueError as exc:
            problems.add(f"lesson {lesson.session}: {exc}")
    return specs, sorted(problems)
