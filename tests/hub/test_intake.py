"""Hub intake against real Mosquitto and Redis: fairness (per-node token bucket),
dedupe by (sender, id), and a bounded intake that leaves the backlog at the broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from broker.exceptions import NotDelivered
from broker.localstack import MosquittoServer, RedisServer
from hub.ratelimit import NodeRateLimiter
from hub.server import Hub
from protocols.ids import new_id
from protocols.messages import ChatBody, ChatMessage, CmdRejected
from simulators.faults import ServerFaults, frozen
from tests.hub.hubkit import FakeNode, classroom, hub_config, running_hub, wait_for

S = "S1"


def chat(text: str, id_: str | None = None) -> ChatMessage:
    return ChatMessage(id=id_ or new_id(), session=S, body=ChatBody(text=text))


def test_default_bucket_lets_a_60_clicker_quiz_through_and_holds_a_flood() -> None:
    from hub.config import HubConfig

    defaults = HubConfig()
    limiter = NodeRateLimiter(rate=defaults.rate_per_node_s, burst=defaults.rate_burst)
    assert all(limiter.allow("p1", 100.0) for _ in range(60))  # one quiz, all at once
    assert all(limiter.allow("p1", 100.0) for _ in range(60))  # and the next one
    assert sum(limiter.allow("p1", 100.0) for _ in range(1000)) == defaults.rate_burst - 120
    assert limiter.allow("p2", 100.0)  # another classroom is untouched
    passed = sum(limiter.allow("p1", 100.0 + i / 1000) for i in range(5000))  # 1000/s x 5 s
    assert passed <= defaults.rate_per_node_s * 5 + 1
    # a node is refused at most its send window at once: never taken for a flood
    from classroom_node.config import NodeConfig

    assert NodeConfig(node_id="n").send_window < defaults.flood_threshold


@pytest.fixture
async def limited_hub(mosquitto: MosquittoServer, redis_server: RedisServer) -> AsyncIterator[Hub]:
    config = hub_config(
        mosquitto, redis_server, rate_per_node_s=2.0, rate_burst=10, flood_quarantine_s=0
    )
    async with running_hub(config) as h:
        yield h


async def test_flood_is_rate_limited_per_node_and_counted(
    limited_hub: Hub, mosquitto: MosquittoServer
) -> None:
    async with classroom(limited_hub, mosquitto.port, partners=2) as nodes:
        p1, p2 = nodes["p1"], nodes["p2"]
        for i in range(40):
            await p1.send(chat(f"flood {i}"))
        for i in range(5):
            await p2.send(chat(f"quiet {i}"))
        runtime = limited_hub.runtimes[S]
        await wait_for(
            lambda: limited_hub.metrics.rate_limited_count("p1") >= 25,
            within=10,
            what="p1 limited",
        )
        await wait_for(lambda: runtime.accepted >= 15, within=10, what="the quiet node's 5")
        srcs = [e.src for e in await nodes["lead"].wait_events(S, runtime.accepted)]
        assert srcs.count("p2") == 5  # the other classroom lost nothing
        assert 10 <= srcs.count("p1") <= 14  # the burst (+ what refilled meanwhile)
        assert limited_hub.metrics.rate_limited_count("p2") == 0
        refusals = [m for m in p1.of_type("cmd.rejected") if isinstance(m, CmdRejected)]
        assert refusals and {r.body.code for r in refusals} == {"rate_limited"}
        assert len(refusals) <= 25  # answers to a flood are limited too


async def test_a_flood_is_stopped_at_the_broker_for_a_while(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    """Far over its limit, a node is quarantined: the broker itself refuses its
    uplinks (they never queue ahead of other classrooms' events), then lets it back."""
    config = hub_config(
        mosquitto,
        redis_server,
        rate_per_node_s=2.0,
        rate_burst=5,
        flood_threshold=20,
        flood_quarantine_s=1.0,
    )
    async with running_hub(config) as hub, classroom(hub, mosquitto.port, partners=2) as nodes:
        p1, p2 = nodes["p1"], nodes["p2"]
        refused_by_broker = 0
        for i in range(300):
            try:
                await p1.send(chat(f"flood {i}"))
            except NotDelivered as exc:
                assert exc.code == 0x87
                refused_by_broker += 1
                break
        assert refused_by_broker == 1, "the broker never shut the flood out"
        assert (
            hub.metrics.registry.get_sample_value("dualclass_hub_quarantined_total", {"node": "p1"})
            == 1.0
        )
        await p2.send(chat("the other classroom carries on"))
        await wait_for(
            lambda: any(e.src == "p2" for e in nodes["lead"].events(S)), what="p2's event"
        )
        await wait_for(lambda: not hub.muted, within=10, what="the quarantine to end")

        async def accepted_again() -> bool:
            try:
                await p1.send(chat("calm again"))
            except NotDelivered:
                return False
            return True

        await wait_for(accepted_again, within=10, what="p1 to be let back in")
        await wait_for(
            lambda: any(
                getattr(e.body, "text", "") == "calm again" for e in nodes["lead"].events(S)
            ),
            within=10,
            what="p1's event after the quarantine",
        )


async def test_reusing_another_nodes_id_does_not_erase_its_event(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    async with (
        running_hub(hub_config(mosquitto, redis_server)) as hub,
        classroom(hub, mosquitto.port, partners=2) as nodes,
    ):
        stolen = new_id()
        await nodes["p2"].send(chat("squatting on p1's id", stolen))
        await nodes["p1"].send(chat("the real one", stolen))
        await nodes["p1"].send(chat("the real one, resent", stolen))  # a true duplicate
        await wait_for(lambda: hub.runtimes[S].duplicates == 1, what="the resend deduped")
        events = {e.seq: e for e in await nodes["lead"].wait_events(S, 2)}.values()
        assert sorted((e.src, e.body.text) for e in events) == [  # type: ignore[attr-defined]
            ("p1", "the real one"),
            ("p2", "squatting on p1's id"),
        ]


async def test_intake_holds_only_its_window_when_redis_stalls(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    """Redis frozen: the hub takes at most ``intake_window`` uplinks off the broker
    (it acknowledges none), the rest wait at the broker; all arrive exactly once."""
    config = hub_config(mosquitto, redis_server, intake_window=8, inbox_size=4)
    async with running_hub(config) as hub, classroom(hub, mosquitto.port, partners=1) as nodes:
        p1: FakeNode = nodes["p1"]
        await p1.send(chat("before"))
        await nodes["lead"].wait_events(S, 1)
        before = hub.link_in.received
        sent = [chat(f"during {i}") for i in range(40)]
        async with frozen(ServerFaults(redis_server)):
            for message in sent:
                await p1.send(message)
            await wait_for(lambda: hub.runtimes[S].pending >= 4, within=10, what="inbox full")
            taken = hub.link_in.received - before
            assert taken <= 8, f"the hub took {taken} uplinks with a window of 8"
            assert hub.runtimes[S].pending <= 4
        received = await nodes["lead"].wait_events(S, 41, within=30)
        events = list({e.seq: e for e in received}.values())
        texts = [e.body.text for e in events if e.src == "p1"]  # type: ignore[attr-defined]
        assert texts == ["before"] + [f"during {i}" for i in range(40)]
        assert len({e.id for e in events}) == len(events) == 41
