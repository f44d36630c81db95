"""Who runs where and what each lesson sends: pure, seeded.

A run has ``sessions`` sessions of one lead and ``partners`` partner classrooms.
Node ids carry the run's ``prefix`` so that everything the simulator registers on a
hub can be found (and removed) again by that prefix alone. Sessions are dealt to
worker processes whole, so a worker sees every event of its sessions and can do
the accounting of submitted versus sequenced events itself.

``session_timeline`` is the lesson one session plays: the lead shows slides at
``lead_rate`` events per second; partners raise hands (the lead lowers them a few
seconds later), chat and report attendance at per-minute rates; quiz rounds are
opened by the lead, answered by every partner, then closed. The same seed gives the
same lessons.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from simulators.script import Step

__all__ = [
    "Mix",
    "SessionPlan",
    "SimPlan",
    "build_plan",
    "parse_mix",
    "session_timeline",
]

#: Prefix rule: it becomes part of node, school and session ids.
PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{0,23}$")


@dataclass(frozen=True, slots=True)
class Mix:
    """Partner interaction rates (per minute) and the quiz cadence."""

    #: hand raises per partner per minute
    hands: float = 0.5
    #: chat messages per partner per minute
    chat: float = 0.2
    #: quiz rounds per session per minute (each answered by every partner)
    quiz: float = 1.0
    #: attendance reports per partner per minute (one at the start regardless)
    attendance: float = 0.1

    def as_dict(self) -> dict[str, float]:
        return {
            "hands": self.hands,
            "chat": self.chat,
            "quiz": self.quiz,
            "attendance": self.attendance,
        }


_MIX_KEYS = frozenset(Mix.__dataclass_fields__)
_MAX_RATE = 60.0


def parse_mix(text: str) -> Mix:
    """``"hands=1,chat=0.5,quiz=2,attendance=0"`` -> ``Mix`` (missing keys keep defaults).

    Raises ``ValueError`` naming the bad part.
    """
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in _MIX_KEYS:
            raise ValueError(f"mix part {part!r}: expected one of {sorted(_MIX_KEYS)} = number")
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"mix part {part!r}: {raw!r} is not a number") from None
        if not 0 <= value <= _MAX_RATE:
            raise ValueError(f"mix part {part!r}: must be within 0..{_MAX_RATE:g} per minute")
        values[key] = value
    return Mix(**values)


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """One simulated session: its id, lead, partners and the worker that runs it."""

    index: int
    session: str
    lead: str
    partners: tuple[str, ...]
    worker: int

    @property
    def members(self) -> tuple[str, ...]:
        return (self.lead, *self.partners)


@dataclass(frozen=True, slots=True)
class SimPlan:
    prefix: str
    sessions: tuple[SessionPlan, ...]
    workers: int
    duration_s: float
    ramp_s: float
    lead_rate: float
    mix: Mix
    seed: int
    #: node id -> (session index, role)
    roles: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def nodes(self) -> list[str]:
        return [n for s in self.sessions for n in s.members]

    def worker_sessions(self, worker: int) -> list[SessionPlan]:
        return [s for s in self.sessions if s.worker == worker]

    def start_offset(self, index: int) -> float:
        """Seconds after the common start at which session ``index`` begins (the ramp)."""
        if len(self.sessions) <= 1 or self.ramp_s <= 0:
            return 0.0
        return self.ramp_s * index / (len(self.sessions) - 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "sessions": len(self.sessions),
            "partners": len(self.sessions[0].partners) if self.sessions else 0,
            "workers": self.workers,
            "duration_s": self.duration_s,
            "ramp_s": self.ramp_s,
            "lead_rate": self.lead_rate,
            "mix": self.mix.as_dict(),
            "seed": self.seed,
        }


def build_plan(
    *,
    prefix: str,
    sessions: int,
    partners: int,
    workers: int,
    duration_s: float,
    ramp_s: float = 0.0,
    lead_rate: float = 0.5,
    mix: Mix | None = None,
    seed: int = 0,
) -> SimPlan:
    """Ids and the session -> worker layout. Raises ``ValueError`` on bad sizes."""
    if not PREFIX_RE.match(prefix):
        raise ValueError(f"prefix {prefix!r}: lower-case letters, digits, '-'; at most 24")
    if not 1 <= sessions <= 2000:
        raise ValueError("sessions must be within 1..2000")
    if not 1 <= partners <= 60:
        raise ValueError("partners must be within 1..60 per session")
    if not 1 <= workers <= 64:
        raise ValueError("workers must be within 1..64")
    if not 1 <= duration_s <= 24 * 3600:
        raise ValueError("duration must be within 1 s..24 h")
    if not 0 <= ramp_s <= duration_s:
        raise ValueError("ramp must be within 0..duration")
    if not 0 < lead_rate <= 50:
        raise ValueError("lead rate must be within 0..50 events/s")
    workers = min(workers, sessions)
    plans: list[SessionPlan] = []
    roles: dict[str, tuple[int, str]] = {}
    for i in range(sessions):
        lead = f"{prefix}-s{i}-lead"
        parts = tuple(f"{prefix}-s{i}-p{j}" for j in range(1, partners + 1))
        plans.append(SessionPlan(i, f"{prefix}-s{i}", lead, parts, i % workers))
        roles[lead] = (i, "lead")
        roles.update({p: (i, "partner") for p in parts})
    return SimPlan(
        prefix=prefix,
        sessions=tuple(plans),
        workers=workers,
        duration_s=duration_s,
        ramp_s=ramp_s,
        lead_rate=lead_rate,
        mix=mix or Mix(),
        seed=seed,
        roles=roles,
    )


def _poisson(rng: random.Random, rate_per_s: float, start: float, end: float) -> list[float]:
    """Arrival times of a Poisson process within [start, end)."""
    out: list[float] = []
    if rate_per_s <= 0:
        return out
    t = start + rng.expovariate(rate_per_s)
    while t < end:
        out.append(t)
        t += rng.expovariate(rate_per_s)
    return out


#: A quiz stays open this long; partners answer within its first part.
QUIZ_OPEN_S = 8.0
#: The lead lowers a raised hand within this many seconds.
HAND_LOWER_S = (1.5, 4.0)


def session_timeline(
    lead: str,
    partners: tuple[str, ...] | list[str],
    duration_s: float,
    *,
    lead_rate: float,
    mix: Mix,
    rng: random.Random,
) -> list[Step]:
    """The steps of one lesson, sorted by time; starts with ``lesson.start`` and
    ends with ``lesson.end`` at ``duration_s``. Every step is valid under the role
    rules when sequenced in time order."""
    end = max(duration_s, 2.0)
    body_end = end - 0.5
    steps: list[Step] = [Step(0.0, lead, "lesson.start", {"title": "sim", "subject": "math"})]
    for i, p in enumerate(partners):
        enrolled = 30 + (i * 7) % 15
        steps.append(
            Step(
                rng.uniform(0.2, 1.0),
                p,
                "attendance.report",
                {"present": enrolled - rng.randint(0, 3), "enrolled": enrolled},
            )
        )
        for t in _poisson(rng, mix.attendance / 60, 1.0, body_end):
            present = enrolled - rng.randint(0, 3)
            steps.append(
                Step(t, p, "attendance.report", {"present": present, "enrolled": enrolled})
            )
        for t in _poisson(rng, mix.chat / 60, 1.0, body_end):
            steps.append(Step(t, p, "chat.message", {"text": f"question {rng.randint(1, 99)}"}))
        busy_until = 0.0
        for t in _poisson(rng, mix.hands / 60, 1.0, body_end - HAND_LOWER_S[1]):
            if t < busy_until:
                continue  # the hand is still up: a real tutor does not raise it twice
            lower = t + rng.uniform(*HAND_LOWER_S)
            steps.append(Step(t, p, "hand.raise", {}))
            steps.append(Step(lower, lead, "hand.lower", {"node": p}))
            busy_until = lower + 0.5
    slide = 0
    for t in [0.1, *_poisson(rng, lead_rate, 0.2, body_end)]:
        steps.append(Step(t, lead, "slide.show", {"deck": "sim", "index": slide}))
        slide = (slide + 1) % 100_000
    if mix.quiz > 0:
        period = max(60.0 / mix.quiz, QUIZ_OPEN_S + 2.0)
        t = min(period / 2, 5.0)
        q = 0
        while t + QUIZ_OPEN_S < body_end:
            q += 1
            quiz = f"q{q}"
            steps.append(
                Step(
                    t,
                    lead,
                    "quiz.open",
                    {"quiz": quiz, "question": "1/2 + 1/4 = ?", "choices": ["3/4", "2/6", "1/8"]},
                )
            )
            for p in partners:
                steps.append(
                    Step(
                        t + rng.uniform(1.0, QUIZ_OPEN_S * 0.6),
                        p,
                        "quiz.answer",
                        {"quiz": quiz, "choice": rng.choice((0, 0, 0, 1, 2))},
                    )
                )
            steps.append(Step(t + QUIZ_OPEN_S, lead, "quiz.close", {"quiz": quiz, "correct": 0}))
            t += period
    steps.append(Step(end, lead, "lesson.end", {}))
    return sorted(steps, key=lambda s: s.at_s)
