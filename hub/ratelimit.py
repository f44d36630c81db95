"""Per-node token buckets: one flooding classroom cannot crowd out the others.

Pure: time is passed in. Every uplink costs one token from its sender's bucket
(the node id from the topic, i.e. the authenticated sender); a bucket holds at
most ``burst`` tokens and refills at ``rate`` per second. The defaults are sized
for a classroom: a quiz answered by 60 clickers at once is one burst well inside
``burst``, while a runaway box or a hostile client is held to ``rate`` per second.

Buckets of senders quiet for a while are dropped (they would be full anyway), so
the table stays as small as the set of active nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NodeRateLimiter", "TokenBucket"]


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if there are enough (after refilling to ``now``)."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class NodeRateLimiter:
    """``allow(node, now)``: one token bucket per sender."""

    def __init__(self, rate: float, burst: float, *, idle_s: float = 300.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._idle_s = max(idle_s, burst / rate)
        self._buckets: dict[str, TokenBucket] = {}
        self._swept = 0.0

    def allow(self, node: str, now: float) -> bool:
        bucket = self._buckets.get(node)
        if bucket is None:
            bucket = self._buckets[node] = TokenBucket(self.rate, self.burst, self.burst, now)
        allowed = bucket.take(now)
        if now - self._swept > self._idle_s:
            self._sweep(now)
        return allowed

    def _sweep(self, now: float) -> None:
        self._swept = now
        stale = [n for n, b in self._buckets.items() if now - b.updated > self._idle_s]
        for node in stale:
            del self._buckets[node]

    def __len__(self) -> int:
        return len(self._buckets)
