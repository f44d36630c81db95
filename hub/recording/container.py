"""Write encoded frames into a WebM file with PyAV, without decoding them.

The relay hands over frames exactly as the sender encoded them (VP8 pictures,
Opus packets, RTP payload headers already stripped), which is what a WebM
(Matroska) block holds. So recording is muxing only: no decoder, no encoder, a
few system calls per frame. What a muxer needs that the frames do not say, the
writer fills in: the picture size (read from the first VP8 keyframe's header,
RFC 6386 section 9.1) and Opus's ``OpusHead`` codec private data (RFC 7845
section 5.1), which players such as Chromium require.

Times are in milliseconds on the file's own timeline (``hub.recording.clock``),
WebM's native time base. One ``WebmWriter`` per file, used from one thread.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from hub.recording.exceptions import RecordingError

__all__ = ["SUPPORTED", "WebmWriter", "opus_head", "vp8_size"]

#: Codecs a WebM file can hold, by the relay's MIME type.
SUPPORTED = {"video/vp8": "vp8", "audio/opus": "opus"}
_MS = Fraction(1, 1000)
_VP8_START_CODE = b"\x9d\x01\x2a"


def vp8_size(keyframe: bytes) -> tuple[int, int]:
    """``(width, height)`` from a VP8 keyframe header (14 bits each, little-endian)."""
    if len(keyframe) < 10 or keyframe[0] & 1 or keyframe[3:6] != _VP8_START_CODE:
        raise RecordingError("not a VP8 keyframe")
    width, height = struct.unpack_from("<HH", keyframe, 6)
    return width & 0x3FFF, height & 0x3FFF


def opus_head(channels: int = 2, pre_skip: int = 0, rate: int = 48_000) -> bytes:
    """The 19-byte ``OpusHead`` of a channel-mapping-family-0 Opus stream."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, rate, 0, 0)


class WebmWriter:
    """One WebM file: a video stream (VP8) and/or an audio stream (Opus), muxed as given.

    The video stream is created from the first keyframe (its size is needed), so
    the caller must start video on a keyframe; audio may start any time after
    the file is open. ``close()`` writes the index and the duration.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bytes_written = 0
        try:
            self._out: Any = av.open(str(path), mode="w", format="webm")
        except (av.FFmpegError, OSError) as exc:
            raise RecordingError(f"cannot create {path}: {exc}") from exc
        self._streams: dict[str, Any] = {}
        self._header_written = False
        self._closed = False

    def add_video(self, keyframe: bytes, rate: int = 30) -> None:
        width, height = vp8_size(keyframe)
        stream = self._out.add_stream("vp8", rate=rate)
        stream.width, stream.height = width, height
        stream.time_base = _MS
        self._streams["video"] = stream

    def add_audio(self, channels: int = 2) -> None:
        stream = self._out.add_stream("opus", rate=48_000)
        stream.codec_context.extradata = opus_head(channels)
        stream.time_base = _MS
        self._streams["audio"] = stream

    def has(self, kind: str) -> bool:
        return kind in self._streams

    def write(self, kind: str, data: bytes, media_ms: int, keyframe: bool) -> None:
        """Mux one encoded frame at ``media_ms``; ``RecordingError`` (or ``OSError``) if
        the file cannot take it (disk full)."""
        stream = self._streams[kind]
        packet = av.Packet(data)
        packet.pts = packet.dts = media_ms
        packet.time_base = _MS
        packet.stream = stream
        packet.is_keyframe = keyframe
        try:
            self._out.mux(packet)
        except av.FFmpegError as exc:
            raise RecordingError(f"{self.path.name}: {exc}") from exc
        self.bytes_written += len(data)

    def close(self) -> None:
        """Finish the file (index, duration); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._out.close()
        except (av.FFmpegError, OSError) as exc:
            raise RecordingError(f"{self.path.name}: {exc}") from exc
