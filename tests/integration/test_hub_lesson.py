"""The hub end to end: real Mosquitto + Redis, fake nodes as raw MQTT clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgpack
import pytest

from broker.exceptions import NotDelivered
from broker.localstack import MosquittoServer, RedisServer
from hub.server import Hub
from protocols.codec import encode
from protocols.ids import new_id
from protocols.messages import (
    ChatBody,
    ChatMessage,
    CmdResync,
    FloorGrant,
    FloorGrantBody,
    HandRaise,
    LessonStart,
    NodeResync,
    NodeResyncBody,
    SessionState,
    SlideShow,
    SlideShowBody,
)
from tests.hub.hubkit import FakeNode, classroom, hub_config, running_hub, wait_for

S = "S1"


@pytest.fixture
async def hub(mosquitto: MosquittoServer, redis_server: RedisServer) -> AsyncIterator[Hub]:
    async with running_hub(hub_config(mosquitto, redis_server)) as h:
        yield h


@pytest.fixture
async def nodes(hub: Hub, mosquitto: MosquittoServer) -> AsyncIterator[dict[str, FakeNode]]:
    async with classroom(hub, mosquitto.port, partners=2, observers=1) as n:
        yield n


def slide(index: int) -> SlideShow:
    return SlideShow(id=new_id(), session=S, body=SlideShowBody(deck="d", index=index))


async def test_members_get_join_and_initial_state(nodes: dict[str, FakeNode]) -> None:
    joins = await nodes["p1"].wait_type("cmd.join")
    assert joins[0].session == S
    assert joins[0].body.role == "partner"  # type: ignore[attr-defined]
    assert (await nodes["lead"].wait_type("cmd.join"))[0].body.role == "lead"  # type: ignore[attr-defined]
    assert (await nodes["o1"].wait_type("cmd.join"))[0].body.role == "observer"  # type: ignore[attr-defined]
    state = (await nodes["p2"].wait_type("session.state"))[-1]
    assert isinstance(state, SessionState)
    assert state.body.status == "scheduled"
    assert state.body.roster == {"lead": "lead", "o1": "observer", "p1": "partner", "p2": "partner"}


async def test_lead_events_reach_partners_in_order(nodes: dict[str, FakeNode]) -> None:
    lead = nodes["lead"]
    await lead.send(LessonStart(id=new_id(), session=S))
    for i in range(5):
        await lead.send(slide(i))
    for name in ("p1", "p2", "o1", "lead"):
        events = await nodes[name].wait_events(S, 6)
        assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
        assert [e.type for e in events] == ["lesson.start"] + ["slide.show"] * 5  # type: ignore[attr-defined]
        assert all(e.src == "lead" and e.ts for e in events)
    state = await wait_for(
        lambda: [
            s
            for s in nodes["p1"].of_type("session.state")
            if s.body.last_seq == 6  # type: ignore[attr-defined]
        ],
        what="snapshot at seq 6",
    )
    assert state[-1].body.slide.index == 4  # type: ignore[attr-defined]


async def test_role_rules_enforced_and_answered(hub: Hub, nodes: dict[str, FakeNode]) -> None:
    p1 = nodes["p1"]
    # a partner may not start the lesson
    bad = LessonStart(id=new_id(), session=S)
    await p1.send(bad)
    rejected = (await p1.wait_type("cmd.rejected"))[0]
    assert rejected.body.ref == bad.id  # type: ignore[attr-defined]
    assert rejected.body.code == "forbidden_role"  # type: ignore[attr-defined]
    # slides before the lesson is live are refused too
    await nodes["lead"].send(slide(0))
    lead_rej = await nodes["lead"].wait_type("cmd.rejected")
    assert lead_rej[0].body.code == "not_live"  # type: ignore[attr-defined]
    # an observer may send nothing
    await nodes["o1"].send(ChatMessage(id=new_id(), session=S, body=ChatBody(text="hi")))
    assert (await nodes["o1"].wait_type("cmd.rejected"))[0].body.code == "forbidden_role"  # type: ignore[attr-defined]
    # and the lesson goes on
    await nodes["lead"].send(LessonStart(id=new_id(), session=S))
    await p1.send(HandRaise(id=new_id(), session=S))
    events = await p1.wait_events(S, 2)
    assert [(e.seq, e.src) for e in events] == [(1, "lead"), (2, "p1")]
    assert hub.metrics.rejected_count("forbidden_role") == 2
    assert hub.metrics.rejected_count("not_live") == 1


async def test_forged_src_is_ignored(nodes: dict[str, FakeNode]) -> None:
    await nodes["lead"].send(LessonStart(id=new_id(), session=S))
    forged = HandRaise(id=new_id(), session=S, src="p2", seq=99, ts=1)
    await nodes["p1"].send(forged)
    events = await nodes["p2"].wait_events(S, 2)
    assert (events[1].id, events[1].src, events[1].seq) == (forged.id, "p1", 2)
    assert events[1].ts != 1


async def test_publishing_on_another_nodes_uplink_is_denied_by_broker(
    hub: Hub, nodes: dict[str, FakeNode]
) -> None:
    # p1 pretends to be the lead by writing to the lead's up topic: the broker
    # refuses it in the PUBACK (not authorized)
    with pytest.raises(NotDelivered) as refused:
        await nodes["p1"].send(LessonStart(id=new_id(), session=S), to="lead")
    assert refused.value.code == 0x87
    # a legitimate event sent after it is sequenced first: the forgery never arrived
    await nodes["lead"].send(LessonStart(id=new_id(), session=S))
    await nodes["p1"].send(HandRaise(id=new_id(), session=S))
    events = await nodes["p2"].wait_events(S, 2)
    assert [(e.seq, e.src, e.type) for e in events] == [  # type: ignore[attr-defined]
        (1, "lead", "lesson.start"),
        (2, "p1", "hand.raise"),
    ]
    assert hub.runtimes[S].accepted == 2
    assert hub.runtimes[S].rejected == 0


async def test_bad_uplinks_rejected_counted_and_lesson_goes_on(
    hub: Hub, nodes: dict[str, FakeNode]
) -> None:
    p1 = nodes["p1"]
    good_id = new_id()
    wrong_version = msgpack.packb({"v": 9, "id": good_id, "type": "hand.raise", "session": S})
    unknown = msgpack.packb({"v": 1, "id": new_id(), "type": "hand.wave", "session": S})
    schema = msgpack.packb({"v": 1, "id": new_id(), "type": "slide.show", "session": S})
    oversized = b"\x00" * (hub.config.max_payload_size + 1)
    for payload in (b"\xc1garbage", oversized, unknown, wrong_version, schema):
        await p1.send_raw(payload)
    ghost = ChatMessage(id=new_id(), session="nope", body=ChatBody(text="?"))
    await p1.send(ghost)
    rejected = await p1.wait_type("cmd.rejected", 6)
    codes = [r.body.code for r in rejected]  # type: ignore[attr-defined]
    assert codes == [
        "malformed",
        "too_large",
        "unknown_type",
        "unsupported_version",
        "schema",
        "unknown_session",
    ]
    assert rejected[3].body.ref == good_id  # type: ignore[attr-defined]
    assert rejected[5].body.ref == ghost.id  # type: ignore[attr-defined]
    for code in codes:
        assert hub.metrics.rejected_count(code) == 1
    metrics_text = hub.metrics.render().decode()
    assert 'dualclass_hub_rejected_total{reason="too_large"} 1.0' in metrics_text
    await nodes["lead"].send(LessonStart(id=new_id(), session=S))
    assert (await nodes["p2"].wait_events(S, 1))[0].type == "lesson.start"  # type: ignore[attr-defined]


async def test_duplicate_uplink_is_sequenced_once(hub: Hub, nodes: dict[str, FakeNode]) -> None:
    start = LessonStart(id=new_id(), session=S)
    raise_ = HandRaise(id=new_id(), session=S)
    await nodes["lead"].send(start)
    await nodes["p1"].send(raise_)
    await nodes["p1"].send(raise_)  # a resend after an outage: same id
    await nodes["lead"].send(slide(1))
    await nodes["p2"].wait_events(S, 3)
    stored = await hub.store.read_events(S)
    assert [s.seq for s in stored] == [1, 2, 3]
    by_seq = {e.seq: e.id for e in nodes["p2"].events(S)}
    assert by_seq[1] == start.id and by_seq[2] == raise_.id and by_seq[3] != raise_.id
    # a republished duplicate carries the seq it got the first time
    assert {e.seq for e in nodes["p2"].events(S) if e.id == raise_.id} == {2}
    assert hub.runtimes[S].duplicates == 1
    # and the duplicate was not refused as "hand already raised"
    assert not nodes["p1"].of_type("cmd.rejected")


async def test_resync_returns_missing_range_with_paging(
    hub: Hub, nodes: dict[str, FakeNode]
) -> None:
    lead = nodes["lead"]
    await lead.send(LessonStart(id=new_id(), session=S))
    big = "x" * 1500
    for _ in range(59):
        await lead.send(ChatMessage(id=new_id(), session=S, body=ChatBody(text=big)))
    await nodes["p1"].wait_events(S, 60, within=10)
    p2 = nodes["p2"]
    got: list[int] = []
    from_seq = 3
    while True:
        count = len(p2.of_type("cmd.resync"))
        await p2.send(NodeResync(id=new_id(), session=S, body=NodeResyncBody(from_seq=from_seq)))
        reply = (await p2.wait_type("cmd.resync", count + 1))[-1]
        assert isinstance(reply, CmdResync)
        assert len(encode(reply, max_size=1 << 20)) <= hub.config.max_payload_size
        got += [e.seq or 0 for e in reply.body.events]
        if not reply.body.more:
            break
        from_seq = reply.body.to_seq + 1
    assert got == list(range(3, 61))
    assert len(p2.of_type("cmd.resync")) > 1  # 58 x 1.5 KiB does not fit one 64 KiB page
    # a bounded range
    n = len(p2.of_type("cmd.resync"))
    await p2.send(NodeResync(id=new_id(), session=S, body=NodeResyncBody(from_seq=5, to_seq=7)))
    reply = (await p2.wait_type("cmd.resync", n + 1))[-1]
    assert [e.seq for e in reply.body.events] == [5, 6, 7]  # type: ignore[attr-defined]
    assert reply.body.more is False  # type: ignore[attr-defined]


async def test_floor_grant_and_partner_snapshot(nodes: dict[str, FakeNode]) -> None:
    await nodes["lead"].send(LessonStart(id=new_id(), session=S))
    await nodes["p1"].send(HandRaise(id=new_id(), session=S))
    await nodes["lead"].send(FloorGrant(id=new_id(), session=S, body=FloorGrantBody(node="p1")))
    await nodes["p2"].wait_events(S, 3)
    state = await wait_for(
        lambda: [s for s in nodes["p2"].of_type("session.state") if s.body.last_seq == 3],  # type: ignore[attr-defined]
        what="state at seq 3",
    )
    assert state[-1].body.floor == "p1"  # type: ignore[attr-defined]
    assert state[-1].body.hands == []  # type: ignore[attr-defined]
