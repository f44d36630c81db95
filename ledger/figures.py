"""The ledger's answer for one session: figures per classroom, and the raw records
(hand raises, quiz answers) that xAPI export needs one statement each.

Why frozen dataclasses and not pydantic: reports build tens of thousands of these
for a term and read them many times; they never cross a wire (the JSON report has
its own pydantic schema in ``schema.py``).

Definitions (docs/reports.md, "Ledger"):

- ``intervals``: where the classroom was connected, i.e. its node online (or its
  tutor console joined) while the lesson was live (lesson.start .. lesson.end, or
  ``as_of`` while it is still live); ``connected_ms`` is their total length.
- ``present``/``enrolled``: the latest attendance report (highest seq).
- ``hands``: hand.raise events; ``floor_grants``: floor.grant events naming the
  classroom; ``floor_ms``: time holding the floor (until revoke, a grant to another
  classroom, lesson end, or ``as_of``).
- ``answers``: distinct answerers (classroom, student) of each quiz, counting the
  last answer of each; ``correct``: those equal to the choice revealed at quiz.close.
- ``heartbeats``, ``fps_mean``, ``freezes``: from the node's heartbeats naming the
  session (freezes summed from the node's running counter, a drop = counter reset).
- ``replay_ms``: time the classroom spent watching the session's recording (replay
  page or node playback), apart from everything above, which is live only;
  ``SessionFigures.replays`` has one record per replay view.
- ``high_ms``, ``low_ms``: time the classroom received the lesson's video on the
  high or the low layer (the hub's choice for its link), within its connected
  intervals; ``layer_switches``: changes from one layer to the other while the
  lesson was live (the start layer and a reconnect on the same layer are none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ledger.intervals import Interval

__all__ = ["AnswerRecord", "ClassroomFigures", "HandRecord", "ReplayRecord", "SessionFigures"]


class HandRecord(NamedTuple):
    """One hand raised (a named tuple: a term holds hundreds of thousands)."""

    seq: int
    ts: int
    classroom: str


class AnswerRecord(NamedTuple):
    """The last answer of one answerer to one quiz; ``correct`` is None until close."""

    seq: int
    ts: int
    classroom: str
    student: str | None
    quiz: str
    choice: int
    correct: bool | None


class ReplayRecord(NamedTuple):
    """One replay view: who (classroom node id, None for a viewer) watched how long."""

    view: str
    classroom: str | None
    watched_ms: int
    ts: int


@dataclass(frozen=True, slots=True)
class ClassroomFigures:
    classroom: str
    role: str  # "lead", "partner" or "other" (seen in events but not in the spec)
    intervals: tuple[Interval, ...]
    connected_ms: int
    first_join_ts: int | None
    present: int | None
    enrolled: int | None
    hands: int
    floor_grants: int
    floor_ms: int
    answers: int
    correct: int
    chats: int
    strokes: int
    heartbeats: int
    fps_mean: float | None
    freezes: int
    replay_ms: int = 0
    high_ms: int = 0
    low_ms: int = 0
    layer_switches: int = 0

    @property
    def interactions(self) -> int:
        """Hands raised + floor grants + quiz answers + chat messages (strokes excluded:
        one drawing is many strokes, so they would swamp the count)."""
        return self.hands + self.floor_grants + self.answers + self.chats


@dataclass(frozen=True, slots=True)
class DeckFigures:
    """One slide deck of a lesson: the pages shown and who had it ready in time."""

    deck: str
    pages_used: tuple[int, ...]
    #: partner classroom -> deck complete on its disk by the start of the lesson
    ready: dict[str, bool]
    #: partner classroom -> hub time (ms) it first reported the deck complete
    ready_at: dict[str, int]


@dataclass(frozen=True, slots=True)
class SessionFigures:
    session: str
    start_ts: int | None
    end_ts: int | None
    #: The instant open intervals were closed at (end_ts once the lesson ended).
    as_of: int | None
    title: str
    subject: str
    grade: int | None
    slides: int
    quizzes: int
    events: int
    classrooms: tuple[ClassroomFigures, ...]
    viewers: int
    viewer_ms: int
    hand_raises: tuple[HandRecord, ...]
    answers: tuple[AnswerRecord, ...]
    decks: tuple[DeckFigures, ...] = ()
    replays: tuple[ReplayRecord, ...] = ()

    @property
    def replay_ms(self) -> int:
        """Replay viewing of this session, every viewer together."""
        return sum(r.watched_ms for r in self.replays)

    @property
    def started(self) -> bool:
        return self.start_ts is not None

    @property
    def duration_ms(self) -> int:
        if self.start_ts is None or self.as_of is None:
            return 0
        return max(0, self.as_of - self.start_ts)

    def classroom(self, classroom: str) -> ClassroomFigures | None:
        for room in self.classrooms:
            if room.classroom == classroom:
                return room
        return None
