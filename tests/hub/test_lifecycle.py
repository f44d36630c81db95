"""A hub whose start-up fails half-way leaves nothing running behind it."""

from __future__ import annotations

import asyncio
import socket

import pytest
import redis.asyncio as aioredis

from broker.localstack import MosquittoServer, RedisServer
from hub.server import Hub
from tests.hub.hubkit import hub_config


async def test_failed_startup_is_unwound(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    # the API port is taken, so the very last start-up step fails
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        hub = Hub(hub_config(mosquitto, redis_server, api_port=port))
        before = asyncio.all_tasks()
        with pytest.raises(OSError):
            await hub.startup()
        # every step that had started was undone, in reverse order
        assert not hub.link_in.connected.is_set() and not hub.link_out.connected.is_set()
        assert hub._consumer is not None and hub._consumer.done()
        assert hub.signalling is not None and not hub.signalling.rooms
        left = {t for t in asyncio.all_tasks() - before if not t.done()}
        assert not left, left
        # the hub's Redis connections were closed with the stack: only ours is left
        checker = aioredis.Redis.from_url(redis_server.url)
        try:
            assert len(await checker.client_list()) == 1
        finally:
            await checker.aclose()
        await hub.shutdown()  # nothing to drain: a no-op, not an error
    finally:
        taken.close()
