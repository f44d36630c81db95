"""``StallGuardBuffer``: aiortc's video jitter buffer, but one that gives up on a hole.

aiortc's ``JitterBuffer`` hands out a frame only when every packet from its
origin up to the end of that frame is present. A packet that never comes (the
sender's 128-packet retransmission history has moved on; a frozen hub's socket
buffer dropped a stretch of packets) blocks every later frame until 512 more
packets have piled up behind it; only then does it drop the stale ones and send
a PLI. At a few hundred kbit/s that is 10 s and more of frozen video, and the
hub's relay, which sees frames only after this buffer, never learns of it.

This subclass keeps aiortc's reassembly and adds one rule: when packets keep
arriving (at least two distinct RTP timestamps since the last frame came out)
and no complete frame has come out for ``stall_s``, the hole is skipped. The
buffer restarts at the first packet after the hole known to begin a frame (its
predecessor is present and ends a frame: marker bit or a different timestamp);
if there is none, everything is dropped and the first frame reassembled after
that is discarded too (it may lack its first packets). The caller is told
(``on_stall``) and ``add`` reports ``pli=True`` so aiortc sends a PLI at once:
the frames after a hole refer to pictures that never arrived, so only a
keyframe repairs the picture.

Why "two timestamps": aiortc knows a frame is complete only when a packet of
the next frame arrives, so a slow source (a still screen at one frame a
second) legitimately goes a while with no frame out but never has two newer
frames pending. Packets of two frames with no frame out means a hole.

Pure apart from the clock, which is passed in (``clock``), so the rule is unit
tested with made-up packets and times; ``webrtc.aiortc_internals.guard_receiver``
puts it into a real receiver.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

__all__ = ["DEFAULT_STALL_S", "StallGuardBuffer", "frame_start_after_hole"]

#: Packets arriving but no frame out for this long: skip the hole, ask for a keyframe.
DEFAULT_STALL_S = 0.5
#: aiortc's video jitter buffer size (packets); ours is the same.
VIDEO_CAPACITY = 512


def frame_start_after_hole(slots: list[RtpPacket | None], origin: int) -> int | None:
    """How many slots past ``origin`` the first frame start after the first hole is.

    ``slots`` is the ring of packets indexed by sequence number modulo its length;
    ``origin`` the sequence number the buffer waits for. Returns the offset of the
    first present packet after a missing one whose predecessor is present and
    ends a frame (marker bit set, or another timestamp), or ``None`` if there is
    none (no hole, or nothing after it that surely starts a frame).
    """
    capacity = len(slots)
    seen_hole = False
    previous: RtpPacket | None = None
    for offset in range(capacity):
        packet = slots[(origin + offset) % capacity]
        if packet is None:
            seen_hole = True
        elif (
            seen_hole
            and previous is not None
            and (previous.marker or previous.timestamp != packet.timestamp)
        ):
            return offset
        previous = packet
    return None


class StallGuardBuffer(JitterBuffer):
    """See the module docstring."""

    def __init__(
        self,
        capacity: int = VIDEO_CAPACITY,
        *,
        stall_s: float = DEFAULT_STALL_S,
        on_stall: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity, is_video=True)
        self.stall_s = stall_s
        self.on_stall = on_stall
        self.stalls = 0
        self._clock = clock
        self._last_out: float | None = None
        #: RTP timestamps seen since the last frame came out (bounded: 2 suffice).
        self._pending: set[int] = set()
        self._discard_next = False

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        pli, frame = super().add(packet)
        now = self._clock()
        if frame is None and self._last_out is not None and len(self._pending) >= 2:
            if now - self._last_out >= self.stall_s:
                frame = self._skip_hole(packet)
                pli = True
        elif frame is None and self._last_out is None:
            self._last_out = now  # the first packet: the clock starts
        if frame is None:
            if len(self._pending) < 2:
                self._pending.add(packet.timestamp)
            return pli, None
        self._last_out = now
        self._pending = {packet.timestamp}
        if self._discard_next:
            self._discard_next = False
            return pli, None
        return pli, frame

    def _skip_hole(self, packet: RtpPacket) -> JitterFrame | None:
        """Drop everything before the first frame start after the hole; tell the caller.

        Then again while what is left is still blocked by another hole with two
        frames' worth of packets behind it: a link that was overfull for a while
        (a subscriber on a camera layer too big for it) leaves dozens of holes, and
        one skip per ``stall_s`` would keep the picture frozen for as many periods.
        A fresh hole near the newest packets (fewer than two frames behind it) is
        left for retransmission to fill, as aiortc would.
        """
        self.stalls += 1
        self._last_out = self._clock()  # one skip per ``stall_s`` at most
        self._pending = set()
        frame: JitterFrame | None = None
        while frame is None:
            origin = self._origin
            assert origin is not None  # a packet was added just now
            start = frame_start_after_hole(self._packets, origin)
            if start is None:
                self.remove(self.capacity)
                self._origin = None
                self._discard_next = True
                break
            self.remove(start)
            frame = self._remove_frame(packet.sequence_number)
            if frame is None and not self._blocked():
                break
        if self.on_stall is not None:
            self.on_stall()
        return frame

    def _blocked(self) -> bool:
        """Packets of two or more frames wait behind a hole (the stall rule, at once)."""
        origin = self._origin
        if origin is None:
            return False
        stamps: set[int] = set()
        seen_hole = False
        for offset in range(self.capacity):
            packet = self._packets[(origin + offset) % self.capacity]
            if packet is None:
                seen_hole = True
            elif seen_hole:
                stamps.add(packet.timestamp)
                if len(stamps) >= 2:
                    return True
        return False
