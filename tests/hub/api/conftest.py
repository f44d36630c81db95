"""Fixtures for the API tests: the app over a Redis-only core, or over a running hub.

``core_client``: ``HubCore`` with the fixture Redis and no MQTT — enough for routes
that only touch Redis (registry, inputs). ``hub_client``: a started ``Hub`` on the
fixture Mosquitto + Redis, for routes that create sessions or mint tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import APIRouter

from broker.localstack import MosquittoServer, RedisServer
from hub.api import create_app
from hub.config import HubConfig
from hub.core import HubCore
from hub.server import Hub
from tests.hub.hubkit import ADMIN_KEY, hub_config, running_hub

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


@dataclass
class HubClient:
    hub: HubCore
    http: httpx.AsyncClient


async def _client(hub: HubCore, routers: list[APIRouter]) -> httpx.AsyncClient:
    app = create_app(hub, routers=routers)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


@pytest.fixture
async def core_client(redis_server: RedisServer) -> AsyncIterator[HubClient]:
    core = HubCore(HubConfig(redis_url=redis_server.url, admin_key=ADMIN_KEY))
    http = await _client(core, [])
    try:
        yield HubClient(core, http)
    finally:
        await http.aclose()
        await core.store.close()


@pytest.fixture
def extra_routers() -> list[APIRouter]:
    return []


@pytest.fixture
async def hub_client(
    mosquitto: MosquittoServer, redis_server: RedisServer, extra_routers: list[APIRouter]
) -> AsyncIterator[HubClient]:
    async with running_hub(hub_config(mosquitto, redis_server, api_enabled=False)) as hub:
        http = await _client(hub, extra_routers)
        try:
            yield HubClient(hub, http)
        finally:
            await http.aclose()


__all__ = ["AUTH", "Hub", "HubClient"]
