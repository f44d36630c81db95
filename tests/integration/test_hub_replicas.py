"""Two hub replicas behind one shared subscription sequence one session gaplessly."""

from __future__ import annotations

from broker.localstack import MosquittoServer, RedisServer
from broker.render import hash_password
from protocols.ids import new_id
from protocols.messages import (
    ChatBody,
    ChatMessage,
    HeartbeatBody,
    LessonStart,
    NodeHeartbeat,
)
from tests.conftest import HUB_SECRET
from tests.hub.hubkit import classroom, hub_config, running_hub, wait_for

S = "S1"


async def test_two_replicas_share_uplinks_without_gaps_or_losses(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    # each replica has its own broker identity (the broker binds client ids to users)
    mosquitto.users["hub-b"] = "hub-b-secret"
    mosquitto.hub_users.append("hub-b")
    mosquitto.reload()
    both = {"hub": hash_password(HUB_SECRET), "hub-b": hash_password("hub-b-secret")}
    config_a = hub_config(mosquitto, redis_server, mqtt_client_id="hub-a", hub_users=both)
    config_b = hub_config(
        mosquitto,
        redis_server,
        mqtt_username="hub-b",
        mqtt_password="hub-b-secret",
        mqtt_client_id="hub-b",
        hub_users=both,
        api_enabled=False,
    )
    async with running_hub(config_a) as hub_a, running_hub(config_b) as hub_b:
        async with classroom(hub_a, mosquitto.port, partners=2) as nodes:
            await nodes["lead"].send(LessonStart(id=new_id(), session=S))
            sent: list[str] = []
            for i in range(40):
                sender = nodes["lead"] if i % 2 else nodes[f"p{1 + i % 4 // 2}"]
                message = ChatMessage(id=new_id(), session=S, body=ChatBody(text=str(i)))
                sent.append(message.id)
                await sender.send(message)
            events = await nodes["p2"].wait_events(S, 41, within=15)
            by_seq = {e.seq: e.id for e in events}
            assert sorted(by_seq) == list(range(1, 42))
            assert set(sent) <= set(by_seq.values())
            stored = await hub_a.store.read_events(S)
            assert [s.seq for s in stored] == list(range(1, 42))
            # both replicas took part, and between them every event was accepted once
            accepted_a = hub_a.runtimes[S].accepted
            accepted_b = hub_b.runtimes[S].accepted
            assert accepted_a > 0 and accepted_b > 0
            assert accepted_a + accepted_b == 41


async def test_heartbeat_is_recorded_and_listed(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    async with running_hub(hub_config(mosquitto, redis_server)) as hub:
        async with classroom(hub, mosquitto.port, partners=1) as nodes:
            body = HeartbeatBody(uptime_s=12.5, sessions=[S], last_seq={S: 0})
            await nodes["p1"].send(NodeHeartbeat(id=new_id(), body=body))

            async def listed() -> bool:
                info = {n.node: n.view for n in await hub.list_nodes()}
                return info["p1"].online and info["p1"].heartbeat is not None

            await wait_for(listed, what="heartbeat listed")
            stored = await wait_for(hub.store.heartbeats, what="heartbeat stored")
            assert stored["p1"]["uptime_s"] == 12.5 and stored["p1"]["at"] > 0
