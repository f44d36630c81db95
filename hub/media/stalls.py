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
delays the live picture. A frame whose RTP time lags its arrival by more than
``max_late_s`` against the best seen is dropped for the slots (the recorder still
gets it); the slots then restart at the keyframe asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from aiortc import RTCRtpReceiver

from webrtc import aiortc_internals as internals
from webrtc.stall import DEFAULT_STALL_S

__all__ = ["LateFrames", "StallCounters", "watch_stalls"]

#: A frame arriving this much later than its RTP time says (against the best seen)
#: is stale: the backlog of a frozen hub, not network jitter.
MAX_LATE_S = 1.5
#: Late for this long without a single timely frame: the source's clock jumped
#: (it restarted its timestamps); start measuring afresh rather than drop forever.
REBASE_AFTER_S = 3.0

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
) -> None:
    """Guard ``receiver`` (``upstream``'s ``feed``) against holes; count PLIs and stalls.

    ``restart(participant, feed)`` is called after each skipped hole.
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

    internals.guard_receiver(receiver, stall_s=stall_s, on_stall=on_stall)
    internals.on_pli_sent(receiver, on_pli)


class LateFrames:
    """Tell stale frames of one upstream feed from live ones (pure; the clock is passed in).

    ``offset = arrival - rtp_time`` is constant for a steady source on a steady
    path, grows with queueing, and is smallest for the frames that came fastest;
    a frame is late when its offset exceeds that smallest one by ``max_late_s``.
    """

    def __init__(self, max_late_s: float = MAX_LATE_S, rebase_after_s: float = REBASE_AFTER_S):
        self.max_late_s = max_late_s
        self.rebase_after_s = rebase_after_s
        self.late = 0
        self._best: float | None = None
        self._late_since: float | None = None

    def is_late(self, timestamp: int, clock_rate: int, now: float) -> bool:
        """Whether the frame with RTP ``timestamp`` arriving at ``now`` is stale."""
        offset = now - timestamp / clock_rate
        if self._best is None or offset < self._best:
            self._best = offset
        if offset - self._best <= self.max_late_s:
            self._late_since = None
            return False
        if self._late_since is None:
            self._late_since = now
        elif now - self._late_since >= self.rebase_after_s:
            self._best, self._late_since = offset, None
            return False
        self.late += 1
        return True
