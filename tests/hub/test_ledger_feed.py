"""``hub.ledgerfeed.LedgerFeed`` on a real Redis, without MQTT or a hub.

What the term test (tests/integration/test_ledger_term.py) does not isolate: presence
written only on change, the hub's heartbeat timeout and the way back, browser
records, the input cursor across a crash, and session info without a registry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from broker.localstack import RedisServer
from hub.keys import LEDGER_CURSOR_KEY
from hub.ledgerfeed import LedgerFeed, session_info
from hub.sessions import SessionSpec
from ledger import store
from ledger.keys import INPUTS_KEY
from protocols.ids import new_id
from protocols.messages import HeartbeatBody, MediaStats, NodeHeartbeat
from registry.rules import Snapshot


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=False)
    yield client
    await client.aclose()


def heartbeat(session: str, fps: float) -> NodeHeartbeat:
    body = HeartbeatBody(uptime_s=1, sessions=[session], media=MediaStats(fps=fps))
    return NodeHeartbeat(id=new_id(), body=body)


async def test_presence_only_on_change_timeout_and_back(redis: aioredis.Redis) -> None:
    clock = Clock(1_000_000)
    feed = LedgerFeed(redis, clock=clock, timeout_s=30, interval_s=3600)
    await feed.start([])
    await feed.presence("n1", True)
    clock.now += 1000
    await feed.presence("n1", True)  # a retained message delivered again: nothing new
    assert feed.ledger.presence["n1"] == {(1_000_000, True)}
    clock.now += 10_000
    await feed.heartbeat("n1", heartbeat("S", 25.0))
    clock.now += 29_000
    assert await feed.check_timeouts() == 0
    clock.now += 2_000  # 31 s after the heartbeat: the hub counts it offline
    assert await feed.check_timeouts() == 1
    assert not feed.online("n1")
    assert (1_011_000 + 30_000, False) in feed.ledger.presence["n1"]
    clock.now += 5_000
    await feed.heartbeat("n1", heartbeat("S", 20.0))  # seen again
    assert feed.online("n1")
    assert (clock.now, True) in feed.ledger.presence["n1"]
    assert await redis.xlen(INPUTS_KEY) == 5  # on, hb, off, on, hb
    await feed.stop()
    assert await redis.get(LEDGER_CURSOR_KEY) is not None


async def test_crash_between_saves_is_replayed_once(redis: aioredis.Redis) -> None:
    clock = Clock(5_000_000)
    feed = LedgerFeed(redis, clock=clock, interval_s=3600)
    await feed.start(["S"])
    await feed.presence("n1", True)
    await feed.browser("u1", "S", True)
    await feed.flush()
    clock.now += 1000
    await feed.heartbeat("n1", heartbeat("S", 30.0))
    await feed.browser("tutor", "S", True, classroom="n2")
    await feed.stop(save=False)  # crash: the last two records are only in the stream

    again = LedgerFeed(redis, clock=clock, interval_s=3600)
    await again.start(["S"])
    state = again.ledger.sessions["S"]
    assert state.rooms["n1"].media.heartbeats == 1
    assert {b[0] for b in state.browsers} == {"u1", "tutor"}
    assert again.online("n1")
    await again.stop()

    third = LedgerFeed(redis, clock=clock, interval_s=3600)
    await third.start(["S"])  # saved now: replaying again would count nothing twice
    assert third.ledger.sessions["S"].rooms["n1"].media.heartbeats == 1
    await third.stop()


async def test_session_info_without_registry_uses_node_ids(redis: aioredis.Redis) -> None:
    spec = SessionSpec(session="D1", lead="lead", partners=["p1", "p2"], subject="Math", grade=5)
    info = session_info(spec, Snapshot())
    assert info is not None
    assert (info.lead_school, info.lead_teacher, info.subject) == ("lead", "lead", "math")
    assert info.partners == {"p1": "p1", "p2": "p2"}
    assert session_info(spec.model_copy(update={"grade": None}), Snapshot()) is None
    feed = LedgerFeed(redis)
    assert await feed.ensure_infos([spec]) == 1
    assert await feed.ensure_infos([spec]) == 0
    [stored] = await store.sessions_between(redis, 0, 1)
    assert stored == info
