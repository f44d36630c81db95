"""The private aiortc internals the relay depends on, exercised on real peer connections.

If this file fails after an aiortc upgrade, webrtc/aiortc_internals.py must be
re-checked against the new aiortc before the relay can be trusted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from itertools import pairwise

import pytest
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCRtpSender,
)
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from av import VideoFrame

from simulators.media.testsource import AudioTestSource, VideoTestSource
from webrtc import aiortc_internals as internals
from webrtc.bitstream import is_keyframe
from webrtc.exceptions import InternalsChangedError
from webrtc.ice import rtc_configuration

from .helpers import wait_until

Frames = list[tuple[str, bytes, int]]


class PacketTrack(MediaStreamTrack):
    """Yields pre-encoded frames as av.Packet, paced at the frames' own rate."""

    def __init__(self, kind: str, frames: list[bytes], step: int, clock_rate: int) -> None:
        super().__init__()
        self.kind = kind
        self.frames = frames
        self.step = step
        self.clock_rate = clock_rate
        self.index = 0

    async def recv(self):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.step / self.clock_rate)
        data = self.frames[self.index % len(self.frames)]
        packet = internals.encoded_packet(data, self.index * self.step, self.clock_rate)
        self.index += 1
        return packet


class Pair:
    """One sending and one receiving peer connection, the receiver tapped."""

    def __init__(self) -> None:
        self.tx = RTCPeerConnection(rtc_configuration())
        self.rx = RTCPeerConnection(rtc_configuration())
        self.frames: Frames = []
        self.taps: dict[str, internals.ReceiverTap] = {}
        self.receivers: dict[str, RTCRtpReceiver] = {}
        self.senders: dict[str, RTCRtpSender] = {}

    async def connect(self, *tracks: MediaStreamTrack, decode: bool = False) -> None:
        for track in tracks:
            self.senders[track.kind] = self.tx.addTransceiver(track, direction="sendonly").sender

        @self.rx.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            # The documented moment: in the track event, before receive() runs.
            receiver = next(r for r in self.rx.getReceivers() if r.track is track)
            self.receivers[track.kind] = receiver
            self.taps[track.kind] = internals.tap_receiver(
                receiver, self._record(track.kind), decode=decode
            )

        await self.tx.setLocalDescription(await self.tx.createOffer())
        await self.rx.setRemoteDescription(self.tx.localDescription)
        await self.rx.setLocalDescription(await self.rx.createAnswer())
        await self.tx.setRemoteDescription(self.rx.localDescription)

    def _record(self, kind: str) -> internals.FrameCallback:
        def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
            self.frames.append((codec.mimeType, frame.data, frame.timestamp))

        return on_frame

    def of(self, mime: str) -> Frames:
        return [f for f in self.frames if f[0] == mime]

    async def close(self) -> None:
        await self.tx.close()
        await self.rx.close()


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    p = Pair()
    try:
        yield p
    finally:
        await p.close()


def test_class_level_internals_exist() -> None:
    internals.check_internals()


async def test_tap_gets_encoded_frames_with_codec_clock_timestamps(pair: Pair) -> None:
    await pair.connect(VideoTestSource(3, width=400, height=240), AudioTestSource(3))
    await wait_until(lambda: len(pair.of("video/VP8")) >= 10, 5, "10 VP8 frames tapped")
    await wait_until(lambda: len(pair.of("audio/opus")) >= 10, 5, "10 Opus frames tapped")
    video = pair.of("video/VP8")
    assert is_keyframe("video/VP8", video[0][1])
    assert not any(is_keyframe("video/VP8", f[1]) for f in video[1:5])
    # 30 fps at 90 kHz, 20 ms at 48 kHz: the receiver's timestamps start at 0.
    # (aiortc's encode path rounds pts through the encoder's time base: +-1.)
    assert video[0][2] == 0
    assert {b[2] - a[2] for a, b in pairwise(video)} <= {2999, 3000, 3001}
    audio = pair.of("audio/opus")
    assert {b[2] - a[2] for a, b in pairwise(audio[:10])} == {960}


async def test_decoding_stays_off_until_asked_then_track_yields_frames(pair: Pair) -> None:
    await pair.connect(VideoTestSource(4, width=400, height=240))
    await wait_until(lambda: len(pair.frames) >= 5, 5, "frames tapped")
    track = pair.receivers["video"].track
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(track.recv(), 0.3)
    pair.taps["video"].decode = True
    await internals.send_pli(pair.receivers["video"])  # decoder must start on a keyframe
    frame = await asyncio.wait_for(track.recv(), 3)
    assert isinstance(frame, VideoFrame)


async def test_sender_packs_av_packets_unchanged_with_right_timestamps(pair: Pair) -> None:
    vp8 = _encode_vp8(12)
    opus = _encode_opus(12)
    await pair.connect(
        PacketTrack("video", vp8, 3000, 90000), PacketTrack("audio", opus, 960, 48000)
    )
    await wait_until(lambda: len(pair.of("video/VP8")) >= 8, 5, "packed VP8 frames arrive")
    await wait_until(lambda: len(pair.of("audio/opus")) >= 8, 5, "packed Opus frames arrive")
    video = pair.of("video/VP8")
    assert [f[1] for f in video[:8]] == vp8[:8]  # bit-exact: packed, not re-encoded
    assert [f[2] for f in video[:8]] == [i * 3000 for i in range(8)]
    audio = pair.of("audio/opus")
    assert [f[1] for f in audio[:8]] == opus[:8]
    assert [f[2] for f in audio[:8]] == [i * 960 for i in range(8)]


async def test_pli_reaches_the_hooked_sender_and_not_the_encoder(pair: Pair) -> None:
    await pair.connect(PacketTrack("video", _encode_vp8(6), 3000, 90000))
    await wait_until(lambda: len(pair.frames) >= 3, 5, "frames flow")
    requested = asyncio.Event()
    internals.on_keyframe_request(pair.senders["video"], requested.set)
    assert await internals.send_pli(pair.receivers["video"])
    await asyncio.wait_for(requested.wait(), 2)


async def test_tapping_a_started_receiver_fails_loudly(pair: Pair) -> None:
    await pair.connect(VideoTestSource(5, width=400, height=240))
    await wait_until(lambda: len(pair.frames) >= 1, 5, "frames flow")
    with pytest.raises(InternalsChangedError):
        internals.tap_receiver(pair.receivers["video"], lambda codec, frame: None)


async def test_negotiated_codec_is_read_from_the_transceiver() -> None:
    pc = RTCPeerConnection(rtc_configuration())
    transceiver = pc.addTransceiver("video")
    assert internals.negotiated_codec(transceiver) is None


def _encode_vp8(count: int) -> list[bytes]:
    encoder = Vp8Encoder()
    out = []
    source = VideoTestSource(2, width=400, height=240)
    for i in range(count):
        payloads, _ = encoder.encode(source.frame_at(i))
        out.append(b"".join(vp8_depayload(p) for p in payloads))
    return out


def _encode_opus(count: int) -> list[bytes]:
    encoder = OpusEncoder()
    source = AudioTestSource(2)
    out: list[bytes] = []
    for frame in (source.frame_at(i) for i in range(count + 4)):
        payloads, _ = encoder.encode(frame)
        out.extend(payloads)
    return out[:count]


async def test_sender_feedback_preset_bitrate_remb_cap_and_single_retransmission(
    pair: Pair,
) -> None:
    """Internals 5-7 on a real sender: receiver reports and REMB reach the callback,
    the encoder starts at the preset bitrate and a REMB never raises it above the cap,
    and a packet is resent once however often it is NACKed."""
    source = VideoTestSource(8, width=400, height=240)
    sender = pair.tx.addTransceiver(source, direction="sendonly").sender
    pair.senders["video"] = sender
    feedback: list[tuple[float | None, float | None, tuple[int, ...]]] = []
    internals.on_receiver_feedback(sender, lambda *f: feedback.append(f))
    internals.preset_bitrate(sender, 300_000)
    internals.cap_remb(sender, 300_000)
    resent: list[int] = []
    original = sender._retransmit

    async def counting(seq: int) -> None:
        resent.append(seq)
        await original(seq)

    sender._retransmit = counting  # type: ignore[method-assign]
    internals.retransmit_once(sender)
    await pair.connect()
    await wait_until(lambda: len(pair.frames) >= 5, 8, "frames flow")
    encoder = sender._RTCRtpSender__encoder  # type: ignore[attr-defined]
    assert isinstance(encoder, Vp8Encoder) and encoder.target_bitrate == 300_000
    await wait_until(lambda: any(f[0] is not None for f in feedback), 8, "a receiver report")
    await wait_until(lambda: any(f[1] is not None for f in feedback), 8, "a REMB")
    await asyncio.sleep(1.0)
    assert encoder.target_bitrate <= 300_000  # whatever the REMBs said, the cap held
    for _ in range(3):
        await sender._retransmit(5)
    assert resent.count(5) == 1
