"""The scripted lesson obeys the lesson rules; the report maths is right."""

from __future__ import annotations

import pytest

from protocols.exceptions import RuleViolation
from protocols.ids import new_id
from protocols.lesson import LessonMachine, LessonStatus, Role
from protocols.messages import CLASS_BY_TYPE
from simulators.script import lesson_script
from simulators.stats import latency_summary, lost_events, percentile


@pytest.mark.parametrize("partners", [1, 3, 10])
@pytest.mark.parametrize("duration", [4.0, 12.0, 95.0])
def test_script_is_a_valid_lesson_except_the_deliberate_rejection(
    partners: int, duration: float
) -> None:
    names = [f"p{i}" for i in range(1, partners + 1)]
    machine = LessonMachine("s", {"lead": Role.LEAD} | {p: Role.PARTNER for p in names})
    steps = lesson_script("lead", names, duration)
    assert [s.at_s for s in steps] == sorted(s.at_s for s in steps)
    seq = 0
    for step in steps:
        event = CLASS_BY_TYPE[step.type].model_validate(
            {"id": new_id(), "session": "s", "body": step.body}
        )
        if step.expect_rejected:
            with pytest.raises(RuleViolation):
                machine.check(step.actor, event)
            continue
        machine.check(step.actor, event)
        seq += 1
        machine.apply(event.model_copy(update={"seq": seq, "src": step.actor}))
    assert machine.status is LessonStatus.ENDED
    types = {s.type for s in steps}
    assert {
        "hand.raise",
        "floor.grant",
        "floor.revoke",
        "quiz.open",
        "quiz.answer",
        "quiz.close",
        "attendance.report",
        "lesson.end",
    } <= types
    answers = [s for s in steps if s.type == "quiz.answer"]
    assert {s.actor for s in answers} == set(names)  # every partner answers


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([], 99) == 0.0
    assert latency_summary([3.0, 1.0, 2.0]) == {"p50": 2.0, "p99": 3.0, "max": 3.0, "count": 3}


def test_lost_counts_events_some_partner_never_applied() -> None:
    assert lost_events(5, {"a": [1, 2, 3, 4, 5], "b": [1, 2, 3, 4, 5]}) == 0
    assert lost_events(5, {"a": [1, 2, 4, 5], "b": [1, 2, 3, 5]}) == 2
    assert lost_events(3, {}) == 0
