"""The lesson state machine and its role rules: pure, shared by hub and nodes.

The hub calls ``check`` before sequencing an event (a ``RuleViolation`` means the
event is refused, counted and answered with ``cmd.rejected``) and ``apply`` after
the event got its ``seq``. Nodes only ``apply`` what the hub sequenced, so both
sides hold the same state; the hub's ``snapshot()`` is what late joiners get.

Rules (``docs/protocol.md``): only the lead starts and ends the lesson, shows slides, grants
the floor, opens and closes quizzes; partners raise hands, answer and report
attendance. Observers (browser viewers, inspectors) may send nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from protocols.exceptions import RuleViolation
from protocols.messages import (
    AnnotationStroke,
    AttendanceBody,
    AttendanceReport,
    ChatMessage,
    Envelope,
    Event,
    FloorGrant,
    FloorRevoke,
    HandLower,
    HandRaise,
    LessonEnd,
    LessonStart,
    OpenQuizView,
    QuizAnswer,
    QuizClose,
    QuizOpen,
    ScreenShare,
    SessionStateBody,
    SlideShow,
    SlideShowBody,
)

__all__ = ["LessonMachine", "LessonStatus", "Role"]


class Role(StrEnum):
    LEAD = "lead"
    PARTNER = "partner"
    OBSERVER = "observer"


class LessonStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


#: Which roles may send each event type.
ALLOWED_ROLES: dict[str, frozenset[Role]] = {
    "lesson.start": frozenset({Role.LEAD}),
    "lesson.end": frozenset({Role.LEAD}),
    "slide.show": frozenset({Role.LEAD}),
    "hand.raise": frozenset({Role.PARTNER}),
    "hand.lower": frozenset({Role.LEAD, Role.PARTNER}),
    "floor.grant": frozenset({Role.LEAD}),
    "floor.revoke": frozenset({Role.LEAD, Role.PARTNER}),
    "quiz.open": frozenset({Role.LEAD}),
    "quiz.answer": frozenset({Role.PARTNER}),
    "quiz.close": frozenset({Role.LEAD}),
    "attendance.report": frozenset({Role.PARTNER}),
    "chat.message": frozenset({Role.LEAD, Role.PARTNER}),
    "annotation.stroke": frozenset({Role.LEAD, Role.PARTNER}),
    "screen.share": frozenset({Role.LEAD}),
}

#: Types accepted before the lesson starts (everything else needs a live lesson).
_BEFORE_START = frozenset({"lesson.start", "attendance.report", "chat.message"})


@dataclass
class _Quiz:
    quiz: str
    question: str
    choices: list[str]
    answers: dict[tuple[str, str | None], int] = field(default_factory=dict)


@dataclass
class LessonMachine:
    """State of one session's lesson; inputs are sequenced events."""

    session: str
    roster: dict[str, Role]
    status: LessonStatus = LessonStatus.SCHEDULED
    title: str = ""
    slide: SlideShowBody | None = None
    hands: list[str] = field(default_factory=list)
    floor: str | None = None
    quiz: _Quiz | None = None
    used_quizzes: set[str] = field(default_factory=set)
    attendance: dict[str, AttendanceBody] = field(default_factory=dict)
    screen: bool = False
    last_seq: int = 0

    # ------------------------------------------------------------------ checks

    def role_of(self, src: str) -> Role:
        role = self.roster.get(src)
        if role is None:
            raise RuleViolation("not_member", f"{src} is not in session {self.session}")
        return role

    def check(self, src: str, event: Envelope) -> None:
        """Raise ``RuleViolation`` if ``src`` may not send ``event`` now."""
        type_ = getattr(event, "type", "")
        allowed = ALLOWED_ROLES.get(type_)
        if allowed is None:
            raise RuleViolation("not_an_event", f"{type_} is not a lesson event")
        role = self.role_of(src)
        if role not in allowed:
            raise RuleViolation("forbidden_role", f"a {role} may not send {type_}")
        if self.status is LessonStatus.ENDED:
            raise RuleViolation("lesson_ended", "the lesson has ended")
        if self.status is LessonStatus.SCHEDULED and type_ not in _BEFORE_START:
            raise RuleViolation("not_live", f"{type_} needs a live lesson")
        self._check_specific(src, role, event)

    def _check_specific(self, src: str, role: Role, event: Envelope) -> None:
        match event:
            case LessonStart():
                if self.status is not LessonStatus.SCHEDULED:
                    raise RuleViolation("already_started", "the lesson is already live")
            case HandRaise():
                if src in self.hands:
                    raise RuleViolation("hand_already_raised", f"{src} already has a hand up")
            case HandLower(body=body):
                target = body.node or src
                if role is Role.PARTNER and target != src:
                    raise RuleViolation("forbidden_role", "a partner may lower only its own hand")
                if target not in self.hands:
                    raise RuleViolation("hand_not_raised", f"{target} has no hand up")
            case FloorGrant(body=body):
                if self.roster.get(body.node) is not Role.PARTNER:
                    raise RuleViolation("not_partner", f"{body.node} is not a partner classroom")
                if self.floor == body.node:
                    raise RuleViolation("floor_already_held", f"{body.node} already holds it")
            case FloorRevoke(body=body):
                if self.floor is None:
                    raise RuleViolation("floor_not_held", "nobody holds the floor")
                if body.node is not None and body.node != self.floor:
                    raise RuleViolation("floor_not_held", f"{body.node} does not hold the floor")
                if role is Role.PARTNER and self.floor != src:
                    raise RuleViolation(
                        "forbidden_role", "a partner may only give up its own floor"
                    )
            case QuizOpen(body=body):
                if self.quiz is not None:
                    raise RuleViolation("quiz_already_open", f"quiz {self.quiz.quiz} is open")
                if body.quiz in self.used_quizzes:
                    raise RuleViolation("quiz_exists", f"quiz {body.quiz} was already used")
            case QuizAnswer(body=body):
                quiz = self._open_quiz(body.quiz)
                if body.choice >= len(quiz.choices):
                    raise RuleViolation("invalid_choice", f"choice {body.choice} out of range")
            case QuizClose(body=body):
                quiz = self._open_quiz(body.quiz)
                if body.correct is not None and body.correct >= len(quiz.choices):
                    raise RuleViolation("invalid_choice", f"choice {body.correct} out of range")
            case AnnotationStroke():
                if role is Role.PARTNER and self.floor != src:
                    raise RuleViolation("forbidden_role", "only the floor holder may annotate")
            case ScreenShare(body=body):
                if body.active == self.screen:
                    state = "already sharing" if body.active else "not sharing"
                    raise RuleViolation("screen_unchanged", f"the lead is {state}")
            case _:
                pass

    def _open_quiz(self, quiz_id: str) -> _Quiz:
        if self.quiz is None or self.quiz.quiz != quiz_id:
            raise RuleViolation("quiz_not_open", f"quiz {quiz_id} is not open")
        return self.quiz

    # ------------------------------------------------------------------ apply

    def apply(self, event: Event | Envelope) -> None:
        """Apply a sequenced event. The hub checked it; nodes trust the hub."""
        src = event.src or ""
        match event:
            case LessonStart(body=body):
                self.status = LessonStatus.LIVE
                self.title = body.title
            case LessonEnd():
                self.status = LessonStatus.ENDED
                self.floor = None
                self.hands.clear()
                self.quiz = None
                self.screen = False
            case ScreenShare(body=body):
                self.screen = body.active
            case SlideShow(body=body):
                self.slide = body
            case HandRaise():
                if src not in self.hands:
                    self.hands.append(src)
            case HandLower(body=body):
                target = body.node or src
                if target in self.hands:
                    self.hands.remove(target)
            case FloorGrant(body=body):
                self.floor = body.node
                if body.node in self.hands:
                    self.hands.remove(body.node)
            case FloorRevoke():
                self.floor = None
            case QuizOpen(body=body):
                self.quiz = _Quiz(body.quiz, body.question, list(body.choices))
                self.used_quizzes.add(body.quiz)
            case QuizAnswer(body=body):
                if self.quiz is not None and self.quiz.quiz == body.quiz:
                    self.quiz.answers[(src, body.student)] = body.choice
            case QuizClose():
                self.quiz = None
            case AttendanceReport(body=body):
                self.attendance[src] = body
            case ChatMessage() | AnnotationStroke():
                pass
            case _:
                pass
        if event.seq is not None:
            self.last_seq = max(self.last_seq, event.seq)

    # --------------------------------------------------------------- snapshot

    def snapshot(self) -> SessionStateBody:
        quiz = None
        if self.quiz is not None:
            answered = sorted({src for src, _ in self.quiz.answers})
            quiz = OpenQuizView(
                quiz=self.quiz.quiz,
                question=self.quiz.question,
                choices=list(self.quiz.choices),
                answered=answered,
            )
        return SessionStateBody(
            status=self.status.value,
            title=self.title,
            slide=self.slide,
            hands=list(self.hands),
            floor=self.floor,
            quiz=quiz,
            screen=True if self.screen else None,
            roster={node: role.value for node, role in sorted(self.roster.items())},
            attendance=dict(self.attendance),
            last_seq=self.last_seq,
        )

    @classmethod
    def from_snapshot(cls, session: str, body: SessionStateBody) -> LessonMachine:
        """Rebuild a node's view from a retained snapshot (late join)."""
        machine = cls(
            session=session,
            roster={node: Role(role) for node, role in body.roster.items()},
            status=LessonStatus(body.status),
            title=body.title,
            slide=body.slide,
            hands=list(body.hands),
            floor=body.floor,
            attendance=dict(body.attendance),
            screen=bool(body.screen),
            last_seq=body.last_seq,
        )
        if body.quiz is not None:
            machine.quiz = _Quiz(body.quiz.quiz, body.quiz.question, list(body.quiz.choices))
            machine.used_quizzes.add(body.quiz.quiz)
        return machine
