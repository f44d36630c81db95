"""What the classroom screen shows beyond the lesson snapshot (pure, no I/O).

``SessionStateBody`` (from the node's lesson machine) already says the status, the
slide, raised hands, who has the floor and the open quiz. The screen also needs
the annotation strokes of the current slide and the live answer counts of the
quiz, which the snapshot does not keep: ``DisplayModel`` folds those from the
applied events, bounded so a long lesson cannot grow it without limit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from protocols.messages import (
    AnnotationStroke,
    Event,
    LessonEnd,
    QuizAnswer,
    QuizClose,
    QuizOpen,
    SlideShow,
)

__all__ = ["MAX_STROKES_PER_SLIDE", "DisplayModel", "QuizTally"]

#: Strokes kept per slide (the oldest go first); a teacher draws far fewer.
MAX_STROKES_PER_SLIDE = 500
#: Slides whose strokes are kept (a lesson rarely shows more).
MAX_SLIDES_WITH_STROKES = 200


@dataclass(slots=True)
class QuizTally:
    """Answers of one quiz: the last choice of each (classroom, student)."""

    quiz: str
    choices: int
    question: str = ""
    labels: list[str] = field(default_factory=list)
    answers: dict[tuple[str, str], int] = field(default_factory=dict)
    correct: int | None = None
    closed: bool = False

    def counts(self) -> list[int]:
        out = [0] * self.choices
        for choice in self.answers.values():
            if 0 <= choice < self.choices:
                out[choice] += 1
        return out


class DisplayModel:
    """Per session: strokes by slide and the quiz tally, fed every applied event."""

    def __init__(self) -> None:
        self.strokes: dict[tuple[str, int], deque[dict[str, Any]]] = {}
        self.slide: tuple[str, int] | None = None
        self.quiz: QuizTally | None = None
        self.last_seq = 0

    def apply(self, event: Event) -> None:
        if event.seq is not None:
            self.last_seq = max(self.last_seq, event.seq)
        match event:
            case SlideShow(body=body):
                self.slide = (body.deck, body.index)
            case AnnotationStroke(body=body):
                deck = self.slide[0] if self.slide else ""
                index = body.slide if body.slide is not None else (self.slide or ("", 0))[1]
                key = (deck, index)
                if key not in self.strokes and len(self.strokes) >= MAX_SLIDES_WITH_STROKES:
                    self.strokes.pop(next(iter(self.strokes)))
                kept = self.strokes.setdefault(key, deque(maxlen=MAX_STROKES_PER_SLIDE))
                kept.append(
                    {
                        "points": [list(p) for p in body.points],
                        "color": body.color,
                        "width": body.width,
                    }
                )
            case QuizOpen(body=body):
                self.quiz = QuizTally(
                    body.quiz, len(body.choices), body.question, list(body.choices)
                )
            case QuizAnswer(body=body) if self.quiz and self.quiz.quiz == body.quiz:
                if not self.quiz.closed:
                    self.quiz.answers[(event.src or "", body.student or "")] = body.choice
            case QuizClose(body=body) if self.quiz and self.quiz.quiz == body.quiz:
                self.quiz.closed = True
                self.quiz.correct = body.correct
            case LessonEnd():
                if self.quiz is not None:
                    self.quiz.closed = True
            case _:
                pass

    def current_strokes(self) -> list[dict[str, Any]]:
        if self.slide is None:
            return []
        return list(self.strokes.get(self.slide, ()))

    def quiz_view(self) -> dict[str, Any] | None:
        if self.quiz is None:
            return None
        return {
            "quiz": self.quiz.quiz,
            "question": self.quiz.question,
            "choices": self.quiz.labels,
            "counts": self.quiz.counts(),
            "closed": self.quiz.closed,
            "correct": self.quiz.correct,
        }
