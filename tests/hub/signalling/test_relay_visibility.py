"""What the relay does is visible and recorded, through a real hub with aiortc peers:
``/metrics`` (hub-wide counters, layer gauges, the node's layer), the ops dashboard,
and the ledger's layer records -- and no count is lost when participants leave."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx

from hub.media.routing import Slot
from hub.tokens import JoinRole
from ledger.inputs import LayerInput, from_wire
from protocols.signalling import SignalJoin
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


async def test_relay_figures_reach_metrics_ops_and_the_ledger(live: LiveHub) -> None:
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    p1_join = SignalJoin(node="p1", secret=live.secret("p1"), session="S1", events=False)
    frames_in = 'dualclass_hub_relay_frames_in_total{feed="video"}'
    frames_out = 'dualclass_hub_relay_frames_out_total{kind="video"}'
    async with media_peer(live.url, lead_join, source=1):
        async with media_peer(live.url, p1_join) as p1:
            await wait_for(
                lambda: p1.rtc.slot(Slot.MAIN).patterns_seen.get(1, 0) >= 10,
                within=15,
                what="p1 sees the lead",
            )
            room = live.hub.app.state.signalling.room("S1")
            # the relay's layer listener (contract of issue 15): start low, then up
            room._on_layer("p1", "low", "start")
            room._on_layer("p1", "high", "stable")
            text = await _metrics(live)
            assert _value(text, frames_in) > 0 and _value(text, frames_out) > 0
            switches = "dualclass_hub_relay_layer_switches_total"
            assert _value(text, f'{switches}{{layer="low",reason="start"}}') == 1
            assert _value(text, f'{switches}{{layer="high",reason="stable"}}') == 1
            await wait_for(lambda: _ops_layer(live) == "high", within=15, what="ops shows p1 high")
            text = await _metrics(live)
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

    layers = await _layer_records(live, 3)
    assert [(r.classroom, r.layer, r.reason) for r in layers] == [
        ("p1", "low", "start"),
        ("p1", "high", "stable"),
        ("p1", None, "left"),
    ]
    assert all(r.session == "S1" for r in layers)
