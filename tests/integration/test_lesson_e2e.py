"""A lesson through the real stack: Mosquitto, Redis, the hub process, real nodes.

What a district relies on: every classroom applies the same events in the same
order; a classroom that crashes or loses its network mid-lesson gets everything
when it is back, and what its tutor did while offline arrives exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from classroom_node.node import ClassroomNode
from protocols.ids import now_ms
from protocols.messages import Event
from simulators.faults import TcpProxy
from simulators.harness import LocalRun

SESSION = "e2e-math-5a"
PARTNERS = ["p1", "p2", "p3"]


class Applied:
    """Per node, the (seq, id, type) of every applied event, in application order."""

    def __init__(self) -> None:
        self.log: dict[str, list[tuple[int, str, str]]] = defaultdict(list)

    def hook(self, node: str) -> Any:
        def on_event(session: str, event: Event, at: int) -> None:
            self.log[node].append((event.seq or 0, event.id, event.type))

        return on_event


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[LocalRun]:
    async with LocalRun(tmp_path, heartbeat_s=1.0) as local:
        for node in ["lead", *PARTNERS]:
            await local.register_node(node)
        yield local


async def start_lesson(run: LocalRun, applied: Applied, **ports: int) -> dict[str, ClassroomNode]:
    nodes = {
        n: await run.start_node(n, on_event=applied.hook(n), mqtt_port=ports.get(n))
        for n in ["lead", *PARTNERS]
    }
    now = now_ms()
    await run.create_session(
        {
            "session": SESSION,
            "lead": "lead",
            "partners": PARTNERS,
            "title": "Fractions",
            "subject": "math",
            "grade": 5,
            "starts_at": now,
            "ends_at": now + 600_000,
        }
    )
    await run.wait_for(lambda: all(SESSION in n.sessions for n in nodes.values()), 20, "joins")
    await nodes["lead"].send("lesson.start", {"title": "Fractions"}, SESSION)
    return nodes


async def head(run: LocalRun) -> int:
    info = await run.api("GET", f"/api/sessions/{SESSION}")
    return int(info["state"]["last_seq"])


async def settle(run: LocalRun, nodes: dict[str, ClassroomNode], expected: int) -> None:
    await run.wait_for(
        lambda: all(n.view(SESSION).last_seq >= expected for n in nodes.values()),
        30,
        f"every node to apply {expected} events",
    )


async def test_every_classroom_applies_the_same_events_in_the_same_order(run: LocalRun) -> None:
    applied = Applied()
    nodes = await start_lesson(run, applied)
    for i in range(20):
        await nodes["lead"].send("slide.show", {"index": i}, SESSION)
        if i % 5 == 0:
            await nodes[PARTNERS[i % 3]].send("chat.message", {"text": f"q{i}"}, SESSION)
    await nodes["p1"].send("hand.raise", {}, SESSION)
    await nodes["lead"].send("floor.grant", {"node": "p1"}, SESSION)
    await run.wait_for(lambda: nodes["lead"].view(SESSION).last_seq >= 27, 20, "27 events")
    total = await head(run)
    assert total == 27  # start + 20 slides + 4 chats + hand + floor
    await settle(run, nodes, total)
    reference = applied.log["lead"]
    assert [seq for seq, _, _ in reference] == list(range(1, total + 1))
    for node in PARTNERS:
        assert applied.log[node] == reference, node
    assert all(n.view(SESSION).machine.floor == "p1" for n in nodes.values())


async def test_a_node_killed_mid_lesson_catches_up_after_restart(run: LocalRun) -> None:
    applied = Applied()
    nodes = await start_lesson(run, applied)
    for i in range(5):
        await nodes["lead"].send("slide.show", {"index": i}, SESSION)
    await settle(run, nodes, 6)
    await nodes["p2"].abort()  # a crash: no DISCONNECT, the last will fires
    for i in range(5, 15):
        await nodes["lead"].send("slide.show", {"index": i}, SESSION)
    await nodes["p1"].send("hand.raise", {}, SESSION)
    # same node id, same state directory: a restarted daemon
    restarted = await run.start_node("p2", on_event=applied.hook("p2"))
    nodes["p2"] = restarted
    await run.wait_for(lambda: nodes["lead"].view(SESSION).last_seq >= 17, 20, "17 events")
    total = await head(run)
    assert total == 17
    await settle(run, nodes, total)
    view = restarted.view(SESSION)
    assert view.counters().received == total  # 6 restored from disk + 11 caught up
    seqs = [seq for seq, _, _ in applied.log["p2"]]
    assert seqs == list(range(1, total + 1))  # each applied once, in order, across the crash
    assert view.machine.hands == ["p1"]


async def test_an_offline_classroom_journals_and_gets_everything_back(run: LocalRun) -> None:
    assert run.stack is not None
    proxy = await TcpProxy(run.stack.mqtt_port).start()
    try:
        applied = Applied()
        nodes = await start_lesson(run, applied, p3=proxy.port)
        await nodes["lead"].send("quiz.open", {"quiz": "q1", "choices": ["a", "b", "c"]}, SESSION)
        await settle(run, nodes, 2)
        proxy.cut()  # p3's school loses its uplink
        await run.wait_for(lambda: not nodes["p3"].connected, 10, "p3 to notice")
        for i in range(8):
            await nodes["lead"].send("slide.show", {"index": i}, SESSION)
        # the tutor's clickers keep working while offline: journaled on disk
        answer_id = await nodes["p3"].send("quiz.answer", {"quiz": "q1", "choice": 2}, SESSION)
        hand_id = await nodes["p3"].send("hand.raise", {}, SESSION)
        assert len(nodes["p3"].journal) == 2
        proxy.restore()
        await run.wait_for(lambda: len(nodes["p3"].journal) == 0, 30, "the journal to drain")
        await run.wait_for(
            lambda: nodes["lead"].view(SESSION).machine.hands == ["p3"],
            20,
            "the offline hand to reach the lead",
        )
        total = await head(run)
        assert total == 12
        await settle(run, nodes, total)
        assert [s for s, _, _ in applied.log["p3"]] == list(range(1, total + 1))
        events = await run.api("GET", f"/api/sessions/{SESSION}/events", params={"from_seq": 1})
        ids = [e["id"] for e in events["events"]]
        assert ids.count(answer_id) == 1 and ids.count(hand_id) == 1  # once, not per resend
        quiz = nodes["lead"].view(SESSION).machine.quiz
        assert quiz is not None and quiz.answers[("p3", None)] == 2
    finally:
        await proxy.stop()
