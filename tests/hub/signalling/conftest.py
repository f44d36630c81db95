"""Fixtures for signalling: a hub on the fixture servers with its API on a free port,
ICE on 127.0.0.1 only, and a session ``S1`` (lead, p1, p2, observer o1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from broker.localstack import MosquittoServer, RedisServer
from hub.server import Hub
from tests.hub.hubkit import FakeNode, classroom, hub_config, running_hub
from webrtc.ice import LOOPBACK, restrict_host_addresses


@dataclass
class LiveHub:
    hub: Hub
    nodes: dict[str, FakeNode]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub.api_port}"

    def secret(self, node: str) -> str:
        return self.nodes[node].secret


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The hub's setting (environment) and the test's own peers: 127.0.0.1 only."""
    monkeypatch.setenv("DUALCLASS_HUB_ICE_HOST_ADDRESSES", '["127.0.0.1"]')
    restrict_host_addresses(LOOPBACK)
    yield
    restrict_host_addresses(None)


@pytest.fixture
async def live(mosquitto: MosquittoServer, redis_server: RedisServer) -> AsyncIterator[LiveHub]:
    async with running_hub(hub_config(mosquitto, redis_server)) as hub:
        async with classroom(hub, mosquitto.port, partners=2, observers=1) as nodes:
            yield LiveHub(hub, nodes)
