"""Pure timing of a recording: RTP timestamps in, media times (ms) out.

A recorded file has one timeline (media time, milliseconds from its first
picture) but its streams come with unrelated RTP clocks: aiortc's receiver
shifts each stream's timestamps to start at 0, video counts 90 kHz, Opus 48 kHz.
So each stream is anchored once, at its first frame: the wall-clock time it
arrived fixes where on the file's timeline that RTP timestamp sits, and every
later frame is placed by its RTP distance from the anchor. Picture and sound
therefore keep the sender's own pacing (no arrival jitter), and stay aligned to
within the difference of their first frames' network delays.

Wall-clock alignment with the lesson's events (sequenced with the hub's wall
clock, ``ts``): a frame's arrival is its send time plus a delay that is never
negative. ``StreamClock.min_lag_ms`` keeps the smallest ``arrival - (epoch +
media time)`` seen, so ``epoch + min_lag`` is when the least-delayed frame would
have arrived at media time 0. One more delay is systematic: aiortc's receiver
(its jitter buffer) completes a frame only when the first packet of the *next*
frame arrives, so every frame reaches the relay one frame interval after it was
sent (measured: 67 ms at 15 fps, 33 ms at 30 fps on loopback).
``StreamClock.capture_epoch_ms`` takes that out too (``min_step_ms``, the
shortest RTP step between frames); the timeline uses it, so an event lands on
the picture captured when it happened.

A sender that falls behind real time (an overloaded classroom box whose camera
or test source paces frames late instead of skipping them) stamps its frames
with RTP times that run slow, and one that then catches up sends a burst that
runs fast: placed by RTP alone, the file would get shorter (or longer) than the
lesson and drift away from the events. So a frame is never placed more than
``MAX_DRIFT_MS`` (5 s) away from where its arrival says (arrival minus the stream's
baseline lag, the least lag of its first ``BASELINE_FRAMES`` frames); a frame
that would be is placed at that bound and the stream re-anchored there. The
bound is wide on purpose: a late arrival is far more often the network or a
queue in front of the sender's encoder (frames captured on time, RTP right: a
loaded classroom box was seen delivering pictures 7 s late) than a source whose
clock is wrong, and the hub cannot tell them apart. Cameras stamp frames with
their capture time and drop frames when late, and so do the test patterns; the
bound only keeps a broken source from drifting without limit.

A publisher that reconnects (a new peer connection, the same classroom) starts
its RTP timestamps again near 0; a jump backwards, or forwards by more than
``MAX_GAP_S``, re-anchors the stream at the frame's arrival minus the least lag
seen so far, so the file's timeline follows the wall clock across the gap. Not
at the bare arrival: a stream whose first frame came late (a keyframe queued on
a loaded box) runs ahead of its arrivals by that delay, and anchoring the new
source at its arrival then put it 1 ms after the last old frame, the gap lost.
Every frame's lag is at least the least lag, so the new anchor is at least the
wall-clock gap after the last frame.

Everything takes times as arguments; no clock is read here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BASELINE_FRAMES",
    "MAX_DRIFT_MS",
    "MAX_GAP_S",
    "StreamClock",
    "media_time_s",
]

#: An RTP step larger than this (or any step back) is a new source, not a gap.
MAX_GAP_S = 10.0
#: Farthest a frame is placed from where its arrival says (see the module docstring).
MAX_DRIFT_MS = 5000.0
#: Frames whose least lag is the stream's baseline (and its capture alignment).
BASELINE_FRAMES = 30


@dataclass
class StreamClock:
    """Place one stream's frames on its file's timeline (see the module docstring)."""

    clock_rate: int
    #: Wall-clock time (ms) of the file's media time 0.
    epoch_ms: float
    first_rtp: int | None = None
    first_wall_ms: float | None = None
    first_media_ms: int = 0
    last_media_ms: int = -1
    frames: int = 0
    #: Least lag over the whole stream: the capture alignment (``capture_epoch_ms``).
    min_lag_ms: float | None = None
    #: Least lag of the first ``BASELINE_FRAMES`` frames: the wall-clock bound's origin.
    baseline_ms: float | None = None
    #: Shortest RTP step between two consecutive frames (ms): one frame interval.
    min_step_ms: float | None = None
    #: Milliseconds the stream was moved forward to follow the wall clock.
    drift_ms: int = 0
    _last_rtp: int | None = None

    def discontinuous(self, rtp: int) -> bool:
        """Whether ``rtp`` comes from a restarted source (see the module docstring)."""
        last = self._last_rtp
        return last is not None and (rtp < last or rtp - last > MAX_GAP_S * self.clock_rate)

    def place(self, rtp: int, arrival_ms: float) -> int:
        """Media time (ms, strictly increasing) of a frame with RTP ``rtp`` arriving now."""
        if self.first_rtp is None or self.first_wall_ms is None or self.discontinuous(rtp):
            self.first_rtp = rtp
            self.first_wall_ms = arrival_ms
            lag = self.min_lag_ms or 0.0
            self.first_media_ms = max(
                round(arrival_ms - self.epoch_ms - lag), self.last_media_ms + 1
            )
            self._last_rtp = None
        elapsed_ms = (rtp - self.first_rtp) * 1000 / self.clock_rate
        media = self.first_media_ms + round(elapsed_ms)
        if media <= self.last_media_ms:
            # a source that went back (restarted) or two frames in one ms
            media = self.last_media_ms + 1
        if self._last_rtp is not None and rtp > self._last_rtp:
            step = (rtp - self._last_rtp) * 1000 / self.clock_rate
            if self.min_step_ms is None or step < self.min_step_ms:
                self.min_step_ms = step
        self._last_rtp = rtp
        lag = arrival_ms - (self.epoch_ms + media)
        if self.frames < BASELINE_FRAMES:
            if self.baseline_ms is None or lag < self.baseline_ms:
                self.baseline_ms = lag
        else:
            media = self._follow_wall(media, lag - (self.baseline_ms or 0.0))
            lag = arrival_ms - (self.epoch_ms + media)
        if self.min_lag_ms is None or lag < self.min_lag_ms:
            self.min_lag_ms = lag
        self.last_media_ms = media
        self.frames += 1
        return media

    def _follow_wall(self, media: int, deviation: float) -> int:
        """Keep ``media`` within ``MAX_DRIFT_MS`` of the arrival; re-anchor if moved."""
        if abs(deviation) <= MAX_DRIFT_MS:
            return media
        bound = MAX_DRIFT_MS if deviation > 0 else -MAX_DRIFT_MS
        moved = max(round(media + deviation - bound), self.last_media_ms + 1)
        self.first_media_ms += moved - media
        self.drift_ms += moved - media
        return moved

    def capture_epoch_ms(self) -> float:
        """Best estimate of the wall-clock time the sender sent media time 0."""
        return self.epoch_ms + (self.min_lag_ms or 0.0) - (self.min_step_ms or 0.0)

    def describe(self) -> dict[str, float | int | None]:
        """Plain data for the recording's manifest."""
        return {
            "clock_rate": self.clock_rate,
            "first_rtp": self.first_rtp,
            "first_wall_ms": self.first_wall_ms,
            "first_media_ms": self.first_media_ms,
            "last_media_ms": self.last_media_ms,
            "frames": self.frames,
            "min_lag_ms": self.min_lag_ms,
            "min_step_ms": self.min_step_ms,
            "drift_ms": self.drift_ms,
        }


def media_time_s(ts_ms: int, epoch_ms: float) -> float:
    """Where an event sequenced at hub time ``ts_ms`` falls on a timeline starting at
    ``epoch_ms`` (seconds; negative: before the recording started)."""
    return round((ts_ms - epoch_ms) / 1000, 3)
