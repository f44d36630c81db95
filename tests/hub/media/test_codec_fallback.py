"""Codec fallback: a subscriber that cannot take the session codec gets a re-encoded slot.

Real aiortc peers on 127.0.0.1 through a pass-through ``SessionRelay`` whose
session codec is VP8: the lead sends VP8, one partner answers VP8 (pass-through)
and one partner's answer accepts only H264 for its video slots. The H264
partner must decode the lead's picture, the relay must report its video slots
as re-encoded, and the VP8 partner must stay on pass-through.
"""

from __future__ import annotations

from aiortc import RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver
from aiortc.sdp import SessionDescription

from hub.media.routing import Role, Slot, media_layout
from simulators.media.participant import ParticipantPeer
from simulators.media.testsource import AudioTestSource, VideoTestSource
from webrtc import aiortc_internals as internals

from .helpers import LEAD_SOURCE, Lesson, wait_until

H264 = "video/H264"
VP8 = "video/VP8"


def _restrict_slot_video_to_h264(pc: RTCPeerConnection, role: Role) -> None:
    """Make ``pc`` answer only H264 on the video slots of the hub's offer.

    aiortc settles the answer's codecs inside ``setRemoteDescription``, filtered
    by the preferences of the transceiver the offer's m-line lands on; a
    transceiver it creates there has none, and ``setCodecPreferences`` after it
    does not change the answer. So the transceivers are created beforehand, in
    layout order (aiortc gives each m-line the first unassigned transceiver of
    its kind), with H264 as the only video codec of the slot lines. Upstream
    lines keep the defaults: the hub offers only VP8 there.
    """
    h264 = [
        c
        for c in RTCRtpSender.getCapabilities("video").codecs
        if c.mimeType.lower() in (H264.lower(), "video/rtx")
    ]
    for line in media_layout(role):
        transceiver = pc.addTransceiver(
            line.kind, direction="recvonly" if line.slot is not None else "sendonly"
        )
        if line.slot is not None and line.kind == "video":
            transceiver.setCodecPreferences(h264)


async def _join_h264_only(lesson: Lesson, pid: str, source: int) -> ParticipantPeer:
    video = VideoTestSource(source, width=400, height=240)
    peer = ParticipantPeer(Role.PARTNER, video=video, audio=AudioTestSource(source))
    lesson.peers[pid] = peer
    offer = await lesson.relay.offer(pid, Role.PARTNER)
    _restrict_slot_video_to_h264(peer.pc, Role.PARTNER)
    answer = await peer.answer(offer)
    for line, media in zip(
        media_layout(Role.PARTNER), SessionDescription.parse(answer.sdp).media, strict=True
    ):
        if line.slot is not None and line.kind == "video":  # the answer really refuses VP8
            assert {c.mimeType.lower() for c in media.rtp.codecs} <= {H264.lower(), "video/rtx"}
    await lesson.relay.answer(pid, answer)
    return peer


def _slot_video_codecs(peer: ParticipantPeer) -> dict[Slot, str]:
    """The codec each video slot of ``peer`` negotiated (participant side)."""
    transceivers: list[RTCRtpTransceiver] = peer.pc.getTransceivers()
    out = {}
    for transceiver, line in zip(transceivers, media_layout(peer.role), strict=True):
        if line.slot is not None and line.kind == "video":
            codec = internals.negotiated_codec(transceiver)
            assert codec is not None
            out[line.slot] = codec.mimeType
    return out


async def test_h264_only_partner_gets_reencoded_video_vp8_partner_stays_pass_through(
    lesson: Lesson,
) -> None:
    assert lesson.relay.settings.video_codec == VP8
    await lesson.join("lead", Role.LEAD)
    vp8 = await lesson.join("vp8", Role.PARTNER, source=70)
    h264 = await _join_h264_only(lesson, "h264", source=71)

    assert _slot_video_codecs(vp8) == {Slot.MAIN: VP8, Slot.FLOOR: VP8, Slot.SCREEN: VP8}
    assert _slot_video_codecs(h264) == {Slot.MAIN: H264, Slot.FLOOR: H264, Slot.SCREEN: H264}

    # Both decode the lead's own numbered pattern.
    await wait_until(lesson.sees("vp8", Slot.MAIN, LEAD_SOURCE, frames=20), 8, "vp8 sees lead")
    await wait_until(lesson.sees("h264", Slot.MAIN, LEAD_SOURCE, frames=20), 8, "h264 sees lead")
    # ... and keep decoding: the re-encoded stream does not stall after its start.
    got = h264.slot(Slot.MAIN)
    before = got.decoded
    await wait_until(lambda: got.decoded >= before + 30, 5, "h264 keeps decoding")
    audio = h264.slot(Slot.MAIN, "audio")  # audio stays Opus, forwarded as-is
    await wait_until(lambda: audio.decoded >= 10, 3, "h264 partner hears lead")

    stats = lesson.relay.stats()["participants"]
    for slot in ("main/video", "floor/video"):
        assert stats["h264"]["slots"][slot]["mode"] == "transcode", slot
        assert stats["vp8"]["slots"][slot]["mode"] == "passthrough", slot
    assert stats["lead"]["slots"]["floor/video"]["mode"] == "passthrough"
    for pid in ("h264", "vp8"):
        assert stats[pid]["slots"]["main/audio"]["mode"] == "passthrough", pid
        assert stats[pid]["slots"]["main/video"]["source"] == "lead", pid
        assert stats[pid]["slots"]["main/video"]["out"] > 0, pid
