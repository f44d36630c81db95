"""The lesson scheduler on a real hub: join N minutes before start, leave after the end.

Real Mosquitto and Redis; the nodes are raw ``MqttLink`` clients logged in as the
node and listening on its cmd topic. The scheduler's clock is a fake one walked
through the lesson, while the lesson itself sits an hour in the real future so the
hub's own join logic stays quiet.
"""

from __future__ import annotations

from broker.localstack import MosquittoServer, RedisServer
from hub.config import HubConfig
from hub.core import HubCore
from hub.scheduling.due import Timing
from hub.scheduling.scheduler import LessonScheduler
from hub.sessions import SessionSpec
from protocols.ids import now_ms
from protocols.messages import CmdJoin
from tests.hub.hubkit import FakeNode, hub_config, running_hub

MIN = 60_000


async def test_join_before_start_and_leave_after_end(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    config = hub_config(mosquitto, redis_server, api_enabled=False)
    async with running_hub(config) as hub:
        nodes = {}
        for name in ("lead", "p1"):
            secret = await hub.add_node(name)
            nodes[name] = await FakeNode(name, secret, mosquitto.port).start()
        try:
            start = now_ms() + 60 * MIN
            spec = SessionSpec(
                session="L1",
                lead="lead",
                partners=["p1"],
                starts_at=start,
                ends_at=start + 40 * MIN,
            )
            await hub.create_session(spec)
            clock = [start - 11 * MIN]
            scheduler = LessonScheduler(hub, timing=Timing(lead_s=600), clock=lambda: clock[0])

            assert await scheduler.tick() == []
            clock[0] = start - 10 * MIN
            sent = await scheduler.tick()
            assert sorted((a.kind.value, a.node) for a in sent) == [
                ("join", "lead"),
                ("join", "p1"),
            ]
            join = (await nodes["p1"].wait_type("cmd.join"))[0]
            assert isinstance(join, CmdJoin)
            assert join.session == "L1" and join.body.role == "partner"
            assert join.body.starts_at == start
            assert await scheduler.tick() == []  # not repeated

            clock[0] = start + 40 * MIN
            sent = await scheduler.tick()
            assert {(a.kind.value, a.node) for a in sent} == {("leave", "lead"), ("leave", "p1")}
            for node in nodes.values():
                leaves = await node.wait_type("cmd.leave")
                assert leaves[0].session == "L1"
            assert len(nodes["lead"].of_type("cmd.join")) == 1
        finally:
            for node in nodes.values():
                await node.close()


async def test_unsent_commands_stay_due(redis_server: RedisServer) -> None:
    """Broker away (no MQTT link): nothing is marked done, the next tick tries again."""
    core = HubCore(HubConfig(redis_url=redis_server.url))
    try:
        spec = SessionSpec(session="L2", lead="lead", starts_at=10 * MIN, ends_at=50 * MIN)
        await core.store.add_session(spec.session, spec.model_dump_json())
        scheduler = LessonScheduler(core, clock=lambda: 5 * MIN)
        assert await scheduler.tick() == []
        assert scheduler.done == set()
        assert [s.session for s in await scheduler.specs()] == ["L2"]
    finally:
        await core.store.close()
