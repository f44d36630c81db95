"""A restarted hub rebuilds every session from Redis; Redis restarts are survived."""

from __future__ import annotations

from pathlib import Path

from broker.localstack import MosquittoServer, RedisServer
from protocols.codec import encode
from protocols.ids import new_id
from protocols.messages import (
    HandRaise,
    LessonStart,
    NodePresence,
    PresenceBody,
    SlideShow,
    SlideShowBody,
)
from tests.hub.hubkit import TOPICS, FakeNode, classroom, hub_config, running_hub, wait_for

S = "S1"


def slide(index: int) -> SlideShow:
    return SlideShow(id=new_id(), session=S, body=SlideShowBody(deck="d", index=index))


async def test_restarted_hub_rebuilds_state_and_continues_without_gap(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    config = hub_config(mosquitto, redis_server)
    async with running_hub(config) as hub:
        async with classroom(hub, mosquitto.port, partners=1) as nodes:
            await nodes["lead"].send(LessonStart(id=new_id(), session=S))
            await nodes["p1"].send(HandRaise(id=new_id(), session=S))
            await nodes["lead"].send(slide(7))
            await nodes["p1"].wait_events(S, 3)
            secrets = {n: node.secret for n, node in nodes.items()}
    # the first hub is gone; an event sent now waits at the broker for the hub's session
    lead = await FakeNode("lead", secrets["lead"], mosquitto.port).start()
    p1 = await FakeNode("p1", secrets["p1"], mosquitto.port).start()
    try:
        await p1.follow(S)
        await lead.send(slide(8))
        async with running_hub(config) as hub2:
            runtime = hub2.runtimes[S]
            assert runtime.machine.status.value == "live"
            assert runtime.machine.hands == ["p1"]
            # the queued uplink and a new one continue the sequence
            await lead.send(slide(9))
            events = await p1.wait_events(S, 2)
            assert [(e.seq, e.body.index) for e in events] == [(4, 8), (5, 9)]  # type: ignore[attr-defined]
            state = await wait_for(
                lambda: [s for s in p1.of_type("session.state") if s.body.last_seq == 5],  # type: ignore[attr-defined]
                what="retained state at seq 5",
            )
            assert state[-1].body.hands == ["p1"]  # type: ignore[attr-defined]
            assert [s.seq for s in await hub2.store.read_events(S)] == [1, 2, 3, 4, 5]
    finally:
        await lead.close()
        await p1.close()


async def test_redis_restart_loses_no_accepted_event(
    mosquitto: MosquittoServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    async with running_hub(hub_config(mosquitto, redis_server)) as hub:
        async with classroom(hub, mosquitto.port, partners=1) as nodes:
            await nodes["lead"].send(LessonStart(id=new_id(), session=S))
            await nodes["p1"].wait_events(S, 1)
            redis_server.stop()  # AOF (everysec) written on clean shutdown
            await nodes["lead"].send(slide(1))  # held by the hub while Redis is away
            await wait_for(lambda: hub.metrics.store_retries._value.get() > 0, what="store retries")
            redis_server.start()  # same port, same data dir
            await nodes["lead"].send(slide(2))
            events = await nodes["p1"].wait_events(S, 3, within=15)
            assert [(e.seq, getattr(e.body, "index", None)) for e in events] == [
                (1, None),
                (2, 1),
                (3, 2),
            ]


async def test_node_coming_online_gets_its_joins_again(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    async with running_hub(hub_config(mosquitto, redis_server)) as hub:
        async with classroom(hub, mosquitto.port, partners=1) as nodes:
            p1 = nodes["p1"]
            await p1.wait_type("cmd.join")
            # the node restarts: it announces itself online and is told to join again
            # (on its retained presence topic, as the last will and a restart do)
            assert p1.link is not None
            for online in (False, True):
                message = NodePresence(id=new_id(), body=PresenceBody(online=online))
                await p1.link.publish(TOPICS.node_presence("p1"), encode(message), retain=True)
            joins = await p1.wait_type("cmd.join", 2)
            assert joins[-1].session == S
            listed = {n.node: n.view.online for n in await hub.list_nodes()}
            assert listed["p1"] is True
