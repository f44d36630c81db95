"""SessionView: ordering, counters and resync decisions, no event loop needed."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from classroom_node.sessionview import SessionView
from protocols.ids import new_id
from protocols.messages import ChatMessage, CmdJoinBody, CmdResyncBody, SessionStateBody, SlideShow

S = "s1"


def chat(seq: int, sent: int = 1000) -> Any:
    return ChatMessage.model_validate(
        {
            "id": new_id(),
            "session": S,
            "seq": seq,
            "ts": sent,
            "src": "lead",
            "sent": sent,
            "body": {"text": f"m{seq}"},
        }
    )


def joined(**kw: Any) -> SessionView:
    return SessionView(S, CmdJoinBody(role="partner"), **kw)


def test_applies_in_order_once_with_latency() -> None:
    view = joined()
    out = []
    for seq in (2, 1, 1, 3, 2):
        out += view.offer(chat(seq, sent=1000), now_ms=1040)
    assert [a.event.seq for a in out] == [1, 2, 3]
    c = view.counters()
    assert (c.received, c.last_seq, c.duplicates_dropped) == (3, 3, 2)
    assert c.latency["count"] == 3 and c.latency["max_ms"] == 40


def test_catch_up_first_then_gap_after_grace() -> None:
    view = joined(grace_s=0.2, timeout_s=2.0)
    first = view.due_request(0.0)
    assert first is not None and (first.from_seq, first.to_seq) == (1, None)
    assert view.due_request(0.1) is None  # one outstanding request at a time
    view.resync_answered(CmdResyncBody(from_seq=1, to_seq=0, events=[]))
    view.offer(chat(1), 0)
    view.offer(chat(4), 0)
    assert view.due_request(1.0) is None  # gap seen, grace starts
    assert view.due_request(1.1) is None
    gap = view.due_request(1.25)
    assert gap is not None and (gap.from_seq, gap.to_seq) == (2, 3)
    applied = view.offer_resync([chat(2), chat(3)], 0)
    view.resync_answered(CmdResyncBody(from_seq=2, to_seq=3, events=[chat(2), chat(3)]))
    assert [a.event.seq for a in applied] == [2, 3, 4]
    assert view.counters().gaps_repaired == 1 and view.resynced == 3
    assert view.due_request(5.0) is None and not view.resync_pending


def test_unanswered_request_is_retried_after_timeout() -> None:
    view = joined(timeout_s=1.0)
    assert view.due_request(0.0) is not None
    assert view.due_request(0.9) is None
    again = view.due_request(1.1)
    assert again is not None and again.from_seq == 1
    assert view.resync_requests == 2


def test_unanswered_requests_back_off_and_an_answer_resets_the_wait() -> None:
    view = joined(timeout_s=1.0)
    asked = [0.0]
    assert view.due_request(0.0) is not None
    t = 0.0
    while t < 60:  # a hub too busy to answer: requests thin out, never stop
        t += 0.05
        if view.due_request(t) is not None:
            asked.append(round(t, 2))
    gaps = [b - a for a, b in itertools.pairwise(asked)]
    assert gaps[:4] == pytest.approx([1.0, 2.0, 4.0, 8.0], abs=0.06)
    assert max(gaps) <= 30.06 and len(asked) < 10
    view.resync_answered(CmdResyncBody(from_seq=1, to_seq=0, events=[]))
    view.request_catch_up()
    assert view.due_request(t) is not None
    assert view.due_request(t + 0.9) is None
    assert view.due_request(t + 1.1) is not None  # back to timeout_s after an answer


def test_more_is_followed_from_to_seq_plus_one() -> None:
    view = joined()
    view.due_request(0.0)
    view.offer_resync([chat(1), chat(2)], 0)
    view.resync_answered(CmdResyncBody(from_seq=1, to_seq=2, events=[chat(1), chat(2)], more=True))
    follow = view.due_request(0.01)
    assert follow is not None and (follow.from_seq, follow.to_seq) == (3, None)


def test_snapshot_is_drawn_until_events_catch_up_and_not_skipped() -> None:
    view = joined()
    view.observe_snapshot(SessionStateBody(status="live", title="Maths", last_seq=2))
    assert view.state().title == "Maths" and view.received == 0
    assert view.reorderer.gap() is not None  # still wants seq 1..2
    slide = SlideShow.model_validate(
        {"id": new_id(), "session": S, "seq": 2, "src": "lead", "body": {"index": 4}}
    )
    view.offer(chat(1), 0)
    view.offer(slide, 0)
    assert view.received == 2 and view.state().slide is not None


def test_restore_counts_but_fires_no_latency() -> None:
    view = joined()
    view.restore([chat(1), chat(2)])
    assert view.received == 2 and view.next_seq == 3
    assert view.counters().latency == {"count": 0}


def test_left_session_asks_nothing() -> None:
    view = SessionView(S, None)
    assert view.due_request(10.0) is None
