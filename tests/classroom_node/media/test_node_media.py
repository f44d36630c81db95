"""The node's media against a real hub: node credentials, answer, stats in heartbeats."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from classroom_node import ClassroomNode, NodeConfig
from classroom_node.media.peer import SessionMedia
from classroom_node.media.runner import NodeMedia, layer_settings
from classroom_node.media.settings import MediaSettings
from classroom_node.media.sources import open_source
from hub.media.routing import Slot
from hub.tokens import JoinRole
from protocols.signalling import SignalAck, SignalJoin
from registry.models import Classroom, Kind, School, SchoolKind
from registry.store import RegistryStore
from tests.hub.hubkit import wait_for
from tests.hub.signalling.conftest import LiveHub
from tests.hub.signalling.peers import media_peer, token

PATTERN = MediaSettings(width=320, height=240, fps=15)


async def test_session_media_sends_and_receives(live: LiveHub, tmp_path: Path) -> None:
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    source = open_source(PATTERN)
    join = SignalJoin(node="p1", secret=live.secret("p1"), session="S1", events=False)
    media = SessionMedia(live.url, join, source, stats_interval_s=0.5, record_dir=tmp_path)
    async with media_peer(live.url, lead_join, source=1) as lead:
        runner = asyncio.create_task(media.run())
        try:
            await asyncio.wait_for(media.connected.wait(), 10)
            await wait_for(lambda: media.stats.fps > 8, within=10, what="node decodes the lead")
            assert media.stats.bitrate_kbps > 0 and media.stats.loss < 0.05
            # floor to p1: the lead decodes the node's pattern
            assert isinstance(await lead.client.interact("lesson.start"), SignalAck)
            assert isinstance(await lead.client.interact("floor.grant", {"node": "p1"}), SignalAck)
            await wait_for(
                lambda: lead.rtc.slot(Slot.FLOOR).decoded >= 10, within=10, what="lead sees p1"
            )
            await wait_for(lambda: media.stats.rtt_ms > 0, within=10, what="rtt from RTCP")
        finally:
            runner.cancel()
            await media.close()
            source.stop()
    assert _recording_sizes(tmp_path) and _recording_sizes(tmp_path)[0] > 1000


def _recording_sizes(folder: Path) -> list[int]:
    return [p.stat().st_size for p in folder.glob("S1-main-*.webm")]


async def test_classroom_node_heartbeats_carry_media_stats(live: LiveHub, tmp_path: Path) -> None:
    config = NodeConfig(
        node_id="p2",
        mqtt_port=live.hub.config.mqtt_port,
        mqtt_password=live.secret("p2"),
        state_dir=tmp_path / "p2",
        api_enabled=False,
        heartbeat_s=0.5,
    )
    node = ClassroomNode(config)
    await node.startup()
    settings = PATTERN.model_copy(update={"hub_url": live.url, "stats_interval_s": 0.5})
    media = NodeMedia(node, settings)
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    try:
        async with media_peer(live.url, lead_join, source=1):
            await media.start()
            # the hub's cmd.join (sent when p2 came online) brings the node into S1
            await wait_for(lambda: node.sessions == ["S1"], within=10, what="node joined S1")
            await wait_for(
                lambda: node.media_stats is not None and node.media_stats.fps > 8,
                within=15,
                what="media stats on the node",
            )

            async def stored_fps() -> float:
                raw = await live.hub.store.redis.hget("dc:heartbeat", "p2")
                media_figures = json.loads(raw).get("media") if raw else None
                return float(media_figures["fps"]) if media_figures else 0.0

            await wait_for(stored_fps, within=10, what="heartbeat with media at the hub")

            # the node sends two camera layers (the default) and the hub tells it which
            # one it forwards: the heartbeat says so
            async def stored_layer() -> bool:
                raw = await live.hub.store.redis.hget("dc:heartbeat", "p2")
                figures = (json.loads(raw).get("media") if raw else None) or {}
                return figures.get("layer") == "high" and figures.get("layer_reason") == "start"

            await wait_for(stored_layer, within=10, what="heartbeat with the camera layer")
            assert live.hub._api is not None
            relay = live.hub._api.config.app.state.signalling.rooms["S1"].relay
            await wait_for(
                lambda: relay.stats()["participants"]["p2"]["upstream"]["video_low"] > 10,
                within=10,
                what="the node's low layer at the hub",
            )
            session = media.sessions["S1"]
            assert session.joined is not None
            assert [
                line.layer for line in session.joined.layout if line.direction == "recvonly"
            ] == [
                "high",
                None,
                "low",
            ]
    finally:
        await media.stop()
        await node.shutdown()


async def test_registered_weak_downlink_starts_the_node_on_the_low_layer(live: LiveHub) -> None:
    """The registry's downlink figure picks the start layer; the node hears about it."""
    registry = RegistryStore(live.hub.store.redis)
    await registry.create(
        Kind.SCHOOLS, School(id="hill", name="Hill school", kind=SchoolKind.PARTNER, rural=True)
    )
    await registry.create(
        Kind.CLASSROOMS, Classroom(id="hill-1", school="hill", node="p1", downlink_kbps=300)
    )
    source = open_source(PATTERN)
    join = SignalJoin(node="p1", secret=live.secret("p1"), session="S1", events=False)
    layers = layer_settings(PATTERN)
    media = SessionMedia(live.url, join, source, stats_interval_s=0.5, layers=layers)
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True, layers=2)
    async with media_peer(live.url, lead_join, source=1, low=51):
        runner = asyncio.create_task(media.run())
        try:
            await asyncio.wait_for(media.connected.wait(), 10)
            await wait_for(
                lambda: media.stats.layer == "low" and media.stats.layer_reason == "start",
                within=10,
                what="the node told it starts on low",
            )
            assert media.stats.layer_switches == 0
        finally:
            runner.cancel()
            await media.close()
            source.stop()
