"""Turning a solver's chosen edges into a ``MatchResult``.

Why one place: both solvers must score, order and explain their answer identically,
or the benchmark would compare apples with pears.
"""

from __future__ import annotations

from collections.abc import Iterable

from matching.feasibility import Graph
from matching.models import Assignment, MatchResult
from matching.reasons import explain

__all__ = ["make_result", "relative_gap"]


def relative_gap(bound: int, objective: int) -> float:
    """``(bound - objective) / max(1, bound)``, never negative."""
    return max(0, bound - objective) / max(1, bound)


def make_result(
    graph: Graph,
    chosen: Iterable[int],
    *,
    solver: str,
    optimal: bool,
    bound: int | None,
    seconds: float,
    status: str,
) -> MatchResult:
    """Assignments sorted by request id, reasons, objective and gap."""
    instance = graph.instance
    assignments: list[Assignment] = []
    priority = pairs = 0
    for e in chosen:
        edge = graph.edges[e]
        request = instance.requests[edge.request]
        assignments.append(
            Assignment(request.request_id, instance.offers[edge.offer].offer_id, edge.pair_kept)
        )
        priority += request.priority
        pairs += edge.pair_kept
    assignments.sort(key=lambda a: a.request_id)
    weighted = priority * graph.big + pairs
    if bound is not None:
        bound = max(bound, weighted)
    gap = None if bound is None else (0.0 if optimal else relative_gap(bound, weighted))
    return MatchResult(
        assignments=tuple(assignments),
        unmatched=explain(instance, assignments),
        priority_served=priority,
        pairs_kept=pairs,
        big=graph.big,
        solver=solver,
        optimal=optimal,
        bound=bound,
        gap=gap,
        seconds=seconds,
        status=status,
    )
