"""Keyframe detection on real VP8 output and on hand-made H.264."""

from __future__ import annotations

import fractions

from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from av import VideoFrame

from simulators.media.testsource import render_pattern
from webrtc.bitstream import is_keyframe


def _vp8_frames(count: int, keyframe_at: int | None = None) -> list[bytes]:
    encoder = Vp8Encoder()
    frames = []
    for i in range(count):
        frame = VideoFrame.from_ndarray(render_pattern(1, i, 400, 240), format="yuv420p")
        frame.pts = i * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=i == keyframe_at)
        frames.append(b"".join(vp8_depayload(p) for p in payloads))
    return frames


def test_vp8_first_and_forced_frames_are_keyframes_others_not() -> None:
    frames = _vp8_frames(6, keyframe_at=4)
    assert [is_keyframe("video/VP8", f) for f in frames] == [True, False, False, False, True, False]


def test_vp8_garbage_is_not_a_keyframe() -> None:
    assert not is_keyframe("video/vp8", b"")
    assert not is_keyframe("video/vp8", b"\x00" * 20)


def test_h264_idr_or_sps_is_a_keyframe() -> None:
    sps = b"\x00\x00\x00\x01\x67\x42"
    idr = b"\x00\x00\x01\x65\x88"
    non_idr = b"\x00\x00\x01\x41\x9a"
    assert is_keyframe("video/H264", sps + idr)
    assert is_keyframe("video/H264", idr)
    assert not is_keyframe("video/H264", non_idr)


def test_audio_frames_are_all_independent_and_unknown_video_never_is() -> None:
    assert is_keyframe("audio/opus", b"\x01")
    assert not is_keyframe("video/AV1", b"\x00" * 20)
