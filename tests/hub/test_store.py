"""The sequencing script against a real Redis: gapless, idempotent, optimistic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from broker.localstack import RedisServer
from hub.store import AppendStatus, NewEvent, Store
from protocols.ids import new_id


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[Store]:
    s = Store.from_url(redis_server.url)
    yield s
    await s.close()


async def _append_with_retry(store: Store, session: str, event_id: str) -> int:
    """What a hub replica does: try at the seq it believes is next, reload on conflict."""
    expected = await store.last_seq(session)
    while True:
        payload = f"{event_id}@{expected + 1}".encode()
        result = await store.append(
            session, event_id, expected, payload, type_="chat.message", src="n", ts=0
        )
        if result.status is not AppendStatus.CONFLICT:
            return result.seq
        expected = result.seq


async def test_concurrent_appends_get_gapless_unique_seqs(store: Store) -> None:
    ids = [new_id() for _ in range(200)]
    seqs = await asyncio.gather(*(_append_with_retry(store, "S1", i) for i in ids))
    assert sorted(seqs) == list(range(1, 201))
    stored = await store.read_events("S1")
    assert [s.seq for s in stored] == list(range(1, 201))
    # each stored payload was encoded for exactly the seq it got
    by_id = dict(zip(ids, seqs, strict=True))
    for item in stored:
        event_id, _, seq = item.payload.decode().partition("@")
        assert by_id[event_id] == item.seq == int(seq)


async def test_duplicate_id_returns_existing_seq_and_appends_nothing(store: Store) -> None:
    first = await store.append("S1", "A" * 26, 0, b"x", type_="t", src="n", ts=1)
    assert (first.status, first.seq) == (AppendStatus.APPENDED, 1)
    again = await store.append("S1", "A" * 26, 1, b"y", type_="t", src="n", ts=2)
    assert (again.status, again.seq) == (AppendStatus.DUPLICATE, 1)
    # even with a stale expected seq, a duplicate is a duplicate, not a conflict
    stale = await store.append("S1", "A" * 26, 0, b"z", type_="t", src="n", ts=3)
    assert (stale.status, stale.seq) == (AppendStatus.DUPLICATE, 1)
    assert [s.payload for s in await store.read_events("S1")] == [b"x"]
    assert await store.seq_of("S1", "n", "A" * 26) == 1


async def test_dedupe_is_per_sender(store: Store) -> None:
    """A node reusing another node's event id gets its own event sequenced, and the
    victim's later resend of that id is still recognised as its own duplicate."""
    mine = await store.append("S1", "X" * 26, 0, b"mine", type_="t", src="p1", ts=1)
    forged = await store.append("S1", "X" * 26, 1, b"forged", type_="t", src="p2", ts=2)
    assert forged.status is AppendStatus.APPENDED and forged.seq == 2
    resend = await store.append("S1", "X" * 26, 2, b"mine", type_="t", src="p1", ts=3)
    assert (resend.status, resend.seq) == (AppendStatus.DUPLICATE, mine.seq)
    # a sender name cannot be padded into another's key
    odd = await store.append("S1", "2X" + "X" * 24, 2, b"o", type_="t", src="p", ts=4)
    assert odd.status is AppendStatus.APPENDED
    assert await store.seq_of("S1", "p2", "X" * 26) == 2
    assert await store.seq_of("S1", "p3", "X" * 26) is None


async def test_expected_seq_mismatch_is_refused_with_current_seq(store: Store) -> None:
    for n in range(3):
        await store.append("S1", new_id(), n, b"e", type_="t", src="n", ts=0)
    conflict = await store.append("S1", new_id(), 1, b"late", type_="t", src="n", ts=0)
    assert (conflict.status, conflict.seq) == (AppendStatus.CONFLICT, 3)
    assert await store.last_seq("S1") == 3
    # sessions are independent logs
    other = await store.append("S2", new_id(), 0, b"e", type_="t", src="n", ts=0)
    assert (other.status, other.seq) == (AppendStatus.APPENDED, 1)


async def test_read_ranges_by_seq(store: Store) -> None:
    for n in range(10):
        await store.append("S1", new_id(), n, str(n + 1).encode(), type_="t", src="n", ts=0)
    mid = await store.read_events("S1", 4, 6)
    assert [(s.seq, s.payload) for s in mid] == [(4, b"4"), (5, b"5"), (6, b"6")]
    assert [s.seq for s in await store.read_events("S1", 8)] == [8, 9, 10]
    assert [s.seq for s in await store.read_events("S1", 2, limit=2)] == [2, 3]
    assert await store.read_events("S1", 11) == []


def _new(event_id: str, src: str = "n") -> NewEvent:
    return NewEvent(event_id, f"{event_id}".encode(), "chat.message", src, 0)


async def test_append_many_appends_in_order_and_stops_at_the_first_duplicate(
    store: Store,
) -> None:
    first = await store.append_many("S1", 0, [_new("a"), _new("b"), _new("c")])
    assert [(r.status, r.seq) for r in first] == [(AppendStatus.APPENDED, s) for s in (1, 2, 3)]
    # "b" again in the middle: "d" goes in, "b" is reported with its seq, "e" is not tried
    second = await store.append_many("S1", 3, [_new("d"), _new("b"), _new("e")])
    assert [(r.status, r.seq) for r in second] == [
        (AppendStatus.APPENDED, 4),
        (AppendStatus.DUPLICATE, 2),
    ]
    # another sender may use the same id
    third = await store.append_many("S1", 4, [_new("b", src="m")])
    assert [(r.status, r.seq) for r in third] == [(AppendStatus.APPENDED, 5)]
    stale = await store.append_many("S1", 3, [_new("f")])
    assert [(r.status, r.seq) for r in stale] == [(AppendStatus.CONFLICT, 5)]
    stored = await store.read_events("S1")
    assert [s.payload for s in stored] == [b"a", b"b", b"c", b"d", b"b"]
    assert await store.seq_of("S1", "m", "b") == 5
