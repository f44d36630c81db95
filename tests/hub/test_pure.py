"""Pure parts of the hub: resync paging, presence bookkeeping, session specs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.presence import NodeTracker
from hub.resync import build_page
from hub.sessions import SessionSpec
from hub.store import StoredEvent
from protocols.codec import encode
from protocols.ids import new_id
from protocols.lesson import Role
from protocols.messages import ChatBody, ChatMessage, HeartbeatBody


def _stored(seq: int, size: int = 100) -> StoredEvent:
    event = ChatMessage(
        id=new_id(), session="S", seq=seq, ts=1, src="lead", body=ChatBody(text="x" * size)
    )
    return StoredEvent(seq, encode(event))


def test_page_takes_everything_that_fits() -> None:
    page, payload = build_page("S", 1, None, [_stored(s) for s in (1, 2, 3)], max_size=4096)
    assert [e.seq for e in page.body.events] == [1, 2, 3]
    assert (page.body.to_seq, page.body.more) == (3, False)
    assert len(payload) <= 4096


def test_page_is_cut_under_the_size_limit() -> None:
    stored = [_stored(s, 1000) for s in range(1, 11)]
    page, payload = build_page("S", 1, None, stored, max_size=4096)
    assert len(payload) <= 4096
    assert page.body.more is True
    assert [e.seq for e in page.body.events] == list(range(1, page.body.to_seq + 1))


def test_page_respects_to_seq_and_empty_ranges() -> None:
    page, _ = build_page("S", 2, 3, [_stored(s) for s in (2, 3, 4)], max_size=4096)
    assert ([e.seq for e in page.body.events], page.body.more) == ([2, 3], False)
    empty, _ = build_page("S", 9, None, [], max_size=4096)
    assert (empty.body.events, empty.body.to_seq, empty.body.more) == ([], 8, False)


def test_presence_tracking() -> None:
    tracker = NodeTracker(timeout_s=10)
    assert tracker.presence("n", True, 1_000) is True
    assert tracker.presence("n", True, 2_000) is False  # already online
    assert tracker.is_online("n", 11_000)
    assert not tracker.is_online("n", 12_001)  # silent for longer than the timeout
    assert tracker.heartbeat("n", HeartbeatBody(uptime_s=5), 12_500) is True
    view = tracker.view("n", 13_000)
    assert view.online and view.heartbeat_ms == 12_500
    assert view.heartbeat is not None and view.heartbeat["uptime_s"] == 5
    assert tracker.presence("n", False, 13_000) is False
    assert not tracker.is_online("n", 13_000)


def test_session_spec_roster_and_joins() -> None:
    spec = SessionSpec(session="S", lead="a", partners=["b"], observers=["c"], starts_at=100_000)
    assert spec.roster() == {"a": Role.LEAD, "b": Role.PARTNER, "c": Role.OBSERVER}
    assert spec.join_body("b").role == "partner"
    assert not spec.join_due(now_ms=0, lead_time_s=10)
    assert spec.join_due(now_ms=90_000, lead_time_s=10)
    with pytest.raises(ValidationError):
        SessionSpec(session="S", lead="a", partners=["a"])
    with pytest.raises(ValidationError):
        SessionSpec(session="S", lead="a", starts_at=5, ends_at=5)
