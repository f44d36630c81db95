"""An in-process classroom node against a real Mosquitto, the hub played by ``HubSim``."""

from __future__ import annotations

import httpx
import pytest

from broker.localstack import MosquittoServer
from classroom_node import ClassroomNode
from protocols.messages import SessionStateBody
from tests.classroom_node.hubsim import HubSim, wait_until
from tests.classroom_node.nodefixtures import NodeFactory, hub, make_node

__all__ = ["hub", "make_node"]

S = "s1"


async def _joined(hub: HubSim, node: ClassroomNode, session: str = S) -> None:
    await hub.join(node.node_id, session)
    await wait_until(lambda: session in node.sessions, what="join")


async def test_join_catches_up_from_seq_1(hub: HubSim, make_node: NodeFactory) -> None:
    for i in range(5):
        hub.sequence(S, "chat.message", {"text": f"m{i}"})
    applied: list[int] = []
    node = await make_node("p1", [S], on_event=lambda s, e, at: applied.append(e.seq))
    await _joined(hub, node)
    await wait_until(lambda: node.view(S).last_seq == 5, what="catch-up")
    resyncs = hub.from_node("p1", "node.resync")
    assert resyncs[0].body.from_seq == 1 and resyncs[0].session == S
    assert applied == [1, 2, 3, 4, 5]
    assert node.view(S).received == 5


async def test_out_of_order_and_duplicates_apply_once_in_order(
    hub: HubSim, make_node: NodeFactory
) -> None:
    hub.auto_resync = True
    applied: list[int] = []
    node = await make_node(
        "p1", [S], on_event=lambda s, e, at: applied.append(e.seq), resync_grace_s=5.0
    )
    await _joined(hub, node)
    await wait_until(lambda: not node.view(S).resync_pending, what="initial resync answered")
    events = [hub.sequence(S, "chat.message", {"text": f"m{i}"}) for i in range(6)]
    for i in (1, 0, 0, 3, 2, 1, 5, 4, 5):
        await hub.deliver(events[i])
    await wait_until(lambda: node.view(S).last_seq == 6, what="all applied")
    await wait_until(lambda: node.view(S).counters().duplicates_dropped >= 3, what="dupes counted")
    assert applied == [1, 2, 3, 4, 5, 6]
    assert node.view(S).received == 6
    assert node.view(S).counters().gaps_repaired == 0


async def test_gap_is_requested_and_repaired(hub: HubSim, make_node: NodeFactory) -> None:
    applied: list[int] = []
    node = await make_node("p1", [S], on_event=lambda s, e, at: applied.append(e.seq))
    await _joined(hub, node)
    await wait_until(lambda: not node.view(S).resync_pending, what="initial resync answered")
    events = [hub.sequence(S, "chat.message", {"text": f"m{i}"}) for i in range(5)]
    await hub.deliver(events[0])
    await hub.deliver(events[3])  # 2 and 3 lost on the way
    await hub.deliver(events[4])
    await wait_until(lambda: node.view(S).last_seq == 5, what="repair")
    assert applied == [1, 2, 3, 4, 5]
    gap_requests = [r.body for r in hub.from_node("p1", "node.resync") if r.body.from_seq == 2]
    assert gap_requests and gap_requests[0].to_seq == 3
    assert node.view(S).counters().gaps_repaired == 1
    lat = node.view(S).counters().latency
    assert lat["count"] == 5 and lat["max_ms"] >= 0


async def test_paged_resync_follows_more(hub: HubSim, make_node: NodeFactory) -> None:
    hub.page = 4
    for i in range(10):
        hub.sequence(S, "chat.message", {"text": f"m{i}"})
    node = await make_node("p1", [S])
    await _joined(hub, node)
    await wait_until(lambda: node.view(S).last_seq == 10, what="paged catch-up")
    froms = [r.body.from_seq for r in hub.from_node("p1", "node.resync")]
    assert froms[:3] == [1, 5, 9]


async def test_snapshot_draws_lesson_before_events(hub: HubSim, make_node: NodeFactory) -> None:
    hub.auto_resync = False
    hub.sequence(S, "lesson.start", {"title": "Fractions"})
    hub.sequence(S, "slide.show", {"index": 3})
    state = SessionStateBody(status="live", title="Fractions", last_seq=2, roster={"p1": "partner"})
    await hub.publish_state(S, state)
    node = await make_node("p1", [S])
    await _joined(hub, node)
    await wait_until(lambda: node.view(S).snapshot is not None, what="snapshot")
    assert node.view(S).state().title == "Fractions"
    assert node.view(S).received == 0 and node.view(S).reorderer.head == 2
    hub.auto_resync = True
    await wait_until(lambda: node.view(S).last_seq == 2, within=5, what="events after timeout")
    assert node.view(S).machine.slide is not None and node.view(S).machine.slide.index == 3


async def test_send_reaches_uplink_and_rejection_recorded(
    hub: HubSim, make_node: NodeFactory
) -> None:
    node = await make_node("p1", [S])
    await _joined(hub, node)
    ev_id = await node.send("quiz.answer", {"quiz": "q1", "choice": 2})
    await wait_until(lambda: any(m.id == ev_id for m in hub.events_from("p1")), what="uplink")
    (msg,) = [m for m in hub.events_from("p1") if m.id == ev_id]
    assert msg.type == "quiz.answer" and msg.session == S and msg.body.choice == 2
    assert msg.seq is None and msg.sent is not None
    await hub.reject("p1", S, ev_id, "quiz_not_open", "quiz q1 is not open")
    await wait_until(lambda: len(node.rejections) == 1, what="rejection")
    assert node.rejections[0].code == "quiz_not_open" and node.stats.rejected == 1


async def test_heartbeat_and_presence(hub: HubSim, make_node: NodeFactory) -> None:
    node = await make_node("p1", [S])
    await _joined(hub, node)
    await wait_until(lambda: hub.presence.get("p1", [])[-1:] == [True], what="online")
    await wait_until(lambda: bool(hub.from_node("p1", "node.heartbeat")), what="heartbeat")
    beat = hub.from_node("p1", "node.heartbeat")[-1].body
    assert S in beat.sessions and beat.journal_backlog == 0
    await node.abort()
    await wait_until(lambda: hub.presence["p1"][-1] is False, what="last will")


async def test_leave_stops_delivery(hub: HubSim, make_node: NodeFactory) -> None:
    node = await make_node("p1", [S])
    await _joined(hub, node)
    await hub.publish_event(S, "chat.message", {"text": "a"})
    await wait_until(lambda: node.view(S).last_seq == 1, what="first")
    await hub.leave("p1", S)
    await wait_until(lambda: S not in node.sessions, what="left")
    with pytest.raises(Exception, match=r"not joined|joined no session"):
        await node.send("chat.message", {"text": "x"})


async def test_journal_while_broker_down(
    hub: HubSim, make_node: NodeFactory, mosquitto: MosquittoServer
) -> None:
    hub.echo = True  # the journal clears only what the node sees sequenced
    node = await make_node("p1", [S])
    await _joined(hub, node)
    mosquitto.stop()
    await wait_until(lambda: not node.connected, what="disconnect")
    ids = [await node.send("chat.message", {"text": f"offline {i}"}) for i in range(5)]
    assert len(node.journal) == 5 and node.stats.journaled == 5
    mosquitto.start()
    await wait_until(lambda: len(node.journal) == 0, within=15, what="journal drained")
    await wait_until(lambda: len(hub.events_from("p1")) >= 5, within=10, what="hub got them")
    got = [m.id for m in hub.events_from("p1")]
    assert got == ids
    assert [e.id for e in hub.sequenced_from("p1")] == ids
    assert [m.body.text for m in hub.events_from("p1")] == [f"offline {i}" for i in range(5)]


async def test_local_api(hub: HubSim, make_node: NodeFactory) -> None:
    node = await make_node("p1", [S, "s2"], api_enabled=True)
    assert node.api is not None
    async with httpx.AsyncClient(base_url=node.api.base_url) as client:
        r = await client.post("/v1/hand")
        assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
        await _joined(hub, node)
        r = await client.post("/v1/hand")
        assert r.status_code == 202 and r.json()["status"] == "sent"
        hand_id = r.json()["id"]
        r = await client.post("/v1/answers", json={"quiz": "q1", "choice": 1, "student": "c7"})
        answer_id = r.json()["id"]
        r = await client.post("/v1/attendance", json={"present": 30, "enrolled": 32})
        att_id = r.json()["id"]
        r = await client.post("/v1/chat", json={"text": "hello"})
        r = await client.delete("/v1/hand")
        lower_id = r.json()["id"]
        r = await client.post("/v1/events", json={"type": "chat.message", "body": {"text": "g"}})
        assert r.status_code == 202
        bad = await client.post("/v1/attendance", json={"present": 40, "enrolled": 32})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        bad = await client.post("/v1/events", json={"type": "node.heartbeat", "body": {}})
        assert bad.status_code == 422
        bad = await client.post("/v1/answers", json={"quiz": "q1"})
        assert bad.status_code == 422
        await _joined(hub, node, "s2")
        r = await client.post("/v1/chat", json={"text": "which?"})
        assert r.status_code == 409
        r = await client.post("/v1/chat?session=s2", json={"text": "s2!"})
        assert r.status_code == 202
        r = await client.post("/v1/chat?session=nope", json={"text": "x"})
        assert r.status_code == 404
        state = (await client.get("/v1/state")).json()
        assert state["node"] == "p1" and {s["session"] for s in state["sessions"]} == {S, "s2"}
    await wait_until(lambda: len(hub.events_from("p1")) == 7, what="uplinks")
    by_id = {m.id: m for m in hub.events_from("p1")}
    assert by_id[hand_id].type == "hand.raise"
    assert by_id[lower_id].type == "hand.lower"
    assert by_id[answer_id].body.student == "c7" and by_id[answer_id].body.choice == 1
    assert by_id[att_id].body.present == 30
    assert [m.session for m in hub.events_from("p1")][-1] == "s2"


async def test_local_api_on_unix_socket(
    hub: HubSim, make_node: NodeFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    uds = tmp_path_factory.mktemp("sock") / "node.sock"
    node = await make_node("p1", [S], api_enabled=True, api_uds=uds)
    await _joined(hub, node)
    transport = httpx.AsyncHTTPTransport(uds=str(uds))
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
        r = await client.post("/v1/hand")
        assert r.status_code == 202
        assert (await client.get("/v1/state")).json()["node"] == "p1"
    await wait_until(lambda: [m.type for m in hub.events_from("p1")] == ["hand.raise"])


async def test_kept_until_seen_in_stream_not_until_puback(
    hub: HubSim, make_node: NodeFactory, mosquitto: MosquittoServer
) -> None:
    """A PUBACK is not delivery: with no hub subscribed, Mosquitto answers "no
    matching subscribers" and drops the event; the node keeps it and sends it (same
    id) once a hub reads; it leaves the journal only when seen sequenced."""
    node = await make_node("p1", [S], confirm_timeout_s=0.5)
    await _joined(hub, node)
    await hub.link.unsubscribe(hub.topics.all_uplinks)  # the hub is gone
    submitted = await node.submit("chat.message", {"text": "into the void"})
    assert submitted.status == "queued" and node.stats.undelivered >= 1
    assert submitted.id in node.journal
    hub.echo = True
    await hub.link.subscribe(hub.topics.all_uplinks)  # the hub is back
    await wait_until(lambda: submitted.id not in node.journal, within=10, what="confirmed")
    assert [e.id for e in hub.sequenced_from("p1")] == [submitted.id]


async def test_unconfirmed_is_resent_until_seen_then_rejection_clears(
    hub: HubSim, make_node: NodeFactory
) -> None:
    """The broker took it but the hub never sequenced it (a crash): resent, same id,
    after the confirmation timeout; a final rejection clears it, rate_limited not."""
    node = await make_node("p1", [S], confirm_timeout_s=0.3)
    await _joined(hub, node)
    first = await node.submit("chat.message", {"text": "lost by a hub crash"})
    assert first.status == "sent"
    await wait_until(
        lambda: [m.id for m in hub.events_from("p1")].count(first.id) >= 2,
        within=10,
        what="resend with the same id",
    )
    assert first.id in node.journal and node.journal.resent >= 1
    sends = [m.id for m in hub.events_from("p1")].count(first.id)
    await hub.reject("p1", S, first.id, "rate_limited")
    await wait_until(  # transient: still ours to deliver, sent again
        lambda: [m.id for m in hub.events_from("p1")].count(first.id) > sends,
        within=10,
        what="resend after rate_limited",
    )
    assert first.id in node.journal
    await hub.reject("p1", S, first.id, "not_member")
    await wait_until(lambda: first.id not in node.journal, within=5, what="final rejection")
    state = node.describe()
    assert state["journal"]["backlog"] == 0


async def test_heartbeat_reports_backlog_and_oldest_age(
    hub: HubSim, make_node: NodeFactory, mosquitto: MosquittoServer
) -> None:
    node = await make_node("p1", [S], heartbeat_s=0.2)
    await _joined(hub, node)
    await node.submit("chat.message", {"text": "never sequenced"})
    await wait_until(
        lambda: any(
            h.body.journal_backlog == 1 and h.body.journal_oldest_s >= 0.3
            for h in hub.from_node("p1", "node.heartbeat")
        ),
        within=10,
        what="heartbeat with backlog and age",
    )
