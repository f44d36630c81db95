"""The ledger's deck figures: pages shown, and which partner had the deck in time."""

from __future__ import annotations

from ledger import Ledger
from ledger.inputs import from_wire, heartbeat_input, to_wire
from ledger.snapshot import state_fields, state_from_fields
from protocols.ids import new_id
from protocols.messages import HeartbeatBody, LessonStart, NodeHeartbeat, SlideShow

DECK = "0123456789abcdef0123456789abcdef"


def _beat(node: str, ts: int, ready: bool) -> object:
    body = HeartbeatBody(uptime_s=1, sessions=["s1"], decks={DECK: ready})
    return heartbeat_input(NodeHeartbeat(id=new_id(), body=body), node=node, ts=ts)


def _slide(seq: int, index: int) -> SlideShow:
    return SlideShow.model_validate(
        {
            "id": new_id(),
            "session": "s1",
            "seq": seq,
            "ts": 2000 + seq,
            "src": "lead",
            "body": {"deck": DECK, "index": index},
        }
    )


def test_pages_used_and_ready_in_time_survive_a_save() -> None:
    ledger = Ledger()
    ledger.feed(_beat("p1", 1000, True))  # ready before the lesson
    ledger.feed(_beat("p2", 1000, False))
    start = LessonStart.model_validate(
        {"id": new_id(), "session": "s1", "seq": 1, "ts": 1500, "src": "lead", "body": {}}
    )
    ledger.feed(start)
    for seq, index in ((2, 0), (3, 1), (4, 1), (5, 3)):
        ledger.feed(_slide(seq, index))
    ledger.feed(_beat("p2", 2500, True))  # complete only after the start: late
    (deck,) = ledger.figures("s1").decks
    assert deck.deck == DECK and deck.pages_used == (0, 1, 3)
    assert deck.ready == {"p1": True, "p2": False}
    assert deck.ready_at == {"p1": 1000, "p2": 2500}

    # the saved hash and the input stream keep it
    saved = state_from_fields("s1", state_fields(ledger.sessions["s1"]))
    again = Ledger()
    again.sessions["s1"] = saved
    assert again.figures("s1").decks == ledger.figures("s1").decks
    record = _beat("p1", 7, True)
    assert from_wire(to_wire(record)) == record  # type: ignore[arg-type]
