"""Slot tracks: what the hub's sender for one subscriber slot reads from.

A slot track has its own small queue, filled by the upstream it currently
follows and drained by one aiortc sender. Filling never blocks and never
waits for a subscriber, so one slow subscriber only loses frames from its own
queue and never holds up the upstream or the other subscribers.

``EncodedFrameTrack`` (pass-through) yields ``av.Packet`` objects, which
aiortc's sender packetises without re-encoding (see ``aiortc_internals``).
It starts on a keyframe, drops to the next keyframe when its queue
overflows, and switches source (floor moves) at the new source's first
keyframe, asking for one through ``on_keyframe_needed``.

``DecodedFrameTrack`` (re-encoding) yields decoded frames that the sender
encodes again for this subscriber alone: the baseline the benchmark compares
against, and the fallback for a subscriber whose codec differs from the
upstream's.

Both rewrite timestamps onto one continuous timeline per slot
(:class:`~hub.media.timing.TimestampRebaser`) so that a source switch never
makes the subscriber's RTP timestamps jump backwards.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import Generic, TypeVar

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame
from av.frame import Frame
from av.stream import Stream

from hub.media.timing import TimestampRebaser
from webrtc.aiortc_internals import encoded_packet

__all__ = ["DecodedFrameTrack", "EncodedFrameTrack", "SlotStats", "SlotTrack"]

T = TypeVar("T")
KeyframeNeeded = Callable[[str], None]


class SlotStats:
    """Counters of one slot track (frames taken in, handed to the sender, dropped)."""

    __slots__ = ("dropped", "frames_in", "frames_out", "switches")

    def __init__(self) -> None:
        self.frames_in = 0
        self.frames_out = 0
        self.dropped = 0
        self.switches = 0


class SlotTrack(MediaStreamTrack, Generic[T]):
    """Bounded, switchable queue of frames from one upstream at a time."""

    def __init__(
        self,
        kind: str,
        clock_rate: int,
        *,
        capacity: int,
        on_keyframe_needed: KeyframeNeeded | None = None,
        switch_at_keyframe: bool = False,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.clock_rate = clock_rate
        self.capacity = capacity
        self.stats = SlotStats()
        self._on_keyframe_needed = on_keyframe_needed
        self._switch_at_keyframe = switch_at_keyframe
        self._queue: deque[tuple[T, int]] = deque()
        self._wakeup = asyncio.Event()
        self._rebaser = TimestampRebaser(clock_rate)
        self._source: str | None = None
        self._pending: str | None = None
        self._need_keyframe = switch_at_keyframe
        self._started = False

    @property
    def source(self) -> str | None:
        """The upstream whose frames this slot currently sends."""
        return self._source

    @property
    def pending_source(self) -> str | None:
        """The upstream this slot switches to at its next keyframe, if any."""
        return self._pending

    def set_source(self, source: str | None, *, at_once: bool = False) -> None:
        """Follow ``source`` from now on (None: go idle).

        With ``switch_at_keyframe`` and a current source, the old source keeps
        playing until the new one delivers a keyframe, so subscribers never
        see a broken picture at a floor change. ``at_once``: stop the old
        source now and wait for the new one's keyframe without it (a move to
        the low layer: the old one is what congests the subscriber's link).
        """
        if source == self._source and self._pending is None:
            return
        if at_once and source is not None:
            self._queue.clear()
            self._source, self._pending = source, None
            self._rebaser.switch()
            self._need_keyframe = self._switch_at_keyframe
            self.stats.switches += 1
            self._ask_keyframe(source)
            return
        if source is None:
            self._source = self._pending = None
            self._queue.clear()
            return
        if self._switch_at_keyframe and self._source is not None:
            self._pending = source if source != self._source else None
        else:
            self._source, self._pending = source, None
            self._rebaser.switch()
            self._need_keyframe = self._switch_at_keyframe
        self._ask_keyframe(source)

    def offer(self, source: str, item: T, timestamp: int, keyframe: bool) -> None:
        """Take a frame from upstream ``source`` if this slot wants it. Never blocks."""
        if source == self._pending:
            if not keyframe:
                # Ask again on every frame we cannot use: the relay's limiter
                # turns this into at most one PLI per interval, and a lost PLI
                # (it is UDP) is simply repeated.
                self._ask_keyframe(source)
                return
            self._source, self._pending = source, None
            self._rebaser.switch()
            self._need_keyframe = False
            self.stats.switches += 1
        elif source != self._source:
            return
        elif self._need_keyframe:
            if not keyframe:
                self._ask_keyframe(source)
                return
            self._need_keyframe = False
        self.stats.frames_in += 1
        if len(self._queue) >= self.capacity:
            if self._switch_at_keyframe:
                # Every queued frame depends on the one before: drop them all
                # and restart at a keyframe rather than send a broken picture.
                self.stats.dropped += len(self._queue)
                self._queue.clear()
                if not keyframe:
                    self.stats.dropped += 1
                    self._need_keyframe = True
                    self._ask_keyframe(source)
                    return
            else:
                self._queue.popleft()
                self.stats.dropped += 1
        self._queue.append((item, self._rebaser.rebase(timestamp, time.monotonic())))
        self._wakeup.set()

    def restart_at_keyframe(self, source: str) -> None:
        """``source`` skipped frames (a stall): send nothing more of it until a keyframe.

        Frames queued before the hole stay; the ones after it refer to pictures that
        never arrived, and would show a broken picture until the next keyframe.
        """
        if self._switch_at_keyframe and source == self._source:
            self._need_keyframe = True
            self._ask_keyframe(source)

    def _ask_keyframe(self, source: str) -> None:
        if self._started and self._on_keyframe_needed is not None:
            self._on_keyframe_needed(source)

    async def _next(self) -> tuple[T, int]:
        if not self._started:
            # The sender has started pulling: now a keyframe is useful.
            self._started = True
            if self._need_keyframe and self._source is not None:
                self._ask_keyframe(self._source)
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._wakeup.clear()
            await self._wakeup.wait()
        if self.readyState != "live":
            raise MediaStreamError
        self.stats.frames_out += 1
        return self._queue.popleft()

    def stop(self) -> None:
        super().stop()
        self._queue.clear()
        self._wakeup.set()


class EncodedFrameTrack(SlotTrack[bytes]):
    """Pass-through slot: yields encoded frames as ``av.Packet`` for the sender to pack."""

    def __init__(
        self,
        kind: str,
        clock_rate: int,
        *,
        capacity: int | None = None,
        on_keyframe_needed: KeyframeNeeded | None = None,
    ) -> None:
        super().__init__(
            kind,
            clock_rate,
            capacity=capacity or (30 if kind == "video" else 25),
            on_keyframe_needed=on_keyframe_needed,
            switch_at_keyframe=kind == "video",
        )

    async def recv(self) -> av.Packet[Stream]:
        data, timestamp = await self._next()
        return encoded_packet(data, timestamp, self.clock_rate)


class DecodedFrameTrack(SlotTrack[Frame]):
    """Re-encoding slot: yields decoded frames that this slot's sender encodes again."""

    def __init__(self, kind: str, clock_rate: int, *, capacity: int = 2) -> None:
        super().__init__(kind, clock_rate, capacity=capacity)

    async def recv(self) -> Frame:
        shared, timestamp = await self._next()
        # The decoded frame is shared by every re-encoding slot of the source and
        # each sender sets pts (and may force a keyframe) while encoding in a
        # thread: give each slot its own copy.
        frame = _copy_frame(shared)
        frame.pts = timestamp
        frame.time_base = Fraction(1, self.clock_rate)
        return frame


def _copy_frame(frame: Frame) -> Frame:
    if isinstance(frame, VideoFrame):
        return VideoFrame.from_ndarray(frame.to_ndarray(format="yuv420p"), format="yuv420p")
    if isinstance(frame, AudioFrame):
        copy = AudioFrame.from_ndarray(
            frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name
        )
        copy.sample_rate = frame.sample_rate
        return copy
    raise TypeError(f"cannot copy {type(frame).__name__}")
