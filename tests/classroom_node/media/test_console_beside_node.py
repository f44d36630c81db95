"""A teacher's console beside the classroom's node: both work at once.

The node (``NodeMedia``, node credentials) holds the classroom's camera; a tutor
console joining with its token watches without taking it, and its controls act
as the classroom. Only when the teacher chooses this device's camera does the
console take it; the node is refused (409) meanwhile and gets the camera back by
itself once the console lets go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from classroom_node.media.runner import NodeMedia
from classroom_node.media.settings import MediaSettings
from hub.media.routing import Slot
from hub.tokens import JoinRole
from protocols.messages import MediaStats
from protocols.signalling import SignalAck, SignalJoin
from tests.hub.hubkit import wait_for
from tests.hub.signalling.conftest import LiveHub
from tests.hub.signalling.peers import media_peer, token


@dataclass
class _Creds:
    username: str
    mqtt_password: str | None


@dataclass
class _Host:
    """What ``NodeMedia`` needs of a node: credentials, sessions, a stats slot."""

    config: _Creds
    sessions: list[str] = field(default_factory=lambda: ["S1"])
    media_stats: MediaStats | None = None


def _joins(live: LiveHub, outcome: str) -> float:
    """``dualclass_hub_signal_joins_total{outcome}`` of the hub."""
    value = live.hub.metrics.registry.get_sample_value(
        "dualclass_hub_signal_joins_total", {"outcome": outcome}
    )
    return value or 0.0


async def test_tutor_console_watches_beside_its_node_then_borrows_the_camera(
    live: LiveHub,
) -> None:
    settings = MediaSettings(hub_url=live.url, width=320, height=240, fps=15, stats_interval_s=0.5)
    node = NodeMedia(_Host(_Creds("p1", live.secret("p1"))), settings)
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    watch = SignalJoin(token=token(JoinRole.TUTOR, node="p1"), role="tutor")
    await node.start()
    try:
        async with media_peer(live.url, lead_join, source=1) as lead:
            await wait_for(
                lambda: "S1" in node.sessions and node.sessions["S1"].connected.is_set(),
                within=15,
                what="the node's media up",
            )
            async with media_peer(live.url, watch) as console:
                assert not console.joined.camera
                assert _joins(live, "watch") == 1
                assert console.joined.participant != "p1"
                assert [line.slot for line in console.joined.layout] == [
                    "main",
                    "main",
                    "floor",
                    "floor",
                    "screen",  # the lead's shared screen, video only
                ]
                await wait_for(
                    lambda: console.rtc.slot(Slot.MAIN).decoded >= 10,
                    within=15,
                    what="the console decodes the lead",
                )
                # the node kept its camera: the lead sees p1 when p1 has the floor
                assert isinstance(await lead.client.interact("lesson.start"), SignalAck)
                assert isinstance(await console.client.interact("hand.raise"), SignalAck)
                assert isinstance(
                    await lead.client.interact("floor.grant", {"node": "p1"}), SignalAck
                )
                await wait_for(
                    lambda: lead.rtc.slot(Slot.FLOOR).decoded >= 10,
                    within=15,
                    what="the lead decodes p1's node camera",
                )
                assert console.client.errors == [] and not console.client.closed.is_set()
                node_media = node.sessions["S1"]
                assert not node_media.client.closed.is_set(), "the console took the node's media"

            # the teacher chooses this device's camera: the node steps aside and waits
            borrow = SignalJoin(token=token(JoinRole.TUTOR, node="p1"), camera=True)
            async with media_peer(live.url, borrow, source=7) as tablet:
                assert tablet.joined.camera and tablet.joined.participant == "p1"
                await node_media.client.closed.wait()
                assert node_media.client.errors[-1].code == "replaced"
                seen = lead.rtc.slot(Slot.FLOOR).decoded
                await wait_for(
                    lambda: lead.rtc.slot(Slot.FLOOR).decoded >= seen + 10,
                    within=15,
                    what="the lead decodes the tablet's camera",
                )
                # the node keeps asking and is refused (409) while the tablet holds it
                await wait_for(
                    lambda: _joins(live, "camera_in_use") >= 2,
                    within=10,
                    what="the node's joins refused as camera_in_use",
                )
                assert not tablet.client.closed.is_set()
            # the tablet let go: the node has its camera back, on its own
            await wait_for(
                lambda: (
                    "S1" in node.sessions
                    and node.sessions["S1"].connected.is_set()
                    and node.sessions["S1"].joined is not None
                    and node.sessions["S1"].joined.participant == "p1"
                ),
                within=15,
                what="the node taking its camera back",
            )
            seen = lead.rtc.slot(Slot.FLOOR).decoded
            await wait_for(
                lambda: lead.rtc.slot(Slot.FLOOR).decoded >= seen + 10,
                within=20,
                what="the lead decodes p1's node again",
            )
    finally:
        await node.stop()
