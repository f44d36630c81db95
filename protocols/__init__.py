"""Wire-level vocabulary of dualclass: pure, no I/O.

What lives here: the pydantic models of every message (``messages``), the msgpack
codec with its size and version checks (``codec``), MQTT topic names (``topics``),
the receiver-side ordering state machine (``ordering``), the lesson state machine
and role rules shared by hub and nodes (``lesson``), and the one exception tree
(``exceptions``).

May import: pydantic, msgpack, python-ulid and the standard library. Nothing here
opens a socket, a file or an event loop; ``tests/protocols/test_purity.py`` proves it.
"""

from __future__ import annotations

from protocols.codec import DEFAULT_MAX_SIZE, decode, encode, to_jsonable
from protocols.exceptions import (
    DecodeError,
    MalformedMessage,
    MessageTooLarge,
    ProtocolError,
    RuleViolation,
    SchemaViolation,
    UnknownType,
    UnsupportedVersion,
)
from protocols.ids import new_id, now_ms
from protocols.lesson import LessonMachine, LessonStatus, Role
from protocols.messages import (
    EVENT_TYPES,
    PROTOCOL_VERSION,
    Event,
    Message,
)
from protocols.ordering import Reorderer, SeqRange
from protocols.topics import TopicKind, TopicRef, Topics

__all__ = [
    "DEFAULT_MAX_SIZE",
    "EVENT_TYPES",
    "PROTOCOL_VERSION",
    "DecodeError",
    "Event",
    "LessonMachine",
    "LessonStatus",
    "MalformedMessage",
    "Message",
    "MessageTooLarge",
    "ProtocolError",
    "Reorderer",
    "Role",
    "RuleViolation",
    "SchemaViolation",
    "SeqRange",
    "TopicKind",
    "TopicRef",
    "Topics",
    "UnknownType",
    "UnsupportedVersion",
    "decode",
    "encode",
    "new_id",
    "now_ms",
    "to_jsonable",
]
