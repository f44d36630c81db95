"""A registered node turned hostile, against a real Mosquitto and a real hub.

Each attack runs while a lesson goes on between other classrooms; the test asserts
that every event of the others is sequenced (nothing lost), that the attacker got
nothing it may not read, and that ``/healthz`` stayed quick throughout.
"""

from __future__ import annotations

import asyncio

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker.localstack import MosquittoServer, RedisServer
from protocols.ids import new_id
from protocols.messages import ChatBody, ChatMessage, Envelope, LessonStart
from tests.hostile.kit import HealthWatch
from tests.hub.hubkit import FakeNode, classroom, hub_config, running_hub

S = "S1"

#: What a curious or malicious node would try to read: the hub's share group
#: (the name the hub used to have, and guesses), everything, others' topics.
HOSTILE_FILTERS = [
    "$share/hub/dc/v1/nodes/+/up",
    "$share/hub/#",
    "$share/dualclass/dc/v1/nodes/+/up",
    "$share/mallory/dc/v1/nodes/+/up",
    "#",
    "dc/v1/#",
    "dc/v1/nodes/+/up",
    "dc/v1/nodes/+/cmd",
    "dc/v1/sessions/+/events",
    "dc/v1/sessions/+/state",
    "$SYS/#",
]


def _hostile(port: int, secret: str, identifier: str, clean: bool = True) -> aiomqtt.Client:
    return aiomqtt.Client(
        "127.0.0.1",
        port,
        username="mallory",
        password=secret,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=clean,
        properties=_session_expiry(),
        timeout=10,
    )


def _session_expiry() -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    return props


async def _lesson_traffic(nodes: dict[str, FakeNode], lead_events: int, p1_events: int) -> set[str]:
    """Start the lesson and send chats from lead and p1; returns every id sent."""
    start = LessonStart(id=new_id(), session=S)
    await nodes["lead"].send(start)
    await nodes["p2"].wait_events(S, 1, within=20)
    sent = {start.id}
    for i in range(max(lead_events, p1_events)):
        for name, count in (("lead", lead_events), ("p1", p1_events)):
            if i < count:
                message: Envelope = ChatMessage(id=new_id(), session=S, body=ChatBody(text=str(i)))
                sent.add(message.id)
                await nodes[name].send(message)
    return sent


async def test_node_in_the_hub_share_group_takes_no_uplink(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    async with running_hub(hub_config(mosquitto, redis_server)) as hub:
        secret = await hub.add_node("mallory")
        async with classroom(hub, mosquitto.port, partners=2) as nodes:
            async with HealthWatch(hub.api_port) as watch:
                async with _hostile(mosquitto.port, secret, "mallory") as attacker:
                    for pattern in HOSTILE_FILTERS:
                        await attacker.subscribe(pattern, qos=1)
                    got: list[aiomqtt.Message] = []

                    async def collect() -> None:
                        async for message in attacker.messages:
                            got.append(message)

                    reader = asyncio.create_task(collect())
                    sent = await _lesson_traffic(nodes, lead_events=10, p1_events=8)
                    events = await nodes["p2"].wait_events(S, len(sent), within=30)
                    assert sent <= {e.id for e in events}
                    stored = await hub.store.read_events(S)
                    assert [s.seq for s in stored] == list(range(1, len(sent) + 1))
                    reader.cancel()
            watch.assert_responsive()
            # nothing of another classroom's uplinks, commands or sessions reached it
            foreign = [
                m.topic.value
                for m in got
                if not m.topic.value.endswith("/presence")
                and not m.topic.value.startswith("dc/v1/nodes/mallory/")
            ]
            assert foreign == []


async def test_node_cannot_take_over_another_client_id(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    config = hub_config(mosquitto, redis_server, mqtt_client_id="hub-victim")
    async with running_hub(config) as hub:
        secret = await hub.add_node("mallory")
        async with classroom(hub, mosquitto.port, partners=2) as nodes:
            victims = {
                "lead": nodes["lead"].link,
                "p1": nodes["p1"].link,
                "hub-in": hub.link_in,
                "hub-out": hub.link_out,
            }
            before = {name: link.connects for name, link in victims.items() if link}
            async with HealthWatch(hub.api_port) as watch:
                # every id it could covet, each with clean start (which would wipe a
                # persistent session it managed to take over)
                for identifier in ["lead", "p1", "hub", "hub/out", "hub-victim", "hub-victim-out"]:
                    async with _hostile(mosquitto.port, secret, identifier) as attacker:
                        # a QoS 1 round trip: the attacker really is connected
                        await attacker.publish("dc/v1/nodes/mallory/presence", b"", qos=1)
                sent = await _lesson_traffic(nodes, lead_events=8, p1_events=8)
                events = await nodes["p2"].wait_events(S, len(sent), within=30)
                assert sent <= {e.id for e in events}
            watch.assert_responsive()
            after = {name: link.connects for name, link in victims.items() if link}
            assert after == before, "a victim was disconnected"
