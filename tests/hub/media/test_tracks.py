"""Slot track queue logic without a network: start, overflow, switch, idle."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError

from hub.media.tracks import EncodedFrameTrack

KEY, DELTA = True, False


def video(capacity: int = 4) -> tuple[EncodedFrameTrack, list[str]]:
    asked: list[str] = []
    return EncodedFrameTrack(
        "video", 90000, capacity=capacity, on_keyframe_needed=asked.append
    ), asked


async def drain(track: EncodedFrameTrack) -> list[bytes]:
    out = []
    while track._queue:
        out.append(bytes(await track.recv()))
    return out


async def test_video_starts_at_a_keyframe_and_asks_for_one_when_the_sender_starts() -> None:
    track, asked = video()
    track.set_source("lead")
    track.offer("lead", b"d0", 0, DELTA)
    recv = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    assert asked == ["lead"]  # first recv(): the sender started
    track.offer("lead", b"d1", 3000, DELTA)
    track.offer("lead", b"k2", 6000, KEY)
    track.offer("lead", b"d3", 9000, DELTA)
    packet = await asyncio.wait_for(recv, 1)
    assert bytes(packet) == b"k2" and packet.pts == 0
    second = await track.recv()
    assert bytes(second) == b"d3" and second.pts == 3000
    assert second.time_base.denominator == 90000


async def test_overflow_drops_to_the_next_keyframe_and_asks_for_it() -> None:
    track, asked = video(capacity=3)
    track.set_source("lead")
    await asyncio.wait_for(_start(track), 1)
    for i, kind in enumerate([KEY, DELTA, DELTA, DELTA, DELTA, KEY, DELTA]):
        track.offer("lead", f"f{i}".encode(), i * 3000, kind)
    assert asked == ["lead", "lead", "lead"]  # started, overflow at f3, unusable f4
    assert await drain(track) == [b"f5", b"f6"]
    assert track.stats.dropped == 4


async def test_audio_overflow_drops_oldest_only() -> None:
    track = EncodedFrameTrack("audio", 48000, capacity=2)
    track.set_source("lead")
    for i in range(4):
        track.offer("lead", f"a{i}".encode(), i * 960, KEY)
    assert await drain(track) == [b"a2", b"a3"]


async def test_floor_switch_waits_for_the_new_sources_keyframe() -> None:
    track, asked = video(capacity=10)
    track.set_source("a")
    await asyncio.wait_for(_start(track), 1)
    track.offer("a", b"a-key", 1000, KEY)
    track.set_source("b")
    assert track.pending_source == "b" and asked[-1] == "b"
    track.offer("b", b"b-delta", 50_000, DELTA)  # ignored: not decodable alone
    track.offer("a", b"a-delta", 4000, DELTA)  # old source still plays
    track.offer("b", b"b-key", 53_000, KEY)  # switch here
    track.offer("a", b"a-late", 7000, DELTA)  # ignored from now on
    packets = [await track.recv() for _ in range(3)]
    assert [bytes(p) for p in packets] == [b"a-key", b"a-delta", b"b-key"]
    assert track.source == "b" and track.stats.switches == 1
    stamps = [p.pts or 0 for p in packets]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3


async def test_idle_slot_clears_and_stop_ends_recv() -> None:
    track, _ = video()
    track.set_source("a")
    track.offer("a", b"k", 0, KEY)
    track.set_source(None)
    track.offer("a", b"k2", 3000, KEY)
    assert not track._queue
    waiting = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    track.stop()
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(waiting, 1)


async def _start(track: EncodedFrameTrack) -> None:
    """Make the track believe its sender started pulling (first recv)."""
    track.offer(track.source or "", b"", 0, False)
    task = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    task.cancel()
