"""Journal and store: durable, ordered, tolerant of a torn last line."""

from __future__ import annotations

from pathlib import Path

from classroom_node.journal import Journal
from classroom_node.store import SessionStore


def msg(i: int) -> dict[str, object]:
    return {"id": f"ID{i:024d}", "type": "chat.message", "body": {"text": str(i)}}


def test_pending_survive_reopen_in_order(tmp_path: Path) -> None:
    path = tmp_path / "j" / "outbound.jsonl"
    j = Journal(path).open()
    for i in range(4):
        j.append(msg(i))
    j.confirm(msg(1)["id"])  # type: ignore[arg-type]
    j.close()
    again = Journal(path).open()
    assert [m["id"] for m in again.pending()] == [msg(i)["id"] for i in (0, 2, 3)]


def test_torn_tail_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "outbound.jsonl"
    j = Journal(path).open()
    j.append(msg(0))
    j.close()
    with path.open("ab") as f:
        f.write(b'{"add": {"id": "half')
    again = Journal(path).open()
    assert len(again) == 1
    again.append(msg(1))
    again.close()
    assert len(Journal(path).open()) == 2


def test_all_acked_truncates_file(tmp_path: Path) -> None:
    path = tmp_path / "outbound.jsonl"
    j = Journal(path).open()
    j.append(msg(0))
    j.confirm(str(msg(0)["id"]))
    assert path.stat().st_size == 0 and len(j) == 0


def test_store_memberships_and_logs(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save_memberships({"s1": {"role": "partner"}})
    store.log("s1").append({"seq": 1})
    store.log("s1").append({"seq": 2})
    store.close()
    again = SessionStore(tmp_path)
    assert again.load_memberships() == {"s1": {"role": "partner"}}
    assert [r["seq"] for r in again.log("s1").load()] == [1, 2]


def test_bounded_refuses_clearly_and_counts(tmp_path: Path) -> None:
    import pytest

    from classroom_node.exceptions import JournalFull

    j = Journal(tmp_path / "outbound.jsonl", max_entries=3).open()
    for i in range(3):
        j.append(msg(i))
    with pytest.raises(JournalFull):
        j.append(msg(3))
    assert j.full == 1 and len(j) == 3  # nothing half-written
    j.confirm(str(msg(0)["id"]))
    j.append(msg(3))  # room again
    small = Journal(tmp_path / "b.jsonl", max_bytes=200).open()
    small.append(msg(0))
    with pytest.raises(JournalFull):
        for i in range(1, 10):
            small.append(msg(i))
    assert (tmp_path / "b.jsonl").stat().st_size <= 200


def test_due_keeps_order_window_and_backs_off(tmp_path: Path) -> None:
    j = Journal(tmp_path / "outbound.jsonl", confirm_timeout_s=1.0, max_backoff_s=4.0).open()
    ids = [str(msg(i)["id"]) for i in range(5)]
    for i in range(5):
        j.append(msg(i), now=0.0)
    assert j.due(0.0, window=2) == ids[:2]
    j.sent(ids[0], 0.0)
    j.sent(ids[1], 0.0)
    assert j.due(0.5, window=2) == []  # window full, nothing overdue
    j.confirm(ids[0])
    assert j.due(0.5, window=2) == [ids[2]]
    # unconfirmed after the timeout: due again, then after twice as long
    assert j.due(1.0, window=1) == [ids[1]]
    j.sent(ids[1], 1.0)
    assert j.resent == 1 and j.due(2.5, window=1) == []
    assert j.due(3.0, window=1) == [ids[1]]
    # a refused send goes back in line and holds the later ones (order)
    j.unsent(ids[1], 3.0, retry_in=1.0)
    assert j.due(3.5, window=5) == []
    assert j.due(4.0, window=5) == ids[1:]
    assert j.oldest_age(10.0) == 10.0


def test_reopen_sends_everything_again(tmp_path: Path) -> None:
    path = tmp_path / "outbound.jsonl"
    j = Journal(path).open()
    for i in range(3):
        j.append(msg(i))
        j.sent(str(msg(i)["id"]), 0.0)
    j.close()
    again = Journal(path).open(now=5.0)
    assert again.in_flight == 0
    assert again.due(5.0, window=10) == [str(msg(i)["id"]) for i in range(3)]
