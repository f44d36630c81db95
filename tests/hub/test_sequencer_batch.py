"""A backlog sequenced in batches (``Store.append_many``) against a real Redis: the
same answers, in the same order, as one uplink at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from broker.localstack import RedisServer
from hub.metrics import HubMetrics
from hub.sequencer import SessionRuntime, Uplink, Verdict
from hub.sessions import SessionSpec
from hub.store import AppendResult, NewEvent, Store
from protocols.codec import decode
from protocols.ids import new_id
from protocols.messages import ChatBody, ChatMessage, Envelope, HandRaise, LessonStart
from protocols.topics import Topics

S = "S1"


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[Store]:
    s = Store.from_url(redis_server.url)
    yield s
    await s.close()


def _chat(text: str, id_: str | None = None) -> ChatMessage:
    return ChatMessage(id=id_ or new_id(), session=S, body=ChatBody(text=text))


async def test_a_queued_backlog_gets_the_answers_one_at_a_time_would(store: Store) -> None:
    published: list[bytes] = []
    refused: list[tuple[str, str, str]] = []

    async def publish(topic: str, payload: bytes, retain: bool) -> None:
        if not retain:
            published.append(payload)

    async def reject(node: str, ref: str, code: str, detail: str) -> None:
        refused.append((node, ref, code))

    spec = SessionSpec(session=S, lead="lead", partners=["p1", "p2"])
    runtime = SessionRuntime(
        spec,
        store=store,
        topics=Topics(),
        metrics=HubMetrics(),
        publish=publish,
        reject=reject,
        max_size=2600,  # events up to 1576 bytes
    )
    batches: list[int] = []
    append_many = store.append_many

    async def counted(session: str, expected: int, events: list[NewEvent]) -> list[AppendResult]:
        batches.append(len(events))
        return await append_many(session, expected, events)

    store.append_many = counted  # type: ignore[method-assign,assignment]
    reused = new_id()
    # queued before the worker starts, so it finds them all at once
    plan: list[tuple[str, Envelope]] = [
        ("lead", LessonStart(id=new_id(), session=S)),
        *[("p1", _chat(f"a{i}")) for i in range(5)],
        ("p1", HandRaise(id=new_id(), session=S)),
        ("p2", _chat("b", reused)),
        ("p1", HandRaise(id=new_id(), session=S)),  # refused: the hand is already up
        ("p2", _chat("b again", reused)),  # a resend: the stored one is published again
        ("p1", _chat("x" * 1900)),  # refused: too large
        ("p1", _chat("c", reused)),  # another sender's id: not a duplicate
        *[("p2", _chat(f"d{i}")) for i in range(100)],
    ]
    done: list[int] = []
    verdicts: list[asyncio.Future[Verdict]] = []
    loop = asyncio.get_running_loop()
    for i, (src, message) in enumerate(plan):
        future: asyncio.Future[Verdict] = loop.create_future()
        verdicts.append(future)
        await runtime.put(
            Uplink(src, message, verdict=future, done=lambda i=i: done.append(i))  # type: ignore[misc]
        )
    runtime.start()
    try:
        await asyncio.wait_for(runtime.idle(), 30)
        seqs = [(await f).seq for f in verdicts]
    finally:
        await runtime.stop(5)
    assert sorted(done) == list(range(len(plan)))  # every uplink acknowledged once
    expected_seqs = [*range(1, 9), None, 8, None, 9, *range(10, 110)]
    assert seqs == expected_seqs
    assert [(await f).code for f in verdicts if (await f).seq is None] == [
        "hand_already_raised",
        "too_large",
    ]
    assert max(batches) > 32 and sum(batches) < 2 * len(plan)  # batched, not one by one
    assert refused == []  # senders waiting on a verdict get it there
    stored = await store.read_events(S)
    assert [s.seq for s in stored] == list(range(1, 110))
    events = [decode(s.payload) for s in stored]
    assert [e.src for e in events[6:9]] == ["p1", "p2", "p1"]
    assert runtime.machine.last_seq == 109 and runtime.machine.hands == ["p1"]
    # published in seq order, the duplicate's stored event once more
    published_seqs = [decode(p).seq or 0 for p in published]
    assert sorted(published_seqs) == sorted([*range(1, 110), 8])
