"""Instance invariants and the JSON document."""

from __future__ import annotations

import json

import pytest

from matching.exceptions import InstanceError, MatchingError
from matching.models import Instance, Offer, Request
from matching.solvers import solve


def make_offer(offer_id: str, classroom: str = "A", slot: str = "mon-08:00") -> Offer:
    return Offer(offer_id, "L1", classroom, "t", "math", 3, slot, 2, 1000)


def make_request(request_id: str) -> Request:
    return Request(request_id, "P1", "c1", "math", 3, ("mon-08:00",), 2000, 4)


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(InstanceError, match="duplicate offer_id 'O1'"):
        Instance.build([make_offer("O1"), make_offer("O1", "B")], [])
    with pytest.raises(InstanceError, match="duplicate request_id 'R1'"):
        Instance.build([], [make_request("R1"), make_request("R1")])


def test_double_booked_lead_classroom_rejected() -> None:
    with pytest.raises(MatchingError, match="double-booked lead classroom L1/A at mon-08:00"):
        Instance.build([make_offer("O1"), make_offer("O2")], [])
    Instance.build([make_offer("O1"), make_offer("O2", slot="mon-08:55")], [])


def test_json_document() -> None:
    instance = Instance.build([make_offer("O1")], [make_request("R1"), make_request("R2")])
    result = solve(instance, "cpsat", 2.0)
    document = json.loads(result.to_json())
    assert document["assignments"] == [{"request_id": "R1", "offer_id": "O1", "pair_kept": False}]
    assert document["unmatched"] == [{"request_id": "R2", "reason": "classroom_busy"}]
    assert document["objective"]["priority_served"] == 4
    assert document["objective"]["pairs_kept"] == 0
    assert document["optimal"] is True and document["gap"] == 0.0
    assert document["bound"]["priority_served"] == 4
    assert document["counts"]["by_reason"]["classroom_busy"] == 1
    assert document["solver"] == "cpsat" and document["seconds"] >= 0
