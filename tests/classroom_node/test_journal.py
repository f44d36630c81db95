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
    j.ack(msg(1)["id"])  # type: ignore[arg-type]
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
    j.ack(str(msg(0)["id"]))
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
