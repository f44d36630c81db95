"""``SessionMedia``: one session's media at the node: signalling + peer connection + sinks.

The hub makes the offer and says, in ``joined.layout``, what each m-line is: the
``recvonly`` ones (at the hub) take our camera and microphone, the others are
slots the hub sends (``main``: the lead, ``floor``: the floor holder). So:

1. join over ``/ws/signal`` with the node's credentials (no events: the node has
   them over MQTT already);
2. apply the offer, put the source's tracks on the upstream transceivers,
   hand every received track to the sinks, answer (aiortc gathers inside
   ``setLocalDescription``, so the answer is complete);
3. sample statistics every ``stats_interval_s`` until the hub closes or we leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from classroom_node.media.exceptions import NodeMediaError
from classroom_node.media.signalclient import SignalClient
from classroom_node.media.sinks import Recorder, StatsSink
from classroom_node.media.sources import Source
from protocols.messages import MediaStats
from protocols.signalling import SignalJoin, SignalJoined
from webrtc.aiortc_internals import (
    cap_remb,
    guard_receiver,
    on_pli_sent,
    preset_bitrate,
    selected_pair_types,
)
from webrtc.ice import rtc_configuration, rtc_ice_servers

__all__ = ["LayerSettings", "SessionMedia"]

log = logging.getLogger("dualclass.node.media")


@dataclass(frozen=True)
class LayerSettings:
    """The two camera layers this node sends (from ``MediaSettings``)."""

    high_kbps: int
    width: int
    height: int
    fps: int
    low_kbps: int


class SessionMedia:
    """One session's media connection; ``await run()`` until it ends, ``close()`` to leave."""

    def __init__(
        self,
        hub_url: str,
        join: SignalJoin,
        source: Source | None,
        *,
        stats_interval_s: float = 2.0,
        record_dir: Path | None = None,
        ssl_context: ssl.SSLContext | None = None,
        ice_servers: Sequence[Mapping[str, Any]] = (),
        relay_only: bool = False,
        layers: LayerSettings | None = None,
        audio_kbps: int | None = None,
    ) -> None:
        self._layers = layers
        self._audio_kbps = audio_kbps
        if layers is not None:
            join = join.model_copy(update={"layers": 2})
        self.client = SignalClient(hub_url, join, ssl_context=ssl_context)
        self.source = source
        self.session = join.session or ""
        #: Made once ``joined`` brings the hub's ICE servers (with fresh TURN credentials).
        self.pc: RTCPeerConnection | None = None
        self._ice_servers = list(ice_servers)
        self._relay_only = relay_only
        self.sink = StatsSink()
        self.recorder: Recorder | None = None
        self.joined: SignalJoined | None = None
        self.connected = asyncio.Event()
        self._interval = stats_interval_s
        self._record_dir = record_dir
        self._relay = MediaRelay()
        #: Received tracks by ``slot/kind`` (``main/video``: the lead, ``screen/video``).
        self.received: dict[str, MediaStreamTrack] = {}
        #: Holes skipped in received video, and PLIs sent to the hub (every cause).
        self.stalls = 0
        self.keyframe_requests = 0

    @property
    def stats(self) -> MediaStats:
        """The sink's figures, the PLIs we sent, and the camera layer the hub forwards us."""
        update: dict[str, object] = {"keyframe_requests": self.keyframe_requests}
        layer = self.client.layer
        if layer is not None:
            update |= {
                "layer": layer.layer,
                "layer_switches": layer.switches,
                "layer_reason": layer.reason,
            }
        return self.sink.stats.model_copy(update=update)

    def watch(self, name: str) -> MediaStreamTrack | None:
        """Another reader of a received track (the classroom display), latest frame only."""
        track = self.received.get(name)
        if track is None or track.readyState != "live":
            return None
        return self._relay.subscribe(track, buffered=False)

    async def run(self) -> None:
        """Join, answer, then keep statistics fresh until the hub ends the conversation."""
        await self.client.open()
        self.joined = await self.client.joined()
        self.session = self.joined.session
        servers = self._ice_servers + [
            server.model_dump(exclude_none=True) for server in self.joined.ice_servers
        ]
        self.pc = RTCPeerConnection(
            rtc_configuration(rtc_ice_servers(servers), relay_only=self._relay_only)
        )
        offer = await self.client.offer()
        answer = await self._answer(offer.sdp)
        await self.client.answer(answer)
        self.connected.set()
        # the baseline now, so the first figures come one interval after connecting
        await self.sink.sample(self.pc)
        if self.recorder is not None:
            await self.recorder.start()
        while not self.client.closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.client.closed.wait(), self._interval)
            await self.sink.sample(self.pc)

    def candidate_types(self) -> tuple[str, str] | None:
        """Local and remote candidate types of the pair carrying media (e.g.
        ``("relay", "host")`` through TURN), or ``None`` before ICE selected one."""
        if self.pc is None:
            return None
        return selected_pair_types(self.pc)

    async def _answer(self, sdp: str) -> str:
        assert self.joined is not None and self.pc is not None
        layout = self.joined.layout
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        transceivers = self.pc.getTransceivers()
        if len(transceivers) != len(layout):
            raise NodeMediaError(f"offer has {len(transceivers)} m-lines, layout {len(layout)}")
        slots = [line.slot for line in layout if line.direction == "sendonly"]
        primary = "main" if "main" in slots else "floor"
        if self._record_dir is not None and slots:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self.recorder = Recorder(self._record_dir / f"{self.session}-{primary}-{stamp}.webm")
        for transceiver, line in zip(transceivers, layout, strict=True):
            if line.direction == "recvonly":  # our upstream (a node shares no screen)
                track = None
                layers = self._layers
                if self.source is not None and line.slot is None:
                    if line.layer == "low" and layers is not None:
                        track = self.source.subscribe_low(layers.width, layers.height, layers.fps)
                    elif line.layer != "low":
                        track = self.source.subscribe(line.kind)
                if track is not None:
                    transceiver.sender.replaceTrack(track)
                    transceiver.direction = "sendonly"
                    if layers is not None and line.layer is not None:
                        # the hub's REMB must not raise a layer above its bitrate
                        kbps = layers.low_kbps if line.layer == "low" else layers.high_kbps
                        cap_remb(transceiver.sender, kbps * 1000)
                        if line.layer == "low":  # from the first frame (aiortc: 500)
                            preset_bitrate(transceiver.sender, kbps * 1000)
                    if line.kind == "audio" and self._audio_kbps is not None:
                        preset_bitrate(transceiver.sender, self._audio_kbps * 1000)
                else:
                    transceiver.direction = "inactive"
                continue
            if line.kind == "video":
                self._guard(transceiver.receiver)
            received: MediaStreamTrack = transceiver.receiver.track
            name = f"{line.slot}/{line.kind}"
            if self.recorder is not None and line.slot == primary:
                self.recorder.add(self._relay.subscribe(received))
            # through the relay, so the classroom display can watch the same track
            self.received[name] = received
            self.sink.add(name, self._relay.subscribe(received))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def _guard(self, receiver: RTCRtpReceiver) -> None:
        """Skip a hole that blocks the hub's video for 500 ms and ask for a keyframe.

        aiortc alone would hold every frame behind it until 512 packets piled up
        (see ``webrtc.stall``); the hub forwards our PLI to the publisher.
        """

        def on_stall() -> None:
            self.stalls += 1
            log.info("media of %s: video stalled behind lost packets; skipped", self.session)

        def on_pli() -> None:
            self.keyframe_requests += 1

        guard_receiver(receiver, on_stall=on_stall)
        on_pli_sent(receiver, on_pli)

    async def close(self) -> None:
        """Leave: stop recording, close signalling and the peer connection."""
        if self.recorder is not None:
            with contextlib.suppress(Exception):
                await self.recorder.stop()
        await self.client.close()
        await self.sink.close()
        if self.pc is not None:
            await self.pc.close()
