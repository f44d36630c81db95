"""The greedy baseline, and the "fill" step that makes any assignment maximal.

Why keep a greedy: it is the yardstick that says what the exact solver buys, and the
warm start (hint) CP-SAT begins from. Why "fill": a time-limited CP-SAT answer need
not be maximal; filling it can only raise the objective and guarantees that every
unserved request has a real reason (capacity, busy classroom, ...).

The rule: requests by priority (highest first), then by fewest feasible offers (the
hardest to place first), then by position; each takes the feasible offer with spare
capacity at a slot its classroom has free, preferring one that keeps an existing pair,
then the one with most spare capacity, then the earliest offer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from matching.feasibility import Graph, build_graph
from matching.models import Instance, MatchResult
from matching.result import make_result

__all__ = ["fill", "greedy", "request_order", "solve_greedy"]


def request_order(graph: Graph) -> list[int]:
    """Request positions in the order greedy considers them."""
    requests = graph.instance.requests
    return sorted(
        range(len(requests)),
        key=lambda r: (-requests[r].priority, len(graph.by_request[r]), r),
    )


def fill(graph: Graph, chosen: Iterable[int]) -> list[int]:
    """Extend a valid set of chosen edges greedily until no request can be added."""
    instance = graph.instance
    load = [0] * len(instance.offers)
    busy: set[tuple[tuple[str, str], str]] = set()
    served = [False] * len(instance.requests)
    result = list(chosen)
    for e in result:
        edge = graph.edges[e]
        load[edge.offer] += 1
        busy.add((instance.requests[edge.request].classroom_key, instance.offers[edge.offer].slot))
        served[edge.request] = True
    for r in request_order(graph):
        if served[r] or not graph.by_request[r]:
            continue
        classroom = instance.requests[r].classroom_key
        best: int | None = None
        best_key: tuple[bool, int, int] | None = None
        for e in graph.by_request[r]:
            edge = graph.edges[e]
            offer = instance.offers[edge.offer]
            spare = offer.capacity - load[edge.offer]
            if spare <= 0 or (classroom, offer.slot) in busy:
                continue
            key = (edge.pair_kept, spare, -edge.offer)
            if best_key is None or key > best_key:
                best, best_key = e, key
        if best is None:
            continue
        edge = graph.edges[best]
        load[edge.offer] += 1
        busy.add((classroom, instance.offers[edge.offer].slot))
        served[r] = True
        result.append(best)
    return result


def greedy(graph: Graph) -> list[int]:
    """The greedy assignment, as chosen edge positions."""
    return fill(graph, ())


def solve_greedy(instance: Instance, time_limit: float = 10.0) -> MatchResult:
    """Greedy as a solver; ``time_limit`` is accepted for a uniform signature."""
    del time_limit
    started = time.perf_counter()
    graph = build_graph(instance)
    chosen = greedy(graph)
    return make_result(
        graph,
        chosen,
        solver="greedy",
        optimal=False,
        bound=None,
        seconds=time.perf_counter() - started,
        status="HEURISTIC",
    )
