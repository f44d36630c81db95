"""Why each unserved request is unserved: a pure function of the final assignment.

Why computed after solving rather than by the solver: the reason must describe the
assignment the operator actually receives, whichever solver made it, and must be
reproducible from the output alone. The first reason that applies wins, in this
order (see docs/matching.md):

1. ``no_offer``       no offer of that subject and grade;
2. ``no_slot``        such offers exist, none at an acceptable slot;
3. ``bandwidth``      such offers exist at acceptable slots, all above the downlink;
4. ``capacity``       the offers that fit are all full;
5. ``classroom_busy`` fitting offers with spare capacity exist, but the classroom
                      already has another lesson at each of their slots;
6. ``not_selected``   none of the above: the assignment is not maximal (never for
                      results of our solvers, which are made maximal).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from matching.models import Assignment, Instance, Reason, Unmatched

__all__ = ["explain"]


def explain(instance: Instance, assignments: Iterable[Assignment]) -> tuple[Unmatched, ...]:
    """One ``Unmatched`` per request without an assignment, in request order."""
    load: dict[int, int] = defaultdict(int)
    busy: dict[tuple[str, str], set[str]] = defaultdict(set)
    served: set[str] = set()
    for a in assignments:
        o = instance.offer_index[a.offer_id]
        request = instance.requests[instance.request_index[a.request_id]]
        load[o] += 1
        busy[request.classroom_key].add(instance.offers[o].slot)
        served.add(a.request_id)
    by_subject_grade: dict[tuple[str, int], list[int]] = defaultdict(list)
    for o, offer in enumerate(instance.offers):
        by_subject_grade[(offer.subject, offer.grade)].append(o)

    out: list[Unmatched] = []
    for request in instance.requests:
        if request.request_id in served:
            continue
        same = by_subject_grade.get((request.subject, request.grade), [])
        at_slot = [o for o in same if instance.offers[o].slot in request.slots]
        fits = [o for o in at_slot if instance.offers[o].bitrate_kbps <= request.downlink_kbps]
        spare = [o for o in fits if load[o] < instance.offers[o].capacity]
        taken = busy[request.classroom_key]
        if not same:
            reason = Reason.NO_OFFER
        elif not at_slot:
            reason = Reason.NO_SLOT
        elif not fits:
            reason = Reason.BANDWIDTH
        elif not spare:
            reason = Reason.CAPACITY
        elif all(instance.offers[o].slot in taken for o in spare):
            reason = Reason.CLASSROOM_BUSY
        else:
            reason = Reason.NOT_SELECTED
        out.append(Unmatched(request.request_id, reason))
    return tuple(out)
