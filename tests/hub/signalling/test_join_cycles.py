"""Console join/leave cycles: no join ever waits on another session's room.

A room used to open and close under one global lock, replaying the whole log on
open and waiting without a deadline for its feed to stop on close; one stuck
feed then froze every join of every session. Here 200 join/leave cycles run over
three sessions from four concurrent workers (one session with a long log), a
console joins in the middle and stays, and nearly every join must complete in
under 1 s (none over 3 s).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from classroom_node.media.signalclient import SignalClient
from hub.sessions import SessionSpec
from hub.store import log_key
from hub.tokens import JoinRole
from protocols.codec import encode
from protocols.ids import new_id
from protocols.messages import ChatBody, ChatMessage, LessonStart
from protocols.signalling import SignalJoin
from tests.hub.hubkit import wait_for

from .conftest import LiveHub
from .peers import token

SESSIONS = ["S1", "S2", "S3"]
CYCLES = 200
WORKERS = 4
LOG_EVENTS = 10_000


async def _long_log(live: LiveHub, session: str, count: int) -> None:
    """Append ``count`` sequenced chats straight to the session's stream (fast)."""
    redis = live.hub.store.redis
    first = await live.hub.store.last_seq(session) + 1
    pipe = redis.pipeline(transaction=False)
    for seq in range(first, first + count):
        chat = ChatMessage(
            id=new_id(), session=session, seq=seq, ts=seq, src="lead", body=ChatBody(text="x")
        )
        fields = {"d": encode(chat), "id": chat.id, "type": chat.type, "src": "lead", "ts": seq}
        pipe.xadd(log_key(session), fields, id=f"{seq}-0")
    await pipe.execute()


async def _join_leave(url: str, session: str) -> float:
    join = SignalJoin(token=token(JoinRole.LEAD, session=session), media=False)
    started = time.perf_counter()
    async with SignalClient(url, join) as client:
        await client.joined(within=5)
        await client.wait(lambda c: c.state is not None, within=5)
        return time.perf_counter() - started


async def test_200_join_leave_cycles_each_join_under_a_second(live: LiveHub) -> None:
    hub = live.hub
    for extra in SESSIONS[1:]:
        spec = SessionSpec(session=extra, lead="lead", partners=["p1", "p2"], title=extra)
        await hub.create_session(spec)
    runtime = hub.runtimes["S1"]
    assert (await runtime.submit_wait("lead", LessonStart(id=new_id(), session="S1"))).accepted
    await _long_log(live, "S1", LOG_EVENTS)
    assert await runtime.catch_up() == LOG_EVENTS
    last = runtime.machine.last_seq

    times: list[float] = []
    done = 0
    halfway = asyncio.Event()

    async def worker(offset: int) -> None:
        nonlocal done
        for i in range(offset, CYCLES, WORKERS):
            times.append(await _join_leave(live.url, SESSIONS[i % len(SESSIONS)]))
            done += 1
            if done >= CYCLES // 2:
                halfway.set()

    async def console() -> None:
        await halfway.wait()
        join = SignalJoin(token=token(JoinRole.LEAD, session="S1"), media=False)
        started = time.perf_counter()
        async with SignalClient(live.url, join) as client:
            await client.joined(within=5)
            await client.wait(lambda c: c.state is not None, within=5)
            times.append(time.perf_counter() - started)
            assert client.state is not None and client.state.last_seq >= last
            # it follows the lesson live while the cycles go on around it
            chat = ChatMessage(id=new_id(), session="S1", body=ChatBody(text="live"))
            await hub.runtimes["S1"].submit_wait("lead", chat)
            await client.wait(lambda c: any(e.id == chat.id for e in c.events), within=5)

    await asyncio.wait_for(
        asyncio.gather(console(), *(worker(k) for k in range(WORKERS))), timeout=120
    )
    assert len(times) == CYCLES + 1
    # a count, not the maximum: on a loaded CI box one join in 200 can wait for a
    # scheduler slot; a join queued behind another room (the old global lock, a
    # stuck feed) makes many slow, or one never finish
    slow = sorted(t for t in times if t >= 1.0)
    assert len(slow) <= CYCLES // 20, f"{len(slow)} joins over 1 s: {slow}"
    assert max(times) < 3.0, f"slowest join {max(times):.3f} s"
    # every room closed behind its last peer
    assert live.hub._api is not None
    signalling = live.hub._api.config.app.state.signalling
    await wait_for(lambda: not signalling.rooms, what="rooms closed")


async def test_a_feed_that_will_not_stop_holds_up_nobody(
    live: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadlock of the issue: a feed stuck while cancelling inside its read."""
    service = live.hub.signalling
    assert service is not None
    monkeypatch.setattr(
        service, "settings", service.settings.model_copy(update={"stop_timeout_s": 0.5})
    )
    spec = SessionSpec(session="S2", lead="lead", partners=["p1"], title="S2")
    await live.hub.create_session(spec)
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # swallows every cancel, as a wedged client library would

    join = SignalJoin(token=token(JoinRole.LEAD, session="S1"), media=False)
    try:
        async with SignalClient(live.url, join) as client:
            await client.joined(within=5)
            assert live.hub._api is not None
            signalling = live.hub._api.config.app.state.signalling
            room = signalling.rooms["S1"]
            await room.feed.stop()
            room.feed._task = asyncio.create_task(stubborn())
        # the last peer left: the room closes with a stuck feed; joins go on
        await wait_for(lambda: "S1" not in signalling.rooms, what="S1 closed")
        for session in ("S2", "S1", "S2"):
            # the stuck feed held joins forever; 3 s leaves room for a loaded CI box
            assert await _join_leave(live.url, session) < 3.0
    finally:
        release.set()
