"""The participant side of the relay, in aiortc: answers the hub's offer, sends, receives.

Tests and the benchmark use it as lead, partner and observer; it is also the
reference for what a node or browser must do with the hub's offer:

1. apply the offer; its m-lines follow ``media_layout(role)``;
2. put the camera and microphone on the transceivers of the ``recvonly``
   (hub-receives) lines and make them ``sendonly``;
3. answer; every other line is a slot the hub sends.

Received slots are counted as encoded frames (no decoding, cheap enough for
the benchmark's many subscribers) and, with ``decode=True``, also decoded and
read back with :func:`~simulators.media.testsource.read_pattern` so a test can see
whose picture arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import (
    MediaStreamTrack,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from protocols.media import LOW_FEED, Role, Slot, feed_of, media_layout
from simulators.media.testsource import read_pattern
from webrtc import aiortc_internals as internals
from webrtc.bitstream import is_keyframe
from webrtc.ice import rtc_configuration

__all__ = ["ParticipantPeer", "ReceivedSlot"]


@dataclass
class ReceivedSlot:
    """What arrived in one slot (one kind) at this participant."""

    slot: Slot
    kind: str
    encoded: int = 0
    keyframes: int = 0
    decoded: int = 0
    first_frame_at: float | None = None
    last_pattern: tuple[int, int] | None = None
    patterns_seen: dict[int, int] = field(default_factory=dict)
    """source number -> decoded frames showing it (video only)."""


class ParticipantPeer:
    """A participant's peer connection to the hub (aiortc), for tests and the bench."""

    def __init__(
        self,
        role: Role,
        *,
        video: MediaStreamTrack | None = None,
        audio: MediaStreamTrack | None = None,
        screen: MediaStreamTrack | None = None,
        video_low: MediaStreamTrack | None = None,
        max_kbps: dict[str, int] | None = None,
        screen_line: bool | None = None,
        on_receivers: Callable[[RTCRtpReceiver], None] | None = None,
        decode: bool = True,
        read_patterns: bool = True,
        ice_servers: tuple[RTCIceServer, ...] = (),
    ) -> None:
        self.role = role
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self.received: dict[tuple[Slot, str], ReceivedSlot] = {}
        self._sources = {"video": video, "audio": audio, "screen": screen, LOW_FEED: video_low}
        #: 2: the camera goes up twice (``video_low``: the low layer); join with this
        self.layers = 2 if video_low is not None else 1
        #: feed -> the most its encoder may send, whatever the hub's REMB says
        self._max_kbps = max_kbps or {}
        #: the offer has a screen line (the lead side; see ``media_layout``)
        self._screen_line = screen_line
        self._decode = decode
        #: called with each video receiver before media flows (e.g. a stall guard)
        self._on_receiver = on_receivers
        self._read_patterns = read_patterns
        self._tasks: list[asyncio.Task[None]] = []

    async def answer(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        """Apply the hub's offer and return the answer to send back."""
        await self.pc.setRemoteDescription(offer)
        transceivers = self.pc.getTransceivers()
        layout = media_layout(self.role, screen=self._screen_line, layers=self.layers)
        if len(transceivers) != len(layout):
            raise ValueError(f"offer has {len(transceivers)} m-lines, layout {len(layout)}")
        for transceiver, line in zip(transceivers, layout, strict=True):
            if line.direction == "recvonly":  # our upstream: camera, microphone, screen
                feed = feed_of(line.kind, line.slot, line.layer)
                source = self._sources[feed]
                if source is not None:
                    transceiver.sender.replaceTrack(source)
                    if feed in self._max_kbps:
                        bps = self._max_kbps[feed] * 1000
                        internals.preset_bitrate(transceiver.sender, bps)
                        if line.kind == "video":
                            internals.cap_remb(transceiver.sender, bps)
                    transceiver.direction = "sendonly"
                else:
                    transceiver.direction = "inactive"
                continue
            assert line.slot is not None
            if line.kind == "video" and self._on_receiver is not None:
                self._on_receiver(transceiver.receiver)
            received = ReceivedSlot(line.slot, line.kind)
            self.received[(line.slot, line.kind)] = received
            internals.tap_receiver(
                transceiver.receiver, self._counter(received), decode=self._decode
            )
            if self._decode:
                self._tasks.append(
                    asyncio.ensure_future(self._read(transceiver.receiver.track, received))
                )
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription

    def slot(self, slot: Slot, kind: str = "video") -> ReceivedSlot:
        return self.received[(slot, kind)]

    @staticmethod
    def _counter(
        received: ReceivedSlot,
    ) -> Callable[[RTCRtpCodecParameters, JitterFrame], None]:
        def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
            received.encoded += 1
            if received.first_frame_at is None:
                received.first_frame_at = time.monotonic()
            if received.kind == "video" and is_keyframe(codec.mimeType, frame.data):
                received.keyframes += 1

        return on_frame

    async def _read(self, track: MediaStreamTrack, received: ReceivedSlot) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                received.decoded += 1
                if self._read_patterns and isinstance(frame, VideoFrame):
                    pattern = read_pattern(frame)
                    if pattern is not None:
                        received.last_pattern = pattern
                        seen = received.patterns_seen
                        seen[pattern[0]] = seen.get(pattern[0], 0) + 1

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
        for source in self._sources.values():
            if source is not None:
                source.stop()
