"""Pure bitstream inspection: is this encoded frame a keyframe?

The forwarding unit never decodes, but it must know where a subscriber can
start (or restart after dropping frames) and where a slot may switch sources:
only at a frame that does not reference earlier ones. The frames reaching us
are already depayloaded by aiortc (RTP payload descriptor stripped), i.e. the
raw codec bitstream of one frame.
"""

from __future__ import annotations

__all__ = ["is_keyframe"]

_VP8_START_CODE = b"\x9d\x01\x2a"
_H264_KEY_NAL_TYPES = frozenset({5, 7})  # IDR slice, sequence parameter set


def is_vp8_keyframe(frame: bytes) -> bool:
    """VP8 (RFC 6386 section 9.1): P bit (bit 0 of the first byte) is 0 on keyframes.

    Keyframes also carry the start code 9d 01 2a at bytes 3..5; checking it
    guards against taking a truncated or corrupt frame for a keyframe.
    """
    return len(frame) >= 10 and frame[0] & 0x01 == 0 and frame[3:6] == _VP8_START_CODE


def is_h264_keyframe(frame: bytes) -> bool:
    """H.264 in Annex B form (as aiortc depayloads it): contains an IDR slice or SPS."""
    i = 0
    n = len(frame)
    while True:
        i = frame.find(b"\x00\x00\x01", i)
        if i < 0 or i + 3 >= n:
            return False
        if frame[i + 3] & 0x1F in _H264_KEY_NAL_TYPES:
            return True
        i += 3


def is_keyframe(mime_type: str, frame: bytes) -> bool:
    """Whether a subscriber can start decoding at ``frame`` of codec ``mime_type``.

    Audio frames (Opus) are all independent. Unknown video codecs are never
    keyframes, so a slot fed by one waits rather than sending garbage.
    """
    mime = mime_type.lower()
    if mime.startswith("audio/"):
        return True
    if mime == "video/vp8":
        return is_vp8_keyframe(frame)
    if mime == "video/h264":
        return is_h264_keyframe(frame)
    return False
