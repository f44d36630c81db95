"""The scripted lesson: pure, a list of timed steps.

A real 40-minute lesson compressed: start, attendance, slides, two raised hands,
the floor granted to the first and revoked, a quiz every partner answers, the end.
``duration_s`` stretches the lesson with more slides (and more quizzes) so a long
headless run keeps a steady trickle of events, as a lead teacher does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Step", "lesson_script"]


@dataclass(frozen=True, slots=True)
class Step:
    """At ``at_s`` seconds from the start, ``actor`` sends ``type`` with ``body``."""

    at_s: float
    actor: str
    type: str
    body: dict[str, Any]
    note: str = ""
    #: The hub is expected to refuse this step (it shows the role rules at work).
    expect_rejected: bool = False


def lesson_script(
    lead: str,
    partners: list[str],
    duration_s: float = 12.0,
    *,
    deck: str = "fractions",
    pages: int | None = None,
) -> list[Step]:
    """Steps for one lesson, sorted by time; the last step is ``lesson.end``.

    ``deck``: what ``slide.show`` names (a deck id when the lesson has real slides);
    ``pages``: its page count (slide indices wrap around it, the last slide is the
    deck's last page).
    """
    if not partners:
        raise ValueError("a lesson needs at least one partner classroom")
    duration_s = max(duration_s, 4.0)
    steps: list[Step] = [
        Step(0.0, lead, "lesson.start", {"title": "Fractions", "subject": "math", "grade": 5})
    ]
    for i, p in enumerate(partners):
        enrolled = 30 + (i * 7) % 15
        steps.append(
            Step(0.1, p, "attendance.report", {"present": enrolled - i % 3, "enrolled": enrolled})
        )
    steps.append(Step(0.2, lead, "slide.show", {"deck": "fractions", "index": 0}, "title slide"))
    # the interactive middle happens in the first ~60% of the time, slides fill the rest
    t = duration_s * 0.1
    steps.append(Step(t, lead, "slide.show", {"deck": "fractions", "index": 1}))
    hands = partners[:2]
    for j, p in enumerate(hands):
        steps.append(Step(t + 0.1 + 0.1 * j, p, "hand.raise", {}))
    t = duration_s * 0.2
    steps.append(Step(t, lead, "floor.grant", {"node": hands[0]}, "floor to the first hand"))
    steps.append(Step(t + 0.2, hands[0], "chat.message", {"text": "We think 3/4!"}))
    t = duration_s * 0.3
    steps.append(Step(t, lead, "floor.revoke", {}))
    if len(hands) > 1:
        steps.append(Step(t + 0.1, lead, "hand.lower", {"node": hands[1]}))
    steps.append(Step(t + 0.2, lead, "slide.show", {"deck": "fractions", "index": 2}))
    quizzes = max(1, int(duration_s // 30) + 1)
    slide = 3
    span = duration_s * 0.6 / quizzes
    for q in range(quizzes):
        t0 = duration_s * 0.35 + q * span
        quiz = f"q{q + 1}"
        steps.append(
            Step(
                t0,
                lead,
                "quiz.open",
                {"quiz": quiz, "question": "1/2 + 1/4 = ?", "choices": ["3/4", "2/6", "1/8"]},
            )
        )
        for i, p in enumerate(partners):
            steps.append(
                Step(
                    t0 + span * 0.2 + 0.01 * i,
                    p,
                    "quiz.answer",
                    {"quiz": quiz, "choice": 0 if i % 4 else 1},
                )
            )
        steps.append(Step(t0 + span * 0.6, lead, "quiz.close", {"quiz": quiz, "correct": 0}))
        steps.append(
            Step(t0 + span * 0.8, lead, "slide.show", {"deck": "fractions", "index": slide})
        )
        slide += 1
    if len(partners) > 2:
        steps.append(
            Step(
                duration_s * 0.32,
                partners[2],
                "slide.show",
                {"deck": "fractions", "index": 99},
                "a partner may not change slides",
                expect_rejected=True,
            )
        )
    t = duration_s * 0.95
    steps.append(
        Step(t, lead, "slide.show", {"deck": "fractions", "index": slide}, "summary slide")
    )
    steps.append(Step(duration_s, lead, "lesson.end", {}))
    for step in steps:
        if step.type == "slide.show" and not step.expect_rejected:
            step.body["deck"] = deck
            if pages is not None:
                last = step.note == "summary slide"
                step.body["index"] = pages - 1 if last else step.body["index"] % pages
    return sorted(steps, key=lambda s: s.at_s)
