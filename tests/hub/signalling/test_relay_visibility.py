"""What the relay does is visible and recorded, through a real hub with aiortc peers:
``/metrics`` (hub-wide counters, layer gauges, the node's layer), the ops dashboard,
and the ledger's layer records -- and no count is lost when participants leave."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from aiortc import RTCSessionDescription

from classroom_node.media.signalclient import SignalClient
from hub.media.routing import Role, Slot
from hub.tokens import JoinRole
from ledger.inputs import LayerInput, from_wire
from protocols.signalling import SignalJoin
from simulators.media.participant import ParticipantPeer
from simulators.media.testsource import VideoTestSource
from tests.hub.hubkit import ADMIN_KEY, wait_for

from .conftest import LiveHub
from .peers import media_peer, token


async def _metrics(live: LiveHub) -> str:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=10) as http:
        reply = await http.get("/metrics")
    assert reply.status_code == 200
    return reply.text


def _value(text: str, series: str) -> float:
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def _layer_records(live: LiveHub, count: int) -> list[LayerInput]:
    """Layer records in the ledger's input stream (at least ``count``, or all after 10 s)."""
    redis = live.hub.store.redis
    deadline = time.monotonic() + 10
    while True:
        entries = await redis.xrange("dc:ledger:inputs")
        records = [from_wire(fields[b"r"]) for _, fields in entries]
        layers = [r for r in records if isinstance(r, LayerInput)]
        if len(layers) >= count or time.monotonic() > deadline:
            return sorted(layers, key=lambda r: r.ts)
        await asyncio.sleep(0.05)


def _ops_layer(live: LiveHub) -> Any:
    lessons = live.hub.ops.keyed.get("lessons", {})
    return lessons.get("S1", {}).get("classrooms", {}).get("p1", {}).get("layer")


@asynccontextmanager
async def two_layer_lead(url: str) -> AsyncIterator[ParticipantPeer]:
    """The lead's console sending its camera in two layers (``layers=2``)."""
    join = SignalJoin(token=token(JoinRole.LEAD), camera=True, layers=2)
    async with SignalClient(url, join) as client:
        await client.joined()
        rtc = ParticipantPeer(
            Role.LEAD,
            video=VideoTestSource(1, width=640, height=480, fps=15),
            video_low=VideoTestSource(1, width=320, height=240, fps=15),
            screen_line=True,
            decode=False,
        )
        try:
            offer = await client.offer()
            answer = await rtc.answer(RTCSessionDescription(offer.sdp, "offer"))
            await client.answer(answer.sdp)
            yield rtc
        finally:
            await rtc.close()


async def test_relay_figures_reach_metrics_ops_and_the_ledger(live: LiveHub) -> None:
    p1_join = SignalJoin(node="p1", secret=live.secret("p1"), session="S1", events=False)
    frames_in = 'dualclass_hub_relay_frames_in_total{feed="video"}'
    frames_out = 'dualclass_hub_relay_frames_out_total{kind="video"}'
    switches = "dualclass_hub_relay_layer_switches_total"
    async with two_layer_lead(live.url):
        async with media_peer(live.url, p1_join) as p1:
            await wait_for(
                lambda: p1.rtc.slot(Slot.MAIN).patterns_seen.get(1, 0) >= 10,
                within=15,
                what="p1 sees the lead",
            )
            relay = live.hub.app.state.signalling.room("S1").relay
            start = relay.layer_of("p1")
            assert start is not None
            await wait_for(lambda: _ops_layer(live) == start, within=15, what="ops shows p1")
            text = await _metrics(live)
            assert _value(text, frames_in) > 0 and _value(text, frames_out) > 0
            assert _value(text, 'dualclass_hub_relay_frames_in_total{feed="video_low"}') > 0
            # p1 and the lead (its floor slot) each start on a layer
            assert _value(text, f'{switches}{{layer="{start}",reason="start"}}') >= 1
            # an operator's choice: the relay switches p1 at the low layer's next keyframe
            relay.force_layer("p1", "low" if start == "high" else "high")
            relay.force_layer("p1", "high")
            await wait_for(lambda: _ops_layer(live) == "high", within=15, what="ops shows p1 high")
            text = await _metrics(live)
            forced = sum(
                _value(text, f'{switches}{{layer="{layer}",reason="forced"}}')
                for layer in ("high", "low")
            )
            assert forced >= 1
            assert _value(text, 'dualclass_hub_relay_subscribers{layer="high"}') >= 1
            nodes = [ln for ln in text.splitlines() if ln.startswith("dualclass_node_")]
            assert 'dualclass_node_video_layer{layer="high",node="p1"} 1.0' in nodes, nodes
            before = _value(text, frames_out)
        # p1 left: what it received up to the end is counted, and never taken back
        text = await _metrics(live)
        assert _value(text, frames_out) >= before
        assert "dualclass_node_video_layer{" not in text or 'node="p1"' not in text
        held = _value(text, frames_in)
    # the room closed with the lead's departure: the counters stay
    await wait_for(
        lambda: live.hub.app.state.signalling.room("S1") is None, within=10, what="room closed"
    )
    text = await _metrics(live)
    assert _value(text, frames_in) >= held > 0

    # the ledger has p1's layers: its start, the forced switches, and its leaving
    layers = [r for r in await _layer_records(live, 3) if r.classroom == "p1"]
    assert all(r.session == "S1" for r in layers)
    changes = [(r.layer, r.reason) for r in layers]
    assert changes[0] == (start, "start") and changes[-2:] == [("high", "forced"), (None, "left")]
    assert all(reason == "forced" for _, reason in changes[1:-1])
