"""Broker durability: a SIGKILLed Mosquitto comes back with the hub's persistent
session and the QoS 1 messages queued for it (autosave), in the rendered and the
deployed configuration alike."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from broker.client import ClientSettings, MqttLink
from broker.localstack import MosquittoServer
from simulators.faults import ServerFaults
from tests.conftest import HUB_SECRET, HUB_USER, node_secret

REPO = Path(__file__).resolve().parents[2]


def test_deployed_and_rendered_configs_autosave() -> None:
    deployed = (REPO / "deploy" / "mosquitto" / "dualclass.conf").read_text().splitlines()
    assert "autosave_interval 1" in deployed and "persistence true" in deployed


async def test_queued_messages_and_session_survive_sigkill(mosquitto: MosquittoServer) -> None:
    assert "autosave_interval 1" in mosquitto.conf_path.read_text().splitlines()
    hub_settings = ClientSettings(
        port=mosquitto.port,
        username=HUB_USER,
        password=HUB_SECRET,
        client_id="hub-durable",
        manual_ack=True,
    )
    async with MqttLink(hub_settings) as hub:
        await hub.subscribe("$share/hub/dc/v1/nodes/+/up")
        await hub.wait_connected(5)
    # the hub is away (its session persists); a node publishes into its queue
    node = ClientSettings(
        port=mosquitto.port, username="p1", password=node_secret("p1"), client_id="p1-d"
    )
    async with MqttLink(node) as p1:
        await p1.wait_connected(5)
        for i in range(10):
            await p1.publish("dc/v1/nodes/p1/up", f"{i}".encode(), need_subscriber=True)
    published = time.time()
    db = mosquitto.workdir / "data" / "mosquitto.db"
    deadline = time.monotonic() + 10
    while not (db.exists() and db.stat().st_mtime > published):
        assert time.monotonic() < deadline, "mosquitto never autosaved"
        await asyncio.sleep(0.05)
    ServerFaults(mosquitto).kill()
    ServerFaults(mosquitto).restart()
    async with MqttLink(hub_settings) as hub:
        inbox = hub.messages()
        got = []
        for _ in range(10):
            message = await asyncio.wait_for(anext(inbox), 10)
            got.append(message.payload)
            message.ack()
    assert got == [f"{i}".encode() for i in range(10)]
