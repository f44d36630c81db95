"""One hand-built case per reason code, the order between them, and purity."""

from __future__ import annotations

import pytest

from matching.models import Assignment, Instance, Offer, Pair, Reason, Request
from matching.reasons import explain
from matching.solvers import SOLVERS, solve


def offer(
    offer_id: str,
    *,
    subject: str = "math",
    grade: int = 3,
    slot: str = "mon-08:00",
    capacity: int = 2,
    bitrate: int = 1000,
    school: str = "L1",
    classroom: str | None = None,
) -> Offer:
    return Offer(
        offer_id, school, classroom or offer_id, "t", subject, grade, slot, capacity, bitrate
    )


def request(
    request_id: str,
    *,
    subject: str = "math",
    grade: int = 3,
    slots: tuple[str, ...] = ("mon-08:00",),
    downlink: int = 2000,
    priority: int = 3,
    school: str = "P1",
    classroom: str | None = None,
) -> Request:
    return Request(
        request_id, school, classroom or request_id, subject, grade, slots, downlink, priority
    )


def reasons_by(instance: Instance, solver: str) -> dict[str, Reason]:
    result = solve(instance, solver, 2.0)
    return {u.request_id: u.reason for u in result.unmatched}


SOLVER_NAMES = sorted(SOLVERS)


@pytest.mark.parametrize("solver", SOLVER_NAMES)
def test_no_offer(solver: str) -> None:
    instance = Instance.build(
        [offer("O1", subject="math", grade=3)],
        [request("R1", subject="english", grade=3), request("R2", subject="math", grade=4)],
    )
    assert reasons_by(instance, solver) == {"R1": Reason.NO_OFFER, "R2": Reason.NO_OFFER}


@pytest.mark.parametrize("solver", SOLVER_NAMES)
def test_no_slot(solver: str) -> None:
    instance = Instance.build([offer("O1", slot="tue-08:00")], [request("R1")])
    assert reasons_by(instance, solver) == {"R1": Reason.NO_SLOT}


@pytest.mark.parametrize("solver", SOLVER_NAMES)
def test_bandwidth_beats_no_slot(solver: str) -> None:
    # One offer at a wrong slot, one at the right slot but too heavy: bandwidth.
    instance = Instance.build(
        [offer("O1", slot="tue-08:00", bitrate=800), offer("O2", bitrate=2500)],
        [request("R1", downlink=1000)],
    )
    assert reasons_by(instance, solver) == {"R1": Reason.BANDWIDTH}


@pytest.mark.parametrize("solver", SOLVER_NAMES)
def test_capacity(solver: str) -> None:
    instance = Instance.build(
        [offer("O1", capacity=1), offer("O2", capacity=1, bitrate=3000, slot="mon-08:55")],
        [request("R1", priority=5), request("R2", priority=1, slots=("mon-08:00", "mon-08:55"))],
    )
    # O2 is at an acceptable slot but above R2's downlink; O1 fits but is full.
    result = solve(instance, solver, 2.0)
    assert [(a.request_id, a.offer_id) for a in result.assignments] == [("R1", "O1")]
    assert reasons_by(instance, solver) == {"R2": Reason.CAPACITY}


@pytest.mark.parametrize("solver", SOLVER_NAMES)
def test_classroom_busy(solver: str) -> None:
    instance = Instance.build(
        [offer("O1", subject="math"), offer("O2", subject="art", classroom="B")],
        [
            request("R1", subject="math", priority=5, classroom="c1"),
            request("R2", subject="art", priority=1, classroom="c1"),
        ],
    )
    assert reasons_by(instance, solver) == {"R2": Reason.CLASSROOM_BUSY}


def test_not_selected_only_for_non_maximal_assignments() -> None:
    instance = Instance.build([offer("O1")], [request("R1")])
    assert [(u.request_id, u.reason) for u in explain(instance, [])] == [
        ("R1", Reason.NOT_SELECTED)
    ]
    assert explain(instance, [Assignment("R1", "O1")]) == ()


def test_capacity_counts_only_fitting_offers() -> None:
    # A full offer that fits and a spare offer that does not fit: capacity, not busy.
    instance = Instance.build(
        [offer("O1", capacity=1), offer("O2", bitrate=5000, classroom="B")],
        [request("R0", classroom="x"), request("R1")],
    )
    reasons = explain(instance, [Assignment("R0", "O1")])
    assert [(u.request_id, u.reason) for u in reasons] == [("R1", Reason.CAPACITY)]


def test_pair_kept_is_preferred_on_ties() -> None:
    instance = Instance.build(
        [offer("O1", school="L1"), offer("O2", school="L2")],
        [request("R1", school="P1")],
        [Pair("L2", "P1")],
    )
    for solver in SOLVER_NAMES:
        result = solve(instance, solver, 2.0)
        assert [(a.offer_id, a.pair_kept) for a in result.assignments] == [("O2", True)]
        assert result.pairs_kept == 1


def test_priority_beats_pairs() -> None:
    # Keeping the pair would serve priority 1 instead of 5: priority wins.
    instance = Instance.build(
        [offer("O1", capacity=1, school="L2")],
        [request("R1", priority=1, school="P1"), request("R2", priority=5, school="P2")],
        [Pair("L2", "P1")],
    )
    result = solve(instance, "cpsat", 2.0)
    assert (result.priority_served, result.pairs_kept) == (5, 0)
