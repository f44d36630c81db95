"""``--media``: the lead of each session sends real video through the hub's relay.

Every classroom joins its session's media with its own node credentials over the
hub's signalling, as a classroom box does:

* the lead runs the node's media code (``classroom_node.media.runner.NodeMedia``)
  with the synthetic test pattern (VP8, encoded in the worker process);
* the first partner of each session also runs ``NodeMedia`` without a camera: it
  decodes the lead's video, which proves the stream is a real picture;
* every other partner receives the same stream and counts its encoded frames
  without decoding (``FrameCounter``): decoding a thousand streams would measure
  the simulator's CPU, not the hub's.

Each writes ``MediaStats`` (fps, bitrate, loss, RTT, freezes) into its node, as
the node's own media layer does, and the worker reports them every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpCodecParameters, RTCSessionDescription
from aiortc.jitterbuffer import JitterFrame

from classroom_node.media.runner import NodeMedia
from classroom_node.media.settings import MediaSettings
from classroom_node.media.signalclient import SignalClient
from classroom_node.media.sinks import StatsSink, TrackTiming
from classroom_node.node import ClassroomNode
from protocols.lesson import Role
from protocols.signalling import SignalJoin
from runtime.tasks import cancel_and_wait
from simulators.media.participant import ParticipantPeer, ReceivedSlot
from simulators.sim.plan import SessionPlan
from webrtc.ice import restrict_host_addresses

__all__ = ["FrameCounter", "start_session_media"]

log = logging.getLogger("dualclass.sim.media")

LOOPBACK = ("127.0.0.1",)


class _CountingPeer(ParticipantPeer):
    """A participant that times every encoded video frame it receives."""

    def __init__(self, slots: dict[str, TrackTiming]) -> None:
        super().__init__(Role.PARTNER, decode=False, read_patterns=False)
        self.slots = slots

    def _counter(  # type: ignore[override]
        self, received: ReceivedSlot
    ) -> Callable[[RTCRtpCodecParameters, JitterFrame], None]:
        count = ParticipantPeer._counter(received)
        if received.kind != "video":
            return count
        stats = self.slots.setdefault(
            f"{received.slot.value}/video", TrackTiming(received.slot.value, "video")
        )

        def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
            count(codec, frame)
            stats.frame(time.monotonic())

        return on_frame


class FrameCounter:
    """A partner's media without decoding: join, answer, count frames, keep stats."""

    def __init__(self, node: ClassroomNode, session: str, hub_url: str) -> None:
        self.node = node
        self.session = session
        self.hub_url = hub_url
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep(), name=f"sim-media-{self.node.node_id}")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    async def _keep(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._once()
                delay = 0.5
            except (OSError, TimeoutError, RuntimeError, ValueError) as exc:
                log.info("media of %s lost: %s", self.node.node_id, exc)
            self.node.media_stats = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _once(self) -> None:
        config = self.node.config
        join = SignalJoin(
            node=config.username,
            secret=config.mqtt_password,
            session=self.session,
            events=False,
        )
        client = SignalClient(self.hub_url, join)
        sink = StatsSink()
        peer = _CountingPeer(sink.slots)
        try:
            await client.open()
            await client.joined()
            offer = await client.offer()
            answer = await peer.answer(RTCSessionDescription(offer.sdp, "offer"))
            await client.answer(answer.sdp)
            while not client.closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(client.closed.wait(), 1.0)
                self.node.media_stats = await sink.sample(peer.pc)
        finally:
            with contextlib.suppress(Exception):
                await client.close()
            with contextlib.suppress(Exception):
                await peer.close()


async def start_session_media(
    nodes: dict[str, ClassroomNode],
    plan: SessionPlan,
    hub_url: str,
    *,
    fps: int,
    width: int = 320,
    height: int = 240,
) -> list[Any]:
    """Start the media of one session's classrooms; returns objects with ``stop()``."""
    restrict_host_addresses(LOOPBACK)
    settings = MediaSettings(
        enabled=True,
        hub_url=hub_url,
        ice_host_addresses=LOOPBACK,
        fps=fps,
        width=width,
        height=height,
        stats_interval_s=1.0,
    )
    runners: list[Any] = []
    lead = NodeMedia(nodes[plan.lead], settings)
    await lead.start()
    runners.append(lead)
    for i, name in enumerate(plan.partners):
        if i == 0:
            viewer = NodeMedia(nodes[name], settings)
            await viewer.start()
            # no camera in the simulated partner room: nothing goes up, the lead's
            # picture comes down and is decoded (``start`` has not run its task yet)
            if viewer.source is not None:
                viewer.source.stop()
                viewer.source = None
            runners.append(viewer)
        else:
            counter = FrameCounter(nodes[name], plan.session, hub_url)
            await counter.start()
            runners.append(counter)
    return runners
