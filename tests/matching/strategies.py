"""Hypothesis strategies for small matching instances, and an independent brute force.

Small on purpose: few subjects, grades and slots so that edges, full offers and busy
classrooms are common, and brute force stays at a few thousand leaves.
"""

from __future__ import annotations

from hypothesis import strategies as st

from matching.models import Instance, Offer, Pair, Request

SLOTS = ("mon-08:00", "mon-08:55", "tue-08:00")
LEAD_SCHOOLS = ("L1", "L2")
PARTNER_SCHOOLS = ("P1", "P2")


@st.composite
def instances(draw: st.DrawFn, max_offers: int = 4, max_requests: int = 6) -> Instance:
    """A valid small instance (no double-booked lead classroom, unique ids)."""
    offers: list[Offer] = []
    booked: set[tuple[str, str, str]] = set()
    for i in range(draw(st.integers(0, max_offers))):
        school = draw(st.sampled_from(LEAD_SCHOOLS))
        classroom = draw(st.sampled_from(("A", "B")))
        slot = draw(st.sampled_from(SLOTS))
        if (school, classroom, slot) in booked:
            continue
        booked.add((school, classroom, slot))
        offers.append(
            Offer(
                offer_id=f"O{i}",
                lead_school=school,
                lead_classroom=classroom,
                teacher=f"T{i}",
                subject=draw(st.sampled_from(("math", "art"))),
                grade=draw(st.integers(1, 2)),
                slot=slot,
                capacity=draw(st.integers(1, 3)),
                bitrate_kbps=draw(st.sampled_from((800, 1500))),
            )
        )
    requests = [
        Request(
            request_id=f"R{i}",
            partner_school=draw(st.sampled_from(PARTNER_SCHOOLS)),
            partner_classroom=draw(st.sampled_from(("c1", "c2"))),
            subject=draw(st.sampled_from(("math", "art"))),
            grade=draw(st.integers(1, 2)),
            slots=tuple(
                draw(st.lists(st.sampled_from(SLOTS), min_size=1, max_size=3, unique=True))
            ),
            downlink_kbps=draw(st.sampled_from((500, 1000, 2000))),
            priority=draw(st.integers(1, 5)),
        )
        for i in range(draw(st.integers(0, max_requests)))
    ]
    pairs = draw(
        st.sets(st.builds(Pair, st.sampled_from(LEAD_SCHOOLS), st.sampled_from(PARTNER_SCHOOLS)))
    )
    return Instance.build(offers, requests, pairs)


def brute_force(instance: Instance) -> tuple[int, int]:
    """Best (priority served, pairs kept), lexicographically, by full enumeration.

    Written from the problem statement, not from ``feasibility``, so it checks it too.
    """
    options: list[list[int]] = []
    for request in instance.requests:
        options.append(
            [
                o
                for o, offer in enumerate(instance.offers)
                if offer.subject == request.subject
                and offer.grade == request.grade
                and offer.slot in request.slots
                and offer.bitrate_kbps <= request.downlink_kbps
            ]
        )
    load = [0] * len(instance.offers)
    busy: set[tuple[str, str, str]] = set()
    best = (0, 0)

    def visit(r: int, priority: int, pairs: int) -> None:
        nonlocal best
        if r == len(instance.requests):
            best = max(best, (priority, pairs))
            return
        visit(r + 1, priority, pairs)
        request = instance.requests[r]
        for o in options[r]:
            offer = instance.offers[o]
            key = (request.partner_school, request.partner_classroom, offer.slot)
            if load[o] >= offer.capacity or key in busy:
                continue
            load[o] += 1
            busy.add(key)
            kept = Pair(offer.lead_school, request.partner_school) in instance.pairs
            visit(r + 1, priority + request.priority, pairs + kept)
            load[o] -= 1
            busy.discard(key)

    visit(0, 0, 0)
    return best
