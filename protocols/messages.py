"""Every dualclass message as a frozen pydantic model.

One envelope shape carries everything (``docs/protocol.md``): ``v``, ``id``,
``type``, ``session``, ``seq``, ``ts``, ``src``, ``sent`` and a ``body`` whose model
depends on ``type``. Lesson events are the types a lead or partner classroom makes
and the hub sequences; control messages (``node.*`` uplinks, ``cmd.*`` downlinks,
``session.state`` snapshots) travel in the same envelope so one codec serves all.

``seq``, ``ts`` and ``src`` are set by the hub only. A node may send them but the hub
overwrites them: identity comes from the authenticated connection, never from here.

Every number is bounded (a node is not trusted to send sane ones): counters and
sequence numbers fit a signed 64-bit integer (Redis stream ids, SQL BIGINT),
timestamps are epoch milliseconds before 2100, floats are finite (no NaN or
infinity anywhere, ``allow_inf_nan=False``), ``v`` must be exactly the integer 1.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from protocols.ids import ID_PATTERN

__all__ = [
    "CONTROL_TYPES",
    "EVENT_TYPES",
    "MAX_INT",
    "MAX_TS_MS",
    "MESSAGE_TYPES",
    "PROTOCOL_VERSION",
    "AnnotationStroke",
    "AttendanceReport",
    "ChatMessage",
    "CmdJoin",
    "CmdLeave",
    "CmdRejected",
    "CmdResync",
    "Count",
    "DeckRef",
    "Envelope",
    "Event",
    "FloorGrant",
    "FloorRevoke",
    "HandLower",
    "HandRaise",
    "Layer",
    "LessonEnd",
    "LessonStart",
    "Message",
    "NodeHeartbeat",
    "NodePresence",
    "NodeResync",
    "QuizAnswer",
    "QuizClose",
    "QuizOpen",
    "ScreenShare",
    "Seq",
    "SessionState",
    "SlideShow",
    "TimestampMs",
    "message_adapter",
]

#: Major protocol version. A message with another ``v`` is refused.
PROTOCOL_VERSION = 1

#: Largest counter or sequence number anywhere on the wire (signed 64-bit).
MAX_INT = 2**63 - 1

Layer = Literal["high", "low"]
"""One of a publisher's two camera encodings (see ``protocols.media``, which exports it)."""
#: Latest timestamp (epoch ms) anywhere on the wire: 2100-01-01T00:00:00Z.
MAX_TS_MS = 4_102_444_800_000

Count = Annotated[int, Field(ge=0, le=MAX_INT)]
Seq = Annotated[int, Field(ge=1, le=MAX_INT)]
TimestampMs = Annotated[int, Field(ge=0, le=MAX_TS_MS)]
NodeId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
SessionId = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.\-]*$")]
ShortText = Annotated[str, Field(max_length=200)]
#: A deck is named by the first 32 hex digits of its file's SHA-256.
DeckId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# --------------------------------------------------------------------------- bodies


class Empty(_Frozen):
    """Body of types that carry nothing."""


class LessonStartBody(_Frozen):
    title: ShortText = ""
    subject: ShortText = ""
    grade: int | None = Field(default=None, ge=1, le=12)


class SlideShowBody(_Frozen):
    deck: ShortText = ""
    index: int = Field(ge=0, le=100_000)
    url: Annotated[str, Field(max_length=2000)] | None = None


class HandLowerBody(_Frozen):
    #: Whose hand: absent means the sender's own; the lead may lower anyone's.
    node: NodeId | None = None


class FloorGrantBody(_Frozen):
    node: NodeId


class FloorRevokeBody(_Frozen):
    #: The holder to revoke; absent means whoever holds it.
    node: NodeId | None = None


class QuizOpenBody(_Frozen):
    quiz: Annotated[str, Field(min_length=1, max_length=64)]
    question: Annotated[str, Field(max_length=2000)] = ""
    choices: Annotated[list[ShortText], Field(min_length=2, max_length=10)]


class QuizAnswerBody(_Frozen):
    quiz: Annotated[str, Field(min_length=1, max_length=64)]
    choice: int = Field(ge=0, le=9)
    #: Clicker or student id inside the classroom; absent for a whole-class answer.
    student: Annotated[str, Field(max_length=64)] | None = None


class QuizCloseBody(_Frozen):
    quiz: Annotated[str, Field(min_length=1, max_length=64)]
    #: The correct choice, revealed only at close so partners cannot see it early.
    correct: int | None = Field(default=None, ge=0, le=9)


class AttendanceBody(_Frozen):
    present: int = Field(ge=0, le=10_000)
    enrolled: int = Field(ge=1, le=10_000)

    @model_validator(mode="after")
    def _present_le_enrolled(self) -> AttendanceBody:
        if self.present > self.enrolled:
            raise ValueError("present must not exceed enrolled")
        return self


class ChatBody(_Frozen):
    text: Annotated[str, Field(min_length=1, max_length=2000)]


class StrokeBody(_Frozen):
    points: Annotated[list[tuple[float, float]], Field(min_length=1, max_length=2000)]
    color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#ff0000"
    width: float = Field(default=2.0, gt=0, le=100)
    slide: int | None = Field(default=None, ge=0, le=100_000)


class ScreenShareBody(_Frozen):
    #: True: the lead's screen video is on (``screen`` slot); False: it stopped.
    active: bool


class MediaStats(_Frozen):
    """Media figures a node reports in its heartbeat (filled by the media layer)."""

    fps: float = Field(default=0.0, ge=0, le=1000)
    bitrate_kbps: float = Field(default=0.0, ge=0, le=10_000_000)
    loss: float = Field(default=0.0, ge=0, le=1)
    rtt_ms: float = Field(default=0.0, ge=0, le=3_600_000)
    freezes: int = Field(default=0, ge=0, le=MAX_INT)
    # Optional (absent on the wire when unset, so older heartbeats are unchanged):
    #: The camera layer the hub forwards to this classroom now (``"high"``/``"low"``).
    layer: Layer | None = None
    #: Layer switches the hub made for this classroom since its media connected.
    layer_switches: int | None = Field(default=None, ge=0, le=MAX_INT)
    #: Why the last switch happened: start, loss, estimate, stable, uplink, forced.
    layer_reason: Annotated[str, Field(max_length=32)] | None = None
    #: Keyframe requests (PLI/FIR) this node sent for received video.
    keyframe_requests: int | None = Field(default=None, ge=0, le=MAX_INT)
    #: Received video frames the node dropped (incomplete or undecodable).
    frames_dropped: int | None = Field(default=None, ge=0, le=MAX_INT)


class HeartbeatBody(_Frozen):
    uptime_s: float = Field(ge=0, le=10 * 365 * 86400)
    sessions: Annotated[list[SessionId], Field(max_length=64)] = []
    journal_backlog: Count = 0
    #: Age of the oldest outbound event not yet seen in its session's stream.
    journal_oldest_s: float = Field(default=0.0, ge=0, le=10 * 365 * 86400)
    last_seq: Annotated[dict[SessionId, Count], Field(max_length=64)] = {}
    media: MediaStats | None = None
    #: Deck id -> whether every page is in the node's cache (absent: no decks).
    decks: Annotated[dict[DeckId, bool], Field(max_length=64)] | None = None
    # Optional (absent on the wire when unset, so older nodes' heartbeats are unchanged):
    #: The node's software version (shown to operators).
    version: Annotated[str, Field(max_length=64)] | None = None
    #: Worst sequenced -> applied delay (ms) since the previous heartbeat; None if no event.
    latency_ms: float | None = Field(default=None, ge=0, le=86_400_000)
    #: Uplinks the hub refused since the node started.
    rejected: int | None = Field(default=None, ge=0)


class PresenceBody(_Frozen):
    online: bool


class NodeResyncBody(_Frozen):
    from_seq: Seq
    #: Inclusive upper bound; absent means "up to the newest".
    to_seq: Seq | None = None


class DeckRef(_Frozen):
    """A deck attached to a session, as ``cmd.join`` names it: the node fetches the
    manifest (page hashes) and the page images from the hub's API by this id."""

    id: DeckId
    name: ShortText = ""
    pages: int = Field(ge=1, le=10_000)


class CmdJoinBody(_Frozen):
    role: Literal["lead", "partner", "observer"]
    title: ShortText = ""
    subject: ShortText = ""
    grade: int | None = Field(default=None, ge=1, le=12)
    starts_at: TimestampMs | None = None
    ends_at: TimestampMs | None = None
    #: The session's slide decks, to download before the lesson (absent: none).
    decks: Annotated[list[DeckRef], Field(max_length=16)] | None = None


class CmdRejectedBody(_Frozen):
    ref: Annotated[str, Field(max_length=64)]
    code: ShortText
    detail: Annotated[str, Field(max_length=2000)] = ""


class OpenQuizView(_Frozen):
    quiz: str
    question: str
    choices: list[str]
    answered: list[str] = []


class SessionStateBody(_Frozen):
    """Snapshot for late joiners: everything needed to draw the lesson now."""

    status: Literal["scheduled", "live", "ended"]
    title: str = ""
    slide: SlideShowBody | None = None
    hands: list[str] = []
    floor: str | None = None
    quiz: OpenQuizView | None = None
    #: True while the lead shares a screen (absent when not).
    screen: bool | None = None
    roster: dict[str, str] = {}
    attendance: dict[str, AttendanceBody] = {}
    last_seq: Count


# ------------------------------------------------------------------------ envelope


class Envelope(_Frozen):
    """Fields common to every message; subclasses fix ``type`` and ``body``."""

    #: Exactly the integer 1 (``1.0`` or ``True`` are refused).
    v: Annotated[int, Field(strict=True, ge=PROTOCOL_VERSION, le=PROTOCOL_VERSION)] = (
        PROTOCOL_VERSION
    )
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    session: SessionId = ""
    #: Hub-assigned, per session, gapless from 1. ``None`` until sequenced.
    seq: Seq | None = None
    #: Hub time (ms) when sequenced.
    ts: TimestampMs | None = None
    #: Sender, set by the hub from the authenticated connection.
    src: NodeId | None = None
    #: Sender's own clock (ms) when it made the message. The hub keeps it only
    #: within a window of its own clock (``hub.sequencer``), so latency figures
    #: computed from it are never poisoned by a broken or hostile clock.
    sent: TimestampMs | None = None

    kind: ClassVar[str] = "control"


class _Event(Envelope):
    kind: ClassVar[str] = "event"


class LessonStart(_Event):
    type: Literal["lesson.start"] = "lesson.start"
    body: LessonStartBody = LessonStartBody()


class SlideShow(_Event):
    type: Literal["slide.show"] = "slide.show"
    body: SlideShowBody


class HandRaise(_Event):
    type: Literal["hand.raise"] = "hand.raise"
    body: Empty = Empty()


class HandLower(_Event):
    type: Literal["hand.lower"] = "hand.lower"
    body: HandLowerBody = HandLowerBody()


class FloorGrant(_Event):
    type: Literal["floor.grant"] = "floor.grant"
    body: FloorGrantBody


class FloorRevoke(_Event):
    type: Literal["floor.revoke"] = "floor.revoke"
    body: FloorRevokeBody = FloorRevokeBody()


class QuizOpen(_Event):
    type: Literal["quiz.open"] = "quiz.open"
    body: QuizOpenBody


class QuizAnswer(_Event):
    type: Literal["quiz.answer"] = "quiz.answer"
    body: QuizAnswerBody


class QuizClose(_Event):
    type: Literal["quiz.close"] = "quiz.close"
    body: QuizCloseBody


class AttendanceReport(_Event):
    type: Literal["attendance.report"] = "attendance.report"
    body: AttendanceBody


class ChatMessage(_Event):
    type: Literal["chat.message"] = "chat.message"
    body: ChatBody


class AnnotationStroke(_Event):
    type: Literal["annotation.stroke"] = "annotation.stroke"
    body: StrokeBody


class ScreenShare(_Event):
    type: Literal["screen.share"] = "screen.share"
    body: ScreenShareBody


class LessonEnd(_Event):
    type: Literal["lesson.end"] = "lesson.end"
    body: Empty = Empty()


class NodeHeartbeat(Envelope):
    type: Literal["node.heartbeat"] = "node.heartbeat"
    body: HeartbeatBody


class NodePresence(Envelope):
    type: Literal["node.presence"] = "node.presence"
    body: PresenceBody


class NodeResync(Envelope):
    type: Literal["node.resync"] = "node.resync"
    body: NodeResyncBody


class CmdJoin(Envelope):
    type: Literal["cmd.join"] = "cmd.join"
    body: CmdJoinBody


class CmdLeave(Envelope):
    type: Literal["cmd.leave"] = "cmd.leave"
    body: Empty = Empty()


class CmdRejected(Envelope):
    type: Literal["cmd.rejected"] = "cmd.rejected"
    body: CmdRejectedBody


class SessionState(Envelope):
    type: Literal["session.state"] = "session.state"
    body: SessionStateBody


_AnyEvent = (
    LessonStart
    | SlideShow
    | HandRaise
    | HandLower
    | FloorGrant
    | FloorRevoke
    | QuizOpen
    | QuizAnswer
    | QuizClose
    | AttendanceReport
    | ChatMessage
    | AnnotationStroke
    | ScreenShare
    | LessonEnd
)
#: Any lesson event, discriminated on ``type``.
Event = Annotated[_AnyEvent, Field(discriminator="type")]


class CmdResyncBody(_Frozen):
    from_seq: Seq
    to_seq: Count
    events: list[Event]
    #: True when the range was cut to fit the size limit; ask again from to_seq + 1.
    more: bool = False


class CmdResync(Envelope):
    type: Literal["cmd.resync"] = "cmd.resync"
    body: CmdResyncBody


#: Any message at all (events and control), discriminated on ``type``.
Message = Annotated[
    _AnyEvent
    | NodeHeartbeat
    | NodePresence
    | NodeResync
    | CmdJoin
    | CmdLeave
    | CmdRejected
    | CmdResync
    | SessionState,
    Field(discriminator="type"),
]

_EVENT_CLASSES: tuple[type[Envelope], ...] = typing.get_args(_AnyEvent)
_CONTROL_CLASSES: tuple[type[Envelope], ...] = (
    NodeHeartbeat,
    NodePresence,
    NodeResync,
    CmdJoin,
    CmdLeave,
    CmdRejected,
    CmdResync,
    SessionState,
)


def _type_of(cls: type[Envelope]) -> str:
    default = cls.model_fields["type"].default
    assert isinstance(default, str)
    return default


#: Lesson event types, sequenced by the hub (the order of ``docs/protocol.md``).
EVENT_TYPES: frozenset[str] = frozenset(_type_of(c) for c in _EVENT_CLASSES)
#: Control message types (heartbeats, resync, commands, snapshots).
CONTROL_TYPES: frozenset[str] = frozenset(_type_of(c) for c in _CONTROL_CLASSES)
MESSAGE_TYPES: frozenset[str] = EVENT_TYPES | CONTROL_TYPES
#: The model class of each type name.
CLASS_BY_TYPE: dict[str, type[Envelope]] = {
    _type_of(c): c for c in (*_EVENT_CLASSES, *_CONTROL_CLASSES)
}

message_adapter: TypeAdapter[Any] = TypeAdapter(Message)
