"""Fuzzing ``/ws/signal`` with hypothesis against a real hub.

Frames of every shape (not JSON, nested brackets, wrong types, every message type
with random fields, interactions with random bodies) before and after a valid
join. The hub must answer each with a typed ``error`` frame or a close with a
4xxx code: never ``internal`` (an exception escaped), the hub still answers, and a normal
peer still joins afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from classroom_node.media.signalclient import SignalClient, signal_url
from hub.tokens import JoinRole
from protocols.signalling import MAX_SIGNAL_SIZE, SignalJoin, dump_signal

from .conftest import LiveHub
from .peers import token

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=8,
)
_types = st.sampled_from(
    [
        "join",
        "joined",
        "offer",
        "answer",
        "leave",
        "error",
        "event",
        "state",
        "interact",
        "ack",
        "x",
    ]
)
_events = st.sampled_from(
    [
        "hand.raise",
        "chat.message",
        "quiz.answer",
        "annotation.stroke",
        "slide.show",
        "lesson.start",
        "floor.grant",
        "node.heartbeat",
        "cmd.join",
        "nope",
    ]
)
_message = st.builds(
    lambda type_, fields: json.dumps({"type": type_, **fields}),
    _types,
    st.dictionaries(
        st.sampled_from(
            [
                "sdp",
                "token",
                "session",
                "node",
                "secret",
                "body",
                "event",
                "id",
                "code",
                "role",
                "media",
                "seq",
            ]
        ),
        _json,
        max_size=4,
    ),
)
_interact = st.builds(
    lambda event, body, ident: json.dumps(
        {"type": "interact", "event": event, "body": body, **({"id": ident} if ident else {})}
    ),
    _events,
    st.dictionaries(
        st.sampled_from(
            [
                "text",
                "index",
                "points",
                "choice",
                "quiz",
                "node",
                "present",
                "enrolled",
                "width",
                "uptime_s",
            ]
        ),
        _json,
        max_size=4,
    ),
    st.one_of(st.none(), st.text(max_size=30)),
)
_frame = st.one_of(
    st.text(max_size=200),
    st.integers(min_value=1, max_value=5_000).map(lambda n: "[" * n),
    st.just("NaN"),
    _message,
    _interact,
)


async def _exchange(url: str, frames: list[str], join: str | None) -> list[Any]:
    """Send ``frames`` (after ``join`` if given); what came back, close code last."""
    got: list[Any] = []
    async with connect(signal_url(url), proxy=None, max_size=MAX_SIGNAL_SIZE) as ws:
        with contextlib.suppress(ConnectionClosed):
            if join is not None:
                await ws.send(join)
            for frame in frames:
                await ws.send(frame)
            await ws.send(json.dumps({"type": "leave"}))
            while True:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        got.append(ws.close_code)
    return got


def _internal(replies: list[Any]) -> list[Any]:
    return [
        r for r in replies if r == 1011 or (isinstance(r, dict) and r.get("code") == "internal")
    ]


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(frames=st.lists(_frame, min_size=1, max_size=6), joined=st.booleans())
async def test_no_frame_breaks_the_conversation_or_the_hub(
    live: LiveHub, frames: list[str], joined: bool
) -> None:
    join = dump_signal(SignalJoin(token=token(JoinRole.LEAD), media=False)) if joined else None
    replies = await asyncio.wait_for(_exchange(live.url, frames, join), 20)
    assert _internal(replies) == [], replies
    closes = [r for r in replies if isinstance(r, int)]
    assert closes and all(c in (1000, 1005) or 4000 <= c < 5000 for c in closes), replies
    # (hypothesis draws examples on the hub's own event loop here, so /healthz
    # timing is measured in tests/hostile, where nothing else runs on it)
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{live.url}/healthz")).status_code == 200


async def test_a_normal_peer_joins_after_garbage(live: LiveHub) -> None:
    await _exchange(
        live.url, ["[" * 100_000, "{", json.dumps({"type": "answer", "sdp": "v=0"})], None
    )
    join = SignalJoin(token=token(JoinRole.LEAD), media=False)
    async with SignalClient(live.url, join) as client:
        joined = await client.joined()
        assert joined.role == "lead"


@pytest.mark.parametrize("sdp", ["v=0", "x" * 5000, "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"])
async def test_a_garbage_answer_is_a_negotiation_error(live: LiveHub, sdp: str) -> None:
    join = dump_signal(SignalJoin(token=token(JoinRole.LEAD)))
    replies: list[Any] = []
    async with connect(signal_url(live.url), proxy=None, max_size=MAX_SIGNAL_SIZE) as ws:
        await ws.send(join)
        while not any(isinstance(r, dict) and r.get("type") == "offer" for r in replies):
            replies.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        await ws.send(json.dumps({"type": "answer", "sdp": sdp}))
        replies.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    assert replies[-1]["type"] == "error", replies[-1]
    assert replies[-1]["code"] == "negotiation_failed", replies[-1]
