"""Stalled video: a hole that retransmission cannot fill is skipped within ~0.5 s.

Real aiortc peers through ``SessionRelay`` on 127.0.0.1, with a UDP relay of the
test's own spliced into one peer connection (``udprelay``). It drops a few
packets of one video SSRC and every retransmission, so the receiver's jitter
buffer gets a hole that will never fill: aiortc alone would hold every later
frame until 512 more packets arrived (many seconds at these bitrates) before
asking for a keyframe. With the stall guard the receiver skips the hole after
500 ms, sends PLI, and the picture is back within about a second.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCSessionDescription

from hub.media.routing import Role, Slot
from simulators.media.participant import ParticipantPeer
from simulators.media.testsource import AudioTestSource, VideoTestSource
from webrtc import aiortc_internals as internals
from webrtc.stall import StallGuardBuffer

from .helpers import LEAD_SOURCE, Lesson, wait_until
from .udprelay import Direction, UdpRelay, candidate_port, rtx_pair, splice

#: Generous for a loaded machine; aiortc without the guard needs 512 packets (> 8 s).
RECOVERY_BOUND_S = 3.5


class Hole:
    """Drop rule: ``arm(n)`` drops the next ``n`` packets of ``ssrc``; RTX never passes."""

    def __init__(self, ssrc: int, rtx: int) -> None:
        self.ssrc, self.rtx = ssrc, rtx
        self.left = 0

    def arm(self, count: int) -> None:
        self.left = count

    def __call__(self, direction: str, ssrc: int, seq: int) -> bool:
        if ssrc == self.rtx:
            return True
        if ssrc == self.ssrc and self.left > 0:
            self.left -= 1
            return True
        return False


@pytest.fixture
async def udp_relay() -> AsyncIterator[UdpRelay]:
    relay = await UdpRelay().start()
    yield relay
    relay.close()


async def _join_through(
    lesson: Lesson,
    relay: UdpRelay,
    pid: str,
    role: Role,
    source: int,
    *,
    guard_slots: bool = False,
) -> ParticipantPeer:
    """``lesson.join`` with ``relay`` spliced into the participant's connection."""
    width, height = (640, 480) if role is Role.LEAD else (320, 240)
    peer = ParticipantPeer(
        role,
        video=VideoTestSource(source, width=width, height=height),
        audio=AudioTestSource(source),
    )
    lesson.peers[pid] = peer
    offer = await lesson.relay.offer(pid, role)
    relay.hub_addr = ("127.0.0.1", candidate_port(offer.sdp))
    answer = await peer.answer(
        RTCSessionDescription(splice(offer.sdp, relay.peer_side_port), "offer")
    )
    if guard_slots:  # what the classroom node does with every received video
        for transceiver in peer.pc.getTransceivers():
            if transceiver.kind == "video" and transceiver.direction == "recvonly":
                internals.guard_receiver(transceiver.receiver)
    relay.peer_addr = ("127.0.0.1", candidate_port(answer.sdp))
    spliced = RTCSessionDescription(splice(answer.sdp, relay.hub_side_port), "answer")
    await lesson.relay.answer(pid, spliced)
    return peer


async def _recovery_after_hole(lesson: Lesson, hole: Hole, watcher: str) -> float:
    """Arm ``hole``; seconds until ``watcher`` decoded 15 more lead frames."""
    slot = lesson.peers[watcher].slot(Slot.MAIN)
    await wait_until(lesson.sees(watcher, Slot.MAIN, LEAD_SOURCE, frames=20), 10, "lesson runs")
    hole.arm(8)
    await wait_until(lambda: hole.left == 0, 5, "the hole is made")
    started, before = time.monotonic(), slot.decoded
    await wait_until(lambda: slot.decoded >= before + 15, 20, f"{watcher} decodes again")
    return time.monotonic() - started


async def test_hole_in_an_upstream_is_skipped_and_a_keyframe_requested(
    lesson: Lesson, udp_relay: UdpRelay
) -> None:
    lead = await _join_through(lesson, udp_relay, "lead", Role.LEAD, LEAD_SOURCE)
    await lesson.join("p1", Role.PARTNER, source=11)
    await lesson.join("p2", Role.PARTNER, source=12)
    assert lead.pc.localDescription is not None
    hole = Hole(*rtx_pair(lead.pc.localDescription.sdp, "sendonly"))
    udp_relay.drop = hole
    took = await _recovery_after_hole(lesson, hole, "p1")
    print(f"video back {took:.2f} s after the hole")
    upstream = lesson.relay.stats()["participants"]["lead"]["upstream"]
    assert upstream["stalls"] >= 1, upstream
    assert upstream["keyframe_requests"] >= 1, upstream
    assert took < RECOVERY_BOUND_S, f"video back {took:.1f} s after the hole"
    # the other partner recovered as well, and nobody got frames from behind the hole
    p2 = lesson.peers["p2"].slot(Slot.MAIN)
    before = p2.decoded
    await wait_until(lambda: p2.decoded >= before + 10, 5, "p2 keeps decoding")
    assert udp_relay.dropped[Direction.TO_HUB] >= 8


async def test_hole_on_the_way_to_a_partner_is_skipped_by_the_partner(
    lesson: Lesson, udp_relay: UdpRelay
) -> None:
    await lesson.join("lead", Role.LEAD)
    partner = await _join_through(lesson, udp_relay, "p1", Role.PARTNER, 21, guard_slots=True)
    offer = partner.pc.remoteDescription
    assert offer is not None
    hole = Hole(*rtx_pair(offer.sdp, "sendonly"))  # the hub's main video to p1
    udp_relay.drop = hole
    requests_before = lesson.relay.stats()["participants"]["lead"]["upstream"]["keyframe_requests"]
    took = await _recovery_after_hole(lesson, hole, "p1")
    print(f"video back {took:.2f} s after the hole")
    guards = [
        internals._private(t.receiver, internals._JITTER_BUFFER)
        for t in partner.pc.getTransceivers()
        if t.kind == "video" and t.direction == "recvonly"
    ]
    assert any(isinstance(g, StallGuardBuffer) and g.stalls >= 1 for g in guards)
    # the partner's PLI went through the hub to the lead
    upstream = lesson.relay.stats()["participants"]["lead"]["upstream"]
    assert upstream["keyframe_requests"] > requests_before
    assert took < RECOVERY_BOUND_S, f"video back {took:.1f} s after the hole"
