"""A synthetic camera and microphone for nodes without (or before) real devices.

The picture shows a frame counter, the wall clock and (when set) the slide
number in large block digits over a moving bar, so a viewer (or a test) sees at
a glance that video is live, how late it is, and whether frames are missing;
the tone is a quiet sine. Drawing is pure numpy straight into a YUV 4:2:0
buffer (no colour conversion), cheap enough for a classroom box.
``read_counter`` and ``read_slide`` read the counter and the slide back from a
decoded frame (the recording tests check the slide shown at each slide change).
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

__all__ = [
    "PatternAudioTrack",
    "PatternVideoTrack",
    "draw_pattern",
    "read_counter",
    "read_slide",
]

U8 = npt.NDArray[np.uint8]

# 3x5 block digits, row by row
_DIGITS = {
    "0": "111101101101111", "1": "110010010010111", "2": "111001111100111",
    "3": "111001011001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001010010010", "8": "111101111101111",
    "9": "111101111001111", ":": "000010000010000", " ": "000000000000000",
}  # fmt: skip
_CELL = 8
_ADVANCE = 4 * _CELL
_X0, _COUNTER_Y, _CLOCK_Y, _SLIDE_Y = 16, 16, 80, 144
_ON, _OFF = 230, 20


def _draw(luma: U8, x: int, y: int, text: str) -> None:
    for i, ch in enumerate(text):
        left = x + i * _ADVANCE
        if left + 3 * _CELL > luma.shape[1]:
            return
        bits = np.array([b == "1" for b in _DIGITS[ch]]).reshape(5, 3)
        block = np.where(bits, _ON, _OFF).astype(np.uint8)
        luma[y : y + 5 * _CELL, left : left + 3 * _CELL] = np.kron(
            block, np.ones((_CELL, _CELL), dtype=np.uint8)
        )


def draw_pattern(
    counter: int, width: int, height: int, now: float | None = None, slide: int | None = None
) -> U8:
    """One yuv420p picture, shape ``(height * 3 // 2, width)``: counter, clock, slide, bar."""
    buf = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
    luma = buf[:height]
    luma[:] = 60
    x = (counter * 6) % max(width - 16, 1)
    luma[height - 40 :, x : x + 16] = 200
    _draw(luma, _X0, _COUNTER_Y, f"{counter % 100_000_000:08d}")
    clock = time.strftime("%H:%M:%S", time.localtime(time.time() if now is None else now))
    _draw(luma, _X0, _CLOCK_Y, clock)
    if slide is not None:
        _draw(luma, _X0, _SLIDE_Y, f"{slide % 1000:03d}")
    return buf


def read_counter(frame: VideoFrame) -> int | None:
    """The frame counter drawn by ``draw_pattern``, or None if it cannot be read."""
    return _read_digits(frame, _COUNTER_Y, 8)


def read_slide(frame: VideoFrame) -> int | None:
    """The slide number drawn by ``draw_pattern``, or None (none drawn, unreadable)."""
    return _read_digits(frame, _SLIDE_Y, 3)


def _read_digits(frame: VideoFrame, top: int, count: int) -> int | None:
    luma = frame.to_ndarray(format="gray")
    text = ""
    for i in range(count):
        left = _X0 + i * _ADVANCE
        cells = luma[top : top + 5 * _CELL, left : left + 3 * _CELL]
        centres = cells[_CELL // 2 :: _CELL, _CELL // 2 :: _CELL]
        bits = "".join("1" if v > 128 else "0" for v in centres.flatten())
        digit = next((d for d, p in _DIGITS.items() if p == bits and d.isdigit()), None)
        if digit is None:
            return None
        text += digit
    return int(text)


def _on_schedule(start: float, counter: int, rate: float) -> int:
    """The next frame number to make: ``counter``, or the one due now if we fell
    more than a frame behind (a camera drops frames rather than deliver them late,
    so timestamps keep telling when each picture was taken)."""
    due_now = int((time.monotonic() - start) * rate)
    return due_now if due_now > counter + 1 else counter


class PatternVideoTrack(MediaStreamTrack):
    """Paced video of ``draw_pattern`` at ``fps``; set ``slide`` to show a slide number
    (as a camera filming the lead's screen would: it changes when the teacher clicks)."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 480, fps: int = 30) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.counter = 0
        self.slide: int | None = None
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            self.counter = _on_schedule(self._start, self.counter, self.fps)
            due = self._start + self.counter / self.fps
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        picture = draw_pattern(self.counter, self.width, self.height, slide=self.slide)
        frame = VideoFrame.from_ndarray(picture, format="yuv420p")
        frame.pts = self.counter * 90_000 // self.fps
        frame.time_base = fractions.Fraction(1, 90_000)
        self.counter += 1
        return frame


class PatternAudioTrack(MediaStreamTrack):
    """Paced 48 kHz mono 440 Hz tone in 20 ms frames."""

    kind = "audio"
    RATE = 48_000
    SAMPLES = 960

    def __init__(self) -> None:
        super().__init__()
        self.counter = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            self.counter = _on_schedule(self._start, self.counter, self.RATE / self.SAMPLES)
            due = self._start + self.counter * self.SAMPLES / self.RATE
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        first = self.counter * self.SAMPLES
        t = np.arange(first, first + self.SAMPLES) / self.RATE
        wave = (np.sin(2 * math.pi * 440.0 * t) * 3000).astype(np.int16)
        frame = AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts = first
        frame.time_base = fractions.Fraction(1, self.RATE)
        self.counter += 1
        return frame
