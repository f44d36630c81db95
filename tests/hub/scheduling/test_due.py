"""The scheduler's pure decision, walked along a fake clock."""

from __future__ import annotations

from hub.scheduling.due import Action, ActionKind, Timing, due, prune
from hub.sessions import SessionSpec

MIN = 60_000
START = 1_000 * MIN
SPEC = SessionSpec(
    session="S1", lead="lead", partners=["p1"], starts_at=START, ends_at=START + 40 * MIN
)
TIMING = Timing()  # joins 10 minutes ahead


def _kinds(now: int, done: set[Action] | None = None) -> list[tuple[str, str]]:
    return [(a.kind.value, a.node) for a in due([SPEC], now, TIMING, done or set())]


def test_join_window_opens_lead_time_before_start() -> None:
    assert _kinds(START - 10 * MIN - 1) == []
    assert _kinds(START - 10 * MIN) == [("join", "lead"), ("join", "p1")]
    assert _kinds(START + 39 * MIN) == [("join", "lead"), ("join", "p1")]


def test_leave_after_end_within_window() -> None:
    end = START + 40 * MIN
    assert _kinds(end) == [("leave", "lead"), ("leave", "p1")]
    assert _kinds(end + 59 * MIN) != []
    assert _kinds(end + 60 * MIN) == []
    late = Timing(leave_after_s=120)
    assert due([SPEC], end + MIN, late) == []


def test_done_actions_are_not_repeated_and_pruned_later() -> None:
    now = START - 5 * MIN
    done = set(due([SPEC], now, TIMING))
    assert _kinds(now, done) == []
    assert _kinds(now, {Action(ActionKind.JOIN, "S1", "lead")}) == [("join", "p1")]
    assert prune(done, [SPEC], now, TIMING) == done
    assert prune(done, [SPEC], START + 200 * MIN, TIMING) == set()


def test_ended_lessons_get_no_join_and_unscheduled_sessions_are_ignored() -> None:
    assert due([SPEC], START, TIMING, ended={"S1"}) == []
    open_ended = SessionSpec(session="S2", lead="lead")
    assert due([open_ended], START, TIMING) == []
    no_end = SessionSpec(session="S3", lead="lead", starts_at=START)
    assert [a.kind for a in due([no_end], START + 10_000 * MIN, TIMING)] == [ActionKind.JOIN]
