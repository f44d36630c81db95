"""ICE stays on loopback: the SDPs of hub and participant list only 127.0.0.1."""

from __future__ import annotations

import re

import aioice.ice
from aiortc import RTCBundlePolicy

from hub.media.routing import Role
from simulators.media.participant import ParticipantPeer
from webrtc.ice import (
    LOOPBACK,
    restrict_host_addresses,
    restricted_host_addresses,
    rtc_configuration,
)

from .helpers import Lesson


def candidate_addresses(sdp: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^a=candidate:\S+ \d \S+ \d+ (\S+) ", sdp, re.M)}


async def test_offer_and_answer_carry_only_127_0_0_1(lesson: Lesson) -> None:
    offer = await lesson.relay.offer("lead", Role.LEAD)
    participant = ParticipantPeer(Role.LEAD)
    lesson.peers["lead"] = participant
    answer = await participant.answer(offer)
    assert candidate_addresses(offer.sdp) == {"127.0.0.1"}
    assert candidate_addresses(answer.sdp) == {"127.0.0.1"}
    assert "stun" not in offer.sdp.lower()


def test_setting_is_process_wide_and_reversible() -> None:
    assert restricted_host_addresses() == list(LOOPBACK)
    assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
    restrict_host_addresses(None)
    assert restricted_host_addresses() is None
    restrict_host_addresses(["127.0.0.1", "::1"])
    assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses(False, True) == ["::1"]


def test_configuration_has_no_stun_and_bundles_everything() -> None:
    config = rtc_configuration()
    assert config.iceServers == []
    assert config.bundlePolicy is RTCBundlePolicy.MAX_BUNDLE
