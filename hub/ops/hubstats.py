"""Hub health figures from metric samples: events/s and p99 over a sliding window.

Pure: the feed hands in a ``Sample`` (cumulative counters and histogram buckets,
read from the hub's Prometheus registry) each tick; ``HubWindow`` keeps the last
minute and answers rates and percentiles from the differences, the way
Prometheus' ``rate`` and ``histogram_quantile`` do, so the dashboard and the alert
rules in ``deploy/prometheus`` agree.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["HubWindow", "Sample", "quantile"]


@dataclass(frozen=True, slots=True)
class Sample:
    at_ms: int
    sequenced: float
    #: cumulative bucket counts by upper bound (``+Inf`` included), as Prometheus has them
    sequencing: tuple[tuple[float, float], ...] = ()
    delivery: tuple[tuple[float, float], ...] = ()
    rejected: Mapping[str, float] = field(default_factory=dict)


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """``histogram_quantile`` over cumulative ``(upper bound, count)``; None if empty."""
    if not buckets:
        return None
    ordered = sorted(buckets)
    total = ordered[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            span = count - lower_count
            if span <= 0:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / span
        lower_bound, lower_count = bound, count
    return ordered[-1][0]


def _minus(
    new: tuple[tuple[float, float], ...], old: tuple[tuple[float, float], ...]
) -> list[tuple[float, float]]:
    before = dict(old)
    return [(bound, max(count - before.get(bound, 0.0), 0.0)) for bound, count in new]


@dataclass
class HubWindow:
    """The last ``window_s`` of samples."""

    window_s: float = 60.0
    _samples: deque[Sample] = field(default_factory=deque)

    def add(self, sample: Sample) -> None:
        self._samples.append(sample)
        horizon = sample.at_ms - self.window_s * 1000
        while len(self._samples) > 2 and self._samples[1].at_ms <= horizon:
            self._samples.popleft()

    def _ends(self) -> tuple[Sample, Sample] | None:
        if len(self._samples) < 2:
            return None
        return self._samples[0], self._samples[-1]

    def events_per_s(self) -> float:
        ends = self._ends()
        if ends is None:
            return 0.0
        first, last = ends
        seconds = (last.at_ms - first.at_ms) / 1000
        return max(last.sequenced - first.sequenced, 0.0) / seconds if seconds > 0 else 0.0

    def p99_ms(self, which: str = "sequencing") -> float | None:
        """p99 of the window in milliseconds; None when nothing was measured."""
        ends = self._ends()
        if ends is None:
            return None
        first, last = ends
        new = last.sequencing if which == "sequencing" else last.delivery
        old = first.sequencing if which == "sequencing" else first.delivery
        value = quantile(0.99, _minus(new, old))
        return None if value is None else value * 1000

    def count(self, which: str = "sequencing") -> float:
        """Events measured by the histogram within the window."""
        ends = self._ends()
        if ends is None:
            return 0.0
        first, last = ends
        new = last.sequencing if which == "sequencing" else last.delivery
        old = first.sequencing if which == "sequencing" else first.delivery
        return max(
            (count for bound, count in _minus(new, old) if bound == float("inf")), default=0.0
        )

    def rejected(self) -> dict[str, int]:
        """Rejections by reason since the hub started (counters, not the window)."""
        if not self._samples:
            return {}
        return {k: int(v) for k, v in sorted(self._samples[-1].rejected.items()) if v}
