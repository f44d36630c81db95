"""A scripted term in pure form, and its expected figures computed from the script.

The script says what happened (who joined when, who dropped out, who answered
what); ``inputs()`` turns it into the records the hub would feed the ledger, and
``expected_*`` compute every figure straight from the script, without the ledger.
The tests compare the two.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from ledger.directory import ClassroomInfo, Directory, SchoolInfo, SessionInfo
from ledger.inputs import BrowserInput, HeartbeatInput, LedgerInput, PresenceInput
from protocols.messages import (
    AttendanceReport,
    ChatMessage,
    Envelope,
    FloorGrant,
    FloorRevoke,
    HandLower,
    HandRaise,
    LessonEnd,
    LessonStart,
    QuizAnswer,
    QuizClose,
    QuizOpen,
    SlideShow,
)

TZ = timezone(timedelta(hours=8))
BASE = datetime(2025, 3, 3, tzinfo=TZ)  # a Monday, ISO week 2025-W10
WEEKS = 5
LESSON_MIN = 40
MIN = 60_000
FIRST_DAY = BASE.date()
LAST_DAY = FIRST_DAY + timedelta(days=7 * WEEKS - 1)

SCHOOLS = [
    SchoolInfo(school="L1", name="City No.1", region="city", rural=False),
    SchoolInfo(school="L2", name="City No.2", region="city", rural=False),
    SchoolInfo(school="P1", name="Hill Village", region="R1", rural=True),
    SchoolInfo(school="P2", name="River Village", region="R1", rural=True),
    SchoolInfo(school="P3", name="Lake Village", region="R2", rural=True),
    SchoolInfo(school="P4", name="Pine Village", region="R2", rural=True),
    SchoolInfo(school="P5", name="Far Village", region="R2", rural=True),
]
ROOMS = {
    "l1": "L1",
    "l2": "L2",
    "c11": "P1",
    "c12": "P1",
    "c21": "P2",
    "c31": "P3",
    "c41": "P4",
    "c51": "P5",
}
DIRECTORY = Directory.build(
    SCHOOLS, [ClassroomInfo(classroom=r, school=s, seats=40) for r, s in ROOMS.items()]
)


@dataclass(frozen=True)
class Course:
    name: str
    teacher: str
    lead: str
    subject: str
    grade: int
    weekday: int
    hour: int
    weeks: tuple[int, ...]
    partners: tuple[str, ...]
    cancelled: tuple[int, ...] = ()


COURSES = [
    Course("A", "T1", "l1", "math", 4, 0, 8, (0, 1, 2, 3, 4), ("c11", "c31")),
    Course("B", "T2", "l2", "chinese", 5, 2, 10, (0, 1, 2, 3), ("c21", "c12"), cancelled=(3,)),
    Course("C", "T1", "l1", "science", 4, 4, 14, (1,), ("c41",)),
]
QUIZZES = (("q1", 15, 18, 1), ("q2", 30, 33, 2))  # id, open min, close min, correct
FLOOR_SLOTS = ((10, 14), (20, 25))


@dataclass
class RoomPlan:
    room: str
    join: float | None  # minutes after start (negative: before); None = absent
    gap: tuple[float, float] | None = None  # node offline between these minutes
    console: bool = False  # a tutor's browser console instead of the node
    present: int | None = None
    enrolled: int = 40
    hands: int = 0
    floor: tuple[int, int] | None = None
    answers: list[tuple[str, str | None, int]] = field(default_factory=list)  # final
    changed: list[tuple[str, str | None, int]] = field(default_factory=list)  # overwritten
    chats: int = 0
    fps: list[float] = field(default_factory=list)
    freezes: int = 0
    hb_values: list[tuple[int, float, int]] = field(default_factory=list)  # ts, fps, counter


@dataclass
class SessionPlan:
    info: SessionInfo
    course: Course
    week: int
    started: bool
    rooms: list[RoomPlan]
    q2_closed: bool = True
    viewer: bool = False

    @property
    def start_ms(self) -> int:
        return self.info.scheduled_start


def _plan_room(rng: random.Random, room: str, forced: str | None) -> RoomPlan:
    if forced == "absent":
        return RoomPlan(room, None)
    if forced == "short":
        join: float = 37
    elif forced == "console":
        join = 2
    else:
        join = rng.choice([-5, -1, 0, 0, 3, 8, 15])
    plan = RoomPlan(room, join, console=forced == "console")
    if forced is None and rng.random() < 0.4:
        g0 = rng.randint(int(max(join, 0)) + 2, 30)
        plan.gap = (g0, g0 + rng.randint(1, 6))
    if forced != "short":
        plan.present = rng.choice([None, 25, 31, 38, 40])
        plan.hands = rng.randint(0, 3)
        plan.chats = rng.randint(0, 2)
        for quiz, *_ in QUIZZES:
            plan.answers.append((quiz, None, rng.randint(0, 3)))
            for student in ("s1", "s2"):
                if rng.random() < 0.6:
                    first = rng.randint(0, 3)
                    if rng.random() < 0.3:
                        plan.changed.append((quiz, student, first))
                        first = (first + 1) % 4
                    plan.answers.append((quiz, student, first))
    return plan


def build_script(seed: int = 7) -> list[SessionPlan]:
    rng = random.Random(seed)
    forced = {
        ("A", 2, "c31"): "absent",
        ("B", 1, "c12"): "short",
        ("C", 1, "c41"): "console",
        ("B", 2, "c21"): "absent",
    }
    plans = []
    for course in COURSES:
        for week in course.weeks:
            day = BASE + timedelta(days=7 * week + course.weekday, hours=course.hour)
            start = int(day.timestamp() * 1000)
            sid = f"{course.name}-w{week}"
            info = SessionInfo(
                session=sid,
                lead_classroom=course.lead,
                lead_teacher=course.teacher,
                lead_school=ROOMS[course.lead],
                partners={p: ROOMS[p] for p in course.partners},
                subject=course.subject,
                grade=course.grade,
                scheduled_start=start,
                scheduled_end=start + LESSON_MIN * MIN,
            )
            started = week not in course.cancelled
            rooms = [
                _plan_room(rng, p, forced.get((course.name, week, p))) for p in course.partners
            ]
            slots = iter(FLOOR_SLOTS)
            for plan in rooms:
                if plan.join is not None and plan.join < 8 and plan.hands and plan.gap is None:
                    plan.floor = next(slots, None)
            plan_obj = SessionPlan(info, course, week, started, rooms)
            plan_obj.q2_closed = not (course.name == "A" and week == 4)
            plan_obj.viewer = week % 2 == 0
            plans.append(plan_obj)
    return plans


# ------------------------------------------------------------------ inputs


class _Ids:
    ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        n, out = self.n, ""
        for _ in range(26):
            n, r = divmod(n, 32)
            out = self.ALPHABET[r] + out
        return out


def _connected_segments(plan: RoomPlan) -> list[tuple[float, float]]:
    """Minutes (relative to start) when the room is online, before clipping."""
    if plan.join is None:
        return []
    end = LESSON_MIN + 3
    if plan.gap is None:
        return [(plan.join, end)]
    return [(plan.join, plan.gap[0]), (plan.gap[1], end)]


def inputs(plans: list[SessionPlan]) -> list[LedgerInput]:
    """Every record in the order the hub would feed it (by time, then kind)."""
    new_id = _Ids()
    timed: list[tuple[int, int, LedgerInput]] = []  # (ts, order, record)
    order = 0

    def add(ts: int, record: LedgerInput) -> None:
        nonlocal order
        order += 1
        timed.append((ts, order, record))

    for sp in plans:
        if not sp.started:
            continue
        s0, sid, lead = sp.start_ms, sp.info.session, sp.info.lead_classroom

        def at(minute: float, s0: int = s0) -> int:
            return s0 + int(minute * MIN)

        events: list[tuple[int, str, Envelope]] = []

        def ev(
            minute: float,
            src: str,
            make: type[Envelope],
            events: list[tuple[int, str, Envelope]] = events,
            sid: str = sid,
            **kw: object,
        ) -> None:
            events.append((at(minute), src, make(id=new_id(), session=sid, **kw)))

        add(at(-10), PresenceInput(lead, True, at(-10)))
        add(at(LESSON_MIN + 5), PresenceInput(lead, False, at(LESSON_MIN + 5)))
        ev(
            0,
            lead,
            LessonStart,
            body={"title": "", "subject": sp.info.subject, "grade": sp.info.grade},
        )
        for i in range(15):
            ev(1 + i * 2.5, lead, SlideShow, body={"deck": "d", "index": i})
        for qid, open_m, close_m, correct in QUIZZES:
            ev(open_m, lead, QuizOpen, body={"quiz": qid, "choices": ["a", "b", "c", "d"]})
            if qid == "q2" and not sp.q2_closed:
                continue
            ev(close_m, lead, QuizClose, body={"quiz": qid, "correct": correct})
        if sp.viewer:
            add(at(5), BrowserInput("viewer-1", sid, at(5), True))
            add(at(25), BrowserInput("viewer-1", sid, at(25), False))
        for plan in sp.rooms:
            room = plan.room
            if plan.console:
                add(
                    at(plan.join or 0),
                    BrowserInput("tutor-" + room, sid, at(plan.join or 0), True, room),
                )
                add(at(38), BrowserInput("tutor-" + room, sid, at(38), False, room))
            else:
                for a, b in _connected_segments(plan):
                    add(at(a), PresenceInput(room, True, at(a)))
                    add(at(b), PresenceInput(room, False, at(b)))
            if plan.join is None:
                continue
            base = max(plan.join, 0)
            if plan.present is not None:
                ev(
                    base + 0.5,
                    room,
                    AttendanceReport,
                    body={"present": plan.present, "enrolled": plan.enrolled},
                )
            for h in range(plan.hands):
                ev(base + 1 + h * 0.1, room, HandRaise)
                ev(base + 1.05 + h * 0.1, room, HandLower)
            for c in range(plan.chats):
                ev(base + 2 + c * 0.1, room, ChatMessage, body={"text": "hi"})
            if plan.floor is not None:
                g, r = plan.floor
                ev(g, lead, FloorGrant, body={"node": room})
                ev(r, lead, FloorRevoke, body={})
            quiz_open = {q: (o, c) for q, o, c, _ in QUIZZES}
            for k, (quiz, student, choice) in enumerate(plan.changed):
                ev(
                    quiz_open[quiz][0] + 0.2 + k * 0.01,
                    room,
                    QuizAnswer,
                    body={"quiz": quiz, "choice": choice, "student": student},
                )
            for k, (quiz, student, choice) in enumerate(plan.answers):
                body = {"quiz": quiz, "choice": choice}
                if student is not None:
                    body["student"] = student
                ev(quiz_open[quiz][0] + 1 + k * 0.01, room, QuizAnswer, body=body)
            # heartbeats every minute while online, running freeze counter reset per segment
            rng = random.Random(f"{sid}/{room}")
            if not plan.console:
                for a, b in _connected_segments(plan):
                    counter = 0
                    minute, first = a, True
                    while minute < min(b, LESSON_MIN):
                        if not first and rng.random() < 0.25:
                            counter += 1
                            plan.freezes += 1
                        fps = float(rng.choice([15, 24, 25, 30]))
                        plan.fps.append(fps)
                        hb = HeartbeatInput(room, at(minute) + 1, (sid,), fps, counter)
                        add(hb.ts, hb)
                        minute += 1
                        first = False
        ev(LESSON_MIN, lead, LessonEnd)
        events.sort(key=lambda e: e[0])
        for seq, (ts, src, event) in enumerate(events, start=1):
            add(ts, event.model_copy(update={"seq": seq, "ts": ts, "src": src}))
    timed.sort(key=lambda t: (t[0], t[1]))
    return [record for _, _, record in timed]


# -------------------------------------------------------------- expectations


def connected_minutes(plan: RoomPlan) -> float:
    if plan.join is None:
        return 0.0
    if plan.console:
        return 38 - max(plan.join, 0)
    total = LESSON_MIN - max(plan.join, 0)
    if plan.gap is not None:
        total -= plan.gap[1] - plan.gap[0]
    return total


def correct_count(sp: SessionPlan, plan: RoomPlan) -> int:
    correct = {q: c for q, _, _, c in QUIZZES}
    return sum(
        1
        for quiz, _, choice in plan.answers
        if choice == correct[quiz] and (quiz != "q2" or sp.q2_closed)
    )


def lesson_day(sp: SessionPlan) -> date:
    return datetime.fromtimestamp(sp.start_ms / 1000, TZ).date()
