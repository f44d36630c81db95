"""Fixtures for recording: a hub that records into a temporary folder, with
session ``S1`` (lead, p1, p2), ICE on 127.0.0.1 only, and aiortc peers sending the
test pattern and tone."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc import RTCSessionDescription

from broker.localstack import MosquittoServer, RedisServer
from classroom_node.media.signalclient import SignalClient
from hub.media.routing import Role
from hub.server import Hub
from protocols.signalling import SignalJoin
from simulators.media.participant import ParticipantPeer
from simulators.media.testsource import AudioTestSource, VideoTestSource
from tests.hub.hubkit import ADMIN_KEY, FakeNode, classroom, hub_config, running_hub
from tests.hub.signalling.conftest import loopback_only  # noqa: F401  (fixture)


@dataclass
class RecHub:
    hub: Hub
    nodes: dict[str, FakeNode]
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub.api_port}"

    def admin(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10
        )


@pytest.fixture
async def rec_hub(
    mosquitto: MosquittoServer, redis_server: RedisServer, tmp_path: Path, request: Any
) -> AsyncIterator[RecHub]:
    extra = getattr(request, "param", {})
    folder = tmp_path / "recordings"
    config = hub_config(mosquitto, redis_server, recording_dir=folder, **extra)
    async with running_hub(config) as hub:
        now = int(time.time() * 1000)
        async with classroom(
            hub, mosquitto.port, partners=2, starts_at=now, ends_at=now + 3_600_000
        ) as nodes:
            yield RecHub(hub, nodes, folder)


@dataclass
class Publisher:
    client: SignalClient
    rtc: ParticipantPeer
    video: VideoTestSource | None


@asynccontextmanager
async def publisher(
    url: str, join: SignalJoin, role: Role, *, source: int | None = None
) -> AsyncIterator[Publisher]:
    """A peer sending the test pattern (``source``) and tone, or nothing (observer)."""
    async with SignalClient(url, join) as client:
        await client.joined()
        video = VideoTestSource(source, fps=15) if source is not None else None
        audio = AudioTestSource(source) if source is not None else None
        rtc = ParticipantPeer(role, video=video, audio=audio, decode=False, read_patterns=False)
        try:
            offer = await client.offer()
            answer = await rtc.answer(RTCSessionDescription(offer.sdp, "offer"))
            await client.answer(answer.sdp)
            yield Publisher(client, rtc, video)
        finally:
            await rtc.close()
