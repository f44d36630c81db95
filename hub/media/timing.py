"""Pure timing helpers of the forwarding unit: RTP timestamp rebasing and keyframe pacing.

Both take the current time as an argument instead of reading a clock, so the
tests drive them with made-up times and need no event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["KeyframeLimiter", "TimestampRebaser"]


@dataclass
class TimestampRebaser:
    """Map the timestamps of whichever upstream feeds a slot onto one continuous timeline.

    aiortc's receiver hands us each upstream's RTP timestamps shifted to start
    at 0 (its ``TimestampMapper``), and the sender adds its own random origin.
    When a slot switches from one upstream to another (the floor moves) the new
    source's timestamps are unrelated to the old ones; a jump backwards would
    make the subscriber's jitter buffer and decoder misorder frames. So on each
    switch we pick an offset that continues the output timeline from the last
    frame sent, advanced by the wall-clock time that has passed since.
    """

    clock_rate: int
    _offset: int | None = None
    _last_out: int | None = None
    _last_wall: float = 0.0

    def switch(self) -> None:
        """The next timestamp comes from a new source: recompute the offset then."""
        self._offset = None

    def _continuation(self, now: float) -> int:
        if self._last_out is None:
            return 0
        elapsed = max(now - self._last_wall, 0.0)
        return self._last_out + max(round(elapsed * self.clock_rate), 1)

    def rebase(self, timestamp: int, now: float) -> int:
        """Return the output timestamp for an upstream ``timestamp`` arriving at ``now``."""
        if self._offset is None or (
            self._last_out is not None and timestamp + self._offset <= self._last_out
        ):
            # A new source, or the source went backwards on its own (it
            # restarted: aiortc's receiver already unwraps 32-bit wrap-around).
            self._offset = self._continuation(now) - timestamp
        out = timestamp + self._offset
        self._last_out = out
        self._last_wall = now
        return out


@dataclass
class KeyframeLimiter:
    """Decide when a keyframe request may go upstream.

    Every joining subscriber, every packet-losing subscriber and every floor
    change wants a keyframe; keyframes are several times larger than delta
    frames, so a burst of requests must become one request. A request inside
    ``min_interval`` of the last one sent is not dropped but deferred to the
    end of the interval (a *trailing* request): the keyframe answering the
    earlier request may already have passed the newcomer by.
    """

    min_interval: float
    _last_sent: float | None = None
    _deferred_until: float | None = field(default=None)

    def request(self, now: float) -> float | None:
        """Register a request at ``now``.

        Returns 0.0 to send now, a positive delay after which :meth:`fire`
        should be called, or None when a deferred request is already pending.
        """
        if self._last_sent is None or now - self._last_sent >= self.min_interval:
            self._last_sent = now
            return 0.0
        if self._deferred_until is not None:
            return None
        self._deferred_until = self._last_sent + self.min_interval
        return self._deferred_until - now

    def fire(self, now: float) -> None:
        """The deferred request is being sent at ``now``."""
        self._deferred_until = None
        self._last_sent = now
