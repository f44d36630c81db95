"""Frozen value objects of the matching problem and its result.

Why frozen dataclasses rather than pydantic: these objects never cross a process
boundary as-is (the CSV reader validates the text, ``MatchResult.to_json`` writes the
output), they are created by the hundred thousand in the benchmark, and they must be
hashable. Invariants that involve several objects (unique ids, no double-booked lead
classroom) are checked once, when an ``Instance`` is built.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from matching.exceptions import InstanceError

__all__ = [
    "Assignment",
    "Instance",
    "MatchResult",
    "Offer",
    "Pair",
    "Reason",
    "Request",
    "Unmatched",
]


@dataclass(frozen=True, slots=True)
class Offer:
    """A lead classroom teaching ``subject``/``grade`` live at one weekly ``slot``.

    ``capacity`` is the most partner classrooms the lead teacher will take;
    ``bitrate_kbps`` is the stream a partner must be able to receive.
    """

    offer_id: str
    lead_school: str
    lead_classroom: str
    teacher: str
    subject: str
    grade: int
    slot: str
    capacity: int
    bitrate_kbps: int

    @property
    def lead_key(self) -> tuple[str, str]:
        """The lead classroom, unique across schools."""
        return (self.lead_school, self.lead_classroom)


@dataclass(frozen=True, slots=True)
class Request:
    """A partner classroom asking for ``subject``/``grade`` at one of ``slots``.

    ``priority`` is 1..5, higher is more urgent; it is the weight of serving the
    request. One classroom may file several requests (different subjects).
    """

    request_id: str
    partner_school: str
    partner_classroom: str
    subject: str
    grade: int
    slots: tuple[str, ...]
    downlink_kbps: int
    priority: int

    @property
    def classroom_key(self) -> tuple[str, str]:
        """The partner classroom, unique across schools."""
        return (self.partner_school, self.partner_classroom)


@dataclass(frozen=True, slots=True)
class Pair:
    """An existing long-term pairing (结对帮扶) of a lead school and a partner school."""

    lead_school: str
    partner_school: str


@dataclass(frozen=True, slots=True)
class Instance:
    """One matching problem: offers, requests and existing pairs.

    Building it checks the invariants every solver relies on, so solvers need not.
    Lookups by id are precomputed because every solver and the reasons need them.
    """

    offers: tuple[Offer, ...]
    requests: tuple[Request, ...]
    pairs: frozenset[Pair] = frozenset()
    offer_index: Mapping[str, int] = field(init=False, repr=False, compare=False)
    request_index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        offer_index: dict[str, int] = {}
        lead_slots: dict[tuple[tuple[str, str], str], str] = {}
        for i, offer in enumerate(self.offers):
            if offer.offer_id in offer_index:
                raise InstanceError(f"duplicate offer_id {offer.offer_id!r}")
            offer_index[offer.offer_id] = i
            key = (offer.lead_key, offer.slot)
            if key in lead_slots:
                raise InstanceError(
                    f"double-booked lead classroom {offer.lead_school}/{offer.lead_classroom}"
                    f" at {offer.slot}: offers {lead_slots[key]!r} and {offer.offer_id!r}"
                )
            lead_slots[key] = offer.offer_id
        request_index: dict[str, int] = {}
        for i, request in enumerate(self.requests):
            if request.request_id in request_index:
                raise InstanceError(f"duplicate request_id {request.request_id!r}")
            request_index[request.request_id] = i
        object.__setattr__(self, "offer_index", offer_index)
        object.__setattr__(self, "request_index", request_index)

    @classmethod
    def build(
        cls, offers: Iterable[Offer], requests: Iterable[Request], pairs: Iterable[Pair] = ()
    ) -> Instance:
        """Build from any iterables (lists from a reader, generators from a test)."""
        return cls(tuple(offers), tuple(requests), frozenset(pairs))

    def keeps_pair(self, request: Request, offer: Offer) -> bool:
        """True when serving ``request`` with ``offer`` keeps an existing pair."""
        return Pair(offer.lead_school, request.partner_school) in self.pairs


class Reason(StrEnum):
    """Why a request is unserved; the first that applies, in this order."""

    NO_OFFER = "no_offer"
    NO_SLOT = "no_slot"
    BANDWIDTH = "bandwidth"
    CAPACITY = "capacity"
    CLASSROOM_BUSY = "classroom_busy"
    #: Only for assignments that are not maximal (a fitting offer with spare capacity at
    #: a free slot exists). Our solvers always return maximal assignments, so this
    #: appears only when reasons are computed for an assignment made elsewhere.
    NOT_SELECTED = "not_selected"


@dataclass(frozen=True, slots=True)
class Assignment:
    """Request ``request_id`` is served by offer ``offer_id``."""

    request_id: str
    offer_id: str
    pair_kept: bool = False


@dataclass(frozen=True, slots=True)
class Unmatched:
    """Request ``request_id`` is unserved because of ``reason``."""

    request_id: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class MatchResult:
    """An assignment, why the rest is unserved, and how good the solver says it is.

    ``weighted`` is the single objective the solvers maximise,
    ``priority_served * big + pairs_kept``, which is lexicographic because ``big``
    exceeds any possible ``pairs_kept``. ``bound`` is the solver's proven upper bound
    on ``weighted`` (None when the solver proves nothing, as greedy), and
    ``gap = (bound - weighted) / max(1, bound)``.
    """

    assignments: tuple[Assignment, ...]
    unmatched: tuple[Unmatched, ...]
    priority_served: int
    pairs_kept: int
    big: int
    solver: str
    optimal: bool
    bound: int | None
    gap: float | None
    seconds: float
    status: str = ""

    @property
    def weighted(self) -> int:
        """The single objective: priority first, pairs kept as tie-break."""
        return self.priority_served * self.big + self.pairs_kept

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, as plain data."""
        by_reason: dict[str, int] = {reason.value: 0 for reason in Reason}
        for item in self.unmatched:
            by_reason[item.reason.value] += 1
        return {
            "solver": self.solver,
            "status": self.status,
            "optimal": self.optimal,
            "gap": self.gap,
            "seconds": round(self.seconds, 3),
            "objective": {
                "priority_served": self.priority_served,
                "pairs_kept": self.pairs_kept,
                "weighted": self.weighted,
                "big": self.big,
            },
            "bound": None
            if self.bound is None
            else {"weighted": self.bound, "priority_served": self.bound // self.big},
            "counts": {
                "requests": len(self.assignments) + len(self.unmatched),
                "served": len(self.assignments),
                "unmatched": len(self.unmatched),
                "by_reason": by_reason,
            },
            "assignments": [
                {"request_id": a.request_id, "offer_id": a.offer_id, "pair_kept": a.pair_kept}
                for a in self.assignments
            ],
            "unmatched": [
                {"request_id": u.request_id, "reason": u.reason.value} for u in self.unmatched
            ],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The output document (UTF-8 safe: school names stay readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)
