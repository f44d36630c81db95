"""Test kit for the hub: a hub on the fixture servers and raw MQTT fake nodes.

Fake nodes are bare ``MqttLink`` clients: they publish encoded messages on their
``up`` topic and collect everything they receive, so tests see exactly what a real
node would. ``wait_for`` polls a condition until a deadline instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from broker.client import ClientSettings, MqttLink
from broker.localstack import MosquittoServer, RedisServer
from hub.config import HubConfig
from hub.server import Hub
from hub.sessions import SessionSpec
from protocols.codec import decode, encode
from protocols.ids import new_id
from protocols.messages import Envelope
from protocols.topics import Topics

T = TypeVar("T")
ADMIN_KEY = "test-admin-key"
TOPICS = Topics()


async def wait_for(
    condition: Callable[[], T | Awaitable[T]], *, within: float = 5.0, what: str = "condition"
) -> T:
    """Poll ``condition`` until truthy; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value) or isinstance(value, Awaitable):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def hub_config(mosquitto: MosquittoServer, redis: RedisServer, **extra: Any) -> HubConfig:
    values: dict[str, Any] = {
        "mqtt_host": "127.0.0.1",
        "mqtt_port": mosquitto.port,
        "mqtt_username": "hub",
        "mqtt_password": "hub-secret",
        "mqtt_client_id": "hub-test",
        "redis_url": redis.url,
        "api_port": 0,
        "admin_key": ADMIN_KEY,
        "password_file": mosquitto.workdir / "passwd",
        "acl_file": mosquitto.workdir / "acl",
        "pid_file": mosquitto.pid_file,
        "log_level": "warning",
        "decks_dir": mosquitto.workdir.parent / "decks",
        # half-HD slides: the same code path, a quarter of the rendering on a loaded box
        "deck_width": 960,
        "deck_height": 540,
    }
    values.update(extra)
    return HubConfig(**values)


@dataclass
class FakeNode:
    """A node as the broker sees it: its own credentials, raw messages."""

    node: str
    secret: str
    port: int
    link: MqttLink | None = None
    received: list[tuple[str, Envelope]] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    async def start(self) -> FakeNode:
        settings = ClientSettings(
            port=self.port,
            username=self.node,
            password=self.secret,
            client_id=f"fake-{self.node}",
            clean_start=True,
        )
        self.link = MqttLink(settings)
        await self.link.subscribe(TOPICS.node_cmd(self.node))
        await self.link.start(wait=True)
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.link is not None
        async for msg in self.link.messages():
            try:
                self.received.append((msg.topic, decode(msg.payload, max_size=1 << 20)))
            except Exception:
                pass

    async def close(self) -> None:
        if self.link is not None:
            await self.link.close()
        if self._reader is not None:
            await self._reader

    async def follow(self, session: str) -> None:
        assert self.link is not None
        await self.link.subscribe(TOPICS.session_events(session))
        await self.link.subscribe(TOPICS.session_state(session))

    async def send(self, message: Envelope, *, to: str | None = None) -> None:
        await self.send_raw(encode(message, max_size=1 << 20), to=to)

    async def send_raw(self, payload: bytes, *, to: str | None = None) -> None:
        assert self.link is not None
        await self.link.publish(TOPICS.node_up(to or self.node), payload)

    def of_type(self, type_: str, topic: str | None = None) -> list[Envelope]:
        return [
            m
            for t, m in self.received
            if getattr(m, "type", "") == type_ and (topic is None or t == topic)
        ]

    def events(self, session: str) -> list[Envelope]:
        topic = TOPICS.session_events(session)
        return [m for t, m in self.received if t == topic]

    async def wait_events(self, session: str, count: int, within: float = 5.0) -> list[Envelope]:
        await wait_for(
            lambda: len({e.seq for e in self.events(session)}) >= count,
            within=within,
            what=f"{count} events at {self.node}",
        )
        return sorted(self.events(session), key=lambda e: e.seq or 0)

    async def wait_type(self, type_: str, count: int = 1, within: float = 5.0) -> list[Envelope]:
        await wait_for(
            lambda: len(self.of_type(type_)) >= count,
            within=within,
            what=f"{count} {type_} at {self.node}",
        )
        return self.of_type(type_)


@asynccontextmanager
async def running_hub(config: HubConfig) -> AsyncIterator[Hub]:
    hub = Hub(config)
    await hub.startup()
    try:
        yield hub
    finally:
        await hub.shutdown()


@asynccontextmanager
async def classroom(
    hub: Hub,
    port: int,
    *,
    session: str = "S1",
    partners: int = 2,
    observers: int = 0,
    **spec_fields: Any,
) -> AsyncIterator[dict[str, FakeNode]]:
    """Register lead + partners (+ observers), create the session, connect them all."""
    names = ["lead"] + [f"p{i}" for i in range(1, partners + 1)]
    names += [f"o{i}" for i in range(1, observers + 1)]
    nodes: dict[str, FakeNode] = {}
    for name in names:
        secret = await hub.add_node(name)
        nodes[name] = await FakeNode(name, secret, port).start()
    spec = SessionSpec(
        session=session,
        lead="lead",
        partners=[f"p{i}" for i in range(1, partners + 1)],
        observers=[f"o{i}" for i in range(1, observers + 1)],
        title="Fractions",
        subject="math",
        grade=4,
        **spec_fields,
    )
    for node in nodes.values():
        await node.follow(session)
    await hub.create_session(spec)
    try:
        yield nodes
    finally:
        for node in nodes.values():
            await node.close()


def event_id() -> str:
    return new_id()
