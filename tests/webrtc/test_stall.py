"""The stall guard's rule with made-up packets and a made-up clock (no sockets)."""

from __future__ import annotations

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

from webrtc.stall import StallGuardBuffer, frame_start_after_hole

PACKETS_PER_FRAME = 3
FRAME_TICKS = 3000  # 30 fps at 90 kHz


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def packet(seq: int) -> RtpPacket:
    """Packet ``seq`` of a stream of 3-packet frames (marker on each frame's last)."""
    frame, index = divmod(seq, PACKETS_PER_FRAME)
    p = RtpPacket(
        payload_type=96,
        sequence_number=seq % 65536,
        timestamp=(frame * FRAME_TICKS) % 2**32,
        marker=int(index == PACKETS_PER_FRAME - 1),
    )
    p._data = bytes([frame % 256, index])  # type: ignore[attr-defined]
    return p


class Feed:
    """Packets 0, 1, 2, ... one frame per 33 ms, some of them lost."""

    def __init__(self, guard: StallGuardBuffer, clock: Clock) -> None:
        self.guard, self.clock = guard, clock
        self.seq = 0
        self.frames: list[JitterFrame] = []
        self.plis = 0

    def send(self, count: int, *, lose: set[int] | None = None) -> None:
        for _ in range(count):
            if self.seq % PACKETS_PER_FRAME == 0:
                self.clock.now += 1 / 30
            if self.seq not in (lose or set()):
                pli, frame = self.guard.add(packet(self.seq))
                self.plis += pli
                if frame is not None:
                    self.frames.append(frame)
            self.seq += 1


def test_steady_stream_yields_every_frame_and_no_stall() -> None:
    clock = Clock()
    feed = Feed(StallGuardBuffer(stall_s=0.5, clock=clock), clock)
    feed.send(300)
    assert len(feed.frames) == 99  # the last frame waits for the next one's first packet
    assert feed.guard.stalls == 0 and feed.plis == 0


def test_a_hole_is_skipped_after_half_a_second_and_pli_asked() -> None:
    clock = Clock()
    stalls: list[float] = []
    guard = StallGuardBuffer(stall_s=0.5, clock=clock, on_stall=lambda: stalls.append(clock.now))
    feed = Feed(guard, clock)
    feed.send(30)
    out_before = len(feed.frames)
    hole_at = clock.now
    feed.send(60, lose={31})  # the middle packet of frame 10 never comes
    assert guard.stalls == 1 and feed.plis >= 1
    assert 0.5 <= stalls[0] - hole_at <= 0.6  # half a second, not 512 packets
    # frames after the hole come out again, starting at a frame boundary, whole
    after = feed.frames[out_before:]
    assert after, "no frame after the hole"
    assert all(f.data[1:2] == b"\x00" for f in after)  # every frame starts at packet 0
    assert len({f.timestamp for f in after}) == len(after)
    assert FRAME_TICKS * 10 not in {f.timestamp for f in after}  # the broken frame is gone


def test_slow_source_is_not_a_stall() -> None:
    """One frame a second (a still screen): no frame out for 1 s, but no hole either."""
    clock = Clock()
    guard = StallGuardBuffer(stall_s=0.5, clock=clock)
    frames = 0
    for seq in range(30):
        if seq % PACKETS_PER_FRAME == 0:
            clock.now += 1.0
        _, frame = guard.add(packet(seq))
        frames += frame is not None
    assert guard.stalls == 0 and frames == 9


def test_hole_with_no_known_frame_start_drops_all_and_the_first_partial_frame() -> None:
    clock = Clock()
    guard = StallGuardBuffer(stall_s=0.5, clock=clock)
    feed = Feed(guard, clock)
    feed.send(9)
    # lose every other packet: nothing after the hole is known to start a frame
    feed.send(60, lose=set(range(9, 69, 2)))
    assert guard.stalls >= 1
    n = len(feed.frames)
    feed.send(90)  # clean again: within another stall period frames flow
    assert len(feed.frames) > n + 10
    assert all(f.data[1:2] == b"\x00" for f in feed.frames[n:])


def test_frame_start_after_hole_needs_a_known_frame_end_before_it() -> None:
    ring: list[RtpPacket | None] = [None] * 16
    for seq in (0, 1, 4, 5, 6, 7):
        ring[seq] = packet(seq)
    # 2, 3 missing; 4 follows a hole (its predecessor unknown); 6 follows 5 (marker)
    assert frame_start_after_hole(ring, 0) == 6
    assert frame_start_after_hole([packet(0), packet(1), packet(2), None], 0) is None


def test_many_holes_are_skipped_at_once_but_a_fresh_one_is_left_to_retransmission() -> None:
    """An overfull link leaves a hole in every few frames: one skip goes past them all."""
    clock = Clock()
    guard = StallGuardBuffer(stall_s=0.5, clock=clock)
    feed = Feed(guard, clock)
    feed.send(30)
    # 20 frames with a lost packet each (the middle one), then two clean frames
    feed.send(60, lose={30 + 3 * i + 1 for i in range(20)})
    stalls_then, out_then = guard.stalls, len(feed.frames)
    feed.send(6)
    clock.now += 0.6
    feed.send(3)  # the stall is noticed on this packet: every blocking hole goes
    assert guard.stalls == stalls_then + 1
    assert len(feed.frames) > out_then
    n = len(feed.frames)
    feed.send(30)  # and frames flow at once, without waiting for more stall periods
    assert len(feed.frames) >= n + 9
