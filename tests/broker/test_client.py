"""MqttLink against a real Mosquitto: ACLs, last will, reconnect with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from broker.client import ClientSettings, Incoming, MqttLink, WillSpec
from broker.exceptions import NotConnected
from broker.localstack import MosquittoServer
from tests.conftest import HUB_SECRET, HUB_USER, node_secret


def settings(server: MosquittoServer, user: str, **kw: object) -> ClientSettings:
    secret = HUB_SECRET if user == HUB_USER else node_secret(user)
    return ClientSettings(
        port=server.port,
        username=user,
        password=secret,
        client_id=f"{user}-c",
        **kw,  # type: ignore[arg-type]
    )


async def next_message(it: AsyncIterator[Incoming], timeout: float = 5.0) -> Incoming:
    return await asyncio.wait_for(anext(it), timeout)


async def test_node_cannot_publish_as_another_node(mosquitto: MosquittoServer) -> None:
    async with (
        MqttLink(settings(mosquitto, HUB_USER)) as hub,
        MqttLink(settings(mosquitto, "p1")) as p1,
    ):
        await hub.wait_connected(5)
        await p1.wait_connected(5)
        await hub.subscribe("dc/v1/nodes/+/up")
        inbox = hub.messages()
        await p1.publish("dc/v1/nodes/p2/up", b"forged")  # broker accepts, then drops
        await p1.publish("dc/v1/nodes/p1/up", b"genuine")
        msg = await next_message(inbox)
        assert (msg.topic, msg.payload) == ("dc/v1/nodes/p1/up", b"genuine")


async def test_node_reads_only_sessions_it_belongs_to(mosquitto: MosquittoServer) -> None:
    mosquitto.node_sessions = {"p1": ["s1"]}
    mosquitto.reload()
    async with (
        MqttLink(settings(mosquitto, HUB_USER)) as hub,
        MqttLink(settings(mosquitto, "p1")) as p1,
    ):
        await hub.wait_connected(5)
        await p1.wait_connected(5)
        await p1.subscribe("dc/v1/sessions/+/events")
        inbox = p1.messages()
        await hub.publish("dc/v1/sessions/s2/events", b"not yours")
        await hub.publish("dc/v1/sessions/s1/events", b"yours")
        msg = await next_message(inbox)
        assert (msg.topic, msg.payload) == ("dc/v1/sessions/s1/events", b"yours")


async def test_wrong_password_never_connects(mosquitto: MosquittoServer) -> None:
    bad = ClientSettings(port=mosquitto.port, username="p1", password="nope", client_id="x")
    async with MqttLink(bad) as link:
        with pytest.raises(TimeoutError):
            await link.wait_connected(1.0)
        with pytest.raises(NotConnected):
            await link.publish("dc/v1/nodes/p1/up", b"x")


async def test_last_will_announces_a_crashed_node(mosquitto: MosquittoServer) -> None:
    will = WillSpec(topic="dc/v1/nodes/p1/presence", payload=b"offline")
    async with MqttLink(settings(mosquitto, HUB_USER)) as hub:
        await hub.wait_connected(5)
        await hub.subscribe("dc/v1/nodes/+/presence")
        inbox = hub.messages()
        p1 = MqttLink(settings(mosquitto, "p1", will=will, keepalive=2))
        await p1.start(wait=True)
        await p1.abort()
        msg = await next_message(inbox, timeout=10)
        assert (msg.topic, msg.payload) == ("dc/v1/nodes/p1/presence", b"offline")


async def test_reconnects_after_broker_restart_and_keeps_subscriptions(
    mosquitto: MosquittoServer,
) -> None:
    async with (
        MqttLink(settings(mosquitto, HUB_USER, reconnect_max_s=0.5)) as hub,
        MqttLink(settings(mosquitto, "p1", reconnect_max_s=0.5)) as p1,
    ):
        await hub.wait_connected(5)
        await p1.wait_connected(5)
        await hub.subscribe("dc/v1/nodes/+/up")
        inbox = hub.messages()
        mosquitto.stop()
        await asyncio.wait_for(_until(lambda: not p1.connected.is_set()), 10)
        with pytest.raises(NotConnected):
            await p1.publish("dc/v1/nodes/p1/up", b"while down")
        mosquitto.start()  # same port, persisted sessions
        await hub.wait_connected(15)
        await p1.wait_connected(15)
        await p1.publish("dc/v1/nodes/p1/up", b"after restart")
        msg = await next_message(inbox, timeout=10)
        assert msg.payload == b"after restart"
        assert p1.connects >= 2


async def _until(predicate: object) -> None:
    while not predicate():  # type: ignore[operator]
        await asyncio.sleep(0.02)
