"""Codec round trips, golden wire fixtures and every rejection path."""

from __future__ import annotations

import json
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from protocols import codec
from protocols.exceptions import (
    DecodeError,
    MalformedMessage,
    MessageTooLarge,
    SchemaViolation,
    UnknownType,
    UnsupportedVersion,
)
from protocols.messages import (
    CLASS_BY_TYPE,
    MESSAGE_TYPES,
    AttendanceReport,
    QuizOpen,
    SlideShow,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
GOLDEN = json.loads((FIXTURES / "golden_messages.json").read_text())
ID = "01JD0000000000000000000000"


def test_golden_covers_every_type() -> None:
    assert {case["type"] for case in GOLDEN} == set(MESSAGE_TYPES)


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: c["type"])
def test_golden_wire_format(case: dict[str, object]) -> None:
    """The bytes on the wire for each message type are pinned."""
    data = bytes.fromhex(str(case["hex"]))
    message = codec.decode(data)
    assert codec.to_jsonable(message) == case["message"]
    assert codec.encode(message) == data


@pytest.mark.parametrize("type_", sorted(MESSAGE_TYPES))
def test_round_trip_each_type(type_: str) -> None:
    case = next(c for c in GOLDEN if c["type"] == type_)
    message = CLASS_BY_TYPE[type_].model_validate(case["message"])
    assert codec.decode(codec.encode(message)) == message


def test_too_large_is_rejected_before_unpacking() -> None:
    data = b"\xff" * (codec.DEFAULT_MAX_SIZE + 1)  # not even msgpack: size wins
    with pytest.raises(MessageTooLarge) as info:
        codec.decode(data)
    assert info.value.size == codec.DEFAULT_MAX_SIZE + 1
    assert info.value.code == "too_large"


def test_encode_refuses_what_receivers_would_refuse() -> None:
    big = SlideShow(id=ID, session="s", body={"index": 1, "url": "x" * 1900})
    with pytest.raises(MessageTooLarge):
        codec.encode(big, max_size=500)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc1", b"\x92\x01\x02", b"\xa3abc", b"\x81\xa1v", b"\x81\x01\x01"],
    ids=["empty", "reserved-byte", "array", "string", "truncated", "int-key"],
)
def test_malformed(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        codec.decode(data)


@pytest.mark.parametrize("version", [None, 0, 2, "1", True])
def test_unsupported_version(version: object) -> None:
    raw = {"id": ID, "type": "hand.raise", "session": "s", "body": {}}
    if version is not None:
        raw["v"] = version
    with pytest.raises(UnsupportedVersion):
        codec.decode(msgpack.packb(raw))


def test_unknown_type() -> None:
    raw = {"v": 1, "id": ID, "type": "hand.wave", "session": "s", "body": {}}
    with pytest.raises(UnknownType) as info:
        codec.decode(msgpack.packb(raw))
    assert info.value.type == "hand.wave"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"v": 1, "id": "nope", "type": "hand.raise", "session": "s", "body": {}}, "id"),
        ({"v": 1, "id": ID, "type": "slide.show", "session": "s", "body": {}}, "body.index"),
        (
            {"v": 1, "id": ID, "type": "attendance.report", "body": {"present": 5, "enrolled": 3}},
            "body",
        ),
        ({"v": 1, "id": ID, "type": "hand.raise", "body": {}, "extra": 1}, "extra"),
        (
            {"v": 1, "id": ID, "type": "quiz.open", "body": {"quiz": "q", "choices": ["a"]}},
            "choices",
        ),
        ({"v": 1, "id": ID, "type": "hand.raise", "session": "a/b", "body": {}}, "session"),
    ],
    ids=[
        "bad-id",
        "missing-index",
        "present>enrolled",
        "extra-field",
        "one-choice",
        "slash-session",
    ],
)
def test_schema_violation_names_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(SchemaViolation) as info:
        codec.decode(msgpack.packb(raw))
    assert any(field in err for err in info.value.errors), info.value.errors
    assert field in str(info.value)


def test_messages_are_frozen() -> None:
    msg = AttendanceReport(id=ID, session="s", body={"present": 3, "enrolled": 4})
    with pytest.raises(ValidationError):
        msg.session = "other"  # type: ignore[misc]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=256))
def test_random_bytes_never_escape_as_other_errors(data: bytes) -> None:
    """Whatever a hostile peer sends, decode either succeeds or raises DecodeError."""
    try:
        codec.decode(data)
    except DecodeError:
        pass


@settings(max_examples=100, deadline=None)
@given(
    quiz=st.text(min_size=1, max_size=64),
    choices=st.lists(st.text(max_size=200), min_size=2, max_size=10),
    question=st.text(max_size=300),
)
def test_quiz_open_round_trip(quiz: str, choices: list[str], question: str) -> None:
    msg = QuizOpen(
        id=ID, session="s1", body={"quiz": quiz, "choices": choices, "question": question}
    )
    assert codec.decode(codec.encode(msg)) == msg
