"""The pure ledger: intervals, idempotence, order independence, snapshot round trip."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import HeartbeatInput, Ledger, LedgerInputError, PresenceInput
from ledger.inputs import BrowserInput, LedgerInput, from_wire, heartbeat_input, to_wire
from ledger.intervals import clip, from_changes, total, union
from ledger.snapshot import state_fields, state_from_fields
from protocols.messages import HandRaise, LessonStart, NodeHeartbeat
from tests.ledger.script import SessionPlan, build_script, inputs

ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


@pytest.fixture(scope="module")
def plans() -> list[SessionPlan]:
    return build_script()


@pytest.fixture(scope="module")
def records(plans: list[SessionPlan]) -> list[LedgerInput]:
    return inputs(plans)


def _figures(ledger: Ledger, plans: list[SessionPlan]) -> list[object]:
    return [ledger.figures(p.info.session, p.info) for p in plans]


# ------------------------------------------------------------------ intervals


def test_from_changes_reads_same_instant_as_reconnect() -> None:
    assert from_changes([(10, True), (20, False), (20, True), (30, False)], 99) == [
        (10, 20),
        (20, 30),
    ]
    assert from_changes([(5, True), (7, True)], 9) == [(5, 9)]  # repeated on: no-op
    assert from_changes([(5, False)], 9) == []


def test_union_clip_total() -> None:
    spans = union([(0, 5), (3, 8), (8, 9), (20, 25), (30, 30)])
    assert spans == [(0, 9), (20, 25)]
    assert clip(spans, 4, 22) == [(4, 9), (20, 22)]
    assert total(clip(spans, 4, 22)) == 7


# ------------------------------------------------------------------ idempotence


def test_every_duplicate_changes_nothing(
    records: list[LedgerInput], plans: list[SessionPlan]
) -> None:
    ledger = Ledger()
    assert all(ledger.feed(r) for r in records)
    before = _figures(ledger, plans)
    assert not any(ledger.feed(r) for r in records)  # the whole log again
    assert _figures(ledger, plans) == before


def test_replay_per_stream_equals_live(
    records: list[LedgerInput], plans: list[SessionPlan]
) -> None:
    """A rebuild reads each session log in seq order, then the input stream."""
    live = Ledger()
    live.feed_many(records)
    rebuilt = Ledger()
    events = [
        r for r in records if not isinstance(r, PresenceInput | HeartbeatInput | BrowserInput)
    ]
    others = [r for r in records if isinstance(r, PresenceInput | HeartbeatInput | BrowserInput)]
    by_session = sorted(events, key=lambda e: (e.session, e.seq))  # type: ignore[union-attr]
    rebuilt.feed_many(by_session)
    rebuilt.feed_many(others)
    assert _figures(rebuilt, plans) == _figures(live, plans)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rnd=st.randoms(use_true_random=False), dup_share=st.floats(0, 0.5))
def test_any_order_with_duplicates_equals_in_order(
    records: list[LedgerInput], plans: list[SessionPlan], rnd: random.Random, dup_share: float
) -> None:
    """Events and presence in any order, heartbeats in each node's own order,
    duplicates anywhere after their original: same figures as in order."""
    keys = [rnd.random() for _ in records]
    hb_positions = [i for i, r in enumerate(records) if isinstance(r, HeartbeatInput)]
    hb_keys = sorted(keys[i] for i in hb_positions)
    for i, k in zip(hb_positions, hb_keys, strict=True):
        keys[i] = k  # heartbeats keep their relative order (one node's clock)
    shuffled = [r for _, r in sorted(zip(keys, range(len(records)), strict=True))]
    order = [records[i] for i in shuffled]
    for i in rnd.sample(range(len(order)), int(dup_share * len(order))):
        order.insert(rnd.randint(i + 1, len(order)), order[i])
    expected = Ledger()
    expected.feed_many(records)
    ledger = Ledger()
    ledger.feed_many(order)
    assert _figures(ledger, plans) == _figures(expected, plans)


def test_event_ahead_of_gap_waits(plans: list[SessionPlan], records: list[LedgerInput]) -> None:
    sid = plans[0].info.session
    events = [r for r in records if getattr(r, "session", None) == sid and hasattr(r, "seq")]
    events.sort(key=lambda e: e.seq)  # type: ignore[union-attr]
    ledger = Ledger()
    assert ledger.feed(events[2])  # buffered
    assert ledger.sessions[sid].events == 0
    assert not ledger.feed(events[2])  # duplicate of a pending event
    ledger.feed(events[0])
    assert ledger.sessions[sid].events == 1
    ledger.feed(events[1])  # fills the gap, drains the pending one
    assert ledger.sessions[sid].events == 3 and not ledger.sessions[sid].pending


def test_unsequenced_event_is_a_caller_error() -> None:
    ledger = Ledger()
    with pytest.raises(LedgerInputError, match="after sequencing"):
        ledger.feed(HandRaise(id=ULID, session="s"))
    beat = NodeHeartbeat(id=ULID, session="s", seq=1, ts=1, body={"uptime_s": 1})
    with pytest.raises(LedgerInputError, match="not a lesson event"):
        ledger.feed(beat)


def test_live_lesson_is_measured_as_of() -> None:
    ledger = Ledger()
    ledger.feed(PresenceInput("p1", True, 0))
    ledger.feed(LessonStart(id=ULID, session="s", seq=1, ts=1_000, src="lead"))
    fig = ledger.figures("s", as_of=61_000)
    room = fig.classroom("p1")
    assert fig.classroom("lead") is not None
    assert room is None  # without the spec the ledger does not know p1 is in s
    ledger.feed(HandRaise(id=ULID, session="s", seq=2, ts=2_000, src="p1"))
    room = ledger.figures("s", as_of=61_000).classroom("p1")
    assert room is not None and room.connected_ms == 60_000 and room.hands == 1
    assert ledger.figures("s").classroom("p1").connected_ms == 1_000  # type: ignore[union-attr]


# ---------------------------------------------------------------- wire forms


def test_input_wire_round_trip() -> None:
    for record in (
        PresenceInput("n1", True, 5),
        HeartbeatInput("n1", 6, ("a", "b"), 24.5, 3),
        HeartbeatInput("n1", 7, (), None, None),
        BrowserInput("u1", "s", 8, False, None),
        BrowserInput("u2", "s", 9, True, "c11"),
    ):
        assert from_wire(to_wire(record)) == record
    with pytest.raises(LedgerInputError):
        from_wire(b"\x81\xa1k\xa1x")


def test_heartbeat_input_from_message() -> None:
    msg = NodeHeartbeat(
        id=ULID,
        body={"uptime_s": 3, "sessions": ["s1"], "media": {"fps": 25, "freezes": 2}},
    )
    assert heartbeat_input(msg, "n1", 77) == HeartbeatInput("n1", 77, ("s1",), 25.0, 2)


def test_snapshot_round_trip_keeps_figures(
    records: list[LedgerInput], plans: list[SessionPlan]
) -> None:
    ledger = Ledger()
    cut = len(records) * 2 // 3
    ledger.feed_many(records[:cut])
    sid = plans[1].info.session
    # leave one event pending behind a gap
    later = [r for r in records[cut:] if getattr(r, "session", None) == sid and hasattr(r, "seq")]
    if len(later) > 1:
        ledger.feed(later[1])
    restored = Ledger()
    restored.presence = {n: set(v) for n, v in ledger.presence.items()}
    for s, state in ledger.sessions.items():
        restored.sessions[s] = state_from_fields(s, state_fields(state))
    assert restored.sessions[sid].pending.keys() == ledger.sessions[sid].pending.keys()
    assert _figures(restored, plans) == _figures(ledger, plans)
    restored.feed_many(records[cut:])
    ledger.feed_many(records[cut:])
    assert _figures(restored, plans) == _figures(ledger, plans)
