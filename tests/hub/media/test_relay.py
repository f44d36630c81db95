"""The forwarding unit end to end: real aiortc peers on 127.0.0.1 through SessionRelay."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import av
import pytest
from aiortc import RTCSessionDescription
from av.stream import Stream

from hub.media.exceptions import NegotiationError, RoutingError
from hub.media.relay import RelayMode, RelaySettings, SessionRelay
from hub.media.routing import Role, Slot
from hub.media.tracks import EncodedFrameTrack
from webrtc import aiortc_internals as internals

from .helpers import LEAD_SOURCE, Lesson, wait_until


async def test_lead_and_four_partners_all_decode_through_pass_through(lesson: Lesson) -> None:
    await lesson.join("lead", Role.LEAD)
    partners = [f"p{i}" for i in range(4)]
    for i, pid in enumerate(partners):
        await lesson.join(pid, Role.PARTNER, source=10 + i)
    for pid in partners:
        await wait_until(lesson.sees(pid, Slot.MAIN, LEAD_SOURCE, frames=30), 8, f"{pid} sees lead")
        audio = lesson.peers[pid].slot(Slot.MAIN, "audio")
        await wait_until(lambda: audio.decoded >= 20, 3, f"{pid} hears lead")  # noqa: B023
    stats = lesson.relay.stats()["participants"]
    for pid in partners:
        slot = stats[pid]["slots"]["main/video"]
        assert slot["mode"] == "passthrough" and slot["source"] == "lead"
        assert stats[pid]["slots"]["floor/video"]["out"] == 0  # nobody has the floor


async def test_partner_joining_late_has_video_within_two_seconds(lesson: Lesson) -> None:
    await lesson.join("lead", Role.LEAD)
    await lesson.join("early", Role.PARTNER, source=20)
    await wait_until(lesson.sees("early", Slot.MAIN, LEAD_SOURCE, frames=15), 8, "lesson runs")
    started = time.monotonic()
    await lesson.join("late", Role.PARTNER, source=21)
    took = await wait_until(lesson.sees("late", Slot.MAIN, LEAD_SOURCE), 2.0, "late joiner video")
    assert time.monotonic() - started < 2.0, took


async def test_floor_grant_routes_the_partner_to_lead_and_other_partners(lesson: Lesson) -> None:
    await lesson.join("lead", Role.LEAD)
    for pid, source in (("a", 31), ("b", 32), ("c", 33)):
        await lesson.join(pid, Role.PARTNER, source=source)
    await wait_until(lesson.sees("c", Slot.MAIN, LEAD_SOURCE, frames=10), 8, "lesson runs")

    lesson.relay.set_floor("b")
    for pid in ("lead", "a", "c"):
        await wait_until(lesson.sees(pid, Slot.FLOOR, 32, frames=5), 3, f"{pid} sees b")
    assert lesson.peers["b"].slot(Slot.FLOOR).decoded == 0  # not its own picture
    assert lesson.relay.slot_source("lead", Slot.FLOOR) == "b"
    hears = lesson.peers["lead"].slot(Slot.FLOOR, "audio")
    await wait_until(lambda: hears.decoded >= 10, 2, "lead hears b")

    lesson.relay.set_floor("a")  # the floor moves: switch at a's next keyframe
    for pid in ("lead", "b", "c"):
        await wait_until(lesson.sees(pid, Slot.FLOOR, 31, frames=5), 3, f"{pid} sees a")
    assert lesson.relay.stats()["participants"]["lead"]["slots"]["floor/video"]["dropped"] == 0

    with pytest.raises(RoutingError):
        lesson.relay.set_floor("lead")
    lesson.relay.set_floor(None)
    assert lesson.relay.slot_source("c", Slot.FLOOR) is None


async def test_slow_subscriber_drops_its_own_frames_and_stalls_nobody(lesson: Lesson) -> None:
    await lesson.join("lead", Role.LEAD)
    for pid, source in (("fast1", 41), ("slow", 42), ("fast2", 43)):
        await lesson.join(pid, Role.PARTNER, source=source)
    slow_track = lesson.relay.slot_track("slow", Slot.MAIN, "video")
    assert isinstance(slow_track, EncodedFrameTrack)
    _throttle(slow_track, per_frame=0.2)  # its sender takes 5 frames/s of 30
    await wait_until(lesson.sees("fast2", Slot.MAIN, LEAD_SOURCE, frames=5), 8, "lesson runs")

    def lead_frames() -> int:
        # frames offered to the slots: those the stale-backlog rule skipped for every
        # subscriber alike (a test process too loaded to keep its own lead live) aside
        upstream = lesson.relay._participants["lead"].upstream
        assert upstream is not None
        return upstream.frames["video"] - upstream.lateness["video"].late

    # Measured against what the lead sent in the same window, not against a wall-clock
    # rate: on a loaded machine the source itself slows down, and that is not a stall.
    def handed_out(pid: str) -> int:
        return int(lesson.relay.slot_track(pid, Slot.MAIN, "video").stats.frames_out)

    sent_before = lead_frames()
    # what the hub handed to each fast subscriber's sender: the relay's side of "stalls
    # nobody" (the test peers' decoders share this process's CPU, and on a loaded
    # machine they fall behind for reasons that are not the hub's)
    before = {pid: handed_out(pid) for pid in ("fast1", "fast2")}
    decoded_before = {pid: lesson.peers[pid].slot(Slot.MAIN).decoded for pid in before}
    # the window lasts until the slow queue overflowed (how soon depends on the lead's
    # real rate on this machine) and at least 2 s, so a rate is measured, not a blip
    started = asyncio.get_running_loop().time()
    await wait_until(lambda: slow_track.stats.dropped > 0, 30, "the slow subscriber drops")
    await asyncio.sleep(max(0.0, 2.0 - (asyncio.get_running_loop().time() - started)))
    sent = lead_frames() - sent_before
    assert sent >= 10, f"the lead sent only {sent} frames in 2 s"
    stats = lesson.relay.stats()["participants"]
    for pid, count in before.items():
        got = handed_out(pid) - count
        assert got >= 0.8 * sent, f"{pid} was sent {got} of {sent} frames next to a slow subscriber"
        assert stats[pid]["slots"]["main/video"]["dropped"] == 0
        fast = lesson.peers[pid].slot(Slot.MAIN)
        await wait_until(
            lambda fast=fast, pid=pid: fast.decoded > decoded_before[pid] + 0.5 * sent,
            10,
            f"{pid} decodes what it was sent",
        )
    assert len(slow_track._queue) <= slow_track.capacity
    slow = lesson.peers["slow"].slot(Slot.MAIN)
    # restarted at a keyframe after dropping
    await wait_until(lambda: slow.keyframes >= 2, 10, "the slow subscriber restarts at a keyframe")
    assert slow.patterns_seen.get(LEAD_SOURCE, 0) > 0  # and still decodes


async def test_subscriber_pli_is_forwarded_upstream_as_a_keyframe(lesson: Lesson) -> None:
    await lesson.join("lead", Role.LEAD)
    peer = await lesson.join("p", Role.PARTNER, source=50)
    await wait_until(lesson.sees("p", Slot.MAIN, LEAD_SOURCE, frames=10), 8, "lesson runs")
    await asyncio.sleep(lesson.relay.settings.keyframe_interval)  # let the limiter open
    keyframes = peer.slot(Slot.MAIN).keyframes
    receiver = next(
        t.receiver
        for t in peer.pc.getTransceivers()
        if t.mid is not None
        and t.kind == "video"
        and t.receiver.track is not None
        and t.direction == "recvonly"
    )
    assert await internals.send_pli(receiver)
    await wait_until(lambda: peer.slot(Slot.MAIN).keyframes > keyframes, 2, "keyframe after PLI")


async def test_transcoding_relay_reencodes_for_each_subscriber() -> None:
    lesson = Lesson(SessionRelay("lesson-t", RelaySettings(mode=RelayMode.TRANSCODE)))
    try:
        await lesson.join("lead", Role.LEAD)
        await lesson.join("p", Role.PARTNER, source=60)
        await wait_until(lesson.sees("p", Slot.MAIN, LEAD_SOURCE, frames=10), 10, "p sees lead")
        audio = lesson.peers["p"].slot(Slot.MAIN, "audio")
        await wait_until(lambda: audio.decoded >= 10, 3, "p hears lead")
        slot = lesson.relay.stats()["participants"]["p"]["slots"]["main/video"]
        assert slot["mode"] == "transcode"
    finally:
        await lesson.close()


def _throttle(track: EncodedFrameTrack, per_frame: float) -> None:
    original = track.recv

    async def slow_recv() -> av.Packet[Stream]:
        await asyncio.sleep(per_frame)
        return await original()

    track.recv = slow_recv  # type: ignore[method-assign]


async def test_an_unusable_answer_is_refused_and_the_participant_removed(lesson: Lesson) -> None:
    await lesson.relay.offer("x", Role.PARTNER)
    with pytest.raises(NegotiationError):
        await lesson.relay.answer("x", RTCSessionDescription("v=0\r\n", "answer"))
    assert "x" not in lesson.relay.participants()


async def test_two_layer_lead_each_partner_gets_its_own_layer(lesson: Lesson) -> None:
    """A forced layer change reaches one partner only, at a keyframe, and is reported."""
    changes: list[tuple[str, str, str]] = []
    lesson.relay.add_layer_listener(lambda *change: changes.append(change))
    await lesson.join("lead", Role.LEAD, low=LEAD_SOURCE + 50)
    await lesson.join("slow", Role.PARTNER, source=41)
    await lesson.join("fast", Role.PARTNER, source=42)
    for pid in ("slow", "fast"):
        await wait_until(lesson.sees(pid, Slot.MAIN, LEAD_SOURCE, frames=10), 8, f"{pid} high")
    assert ("slow", "high", "start") in changes and ("fast", "high", "start") in changes

    lesson.relay.force_layer("slow", "low")
    await wait_until(lesson.sees("slow", Slot.MAIN, LEAD_SOURCE + 50, frames=10), 3, "slow low")
    fast = lesson.peers["fast"].slot(Slot.MAIN)
    before = fast.patterns_seen.get(LEAD_SOURCE, 0)
    await wait_until(lambda: fast.patterns_seen.get(LEAD_SOURCE, 0) >= before + 15, 3, "fast")
    assert LEAD_SOURCE + 50 not in fast.patterns_seen
    assert ("slow", "low", "forced") in changes
    stats = lesson.relay.stats()["participants"]
    assert stats["slow"]["layer"]["current"] == "low"
    assert stats["slow"]["layer"]["switches"] == 1
    assert stats["slow"]["slots"]["main/video"]["layer"] == "low"
    assert stats["slow"]["slots"]["main/video"]["source"] == "lead"
    assert stats["fast"]["layer"]["current"] == "high"
    assert stats["lead"]["upstream"]["video_low"] > 0

    lesson.relay.force_layer("slow", "high")
    slow = lesson.peers["slow"].slot(Slot.MAIN)
    await wait_until(lambda: slow.last_pattern is not None and slow.last_pattern[0] == 1, 3, "up")
    assert lesson.relay.stats()["participants"]["slow"]["layer"]["seconds"]["low"] > 0


async def test_a_registered_weak_downlink_starts_on_low(lesson: Lesson) -> None:
    changes: list[tuple[str, str, str]] = []
    lesson.relay.add_layer_listener(lambda *change: changes.append(change))
    await lesson.join("lead", Role.LEAD, low=LEAD_SOURCE + 50)
    await lesson.join("rural", Role.PARTNER, source=61, downlink_kbps=400)
    await wait_until(lesson.sees("rural", Slot.MAIN, LEAD_SOURCE + 50, frames=5), 8, "low")
    assert ("rural", "low", "start") in changes
    assert LEAD_SOURCE not in lesson.peers["rural"].slot(Slot.MAIN).patterns_seen


async def test_a_publisher_losing_its_high_upstream_is_sent_to_everyone_on_low(
    lesson: Lesson,
) -> None:
    """The floor holder's weak uplink: loss on its high upstream as the hub receives it
    (injected into the receiver's statistics) moves every subscriber of it to low."""
    changes: list[tuple[str, str, str]] = []
    lesson.relay.add_layer_listener(lambda *change: changes.append(change))
    await lesson.join("lead", Role.LEAD)
    await lesson.join("weak", Role.PARTNER, source=71, low=72)
    await lesson.join("other", Role.PARTNER, source=73)
    lesson.relay.set_floor("weak")
    await wait_until(lesson.sees("lead", Slot.FLOOR, 71, frames=10), 8, "lead sees weak (high)")

    receiver = lesson.relay._participants["weak"].upstream.receivers["video"]  # type: ignore[union-attr]
    real = receiver.getStats
    lost = {"n": 0}

    async def lossy_stats() -> Any:
        report = await real()
        for stats in report.values():
            if getattr(stats, "type", None) == "inbound-rtp":
                lost["n"] += int(stats.packetsReceived) // 3  # a third lost, cumulative
                stats.packetsLost = lost["n"]
        return report

    receiver.getStats = lossy_stats  # type: ignore[method-assign]
    await wait_until(lambda: ("lead", "low", "uplink") in changes, 8, "uplink judged weak")
    await wait_until(lesson.sees("lead", Slot.FLOOR, 72, frames=5), 5, "lead sees weak's low")
    await wait_until(lesson.sees("other", Slot.FLOOR, 72, frames=5), 5, "other sees it too")
    # the lead's own camera is not affected: the other partner still gets it on high
    assert lesson.relay.stats()["participants"]["other"]["slots"]["main/video"]["layer"] == "high"
