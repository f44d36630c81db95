"""Replay viewing in the ledger: wire form, idempotent folding, persistence, apart from live."""

from __future__ import annotations

from ledger.aggregate import Ledger
from ledger.inputs import ReplayInput, from_wire, to_wire
from ledger.snapshot import state_fields, state_from_fields
from protocols.ids import new_id
from protocols.messages import AttendanceBody, AttendanceReport, LessonEnd, LessonStart


def test_replay_input_round_trips_on_the_wire() -> None:
    record = ReplayInput("jti:x/view-1", "S1", 1000, 42_000, "p1")
    assert from_wire(to_wire(record)) == record
    viewer = ReplayInput("admin/view-2", "S1", 1000, 5, None)
    assert from_wire(to_wire(viewer)) == viewer


def test_largest_total_per_view_counts_once_and_never_as_live() -> None:
    ledger = Ledger()
    ledger.feed(LessonStart(id=new_id(), session="S1", seq=1, ts=0, src="lead"))
    ledger.feed(
        AttendanceReport(
            id=new_id(), session="S1", seq=2, ts=10, src="p1",
            body=AttendanceBody(present=20, enrolled=30),
        )
    )  # fmt: skip
    ledger.feed(LessonEnd(id=new_id(), session="S1", seq=3, ts=600_000, src="lead"))
    assert ledger.feed(ReplayInput("a/v1", "S1", 700_000, 30_000, "p1"))
    assert not ledger.feed(ReplayInput("a/v1", "S1", 700_010, 30_000, "p1"))  # again
    assert not ledger.feed(ReplayInput("a/v1", "S1", 700_020, 10_000, "p1"))  # late, smaller
    assert ledger.feed(ReplayInput("a/v1", "S1", 700_030, 45_000, "p1"))
    assert ledger.feed(ReplayInput("b/v2", "S1", 700_040, 20_000, None))
    assert not ledger.feed(ReplayInput("c/v3", "S1", 700_050, 0, "p2"))  # not played yet
    figures = ledger.figures("S1")
    assert figures.replay_ms == 65_000
    assert sorted((r.view, r.classroom, r.watched_ms) for r in figures.replays) == [
        ("a/v1", "p1", 45_000),
        ("b/v2", None, 20_000),
    ]
    p1 = figures.classroom("p1")
    assert p1 is not None and p1.replay_ms == 45_000
    assert p1.connected_ms == 0 and figures.viewers == 0  # replay is not live time

    restored = state_from_fields("S1", state_fields(ledger.sessions["S1"]))
    assert restored.replays == ledger.sessions["S1"].replays
