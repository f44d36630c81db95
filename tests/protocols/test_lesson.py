"""Role rules and the lesson lifecycle."""

from __future__ import annotations

from typing import Any

import pytest

from protocols.exceptions import RuleViolation
from protocols.ids import new_id
from protocols.lesson import LessonMachine, LessonStatus, Role
from protocols.messages import CLASS_BY_TYPE, Envelope

ROSTER = {"L": Role.LEAD, "P1": Role.PARTNER, "P2": Role.PARTNER, "O": Role.OBSERVER}
BODIES: dict[str, dict[str, Any]] = {
    "lesson.start": {"title": "t"},
    "slide.show": {"index": 2},
    "hand.raise": {},
    "hand.lower": {},
    "floor.grant": {"node": "P1"},
    "floor.revoke": {},
    "quiz.open": {"quiz": "q1", "choices": ["a", "b"]},
    "quiz.answer": {"quiz": "q1", "choice": 1},
    "quiz.close": {"quiz": "q1", "correct": 1},
    "attendance.report": {"present": 10, "enrolled": 12},
    "chat.message": {"text": "hi"},
    "annotation.stroke": {"points": [[0, 0]]},
    "lesson.end": {},
}


def ev(type_: str, **body: Any) -> Envelope:
    return CLASS_BY_TYPE[type_].model_validate(
        {"id": new_id(), "session": "s", "body": body or BODIES[type_]}
    )


class Driver:
    """Check then apply, as the hub does; counts seq."""

    def __init__(self) -> None:
        self.m = LessonMachine("s", dict(ROSTER))
        self.seq = 0

    def send(self, src: str, type_: str, **body: Any) -> None:
        event = ev(type_, **body)
        self.m.check(src, event)
        self.seq += 1
        self.m.apply(event.model_copy(update={"seq": self.seq, "src": src}))

    def refused(self, src: str, type_: str, **body: Any) -> str:
        with pytest.raises(RuleViolation) as info:
            self.m.check(src, ev(type_, **body))
        return info.value.code


@pytest.fixture
def live() -> Driver:
    d = Driver()
    d.send("L", "lesson.start")
    return d


LEAD_ONLY = ["slide.show", "floor.grant", "quiz.open", "lesson.end"]
PARTNER_ONLY = ["hand.raise", "attendance.report"]


@pytest.mark.parametrize("type_", LEAD_ONLY)
def test_partners_may_not_do_what_only_the_lead_does(live: Driver, type_: str) -> None:
    assert live.refused("P1", type_) == "forbidden_role"


@pytest.mark.parametrize("type_", PARTNER_ONLY)
def test_the_lead_may_not_do_what_partners_do(live: Driver, type_: str) -> None:
    assert live.refused("L", type_) == "forbidden_role"


@pytest.mark.parametrize("type_", sorted(BODIES))
def test_observers_send_nothing(live: Driver, type_: str) -> None:
    assert live.refused("O", type_) == "forbidden_role"


def test_strangers_are_not_members(live: Driver) -> None:
    assert live.refused("X", "hand.raise") == "not_member"


def test_only_the_lead_starts_and_nothing_happens_before(live: Driver) -> None:
    d = Driver()
    assert d.refused("P1", "lesson.start") == "forbidden_role"
    assert d.refused("L", "slide.show") == "not_live"
    assert d.refused("P1", "hand.raise") == "not_live"
    d.send("P1", "attendance.report")  # tutors report attendance before the bell
    d.send("L", "lesson.start")
    assert d.m.status is LessonStatus.LIVE
    assert d.refused("L", "lesson.start") == "already_started"


def test_hands_queue_in_order_and_lower(live: Driver) -> None:
    live.send("P2", "hand.raise")
    live.send("P1", "hand.raise")
    assert live.m.hands == ["P2", "P1"]
    assert live.refused("P1", "hand.raise") == "hand_already_raised"
    assert live.refused("P1", "hand.lower", node="P2") == "forbidden_role"
    live.send("L", "hand.lower", node="P2")
    live.send("P1", "hand.lower")
    assert live.m.hands == []
    assert live.refused("P1", "hand.lower") == "hand_not_raised"


def test_floor_grant_moves_and_revokes(live: Driver) -> None:
    live.send("P1", "hand.raise")
    live.send("L", "floor.grant", node="P1")
    assert live.m.floor == "P1"
    assert live.m.hands == []  # granting answers the raised hand
    assert live.refused("L", "floor.grant", node="P1") == "floor_already_held"
    assert live.refused("L", "floor.grant", node="L") == "not_partner"
    assert live.refused("P2", "floor.revoke") == "forbidden_role"
    live.send("L", "floor.grant", node="P2")
    assert live.m.floor == "P2"
    live.send("P2", "floor.revoke")  # the holder may give it back
    assert live.m.floor is None
    assert live.refused("L", "floor.revoke") == "floor_not_held"


def test_only_the_floor_holder_annotates(live: Driver) -> None:
    assert live.refused("P1", "annotation.stroke") == "forbidden_role"
    live.send("L", "floor.grant", node="P1")
    live.send("P1", "annotation.stroke")


def test_quiz_lifecycle(live: Driver) -> None:
    assert live.refused("P1", "quiz.answer") == "quiz_not_open"
    live.send("L", "quiz.open")
    assert live.refused("L", "quiz.open", quiz="q2", choices=["a", "b"]) == "quiz_already_open"
    assert live.refused("P1", "quiz.answer", quiz="q1", choice=5) == "invalid_choice"
    assert live.refused("P1", "quiz.answer", quiz="qX", choice=0) == "quiz_not_open"
    live.send("P1", "quiz.answer")
    live.send("P2", "quiz.answer", quiz="q1", choice=0)
    snap = live.m.snapshot()
    assert snap.quiz is not None and snap.quiz.answered == ["P1", "P2"]
    assert live.refused("L", "quiz.close", quiz="q1", correct=7) == "invalid_choice"
    live.send("L", "quiz.close")
    assert live.m.quiz is None
    assert live.refused("L", "quiz.open") == "quiz_exists"


def test_after_the_end_nothing_is_accepted(live: Driver) -> None:
    live.send("L", "floor.grant", node="P1")
    live.send("L", "lesson.end")
    assert live.m.floor is None
    for src, type_ in [("L", "slide.show"), ("P1", "hand.raise"), ("P1", "chat.message")]:
        assert live.refused(src, type_) == "lesson_ended"


def test_snapshot_round_trip_gives_the_same_view(live: Driver) -> None:
    live.send("L", "slide.show", index=7)
    live.send("P1", "hand.raise")
    live.send("L", "quiz.open")
    live.send("P2", "attendance.report", present=3, enrolled=4)
    snap = live.m.snapshot()
    rebuilt = LessonMachine.from_snapshot("s", snap)
    assert rebuilt.snapshot() == snap
    assert snap.last_seq == live.seq
