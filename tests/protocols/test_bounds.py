"""Every number a node can put on the wire is bounded; the codec never lets one through.

Hostile values from the issue: ``v: 1.0`` passing as version 1, NaN and infinity
stored, ``sent`` of +-2^63 poisoning latency figures, ``from_seq`` of 2^64, a
session ending in 10^30. Plus a structured fuzz: any map of any values either
decodes to a message whose numbers are all in range, or raises a ``DecodeError``
(never another exception, never a crash).
"""

from __future__ import annotations

import math
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hub.sequencer import SENT_FUTURE_MS, SENT_PAST_MS, sent_within
from hub.sessions import SessionSpec
from protocols.codec import decode, encode
from protocols.exceptions import DecodeError, SchemaViolation, UnsupportedVersion
from protocols.ids import new_id
from protocols.messages import CLASS_BY_TYPE, MAX_INT, MAX_TS_MS, ChatBody, ChatMessage

ID = new_id()


def _packed(**fields: Any) -> bytes:
    raw = {"v": 1, "id": ID, "type": "chat.message", "session": "S1", "body": {"text": "hi"}}
    raw.update(fields)
    return msgpack.packb(raw)


@pytest.mark.parametrize("version", [1.0, True, "1", 2, None])
def test_v_must_be_exactly_the_integer_one(version: object) -> None:
    with pytest.raises(UnsupportedVersion):
        decode(_packed(v=version))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sent", 2**63),
        ("sent", -(2**63)),
        ("sent", MAX_TS_MS + 1),
        ("ts", -1),
        ("seq", 0),
        ("seq", 2**63),
    ],
)
def test_envelope_numbers_are_bounded(field: str, value: int) -> None:
    with pytest.raises(SchemaViolation):
        decode(_packed(**{field: value}))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_floats_must_be_finite(value: float) -> None:
    stroke = {"points": [[0.0, value]], "width": 2.0}
    with pytest.raises(SchemaViolation):
        decode(_packed(type="annotation.stroke", body=stroke))
    beat = {"uptime_s": value}
    with pytest.raises(SchemaViolation):
        decode(_packed(type="node.heartbeat", session="", body=beat))


def test_resync_range_within_2_63() -> None:
    with pytest.raises(OverflowError):  # 2^64 cannot even be sent in msgpack
        _packed(type="node.resync", body={"from_seq": 2**64})
    with pytest.raises(SchemaViolation):
        decode(_packed(type="node.resync", body={"from_seq": 2**63}))
    ok = decode(_packed(type="node.resync", body={"from_seq": MAX_INT}))
    assert ok.body.from_seq == MAX_INT  # type: ignore[union-attr]


@pytest.mark.parametrize("ends_at", [10**30, -1, MAX_TS_MS + 1])
def test_session_times_in_a_sane_calendar_range(ends_at: int) -> None:
    with pytest.raises(ValidationError):
        SessionSpec(session="S", lead="a", ends_at=ends_at)


def test_sent_is_kept_only_within_the_window_of_the_hub_clock() -> None:
    hub = 1_800_000_000_000
    assert sent_within(hub - 5, hub) == hub - 5
    assert sent_within(hub - SENT_PAST_MS, hub) == hub - SENT_PAST_MS
    assert sent_within(hub + SENT_FUTURE_MS, hub) == hub + SENT_FUTURE_MS
    for absurd in (0, 1, hub - SENT_PAST_MS - 1, hub + SENT_FUTURE_MS + 1, MAX_TS_MS):
        assert sent_within(absurd, hub) is None
    assert sent_within(None, hub) is None


# ----------------------------------------------------------------- structured fuzz

_numbers = st.one_of(
    st.integers(min_value=-(2**64) + 1, max_value=2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
_leaf = st.one_of(_numbers, st.text(max_size=20), st.binary(max_size=8))
_value = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _in_range(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str | bytes):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_in_range(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_in_range(v) for v in value)
    return True


@settings(max_examples=150, deadline=None)
@given(
    type_=st.sampled_from(sorted(CLASS_BY_TYPE)),
    envelope=st.fixed_dictionaries(
        {},
        optional={
            "seq": _numbers,
            "ts": _numbers,
            "sent": _numbers,
            "v": _numbers,
            "session": st.text(max_size=10),
        },
    ),
    body=st.dictionaries(
        st.sampled_from(
            [
                "text",
                "index",
                "uptime_s",
                "last_seq",
                "from_seq",
                "to_seq",
                "points",
                "present",
                "enrolled",
                "choice",
                "quiz",
                "node",
                "width",
                "media",
                "journal_backlog",
                "online",
            ]
        ),
        _value,
        max_size=5,
    ),
)
def test_any_map_decodes_in_range_or_is_refused(
    type_: str, envelope: dict[str, Any], body: dict[str, Any]
) -> None:
    raw = {"v": 1, "id": ID, "type": type_, **envelope, "body": body}
    try:
        data = msgpack.packb(raw)
    except (OverflowError, ValueError, TypeError):
        return  # not even representable in msgpack
    try:
        message = decode(data)
    except DecodeError:
        return
    dumped = message.model_dump()
    assert _in_range(dumped), dumped
    assert decode(encode(message)) == message


def test_a_sane_event_still_passes() -> None:
    chat = ChatMessage(id=ID, session="S1", sent=1_800_000_000_000, body=ChatBody(text="x"))
    assert decode(encode(chat)) == chat
