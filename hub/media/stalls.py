"""Stalled upstreams: packets arriving, no frame coming out; frames arriving too late.

The relay sees an upstream's frames only after aiortc's jitter buffer, which
holds every frame behind a packet that will never come (see
:mod:`webrtc.stall`). ``watch_stalls`` puts the stall guard into a publisher's
video (or screen) receiver and keeps that publisher's counters:

- ``stalls``: holes skipped (RTP arrived, no complete frame for 500 ms);
- ``keyframe_requests``: every PLI sent to the publisher, whoever asked (a
  subscriber, a floor change, a stall, aiortc's own overflow rule).

On a stall the guard's own PLI goes out at once, and the relay's ``restart``
callback makes the slots following that publisher wait for the keyframe, so
subscribers get no frames that refer to pictures lost in the hole.

``LateFrames`` is the other half of a frozen hub's recovery: while the hub was
stopped, the kernel kept what fit of the publishers' packets in the socket
buffer (seconds of video at rural bitrates). Forwarded as they come out, they
reach every subscriber as one fast-forward burst of stale pictures, which only
delays the live picture. Frames that come in such a burst with their RTP time
lagging their arrival by more than ``max_late_s`` (against the best seen) are
dropped for the slots (the recorder still gets them); the slots then restart at
the keyframe asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from aiortc import RTCRtpReceiver

from webrtc import aiortc_internals as internals
from webrtc.stall import DEFAULT_STALL_S, StallGuardBuffer

__all__ = ["LateFrames", "StallCounters", "watch_stalls"]

#: A frame arriving this much later than its RTP time says (against the best seen)
#: is stale: the backlog of a frozen hub, not network jitter.
MAX_LATE_S = 3.0
#: A burst of late frames this long is no backlog any more: measure afresh.
REBASE_AFTER_S = 3.0
#: Late frames for this long whose lateness has not been falling (at half a
#: second per second at least) keep a lag, they do not drain one: measure afresh.
PACE_WINDOW_S = 1.0

logger = logging.getLogger("dualclass.hub.media")


class StallCounters(Protocol):
    """The publisher-side record ``watch_stalls`` updates (the relay's upstream)."""

    participant: str
    keyframe_requests: int
    stalls: int


def watch_stalls(
    upstream: StallCounters,
    feed: str,
    receiver: RTCRtpReceiver,
    restart: Callable[[str, str], None],
    *,
    stall_s: float = DEFAULT_STALL_S,
) -> StallGuardBuffer:
    """Guard ``receiver`` (``upstream``'s ``feed``) against holes; count PLIs and stalls.

    ``restart(participant, feed)`` is called after each skipped hole. Returns the
    guard (``hurry()`` it when the next hole is known to be unrecoverable).
    """

    def on_stall() -> None:
        upstream.stalls += 1
        logger.info(
            "%s: %s stalled behind lost packets for %.1f s; skipped, keyframe requested",
            upstream.participant,
            feed,
            stall_s,
        )
        restart(upstream.participant, feed)

    def on_pli() -> None:
        upstream.keyframe_requests += 1

    guard = internals.guard_receiver(receiver, stall_s=stall_s, on_stall=on_stall)
    internals.on_pli_sent(receiver, on_pli)
    return guard


class LateFrames:
    """Tell a backlog of stale frames from live ones (pure; the clock is passed in).

    ``offset = arrival - rtp_time`` is constant for a steady source on a steady
    path and smallest for the frames that came fastest. A frame is stale when its
    offset exceeds that smallest one by ``max_late_s`` while a backlog drains:
    frames coming faster than their RTP time advances, so the lateness falls (a
    frozen hub's socket buffer being emptied). A lag that holds for
    ``pace_window_s`` is the new normal, not a backlog -- a source that stalled
    and numbers frames rather than times them (a CPU-starved test camera), or a
    path that got slower -- and becomes the reference. A slow drift (a source a
    little behind its own clock) is followed and never counts as late.
    """

    def __init__(
        self,
        name: str = "upstream",
        max_late_s: float = MAX_LATE_S,
        rebase_after_s: float = REBASE_AFTER_S,
        pace_window_s: float = PACE_WINDOW_S,
    ) -> None:
        self.name = name
        self.max_late_s = max_late_s
        self.rebase_after_s = rebase_after_s
        self.pace_window_s = pace_window_s
        self.late = 0
        self._run = 0
        self._best: float | None = None
        self._late_since: float | None = None
        self._run_offset = 0.0

    def is_late(self, timestamp: int, clock_rate: int, now: float) -> bool:
        """Whether the frame with RTP ``timestamp`` arriving at ``now`` is stale."""
        offset = now - timestamp / clock_rate
        if self._best is None or offset < self._best:
            self._best = offset
        if offset - self._best <= self.max_late_s:
            # on time: follow a slow drift (a source a little behind its clock),
            # never a jump (a freeze is a jump)
            self._best = max(self._best, offset - self.max_late_s / 2)
            self._end_run()
            return False
        if self._late_since is not None and now - self._late_since >= self.pace_window_s:
            # a backlog drains faster than real time, so its lateness falls; a lag that
            # holds (frames at their own pace) is the new normal
            drained = self._run_offset - offset
            if drained < 0.5 * (now - self._late_since) or (
                now - self._late_since >= self.rebase_after_s
            ):
                self._best = offset
                self._end_run()
                return False
        if self._late_since is None:
            self._late_since, self._run_offset = now, offset
            logger.info(
                "%s: frames %.1f s late (a frozen hub's backlog?): skipped for the slots",
                self.name,
                offset - self._best,
            )
        self.late += 1
        self._run += 1
        return True

    def _end_run(self) -> None:
        if self._late_since is not None:
            logger.info("%s: on time again after %d stale frames", self.name, self._run)
        self._late_since = None
        self._run = 0
