"""Stalled upstreams: packets arriving, no frame coming out.

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
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from aiortc import RTCRtpReceiver

from webrtc import aiortc_internals as internals
from webrtc.stall import DEFAULT_STALL_S

__all__ = ["StallCounters", "watch_stalls"]

logger = logging.getLogger(__name__)


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
