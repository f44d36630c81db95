"""A seeded synthetic term: directory, session specs and every input the hub would
feed, generated week by week so a long term never sits in memory at once.

Why a module of its own: the bench (bench/report.py) needs a realistic term of
hundreds of schools, and keeping the generator apart from the bench keeps both
readable. Events are built with ``model_construct`` (the generator is trusted;
validation is what the sequencer does, not what the bench measures).

Per lesson: lesson.start, 15 slides, per partner an attendance report, 0-3 hands
(raised and lowered), maybe a floor grant and revoke, 3 quizzes with a whole-class
answer and 0-4 student answers per partner, maybe a chat, lesson.end; presence on
and off per node (late joins and dropouts included); a heartbeat per node every
``heartbeat_s`` while online.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from ledger.directory import ClassroomInfo, Directory, SchoolInfo, SessionInfo
from ledger.inputs import HeartbeatInput, LedgerInput, PresenceInput
from ledger.report import DEFAULT_TZ
from protocols.messages import (
    AttendanceBody,
    AttendanceReport,
    ChatBody,
    ChatMessage,
    Empty,
    Envelope,
    FloorGrant,
    FloorGrantBody,
    FloorRevoke,
    FloorRevokeBody,
    HandLower,
    HandLowerBody,
    HandRaise,
    LessonEnd,
    LessonStart,
    LessonStartBody,
    QuizAnswer,
    QuizAnswerBody,
    QuizClose,
    QuizCloseBody,
    QuizOpen,
    QuizOpenBody,
    SlideShow,
    SlideShowBody,
)

__all__ = ["SUBJECTS", "SyntheticTerm", "make_term"]

SUBJECTS = ("chinese", "math", "english", "science", "music", "art")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MIN = 60_000
LESSON_MIN = 40
#: Monday 2025-03-03 00:00 in China Standard Time.
TERM_START = datetime(2025, 3, 3, tzinfo=DEFAULT_TZ)


@dataclass(frozen=True, slots=True)
class SyntheticTerm:
    directory: Directory
    weeks: int
    #: Session specs per week.
    sessions: tuple[tuple[SessionInfo, ...], ...]
    heartbeat_s: int
    seed: int

    def infos(self) -> list[SessionInfo]:
        return [info for week in self.sessions for info in week]

    def week_inputs(self, week: int) -> list[LedgerInput]:
        """Every input of ``week`` in hub feed order (by time)."""
        rng = random.Random(f"{self.seed}/{week}")
        timed: list[tuple[int, int, LedgerInput]] = []
        counter = [week * 10_000_000]
        for info in self.sessions[week]:
            _lesson(info, rng, timed, counter, self.heartbeat_s)
        timed.sort(key=lambda t: (t[0], t[1]))
        return [r for _, _, r in timed]


def _ulid(n: int) -> str:
    out = []
    for _ in range(26):
        n, r = divmod(n, 32)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def make_term(
    schools: int = 200,
    weeks: int = 18,
    lessons_per_week: int = 10,
    *,
    partners_per_session: int = 2,
    regions: int = 10,
    heartbeat_s: int = 30,
    seed: int = 1,
) -> SyntheticTerm:
    """``schools`` partner schools (one classroom each), each getting about
    ``lessons_per_week`` lessons a week from lead teachers of ``schools // 10`` lead
    schools (two teachers each), in sessions of ``partners_per_session`` partners."""
    rng = random.Random(seed)
    leads = max(1, schools // 10)
    school_list = [
        SchoolInfo(school=f"L{i:03d}", name=f"Lead {i}", region="city", rural=False)
        for i in range(leads)
    ] + [
        SchoolInfo(
            school=f"P{i:04d}", name=f"Village {i}", region=f"R{i % regions:02d}", rural=True
        )
        for i in range(schools)
    ]
    rooms = [
        ClassroomInfo(classroom=f"l{i:03d}{t}", school=f"L{i:03d}", seats=45)
        for i in range(leads)
        for t in "ab"
    ]
    rooms += [
        ClassroomInfo(classroom=f"c{i:04d}", school=f"P{i:04d}", seats=rng.randint(20, 45))
        for i in range(schools)
    ]
    directory = Directory.build(school_list, rooms)
    teachers = [(f"T{i:03d}{t}", f"l{i:03d}{t}", f"L{i:03d}") for i in range(leads) for t in "ab"]
    grade_of = {i: 1 + i % 9 for i in range(schools)}
    by_week = []
    n = 0
    for week in range(weeks):
        infos = []
        for slot in range(lessons_per_week):
            order = list(range(schools))
            rng.shuffle(order)
            # group partner schools of the same grade so a session teaches one grade
            order.sort(key=lambda i: grade_of[i])
            for k in range(0, schools, partners_per_session):
                group = order[k : k + partners_per_session]
                teacher, lead_room, lead_school = teachers[
                    (k // partners_per_session + slot) % len(teachers)
                ]
                day = slot % 5
                start = TERM_START + timedelta(
                    days=7 * week + day, hours=8 + slot // 5, minutes=5 * (k % 12)
                )
                start_ms = int(start.timestamp() * 1000)
                n += 1
                infos.append(
                    SessionInfo(
                        session=f"s{n:06d}",
                        lead_classroom=lead_room,
                        lead_teacher=teacher,
                        lead_school=lead_school,
                        partners={f"c{i:04d}": f"P{i:04d}" for i in group},
                        subject=SUBJECTS[(slot + k) % len(SUBJECTS)],
                        grade=grade_of[group[0]],
                        scheduled_start=start_ms,
                        scheduled_end=start_ms + LESSON_MIN * _MIN,
                    )
                )
        by_week.append(tuple(infos))
    return SyntheticTerm(directory, weeks, tuple(by_week), heartbeat_s, seed)


def _lesson(
    info: SessionInfo,
    rng: random.Random,
    out: list[tuple[int, int, LedgerInput]],
    counter: list[int],
    heartbeat_s: int,
) -> None:
    sid, lead, s0 = info.session, info.lead_classroom, info.scheduled_start
    events: list[tuple[int, str, type[Envelope], BaseModel]] = []

    def ev(ms: int, src: str, cls: type[Envelope], body: BaseModel) -> None:
        events.append((s0 + ms, src, cls, body))

    def node(room: str, join_ms: int, leave_ms: int) -> None:
        out.append((s0 + join_ms, 0, PresenceInput(room, True, s0 + join_ms)))
        out.append((s0 + leave_ms, 0, PresenceInput(room, False, s0 + leave_ms)))
        freezes = 0
        t = join_ms
        while t < leave_ms:
            if rng.random() < 0.05:
                freezes += 1
            fps = 30.0 if rng.random() < 0.9 else 12.0
            out.append((s0 + t, 1, HeartbeatInput(room, s0 + t, (sid,), fps, freezes)))
            t += heartbeat_s * 1000

    end_ms = LESSON_MIN * _MIN
    node(lead, -5 * _MIN, end_ms + 2 * _MIN)
    ev(0, lead, LessonStart, LessonStartBody(subject=info.subject, grade=info.grade))
    for i in range(15):
        ev(30_000 + i * 150_000, lead, SlideShow, SlideShowBody(deck="d", index=i))
    quizzes = [(f"q{q}", (10 + q * 10) * _MIN) for q in range(3)]
    for quiz, t in quizzes:
        ev(t, lead, QuizOpen, QuizOpenBody(quiz=quiz, choices=["a", "b", "c", "d"]))
        ev(t + 3 * _MIN, lead, QuizClose, QuizCloseBody(quiz=quiz, correct=rng.randint(0, 3)))
    floor_at = 5 * _MIN
    for room in info.partners:
        r = rng.random()
        if r < 0.05:
            continue  # absent
        join = -2 * _MIN if r < 0.8 else rng.randint(1, 15) * _MIN  # some join late
        leave = end_ms + _MIN if rng.random() < 0.9 else rng.randint(25, 39) * _MIN
        node(room, join, leave)
        seats = 40
        ev(
            join + 60_000 if join > 0 else 60_000,
            room,
            AttendanceReport,
            AttendanceBody(present=rng.randint(25, seats), enrolled=seats),
        )
        for h in range(rng.randint(0, 3)):
            t = max(join, 0) + (h + 2) * _MIN
            ev(t, room, HandRaise, Empty())
            ev(t + 20_000, room, HandLower, HandLowerBody())
        if rng.random() < 0.5 and floor_at + 3 * _MIN < leave:
            ev(floor_at, lead, FloorGrant, FloorGrantBody(node=room))
            ev(floor_at + 3 * _MIN, lead, FloorRevoke, FloorRevokeBody())
            floor_at += 4 * _MIN
        for quiz, t in quizzes:
            if not join < t < leave:
                continue
            ev(t + 60_000, room, QuizAnswer, QuizAnswerBody(quiz=quiz, choice=rng.randint(0, 3)))
            for s in range(rng.randint(0, 4)):
                ev(
                    t + 61_000 + s,
                    room,
                    QuizAnswer,
                    QuizAnswerBody(quiz=quiz, choice=rng.randint(0, 3), student=f"s{s}"),
                )
        if rng.random() < 0.3:
            ev(max(join, 0) + 90_000, room, ChatMessage, ChatBody(text="hello"))
    ev(end_ms, lead, LessonEnd, Empty())
    events.sort(key=lambda e: e[0])
    for seq, (ts, src, cls, body) in enumerate(events, start=1):
        counter[0] += 1
        construct: Any = cls.model_construct  # body is each subclass's own field
        event = construct(id=_ulid(counter[0]), session=sid, seq=seq, ts=ts, src=src, body=body)
        out.append((ts, 2, event))
