"""Run statistics: pure helpers for percentiles and the demo/bench report."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["latency_summary", "lost_events", "percentile"]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values), 2) if values else 0.0,
        "count": len(values),
    }


def lost_events(sequenced: int, applied: Mapping[str, Iterable[int]]) -> int:
    """Sequenced events (1..sequenced) that at least one of ``applied``'s nodes lacks."""
    expected = set(range(1, sequenced + 1))
    missing: set[int] = set()
    for seqs in applied.values():
        missing |= expected - set(seqs)
    return len(missing)


def node_row(
    node: str, role: str, counters: Mapping[str, Any], seqs: Iterable[int]
) -> dict[str, Any]:
    applied = list(seqs)
    return {
        "node": node,
        "role": role,
        "received": len(applied),
        "last_seq": int(counters.get("last_seq", max(applied, default=0))),
        "gaps_repaired": int(counters.get("gaps_repaired", 0)),
        "duplicates_dropped": int(counters.get("duplicates_dropped", 0)),
    }
