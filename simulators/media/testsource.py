"""Synthetic camera and microphone: a test pattern that says who sent it and when.

Tests and the benchmark need upstreams that cost little CPU, move (so the
encoder produces real delta frames) and can be checked after a trip through
the relay. Each video frame draws, with numpy straight into a YUV 4:2:0
buffer (no colour conversion): the source number and a frame counter in big
block digits that survive VP8 compression, the wall clock, and a moving bar.
``read_pattern`` reads the source number and counter back from a decoded
frame, so a test can tell *whose* video a subscriber sees.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from av import AudioFrame, VideoFrame

__all__ = ["AudioTestSource", "VideoTestSource", "read_pattern", "render_pattern"]

VIDEO_CLOCK_RATE = 90000
AUDIO_RATE = 48000
AUDIO_SAMPLES = 960  # 20 ms, one Opus frame

_FONT = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001001001001",
    "8": "111101111101111",
    "9": "111101111001111",
    ":": "000010000010000",
    ".": "000000000000010",
    " ": "000000000000000",
}
_SCALE = 10  # a glyph is 3x5 cells of 10x10 pixels
_PITCH = 4 * _SCALE  # glyph width plus one empty cell
_ID_ROW = 40
_CLOCK_ROW = 120
_LEFT = 20
_DARK = 16
_LIGHT = 235

U8Array = npt.NDArray[np.uint8]


def _glyph(char: str) -> U8Array:
    bits = np.array([int(b) for b in _FONT[char]], dtype=np.uint8).reshape(5, 3)
    cells = np.where(bits == 1, _LIGHT, _DARK).astype(np.uint8)
    return np.kron(cells, np.ones((_SCALE, _SCALE), dtype=np.uint8))


_GLYPHS = {c: _glyph(c) for c in _FONT}


def _draw_text(y_plane: U8Array, row: int, text: str) -> None:
    for i, char in enumerate(text):
        x = _LEFT + i * _PITCH
        if x + 3 * _SCALE > y_plane.shape[1]:
            return  # small test pictures: the end of the clock is cut off
        y_plane[row : row + 5 * _SCALE, x : x + 3 * _SCALE] = _GLYPHS[char]


def render_pattern(
    source: int, counter: int, width: int = 640, height: int = 480, now: float | None = None
) -> U8Array:
    """One yuv420p picture (shape ``(height * 3 // 2, width)``) of the pattern.

    ``read_pattern`` needs ``width >= 400`` and ``height >= 180``.
    """
    buf = np.empty((height * 3 // 2, width), dtype=np.uint8)
    y_plane = buf[:height]
    y_plane[:] = np.linspace(40, 200, width, dtype=np.uint8)[None, :]
    y_plane[: _CLOCK_ROW + 6 * _SCALE, : _LEFT + 12 * _PITCH] = _DARK
    bar = (counter * 8) % width
    y_plane[height // 2 :, bar : bar + 24] = _LIGHT
    _draw_text(y_plane, _ID_ROW, f"{source % 100:02d} {counter % 1_000_000:06d}")
    stamp = time.time() if now is None else now
    clock = time.strftime("%H:%M:%S", time.localtime(stamp)) + f".{int(stamp * 1000) % 1000:03d}"
    _draw_text(y_plane, _CLOCK_ROW, clock)
    buf[height:] = 128  # neutral chroma: a grey picture
    return buf


def read_pattern(frame: VideoFrame) -> tuple[int, int] | None:
    """Read ``(source, counter)`` back from a decoded pattern frame, or None if unreadable."""
    y_plane = frame.to_ndarray(format="gray")
    text = ""
    for i in range(9):
        x = _LEFT + i * _PITCH
        cells = y_plane[_ID_ROW : _ID_ROW + 5 * _SCALE, x : x + 3 * _SCALE]
        centres = cells[_SCALE // 2 :: _SCALE, _SCALE // 2 :: _SCALE]
        bits = "".join("1" if v > 128 else "0" for v in centres.flatten())
        char = next((c for c, pattern in _FONT.items() if pattern == bits), None)
        if char is None:
            return None
        text += char
    parts = text.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


class VideoTestSource(MediaStreamTrack):
    """A paced 640x480 @ 30 fps video track showing :func:`render_pattern`."""

    kind = "video"

    def __init__(
        self,
        source: int = 0,
        *,
        width: int = 640,
        height: int = 480,
        fps: int = 30,
        noise: bool = False,
    ) -> None:
        super().__init__()
        self.source = source
        #: fill the picture below the digits with fresh noise every frame, so the
        #: encoder uses all the bitrate it may (a camera's worst case)
        self.noise = noise
        self._rng = np.random.default_rng(source)
        self.width = width
        self.height = height
        self.fps = fps
        self.counter = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            due = self._start + self.counter / self.fps
            await asyncio.sleep(max(due - time.monotonic(), 0.0))
        frame = self.frame_at(self.counter)
        self.counter += 1
        return frame

    def frame_at(self, index: int) -> VideoFrame:
        """Frame number ``index`` of this source, unpaced."""
        picture = render_pattern(self.source, index, self.width, self.height)
        if self.noise:
            top = _CLOCK_ROW + 6 * _SCALE + 10
            picture[top : self.height] = self._rng.integers(
                96, 160, (max(self.height - top, 0), self.width), dtype=np.uint8
            )
        frame = VideoFrame.from_ndarray(picture, format="yuv420p")
        frame.pts = index * VIDEO_CLOCK_RATE // self.fps
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        return frame


class AudioTestSource(MediaStreamTrack):
    """A paced 48 kHz mono sine tone in 20 ms frames (pitch set by ``source``)."""

    kind = "audio"

    def __init__(self, source: int = 0) -> None:
        super().__init__()
        self.frequency = 440.0 + 110.0 * (source % 8)
        self.counter = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            due = self._start + self.counter * AUDIO_SAMPLES / AUDIO_RATE
            await asyncio.sleep(max(due - time.monotonic(), 0.0))
        frame = self.frame_at(self.counter)
        self.counter += 1
        return frame

    def frame_at(self, index: int) -> AudioFrame:
        """Frame number ``index`` (20 ms) of this source, unpaced."""
        first = index * AUDIO_SAMPLES
        t = (np.arange(first, first + AUDIO_SAMPLES) / AUDIO_RATE).astype(np.float64)
        wave = (np.sin(2 * math.pi * self.frequency * t) * 8000).astype(np.int16)
        frame = AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = first
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame
