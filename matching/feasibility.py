"""Which (request, offer) edges can exist, and whether an assignment is valid.

Why a separate module: every solver, the reasons and the tests share one definition
of "this offer can serve this request", and the CP-SAT model must only get variables
for edges that pass it (the all-pairs product is 2.5 million for the benchmark; the
feasible edges are a few thousand).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from matching.models import Assignment, Instance, Offer, Request

__all__ = ["Edge", "Graph", "build_graph", "can_serve", "check_assignment", "score"]


def can_serve(offer: Offer, request: Request) -> bool:
    """Same subject and grade, at an acceptable slot, within the partner's downlink."""
    return (
        offer.subject == request.subject
        and offer.grade == request.grade
        and offer.slot in request.slots
        and offer.bitrate_kbps <= request.downlink_kbps
    )


@dataclass(frozen=True, slots=True)
class Edge:
    """A feasible (request, offer) pair, by position in the instance's tuples."""

    request: int
    offer: int
    pair_kept: bool


@dataclass(frozen=True, slots=True)
class Graph:
    """The feasible edges of an instance, indexed the ways the solvers need them.

    ``big`` makes the weighted objective lexicographic: it is one more than the number
    of requests that have at least one pair-keeping edge, i.e. more than any possible
    ``pairs_kept``, so one unit of priority always outweighs all pair tie-breaks.
    """

    instance: Instance
    edges: tuple[Edge, ...]
    by_request: tuple[tuple[int, ...], ...]
    by_offer: tuple[tuple[int, ...], ...]
    by_classroom_slot: dict[tuple[tuple[str, str], str], tuple[int, ...]]
    big: int


def build_graph(instance: Instance) -> Graph:
    """All feasible edges, found through an index on (subject, grade, slot)."""
    offers_at: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    for o, offer in enumerate(instance.offers):
        offers_at[(offer.subject, offer.grade, offer.slot)].append(o)
    edges: list[Edge] = []
    by_request: list[tuple[int, ...]] = []
    by_offer: list[list[int]] = [[] for _ in instance.offers]
    by_cs: dict[tuple[tuple[str, str], str], list[int]] = defaultdict(list)
    with_pair = 0
    for r, request in enumerate(instance.requests):
        mine: list[int] = []
        any_pair = False
        for slot in request.slots:
            for o in offers_at.get((request.subject, request.grade, slot), ()):
                offer = instance.offers[o]
                if offer.bitrate_kbps > request.downlink_kbps:
                    continue
                kept = instance.keeps_pair(request, offer)
                any_pair = any_pair or kept
                e = len(edges)
                edges.append(Edge(r, o, kept))
                mine.append(e)
                by_offer[o].append(e)
                by_cs[(request.classroom_key, slot)].append(e)
        by_request.append(tuple(mine))
        with_pair += any_pair
    return Graph(
        instance=instance,
        edges=tuple(edges),
        by_request=tuple(by_request),
        by_offer=tuple(tuple(x) for x in by_offer),
        by_classroom_slot={k: tuple(v) for k, v in by_cs.items()},
        big=with_pair + 1,
    )


def score(instance: Instance, assignments: Iterable[Assignment]) -> tuple[int, int]:
    """(sum of priorities served, number of assignments keeping an existing pair)."""
    priority = pairs = 0
    for a in assignments:
        request = instance.requests[instance.request_index[a.request_id]]
        offer = instance.offers[instance.offer_index[a.offer_id]]
        priority += request.priority
        pairs += instance.keeps_pair(request, offer)
    return priority, pairs


def check_assignment(instance: Instance, assignments: Iterable[Assignment]) -> list[str]:
    """Every constraint an assignment breaks, in words; empty when it is valid.

    Used by tests on every solver result and available to callers that receive an
    assignment from elsewhere (an operator's manual edit).
    """
    problems: list[str] = []
    served: set[str] = set()
    load: dict[str, int] = defaultdict(int)
    busy: dict[tuple[tuple[str, str], str], str] = {}
    for a in assignments:
        if a.request_id not in instance.request_index:
            problems.append(f"unknown request {a.request_id!r}")
            continue
        if a.offer_id not in instance.offer_index:
            problems.append(f"unknown offer {a.offer_id!r}")
            continue
        request = instance.requests[instance.request_index[a.request_id]]
        offer = instance.offers[instance.offer_index[a.offer_id]]
        if a.request_id in served:
            problems.append(f"request {a.request_id!r} served more than once")
        served.add(a.request_id)
        if not can_serve(offer, request):
            problems.append(f"offer {a.offer_id!r} cannot serve request {a.request_id!r}")
        load[a.offer_id] += 1
        if load[a.offer_id] == offer.capacity + 1:
            problems.append(f"offer {a.offer_id!r} over capacity {offer.capacity}")
        key = (request.classroom_key, offer.slot)
        if key in busy:
            problems.append(
                f"classroom {request.partner_school}/{request.partner_classroom} has two"
                f" lessons at {offer.slot} (requests {busy[key]!r}, {a.request_id!r})"
            )
        else:
            busy[key] = a.request_id
        if a.pair_kept != instance.keeps_pair(request, offer):
            problems.append(f"assignment of {a.request_id!r} misreports pair_kept")
    return problems
