"""Signalling end to end through a real hub: aiortc peers join over ``/ws/signal``."""

from __future__ import annotations

import asyncio
import time

import pytest

from classroom_node.media.exceptions import SignalRefused
from classroom_node.media.signalclient import SignalClient
from hub.media.routing import Slot
from hub.tokens import JoinRole
from ledger.inputs import BrowserInput, from_wire
from protocols.ids import new_id
from protocols.messages import FloorGrant, FloorGrantBody, LessonStart
from protocols.signalling import SignalAck, SignalError, SignalJoin
from tests.hub.hubkit import wait_for

from .conftest import LiveHub
from .peers import media_peer, token


def _seen(peer: object, slot: Slot, source: int) -> int:
    return peer.rtc.slot(slot).patterns_seen.get(source, 0)  # type: ignore[attr-defined]


async def test_lead_token_and_node_credentials_decode_the_lead(live: LiveHub) -> None:
    lead_join = SignalJoin(token=token(JoinRole.LEAD), role="lead", camera=True)
    p1_join = SignalJoin(node="p1", secret=live.secret("p1"), session="S1", events=False)
    p2_join = SignalJoin(token=token(JoinRole.TUTOR, node="p2"), camera=True)
    async with (
        media_peer(live.url, lead_join, source=1) as lead,
        media_peer(live.url, p1_join, source=2) as p1,
        media_peer(live.url, p2_join, source=3) as p2,
    ):
        assert lead.joined.role == "lead" and lead.joined.acting_as == "lead"
        assert p1.joined.role == "partner" and p1.joined.participant == "p1"
        assert p2.joined.role == "tutor" and p2.joined.acting_as == "p2"
        assert [m.direction for m in lead.joined.layout][:2] == ["recvonly", "recvonly"]
        await wait_for(lambda: _seen(p1, Slot.MAIN, 1) >= 5, within=10, what="p1 sees lead")
        await wait_for(lambda: _seen(p2, Slot.MAIN, 1) >= 5, within=10, what="p2 sees lead")
        # nobody holds the floor: the lead's floor slot stays empty
        assert lead.rtc.slot(Slot.FLOOR).decoded == 0
        # a browser peer got the snapshot at once; the node asked for no events
        assert p2.client.state is not None and p2.client.state.status == "scheduled"
        assert p1.client.state is None


async def test_floor_grant_on_the_event_path_routes_the_partner(live: LiveHub) -> None:
    lead_node = live.nodes["lead"]
    p1_join = SignalJoin(node="p1", secret=live.secret("p1"), session="S1")
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    async with (
        media_peer(live.url, lead_join, source=1) as lead,
        media_peer(live.url, p1_join, source=2) as p1,
    ):
        # the lead *node* sequences over MQTT; the hub follows the log
        await lead_node.send(LessonStart(id=new_id(), session="S1"))
        await lead_node.send(FloorGrant(id=new_id(), session="S1", body=FloorGrantBody(node="p1")))
        await p1.client.wait(lambda c: c.state is not None and c.state.floor == "p1")
        assert [e.type for e in p1.client.events] == ["lesson.start", "floor.grant"]
        await wait_for(
            lambda: _seen(lead, Slot.FLOOR, 2) >= 5, within=10, what="lead sees p1 on the floor"
        )
        room = live.hub.runtimes["S1"]
        assert room.machine.floor == "p1"
        # revoking through the lead's browser interaction takes it back
        reply = await lead.client.interact("floor.revoke", {})
        assert isinstance(reply, SignalAck)
        await lead.client.wait(lambda c: c.state is not None and c.state.floor is None)
        # frames already in flight drain (slowly on a loaded box), then nothing more:
        # a floor slot that kept p1 decodes 30 a second and never goes quiet
        last = [lead.rtc.slot(Slot.FLOOR).decoded, time.monotonic()]

        def floor_quiet() -> bool:
            decoded = lead.rtc.slot(Slot.FLOOR).decoded
            if decoded != last[0]:
                last[:] = [decoded, time.monotonic()]
            return time.monotonic() - last[1] >= 1.0

        await wait_for(floor_quiet, within=15, what="the floor slot to stop showing p1")
        assert _seen(p1, Slot.MAIN, 1) > 0  # p1 still sees the lead throughout


async def test_interactions_follow_the_role_rules(live: LiveHub) -> None:
    lead = SignalClient(live.url, SignalJoin(token=token(JoinRole.LEAD), media=False))
    tutor = SignalClient(live.url, SignalJoin(token=token(JoinRole.TUTOR, node="p1"), media=False))
    observer = SignalClient(live.url, SignalJoin(token=token(JoinRole.OBSERVER), media=False))
    async with lead, tutor, observer:
        for client in (lead, tutor, observer):
            await client.joined()
        started = await lead.interact("lesson.start", {"title": "Fractions"})
        assert isinstance(started, SignalAck) and started.seq == 1
        # a tutor may not show slides: refused by the lesson machine, answered here
        refused = await tutor.interact("slide.show", {"index": 3})
        assert isinstance(refused, SignalError) and refused.code == "forbidden_role"
        # an observer is read-only
        refused = await observer.interact("hand.raise")
        assert isinstance(refused, SignalError) and refused.code == "forbidden_role"
        # not a lesson event / bad body
        refused = await tutor.interact("node.heartbeat", {"uptime_s": 1})
        assert isinstance(refused, SignalError) and refused.code == "not_an_event"
        refused = await tutor.interact("quiz.answer", {"quiz": "q"})
        assert isinstance(refused, SignalError) and refused.code == "schema"
        raised = await tutor.interact("hand.raise")
        assert isinstance(raised, SignalAck)
        await lead.wait(lambda c: c.state is not None and c.state.hands == ["p1"])
        assert lead.events[-1].src == "p1"  # sequenced as the partner's node
        granted = await lead.interact("floor.grant", {"node": "p1"})
        assert isinstance(granted, SignalAck)
        await observer.wait(lambda c: c.state is not None and c.state.floor == "p1")
        assert [e.seq for e in observer.events] == [1, 2, 3]
    # nothing the browsers did went to the node as cmd.rejected
    assert live.nodes["p1"].of_type("cmd.rejected") == []


@pytest.mark.parametrize(
    ("join", "code", "status"),
    [
        ("expired", "token_expired", 401),
        ("garbage", "token_invalid", 401),
        ("tutor_on_lead_console", "wrong_role", 403),
        ("tutor_for_lead_node", "wrong_role", 403),
        ("bad_secret", "bad_credentials", 401),
        ("not_member", "not_member", 403),
        ("other_session", "unknown_session", 404),
    ],
)
async def test_refused_joins(live: LiveHub, join: str, code: str, status: int) -> None:
    p8_secret = await live.hub.add_node("p8")
    joins = {
        "expired": SignalJoin(token=token(JoinRole.LEAD, ttl_s=60, now=time.time() - 600)),
        "garbage": SignalJoin(token="not.a.token"),
        "tutor_on_lead_console": SignalJoin(token=token(JoinRole.TUTOR, node="p1"), role="lead"),
        "tutor_for_lead_node": SignalJoin(token=token(JoinRole.TUTOR, node="lead")),
        "bad_secret": SignalJoin(node="p1", secret="wrong", session="S1"),
        "not_member": SignalJoin(node="p8", secret=p8_secret, session="S1"),
        "other_session": SignalJoin(token=token(JoinRole.LEAD, session="S9")),
    }
    async with SignalClient(live.url, joins[join]) as client:
        with pytest.raises(SignalRefused) as caught:
            await client.joined()
        assert (caught.value.code, caught.value.status) == (code, status)
        await client.closed.wait()
        assert client.close_code == 4000 + status


async def test_a_second_connection_takes_over_a_classrooms_media(live: LiveHub) -> None:
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    first = SignalJoin(node="p1", secret=live.secret("p1"), session="S1")
    second = SignalJoin(token=token(JoinRole.TUTOR, node="p1"), camera=True)
    async with media_peer(live.url, lead_join, source=1), media_peer(live.url, first) as old:
        async with media_peer(live.url, second) as new:
            await old.client.closed.wait()
            assert old.client.errors[-1].code == "replaced"
            assert old.client.close_code == 4409
            assert new.joined.participant == "p1"
            await wait_for(lambda: _seen(new, Slot.MAIN, 1) >= 5, within=10, what="new sees lead")


async def test_console_time_is_recorded_in_the_ledger(live: LiveHub) -> None:
    """A tutor console stands in for its classroom; a lead console is a viewer."""
    tutor = SignalClient(live.url, SignalJoin(token=token(JoinRole.TUTOR, node="p1"), media=False))
    lead = SignalClient(live.url, SignalJoin(token=token(JoinRole.LEAD), media=False))
    async with tutor, lead:
        await tutor.joined()
        await lead.joined()
    redis = live.hub.store.redis

    async def browser_records() -> list[BrowserInput]:
        entries = await redis.xrange("dc:ledger:inputs")
        records = [from_wire(fields[b"r"]) for _, fields in entries]
        return [r for r in records if isinstance(r, BrowserInput)]

    deadline = time.monotonic() + 10
    while len(records := await browser_records()) < 4:
        assert time.monotonic() < deadline, records
        await asyncio.sleep(0.05)
    joins = [r for r in records if r.joined]
    leaves = [r for r in records if not r.joined]
    assert sorted(str(r.classroom) for r in joins) == ["None", "p1"]
    assert {r.participant for r in joins} == {r.participant for r in leaves}
