"""A scripted term through the real stack: hub, Mosquitto, Redis, registry, reports.

Seven partner/lead schools in two regions, eight lessons over five weeks (one out of
the report window, one never started), with a classroom that is never online, a
late join, a node that drops (last will) and comes back, a lesson barely attended,
hands, floor grants, quizzes with right, wrong, changed and unrevealed answers,
attendance reports and heartbeats. The hub is restarted twice mid-lesson: once
cleanly (mid-lesson 2), once as a crash (mid-lesson 7, no save since its start:
everything that hub did is recovered from the session logs and ``dc:ledger:inputs``).

Time: the hub's clock (``HubCore.clock``, the ``ts`` of sequenced events and ledger
records) is a ``ScriptClock`` set by the test before each step; the test waits for
the hub to have handled the step before moving the clock. So every ``ts`` the hub
records is the scripted one and the timing figures (minutes connected, floor time,
late joins) are compared exactly, not with a tolerance, and lessons can lie in
past weeks while the test takes seconds.

The expected figures are computed here from the script alone (``expected_*``),
following docs/reports.md, and compared with ``coverage_report`` (and the API).
"""

from __future__ import annotations

import csv
import functools
import io
import zipfile
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import httpx

from broker.client import ClientSettings, MqttLink, WillSpec
from broker.localstack import MosquittoServer, RedisServer
from hub.config import HubConfig
from hub.server import Hub
from hub.sessions import SessionSpec
from ledger import store
from ledger.command import coverage_report
from ledger.schema import CoverageReport
from protocols.codec import encode
from protocols.ids import new_id
from protocols.messages import (
    AttendanceBody,
    AttendanceReport,
    ChatBody,
    ChatMessage,
    Envelope,
    FloorGrant,
    FloorGrantBody,
    FloorRevoke,
    FloorRevokeBody,
    HandRaise,
    HeartbeatBody,
    LessonEnd,
    LessonStart,
    MediaStats,
    NodeHeartbeat,
    NodePresence,
    PresenceBody,
    QuizAnswer,
    QuizAnswerBody,
    QuizClose,
    QuizCloseBody,
    QuizOpen,
    QuizOpenBody,
)
from registry.models import Classroom, Kind, School, SchoolKind, Teacher, TeacherRole
from registry.store import RegistryStore
from tests.hub.hubkit import ADMIN_KEY, TOPICS, hub_config, wait_for

TZ = timezone(timedelta(hours=8))
FROM, TO = date(2025, 3, 3), date(2025, 3, 30)  # ISO weeks 10..13
MIN = 60_000

# ----------------------------------------------------------------- the term

SCHOOLS = [
    School(id="L1", name="City No.1", kind=SchoolKind.LEAD, region="R1"),
    School(id="L2", name="City No.2", kind=SchoolKind.LEAD, region="R2"),
    School(id="P1", name="Hill", kind=SchoolKind.PARTNER, region="R1", rural=True),
    School(id="P2", name="River", kind=SchoolKind.PARTNER, region="R1", rural=True),
    School(id="P3", name="Lake", kind=SchoolKind.PARTNER, region="R2", rural=True),
    School(id="P4", name="Pass", kind=SchoolKind.PARTNER, region="R2", rural=True),
    School(id="P5", name="Ridge", kind=SchoolKind.PARTNER, region="R1", rural=True),
]
#: classroom id -> (school, node)
ROOMS = {
    "L1-A": ("L1", "l1a"),
    "L2-A": ("L2", "l2a"),
    "P1-A": ("P1", "p1a"),
    "P1-B": ("P1", "p1b"),
    "P2-A": ("P2", "p2a"),
    "P3-A": ("P3", "p3a"),
    "P4-A": ("P4", "p4a"),
    "P5-A": ("P5", "p5a"),
}
SCHOOL_OF_NODE = {node: school for school, node in ROOMS.values()}
TEACHERS = [
    Teacher(id="T1", name="Wang", school="L1", role=TeacherRole.LEAD, subjects=["math"]),
    Teacher(id="T3", name="Li", school="L1", role=TeacherRole.LEAD, subjects=["english"]),
    Teacher(id="T2", name="Zhao", school="L2", role=TeacherRole.LEAD, subjects=["chinese"]),
    Teacher(id="U1", name="Chen", school="P1", role=TeacherRole.TUTOR, subjects=["math"]),
]

#: (minute after the scheduled start, node, action, argument)
Act = tuple[float, str, str, Any]


@dataclass(frozen=True)
class Plan:
    sid: str
    day: date
    lead: str
    teacher: str  # expected lead teacher (resolved by the hub from the registry)
    partners: tuple[str, ...]
    subject: str
    grade: int
    acts: tuple[Act, ...] = ()
    explicit_teacher: bool = False

    @property
    def start_ms(self) -> int:
        return int(datetime.combine(self.day, time(9, 0), TZ).timestamp() * 1000)

    def at(self, minute: float) -> int:
        return self.start_ms + int(minute * MIN)


PLANS = [
    Plan(
        "S1",
        date(2025, 3, 3),
        "l1a",
        "T1",
        ("p1a", "p2a"),
        "math",
        4,
        (
            (-2, "l1a", "on", None),
            (-1, "p1a", "on", None),
            (0, "l1a", "start", None),
            (1, "p1a", "att", (30, 40)),
            (5, "p2a", "on", None),  # late join
            (6, "p2a", "att", (25, 30)),
            (8, "p1a", "hand", None),
            (9, "l1a", "grant", "p1a"),
            (13, "l1a", "revoke", "p1a"),
            (14, "p2a", "hand", None),
            (15, "p2a", "chat", "question"),
            (16, "l1a", "qopen", "q1"),
            (17, "p1a", "answer", ("q1", 1, None)),
            (17.5, "p2a", "answer", ("q1", 0, "s1")),
            (18, "p2a", "answer", ("q1", 0, "s2")),
            (18.5, "p2a", "answer", ("q1", 1, "s1")),  # s1 changes to the right answer
            (19, "l1a", "close", ("q1", 1)),
            (20, "p1a", "hb", 24.0),
            (25, "p1a", "hb", 20.0),
            (40, "l1a", "end", None),
        ),
    ),
    Plan(
        "S5",
        date(2025, 3, 5),
        "l2a",
        "T2",
        ("p3a", "p4a"),  # p4a is never online
        "chinese",
        5,
        (
            (-1, "l2a", "on", None),
            (-1, "p3a", "on", None),
            (0, "l2a", "start", None),
            (2, "p3a", "att", (15, 20)),
            (7, "p3a", "hand", None),
            (40, "l2a", "end", None),
        ),
        explicit_teacher=True,
    ),
    Plan(
        "S2",
        date(2025, 3, 10),
        "l1a",
        "T1",
        ("p1a", "p2a"),
        "math",
        4,
        (
            (-1, "l1a", "on", None),
            (-1, "p1a", "on", None),
            (-1, "p2a", "on", None),
            (0, "l1a", "start", None),
            (2, "p1a", "att", (28, 40)),
            (2.5, "p2a", "att", (20, 30)),
            (10, "p2a", "abort", None),  # crash: the broker sends its last will
            (12, "", "restart", "clean"),  # the hub is stopped and started again
            (15, "p2a", "on", None),  # back
            (20, "p1a", "hand", None),
            (22, "l1a", "grant", "p2a"),  # held until the end
            (30, "l1a", "end", None),
        ),
    ),
    Plan(
        "S6",
        date(2025, 3, 12),
        "l2a",
        "T2",
        ("p3a",),
        "chinese",
        5,
        (
            (-1, "l2a", "on", None),
            (0, "l2a", "start", None),
            (10, "p3a", "on", None),
            (13, "p3a", "off", None),  # 3 minutes: below the 5 that make a lesson received
            (40, "l2a", "end", None),
        ),
    ),
    Plan(
        "S3",
        date(2025, 3, 17),
        "l1a",
        "T1",
        ("p1a", "p1b"),
        "math",
        4,
        (
            (-1, "l1a", "on", None),
            (-1, "p1a", "on", None),
            (0, "l1a", "start", None),
            (3, "p1b", "on", None),
            (4, "p1b", "att", (10, 20)),
            (6, "p1b", "hand", None),
            (7, "p1b", "chat", "hello"),
            (40, "l1a", "end", None),
        ),
    ),
    Plan("S7", date(2025, 3, 19), "l1a", "T3", ("p2a",), "english", 4),  # never started
    Plan(
        "S4",
        date(2025, 3, 24),
        "l1a",
        "T1",
        ("p1a",),
        "math",
        4,
        (
            (-1, "l1a", "on", None),
            (-1, "p1a", "on", None),
            (0, "l1a", "start", None),
            (1, "p1a", "att", (40, 40)),
            (5, "l1a", "qopen", "q4"),
            (6, "p1a", "answer", ("q4", 2, None)),
            (7, "p1a", "hb", 25.0),
            (8, "", "restart", "crash"),  # the hub dies without saving
            (9, "l1a", "close", ("q4", None)),  # the answer is never revealed
            (12, "p1a", "hand", None),
            (13, "l1a", "grant", "p1a"),
            (15, "l1a", "revoke", "p1a"),
            (40, "l1a", "end", None),
        ),
    ),
    Plan(
        "S8",
        date(2025, 4, 2),  # after the window
        "l2a",
        "T2",
        ("p3a",),
        "chinese",
        5,
        (
            (-1, "l2a", "on", None),
            (-1, "p3a", "on", None),
            (0, "l2a", "start", None),
            (40, "l2a", "end", None),
        ),
    ),
]


# ----------------------------------------------------- expected, from the script


@dataclass
class RoomExp:
    connected_ms: int = 0
    first_join: int | None = None
    present: int | None = None
    enrolled: int | None = None
    hands: int = 0
    floor_grants: int = 0
    floor_ms: int = 0
    answers: int = 0
    correct: int = 0
    chats: int = 0

    @property
    def interactions(self) -> int:
        return self.hands + self.floor_grants + self.answers + self.chats


def expected_rooms(plan: Plan) -> tuple[int | None, int | None, dict[str, RoomExp]]:
    """(start ts, end ts, partner classroom -> figures) straight from the acts."""
    times = {kind: plan.at(m) for m, _, kind, _ in plan.acts if kind in ("start", "end")}
    start, end = times.get("start"), times.get("end")
    rooms = {p: RoomExp() for p in plan.partners}
    if start is None or end is None:
        return start, end, rooms
    since: dict[str, int] = {}
    holder: tuple[str, int] | None = None
    answers: dict[str, dict[tuple[str, str | None], int]] = defaultdict(dict)
    for minute, node, kind, arg in plan.acts:
        ts = plan.at(minute)
        room = rooms.get(node)
        if kind == "on":
            since[node] = ts
        elif kind in ("off", "abort"):
            on = since.pop(node)
            if room is not None:
                lo, hi = max(on, start), min(ts, end)
                if hi > lo:
                    room.connected_ms += hi - lo
                    room.first_join = lo if room.first_join is None else room.first_join
        elif kind == "att" and room is not None:
            room.present, room.enrolled = arg
        elif kind == "hand" and room is not None:
            room.hands += 1
        elif kind == "chat" and room is not None:
            room.chats += 1
        elif kind == "grant":
            rooms[arg].floor_grants += 1
            holder = (arg, ts)
        elif kind == "revoke" and holder is not None:
            rooms[holder[0]].floor_ms += ts - holder[1]
            holder = None
        elif kind == "answer":
            quiz, choice, student = arg
            answers[quiz][(node, student)] = choice
        elif kind == "close":
            quiz, correct = arg
            for (who, _), choice in answers[quiz].items():
                rooms[who].answers += 1
                rooms[who].correct += int(correct is not None and choice == correct)
    if holder is not None:
        rooms[holder[0]].floor_ms += end - holder[1]
    for node, on in since.items():  # still online at the end
        if node in rooms and end > max(on, start):
            lo = max(on, start)
            rooms[node].connected_ms += end - lo
            rooms[node].first_join = (
                lo if rooms[node].first_join is None else rooms[node].first_join
            )
    return start, end, rooms


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def expected_report(region: str | None = None, min_ms: int = 5 * MIN) -> dict[str, Any]:
    """The report's tables as the test understands docs/reports.md section 3."""
    region_of = {s.id: s.region for s in SCHOOLS}
    schools: dict[str, dict[str, Any]] = {}
    cells: dict[str, dict[tuple[int, str], list[int]]] = defaultdict(dict)
    school_cells: dict[str, dict[tuple[int, str], list[int]]] = defaultdict(dict)
    teachers: dict[str, dict[str, Any]] = {}
    pairs: dict[tuple[str, str], list[date]] = defaultdict(list)
    lessons = 0

    def row(school: str) -> dict[str, Any]:
        return schools.setdefault(
            school,
            {
                "scheduled": 0, "received": 0, "ms": 0, "subjects": set(), "grades": set(),
                "present": 0, "enrolled": 0, "interactions": 0, "hands": 0, "answers": 0,
                "correct": 0, "floor_ms": 0, "weeks": set(),
            },
        )  # fmt: skip

    for plan in PLANS:
        start, end, rooms = expected_rooms(plan)
        day = datetime.fromtimestamp((start or plan.start_ms) / 1000, TZ).date()
        if not FROM <= day <= TO:
            continue
        partner_schools = {
            SCHOOL_OF_NODE[p]
            for p in plan.partners
            if region is None or region_of[SCHOOL_OF_NODE[p]] == region
        }
        if not partner_schools:
            continue
        lead_school = SCHOOL_OF_NODE[plan.lead]
        t = teachers.setdefault(
            plan.teacher,
            {"school": lead_school, "delivered": 0, "ms": 0, "rooms": {}, "schools": set(),
             "student_lessons": 0},
        )  # fmt: skip
        if start is not None and end is not None:
            lessons += 1
            t["delivered"] += 1
            t["ms"] += end - start
        cell = (plan.grade, plan.subject)
        for school in partner_schools:
            row(school)["scheduled"] += 1
            cells[region_of[school]].setdefault(cell, [0, 0])[0] += 1
            school_cells[school].setdefault(cell, [0, 0])[0] += 1
        received = set()
        for node, fig in rooms.items():
            school = SCHOOL_OF_NODE[node]
            if school not in partner_schools:
                continue
            r = row(school)
            r["ms"] += fig.connected_ms
            if fig.connected_ms < min_ms:
                continue
            received.add(school)
            for key in ("hands", "answers", "correct", "floor_ms", "interactions"):
                r[key] += getattr(fig, key)
            t["rooms"][node] = max(t["rooms"].get(node, 0), fig.present or 0)
            t["student_lessons"] += fig.present or 0
            if fig.present is not None and fig.enrolled:
                r["present"] += fig.present
                r["enrolled"] += fig.enrolled
        for school in received:
            r = row(school)
            r["received"] += 1
            r["subjects"].add(plan.subject)
            r["grades"].add(plan.grade)
            r["weeks"].add(week_of(day))
            cells[region_of[school]][cell][1] += 1
            school_cells[school][cell][1] += 1
            t["schools"].add(school)
            pairs[(lead_school, school)].append(day)
    for s in SCHOOLS:
        if s.rural and (region is None or s.region == region):
            row(s.id)
            cells.setdefault(s.region, {})

    def share(a: float, b: float) -> float | None:
        return None if not b else a / b

    school_rows = {
        sid: {
            "region": region_of[sid],
            "lessons_scheduled": r["scheduled"],
            "lessons_received": r["received"],
            "minutes": round(r["ms"] / MIN, 3),
            "subjects": sorted(r["subjects"]),
            "grades": sorted(r["grades"]),
            "attendance_rate": share(r["present"], r["enrolled"]),
            "interactions_per_lesson": share(r["interactions"], r["received"]),
            "hands": r["hands"],
            "answers": r["answers"],
            "correct": r["correct"],
            "floor_minutes": round(r["floor_ms"] / MIN, 3),
            "weeks_with_lesson": len(r["weeks"]),
            # replay viewing is reported apart; nobody watched a recording in this term
            "replay_minutes": 0.0,
            "lessons_replayed": 0,
        }
        for sid, r in schools.items()
    }

    def matrix(axes: tuple[list[int], list[str]], got: dict[tuple[int, str], list[int]]) -> Any:
        grades, subjects = axes
        return {
            "grades": grades,
            "subjects": subjects,
            "lessons": [[got.get((g, s), [0, 0])[1] for s in subjects] for g in grades],
            "scheduled": [[got.get((g, s), [0, 0])[0] for s in subjects] for g in grades],
        }

    axes = {reg: (sorted({g for g, _ in c}), sorted({s for _, s in c})) for reg, c in cells.items()}
    kinds = {
        key: ("long_term" if len({week_of(d) for d in days}) >= 4 else
              "one_off" if len({week_of(d) for d in days}) <= 1 else "occasional")
        for key, days in pairs.items()
    }  # fmt: skip
    return {
        "lessons": lessons,
        "schools": school_rows,
        "regions": {reg: matrix(axes[reg], c) for reg, c in cells.items()},
        "school_matrices": {
            sid: matrix(axes[region_of[sid]], school_cells.get(sid, {})) for sid in school_rows
        },
        "teachers": {
            name: {
                "school": t["school"],
                "lessons_delivered": t["delivered"],
                "minutes_taught": round(t["ms"] / MIN, 3),
                "partner_classrooms_reached": len(t["rooms"]),
                "partner_schools_reached": len(t["schools"]),
                "students_reached": sum(t["rooms"].values()),
                "student_lessons": t["student_lessons"],
            }
            for name, t in teachers.items()
        },
        "pairs": {
            key: {
                "lessons": len(days),
                "weeks_active": len({week_of(d) for d in days}),
                "first_lesson": min(days),
                "last_lesson": max(days),
                "kind": kinds[key],
            }
            for key, days in pairs.items()
        },
        "minutes": round(sum(r["ms"] for r in schools.values()) / MIN, 3),
        "school_lessons": sum(r["received"] for r in schools.values()),
        "attendance_rate": share(
            sum(r["present"] for r in schools.values()),
            sum(r["enrolled"] for r in schools.values()),
        ),
    }


def compare(report: CoverageReport, expected: dict[str, Any]) -> None:
    got_schools = {
        r.school: r.model_dump(exclude={"school", "name", "rural"}) for r in report.schools
    }
    assert got_schools == expected["schools"]
    assert {r.region: r.matrix.model_dump() for r in report.coverage.regions} == expected["regions"]
    assert {s.school: s.matrix.model_dump() for s in report.coverage.schools} == expected[
        "school_matrices"
    ]
    assert {t.teacher: t.model_dump(exclude={"teacher"}) for t in report.teachers} == expected[
        "teachers"
    ]
    assert {
        (p.lead_school, p.partner_school): p.model_dump(exclude={"lead_school", "partner_school"})
        for p in report.pairs
    } == expected["pairs"]
    summary = report.summary
    assert summary.lessons == expected["lessons"]
    assert summary.school_lessons == expected["school_lessons"]
    assert summary.minutes == expected["minutes"]
    assert summary.attendance_rate == expected["attendance_rate"]


def test_expected_figures_are_what_the_script_says() -> None:
    """The test's own arithmetic, pinned on a few hand-checked numbers."""
    _, _, s1 = expected_rooms(PLANS[0])
    assert s1["p2a"].connected_ms == 35 * MIN  # joined 5 minutes late
    assert (s1["p2a"].answers, s1["p2a"].correct) == (2, 1)  # s1 changed to right, s2 wrong
    assert (s1["p1a"].floor_ms, s1["p1a"].answers, s1["p1a"].correct) == (4 * MIN, 1, 1)
    _, _, s2 = expected_rooms(PLANS[2])
    assert s2["p2a"].connected_ms == 25 * MIN  # 0..10 and 15..30 (online -1..10)
    assert s2["p2a"].floor_ms == 8 * MIN
    exp = expected_report()
    assert exp["schools"]["P4"]["lessons_received"] == 0
    assert exp["schools"]["P5"]["lessons_scheduled"] == 0
    assert exp["pairs"][("L1", "P1")]["kind"] == "long_term"
    assert exp["teachers"]["T1"]["students_reached"] == 40 + 25 + 10


# --------------------------------------------------------------- the stack


class ScriptClock:
    """The hub's clock during the term: the test sets ``now`` before every step."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


@dataclass
class TermNode:
    """A classroom node on raw MQTT: presence (retained, last will) and uplinks."""

    node: str
    secret: str
    port: int
    link: MqttLink | None = None
    generation: int = 0

    async def connect(self) -> None:
        self.generation += 1
        offline = encode(NodePresence(id=new_id(), body=PresenceBody(online=False)))
        settings = ClientSettings(
            port=self.port,
            username=self.node,
            password=self.secret,
            client_id=f"term-{self.node}-{self.generation}",
            clean_start=True,
            will=WillSpec(topic=TOPICS.node_presence(self.node), payload=offline),
        )
        self.link = MqttLink(settings)
        await self.link.start(wait=True)

    async def presence(self, online: bool) -> None:
        assert self.link is not None
        message = NodePresence(id=new_id(), body=PresenceBody(online=online))
        await self.link.publish(TOPICS.node_presence(self.node), encode(message), retain=True)

    async def send(self, message: Envelope) -> None:
        assert self.link is not None
        await self.link.publish(TOPICS.node_up(self.node), encode(message))

    async def abort(self) -> None:
        assert self.link is not None
        await self.link.abort()
        self.link = None

    async def close(self) -> None:
        if self.link is not None:
            await self.link.close()


@dataclass
class Term:
    config: HubConfig
    clock: ScriptClock
    nodes: dict[str, TermNode] = field(default_factory=dict)
    hub: Hub | None = None

    async def start_hub(self, *, save_interval_s: float = 0.2) -> Hub:
        hub = Hub(self.config)
        hub.clock = self.clock
        hub.ledger_feed.interval_s = save_interval_s
        hub.ledger_feed.save_interval_s = save_interval_s
        await hub.startup()
        self.hub = hub
        return hub

    async def stop_hub(self, *, crash: bool = False) -> None:
        assert self.hub is not None
        if crash:
            # a SIGKILL between two saves: whatever was fed since is only in the streams
            feed = self.hub.ledger_feed
            feed.stop = functools.partial(feed.stop, save=False)  # type: ignore[method-assign]
        await self.hub.shutdown()
        self.hub = None

    @property
    def live(self) -> Hub:
        assert self.hub is not None
        return self.hub

    async def step(self, plan: Plan, minute: float, node: str, kind: str, arg: Any) -> None:
        self.clock.now = plan.at(minute)
        hub = self.live
        feed = hub.ledger_feed
        sid = plan.sid
        if kind == "restart":
            await self.stop_hub(crash=arg == "crash")
            await self.start_hub(save_interval_s=3600 if arg == "clean" else 0.2)
            return
        if kind in ("on", "off"):
            await self.nodes[node].presence(kind == "on")
            await wait_for(lambda: feed.online(node) == (kind == "on"), what=f"{node} {kind}")
            return
        if kind == "abort":
            await self.nodes[node].abort()
            await wait_for(lambda: not feed.online(node), what=f"last will of {node}")
            await self.nodes[node].connect()
            return
        if kind == "hb":
            before = self._heartbeats(plan, node)
            media = MediaStats(fps=arg, freezes=1)
            body = HeartbeatBody(uptime_s=1.0, sessions=[sid], media=media)
            await self.nodes[node].send(NodeHeartbeat(id=new_id(), body=body))
            await wait_for(lambda: self._heartbeats(plan, node) > before, what="heartbeat")
            return
        message = build_event(sid, kind, arg)
        seq = feed.ledger.session(sid).next_seq
        await self.nodes[node].send(message)
        await wait_for(
            lambda: feed.ledger.session(sid).next_seq > seq, what=f"{kind} of {node} in {sid}"
        )

    def _heartbeats(self, plan: Plan, node: str) -> int:
        state = self.live.ledger_feed.ledger.sessions.get(plan.sid)
        room = state.rooms.get(node) if state is not None else None
        return room.media.heartbeats if room is not None else 0

    async def play(self, plan: Plan) -> None:
        for minute, node, kind, arg in plan.acts:
            await self.step(plan, minute, node, kind, arg)
        # everyone goes offline after the lesson (a box switched off for the night)
        self.clock.now = plan.at(60)
        feed = self.live.ledger_feed
        for name, member in self.nodes.items():
            if feed.online(name):
                await member.presence(False)
                await wait_for(lambda n=name: not feed.online(n), what=f"{name} off")  # type: ignore[misc]


def build_event(sid: str, kind: str, arg: Any) -> Envelope:
    i = new_id()
    match kind:
        case "start":
            return LessonStart(id=i, session=sid)
        case "end":
            return LessonEnd(id=i, session=sid)
        case "hand":
            return HandRaise(id=i, session=sid)
        case "chat":
            return ChatMessage(id=i, session=sid, body=ChatBody(text=arg))
        case "grant":
            return FloorGrant(id=i, session=sid, body=FloorGrantBody(node=arg))
        case "revoke":
            return FloorRevoke(id=i, session=sid, body=FloorRevokeBody(node=arg))
        case "att":
            body = AttendanceBody(present=arg[0], enrolled=arg[1])
            return AttendanceReport(id=i, session=sid, body=body)
        case "qopen":
            return QuizOpen(id=i, session=sid, body=QuizOpenBody(quiz=arg, choices=["a", "b", "c"]))
        case "answer":
            quiz, choice, student = arg
            answer = QuizAnswerBody(quiz=quiz, choice=choice, student=student)
            return QuizAnswer(id=i, session=sid, body=answer)
        case "close":
            return QuizClose(id=i, session=sid, body=QuizCloseBody(quiz=arg[0], correct=arg[1]))
    raise AssertionError(kind)


@asynccontextmanager
async def term_stack(mosquitto: MosquittoServer, redis_server: RedisServer) -> AsyncIterator[Term]:
    config = hub_config(mosquitto, redis_server, heartbeat_timeout_s=86_400.0)
    term = Term(config, ScriptClock())
    term.clock.now = PLANS[0].at(-60)
    hub = await term.start_hub()
    try:
        for _, node in ROOMS.values():
            term.nodes[node] = TermNode(node, await hub.add_node(node), mosquitto.port)
            await term.nodes[node].connect()
        registry = RegistryStore(hub.store.redis)
        for school in SCHOOLS:
            await registry.create(Kind.SCHOOLS, school)
        for room, (school_id, node) in ROOMS.items():
            await registry.create(Kind.CLASSROOMS, Classroom(id=room, school=school_id, node=node))
        for teacher in TEACHERS:
            await registry.create(Kind.TEACHERS, teacher)
        for plan in PLANS:
            spec = SessionSpec(
                session=plan.sid,
                lead=plan.lead,
                partners=list(plan.partners),
                title=f"{plan.subject} {plan.grade}",
                subject=plan.subject,
                grade=plan.grade,
                starts_at=plan.start_ms,
                ends_at=plan.at(40),
            )
            await hub.create_session(spec, teacher=plan.teacher if plan.explicit_teacher else None)
        yield term
    finally:
        for member in term.nodes.values():
            await member.close()
        if term.hub is not None:
            await term.hub.shutdown()


def csv_rows(data: bytes, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        text = archive.read(f"{name}.csv").decode()
    return list(csv.DictReader(io.StringIO(text)))


def sids() -> Iterator[str]:
    return (p.sid for p in PLANS)


async def test_term_through_the_live_hub(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    async with term_stack(mosquitto, redis_server) as term:
        for plan in PLANS:
            await term.play(plan)
        hub = term.live
        redis = hub.store.redis

        # the session infos the hub wrote: registry classrooms/schools, resolved teachers
        infos = {i.session: i for i in await store.sessions_between(redis, 0, 2**62)}
        for plan in PLANS:
            info = infos[plan.sid]
            assert info.lead_teacher == plan.teacher
            assert info.lead_school == SCHOOL_OF_NODE[plan.lead]
            assert info.partners == {p: SCHOOL_OF_NODE[p] for p in plan.partners}

        # the figures the hub's live ledger holds, classroom by classroom
        live = hub.ledger_feed.ledger
        for plan in PLANS:
            start, end, rooms = expected_rooms(plan)
            fig = live.figures(plan.sid, infos[plan.sid])
            assert (fig.start_ts, fig.end_ts) == (start, end)
            for node, exp in rooms.items():
                got = fig.classroom(node)
                assert got is not None
                assert (got.connected_ms, got.first_join_ts) == (exp.connected_ms, exp.first_join)
                assert (got.present, got.enrolled, got.hands, got.chats) == (
                    exp.present, exp.enrolled, exp.hands, exp.chats,
                )  # fmt: skip
                assert (got.floor_grants, got.floor_ms) == (exp.floor_grants, exp.floor_ms)
                assert (got.answers, got.correct) == (exp.answers, exp.correct)
        p1a_s1 = live.figures("S1").classroom("p1a")
        assert p1a_s1 is not None and (p1a_s1.heartbeats, p1a_s1.fps_mean) == (2, 22.0)
        p1a_s4 = live.figures("S4").classroom("p1a")
        assert p1a_s4 is not None and p1a_s4.heartbeats == 1  # fed before the crash

        # the report from Redis (what the API and `dualclass report` read)
        await hub.ledger_feed.flush()
        await hub.ledger_feed.refresh_directory()
        report = await coverage_report(redis, FROM, TO)
        compare(report, expected_report())
        assert [w.week for w in report.weeks] == ["2025-W10", "2025-W11", "2025-W12", "2025-W13"]
        assert {s.school for s in report.schools} == {"P1", "P2", "P3", "P4", "P5"}
        r1 = await coverage_report(redis, FROM, TO, "R1")
        compare(r1, expected_report("R1"))
        assert {s.school for s in r1.schools} == {"P1", "P2", "P5"}

        # rebuilding from the streams gives the live ledger's figures, and so does a load
        rebuilt = await store.rebuild_from_streams(redis, sids())
        saved = await store.load(redis, sids())
        for plan in PLANS:
            expected_fig = live.figures(plan.sid, infos[plan.sid])
            assert rebuilt.figures(plan.sid, infos[plan.sid]) == expected_fig
            assert saved.figures(plan.sid, infos[plan.sid]) == expected_fig

        # the API: admin only, four formats
        base = f"http://127.0.0.1:{hub.api_port}"
        auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with httpx.AsyncClient(base_url=base, timeout=30) as api:
            params = {"from": FROM.isoformat(), "to": TO.isoformat()}
            assert (await api.get("/api/reports/coverage", params=params)).status_code == 401
            resp = await api.get("/api/reports/coverage", params=params, headers=auth)
            assert resp.status_code == 200, resp.text
            assert CoverageReport.model_validate_json(resp.content) == report
            bad = await api.get(
                "/api/reports/coverage", params={"from": "2025-03-30", "to": "2025-03-01"},
                headers=auth,
            )  # fmt: skip
            assert bad.status_code == 400
            assert bad.headers["content-type"].startswith("application/problem+json")
            page = await api.get(
                "/api/reports/coverage", params={**params, "format": "html"}, headers=auth
            )
            assert page.headers["content-type"].startswith("text/html")
            assert "data:image/png;base64," in page.text and "P4" in page.text
            zipped = await api.get(
                "/api/reports/coverage",
                params={**params, "format": "csv", "region": "R1"},
                headers=auth,
            )
            assert zipped.headers["content-type"] == "application/zip"
            rows = {r["school"]: r for r in csv_rows(zipped.content, "schools")}
            assert set(rows) == {"P1", "P2", "P5"}
            assert int(rows["P1"]["lessons_received"]) == r1.schools[0].lessons_received
            xapi = await api.get(
                "/api/reports/coverage", params={**params, "format": "xapi"}, headers=auth
            )
            items = xapi.json()
            asked = [s for s in items if s["verb"]["id"].endswith("/asked")]
            window_plans = [p for p in PLANS if FROM <= p.day <= TO]
            assert len(asked) == sum(1 for p in window_plans for a in p.acts if a[2] == "hand")
            answered = [s for s in items if s["verb"]["id"].endswith("/answered")]
            assert len(answered) == 4  # q1: p1a, p2a/s1, p2a/s2; q4: p1a
