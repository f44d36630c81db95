"""What the node does with received media: statistics always, a recording on request.

``StatsSink`` reads every received track (decoding video, as a display would),
times the frames and, with ``sample(pc)``, turns ``pc.getStats()`` into the
``MediaStats`` that ride in heartbeats:

- ``fps``: decoded video frames per second of the busiest slot since the last sample;
- ``bitrate_kbps``: bytes received on the transport per second (all media + RTCP);
- ``loss``: packets lost / expected on every inbound stream since the last sample;
- ``rtt_ms``: round-trip time the hub reports for our upstream (RTCP receiver reports);
- ``freezes``: frame gaps longer than max(3 x mean interval, mean + 150 ms) (the
  WebRTC statistics definition), counting only gaps under 5 s: a longer silence is a
  slot with nobody in it (the floor is free), not a frozen picture.

The ``screen`` slot (the lead's shared screen) is read but left out of ``fps`` and
``freezes``: a still screen is sent at a frame or two a second on purpose.

``Recorder`` writes one slot (video + audio) to a WebM file with aiortc's
``MediaRecorder`` (which re-encodes, so it costs CPU; statistics do not).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.contrib.media import MediaRecorder
from aiortc.mediastreams import MediaStreamError

from protocols.messages import MediaStats
from runtime.tasks import cancel_and_wait

__all__ = ["Recorder", "StatsSink", "TrackTiming", "is_freeze"]

_IDLE_GAP_S = 5.0


def is_freeze(gap: float, mean_interval: float) -> bool:
    """Whether an inter-frame gap is a freeze (pure; see the module docstring)."""
    if mean_interval <= 0 or gap >= _IDLE_GAP_S:
        return False
    return gap > max(3 * mean_interval, mean_interval + 0.150)


@dataclass
class TrackTiming:
    """Frame timing of one received track."""

    name: str
    kind: str
    frames: int = 0
    freezes: int = 0
    last_at: float | None = None
    intervals: deque[float] = field(default_factory=lambda: deque(maxlen=30))

    def frame(self, now: float) -> None:
        if self.last_at is not None:
            gap = now - self.last_at
            if self.intervals and is_freeze(gap, sum(self.intervals) / len(self.intervals)):
                self.freezes += 1
            if gap < _IDLE_GAP_S:
                self.intervals.append(gap)
        self.last_at = now
        self.frames += 1


class StatsSink:
    """Consume received tracks and sample peer-connection statistics."""

    def __init__(self) -> None:
        self.slots: dict[str, TrackTiming] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._last_sample: float | None = None
        self._last_frames: dict[str, int] = {}
        self._last_bytes = 0
        self._last_packets: dict[str, tuple[int, int]] = {}
        self.stats = MediaStats()

    def add(self, name: str, track: MediaStreamTrack) -> None:
        stats = self.slots[name] = TrackTiming(name, track.kind)
        self._tasks.append(asyncio.ensure_future(self._read(track, stats)))

    async def _read(self, track: MediaStreamTrack, stats: TrackTiming) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                stats.frame(time.monotonic())

    async def sample(self, pc: RTCPeerConnection) -> MediaStats:
        """Figures since the previous sample (the first sample only sets the baseline)."""
        now = time.monotonic()
        report: Any = await pc.getStats()
        received_bytes = 0
        lost = expected = 0
        rtts: list[float] = []
        for item in report.values():
            if item.type == "transport":
                received_bytes += int(getattr(item, "bytesReceived", 0) or 0)
            elif item.type == "inbound-rtp":
                got, gone = int(item.packetsReceived or 0), int(item.packetsLost or 0)
                old_got, old_gone = self._last_packets.get(item.id, (0, 0))
                self._last_packets[item.id] = (got, gone)
                lost += max(gone - old_gone, 0)
                expected += max(got - old_got, 0) + max(gone - old_gone, 0)
            elif item.type == "remote-inbound-rtp" and item.roundTripTime is not None:
                rtts.append(float(item.roundTripTime))
        frames = {
            name: s.frames
            for name, s in self.slots.items()
            if s.kind == "video" and not name.startswith("screen/")
        }
        if self._last_sample is not None:
            elapsed = max(now - self._last_sample, 1e-3)
            fps = max(
                ((n - self._last_frames.get(name, 0)) / elapsed for name, n in frames.items()),
                default=0.0,
            )
            self.stats = MediaStats(
                fps=round(fps, 2),
                bitrate_kbps=round(
                    max(received_bytes - self._last_bytes, 0) * 8 / elapsed / 1000, 1
                ),
                loss=round(lost / expected, 4) if expected else 0.0,
                rtt_ms=round(1000 * sum(rtts) / len(rtts), 1) if rtts else 0.0,
                freezes=sum(
                    s.freezes for name, s in self.slots.items() if not name.startswith("screen/")
                ),
            )
        self._last_sample = now
        self._last_frames = frames
        self._last_bytes = received_bytes
        return self.stats

    async def close(self) -> None:
        await cancel_and_wait(*self._tasks)


class Recorder:
    """One slot's video and audio into ``path`` (WebM: VP8 + Opus)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._recorder = MediaRecorder(str(path))
        self._started = False

    def add(self, track: MediaStreamTrack) -> None:
        self._recorder.addTrack(track)

    async def start(self) -> None:
        await self._recorder.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._recorder.stop()
            self._started = False
