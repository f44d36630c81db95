"""The receiver ordering machine delivers each event exactly once, in order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.ordering import Reorderer, SeqRange


def test_in_order_passes_straight_through() -> None:
    r: Reorderer[str] = Reorderer()
    assert r.push(1, "a") == ["a"]
    assert r.push(2, "b") == ["b"]
    assert r.gap() is None
    assert r.last_delivered == 2


def test_gap_is_reported_as_a_range_and_filled() -> None:
    r: Reorderer[int] = Reorderer()
    assert r.push(1, 1) == [1]
    assert r.push(5, 5) == []
    assert r.push(4, 4) == []
    assert r.gap() == SeqRange(2, 3)
    assert r.push(2, 2) == [2]
    assert r.gap() == SeqRange(3, 3)
    assert r.push(3, 3) == [3, 4, 5]
    assert r.gap() is None


def test_duplicates_are_dropped_and_counted() -> None:
    r: Reorderer[int] = Reorderer()
    r.push(1, 1)
    r.push(3, 3)
    assert r.push(1, 1) == []
    assert r.push(3, 3) == []
    assert r.duplicates == 2


def test_head_from_snapshot_reveals_a_trailing_gap() -> None:
    r: Reorderer[int] = Reorderer()
    r.push(1, 1)
    r.observe_head(4)
    assert r.gap() == SeqRange(2, 4)


def test_skip_to_after_snapshot_releases_buffered() -> None:
    r: Reorderer[int] = Reorderer()
    r.push(6, 6)
    assert r.skip_to(6) == [6]
    assert r.next_seq == 7
    assert r.push(3, 3) == []  # older than the snapshot: a duplicate


def test_window_bounds_the_buffer_but_not_the_gap() -> None:
    r: Reorderer[int] = Reorderer(window=10)
    r.push(100, 100)
    assert r.buffered == 0
    assert r.gap() == SeqRange(1, 100)


def test_invalid_seq() -> None:
    with pytest.raises(ValueError):
        Reorderer[int]().push(0, 0)


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=60),
    data=st.data(),
)
def test_any_arrival_order_with_duplicates_delivers_exactly_once_in_order(
    n: int, data: st.DataObject
) -> None:
    seqs = list(range(1, n + 1))
    extra = data.draw(st.lists(st.sampled_from(seqs), max_size=2 * n))
    arrivals = data.draw(st.permutations(seqs + extra))
    r: Reorderer[int] = Reorderer()
    out: list[int] = []
    for seq in arrivals:
        out += r.push(seq, seq)
        gap = r.gap()
        if gap is not None:  # the gap is always something genuinely not delivered
            assert gap.first == r.next_seq
            assert all(s not in out for s in range(gap.first, gap.last + 1))
    assert out == seqs
    assert r.duplicates == len(extra)
    assert r.gap() is None


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 40), data=st.data())
def test_lossy_delivery_repaired_by_resync_of_reported_gaps(n: int, data: st.DataObject) -> None:
    """Drop some events; answering every reported gap from the log completes delivery."""
    seqs = list(range(1, n + 1))
    arrived = data.draw(st.lists(st.sampled_from(seqs), max_size=n))
    r: Reorderer[int] = Reorderer()
    out: list[int] = []
    for seq in arrived:
        out += r.push(seq, seq)
    r.observe_head(n)  # a heartbeat/snapshot says n exists
    rounds = 0
    while (gap := r.gap()) is not None:
        rounds += 1
        for seq in range(gap.first, gap.last + 1):
            out += r.push(seq, seq)
    assert out == seqs
    assert rounds <= n
