"""Merge what the workers and the sampler saw into the run's report: pure.

Definitions (per event a classroom submitted, and per sequenced event):

* ``submitted``: events handed to a node (``ClassroomNode.submit``: sent, or queued
  in its journal);
* ``sequenced``: submitted events the hub gave a seq (seen applied by a member);
* ``rejected``: submitted events the hub refused (``cmd.rejected``), by reason;
* ``lost``: submitted events neither sequenced nor refused when the run settled,
  plus sequenced events some classroom of the session never applied;
* ``duplicated``: an event applied twice by one classroom, or one id sequenced
  under two seqs.

So ``submitted == sequenced + rejected`` whenever ``lost == 0``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from simulators.stats import percentile

__all__ = ["latency_block", "merge_events", "over_time", "video_block"]


def latency_block(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values), 2) if values else 0.0,
        "count": len(values),
    }


def merge_events(sessions: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The report's ``events`` block from the per-session worker results."""
    submitted = sequenced = lost = duplicated = not_submitted = unsettled = missing = 0
    rejected: dict[str, int] = defaultdict(int)
    for s in sessions:
        submitted += int(s["submitted"])
        sequenced += int(s["sequenced"])
        lost += int(s["unresolved"]) + int(s["missing_at_some_classroom"])
        unsettled += int(s["unresolved"])
        missing += int(s["missing_at_some_classroom"])
        duplicated += int(s["duplicated"])
        not_submitted += sum(s.get("not_submitted", {}).values())
        for reason, count in s["rejected"].items():
            rejected[reason] += int(count)
    return {
        "submitted": submitted,
        "sequenced": sequenced,
        "lost": lost,
        "duplicated": duplicated,
        "rejected": dict(sorted(rejected.items())),
        "refused_by_node": not_submitted,
        # the two parts of ``lost``: submitted but neither sequenced nor refused when
        # the drain ended (may still be in a journal), sequenced but not applied
        # everywhere
        "lost_unsettled": unsettled,
        "lost_not_applied": missing,
    }


def over_time(
    samples: Iterable[tuple[float, float]], start: float, bucket_s: float = 1.0
) -> list[dict[str, float]]:
    """``(wall seconds, value)`` -> per-bucket p50/p99/max rows from ``start``."""
    buckets: dict[int, list[float]] = defaultdict(list)
    for at, value in samples:
        buckets[int((at - start) // bucket_s)].append(value)
    return [
        {
            "t_s": round(k * bucket_s, 2),
            "p50": round(percentile(v, 50), 2),
            "p99": round(percentile(v, 99), 2),
            "max": round(max(v), 2),
            "min": round(min(v), 2),
            "n": len(v),
        }
        for k, v in sorted(buckets.items())
        if k >= 0
    ]


def video_block(
    per_classroom: dict[str, list[float]], summaries: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Per-classroom fps samples (one a second, from each classroom's first frame) ->
    the lowest and the 5th percentile over every classroom-second, the same per
    classroom, freezes, loss and RTT."""
    if not per_classroom:
        return {"fps_min": None, "fps_p5": None, "classrooms": 0}
    # the partners' own figures (a lead's media stats say what it received: nothing)
    summaries = {n: m for n, m in summaries.items() if n in per_classroom}
    means = {n: sum(v) / len(v) for n, v in per_classroom.items() if v}
    lows = [min(v) for v in per_classroom.values() if v]
    ordered = sorted(means.values())
    return {
        "classrooms": len(means),
        "fps_min": round(min(lows), 2) if lows else None,
        # 5th percentile of every classroom-second: 5 % of the time, somewhere, worse
        "fps_p5": round(percentile([x for v in per_classroom.values() for x in v], 5), 2)
        if ordered
        else None,
        "fps_mean": round(sum(ordered) / len(ordered), 2) if ordered else None,
        "freezes": sum(int(s.get("freezes", 0)) for s in summaries.values()),
        "loss_max": round(max((float(s.get("loss", 0)) for s in summaries.values()), default=0), 4),
        "rtt_ms_max": round(
            max((float(s.get("rtt_ms", 0)) for s in summaries.values()), default=0), 1
        ),
        "per_classroom": {
            node: {
                "fps_min": round(min(values), 2),
                "fps_p5": round(percentile(values, 5), 2),
                "fps_mean": round(means[node], 2),
                "freezes": int(summaries.get(node, {}).get("freezes", 0)),
                "loss": float(summaries.get(node, {}).get("loss", 0.0)),
                "rtt_ms": float(summaries.get(node, {}).get("rtt_ms", 0.0)),
            }
            for node, values in sorted(per_classroom.items())
            if values
        },
    }
