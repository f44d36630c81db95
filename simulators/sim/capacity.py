"""``--find-capacity``: the largest number of sessions that holds the targets.

A run "holds" when nothing was lost, the event p99 is within ``p99_ms`` and (with
media) the lowest classroom fps is at least ``fps_min``. The search doubles the
number of sessions until a run breaks, then bisects between the last that held
and the first that broke. ``next_size`` is the pure step; ``search`` runs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Targets", "holds", "next_size", "search"]


@dataclass(frozen=True, slots=True)
class Targets:
    p99_ms: float = 100.0
    fps_min: float = 25.0
    media: bool = False


def holds(report: dict[str, Any], targets: Targets) -> bool:
    if report.get("interrupted") or report["events"]["lost"]:
        return False
    if report["latency_ms"]["p99"] > targets.p99_ms:
        return False
    if targets.media:
        fps = report["video"].get("fps_min")
        if fps is None or fps < targets.fps_min:
            return False
    return True


def next_size(held: int, broke: int | None, ceiling: int) -> int | None:
    """Next number of sessions to try; None when the answer is ``held``."""
    if broke is None:
        nxt = min(max(1, held * 2), ceiling)
        return None if nxt == held else nxt
    if broke - held <= max(1, held // 20):
        return None
    return (held + broke) // 2


async def search(
    run: Callable[[int], Awaitable[dict[str, Any]]],
    targets: Targets,
    *,
    start: int = 1,
    ceiling: int = 2000,
    on_step: Callable[[int, dict[str, Any], bool], None] | None = None,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Run sizes until the answer is known; the report that held last, and every step."""
    held, broke = 0, None
    best: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = []
    size: int | None = start
    while size is not None:
        report = await run(size)
        ok = holds(report, targets)
        steps.append(
            {
                "sessions": size,
                "held": ok,
                "latency_p99_ms": report["latency_ms"]["p99"],
                "fps_min": report["video"].get("fps_min"),
                "lost": report["events"]["lost"],
                "hub_cpu_s_per_s": report["hub"]["cpu_s_per_s"],
            }
        )
        if on_step is not None:
            on_step(size, report, ok)
        if report.get("interrupted"):
            break
        if ok:
            held, best = size, report
        else:
            broke = size
            if size == 1:
                break
        size = next_size(held, broke, ceiling)
    return best, steps
