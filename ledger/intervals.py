"""Half-open time intervals ``[start, end)`` in ms: the arithmetic of "connected".

Pure helpers, tested alone: a classroom is connected where the union of its node's
online intervals and its tutor consoles' intervals meets the live lesson window.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Interval", "clip", "from_changes", "intersect", "total", "union"]

Interval = tuple[int, int]


def from_changes(changes: Iterable[tuple[int, bool]], until: int) -> list[Interval]:
    """Intervals where the state is on, from ``(ts, on)`` changes in any order.

    Changes are sorted by ``(ts, on)`` so that an off and an on at the same instant
    read as a reconnect (off first); repeated ons or offs are no-ops. An interval
    still open at the last change ends at ``until``.
    """
    out: list[Interval] = []
    since: int | None = None
    for ts, on in sorted(changes):
        if on and since is None:
            since = ts
        elif not on and since is not None:
            if ts > since:
                out.append((since, ts))
            since = None
    if since is not None and until > since:
        out.append((since, until))
    return out


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same time (touching ones merge)."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def clip(intervals: Iterable[Interval], lo: int, hi: int) -> list[Interval]:
    """The parts of ``intervals`` inside ``[lo, hi)``."""
    out: list[Interval] = []
    for start, end in intervals:
        s, e = max(start, lo), min(end, hi)
        if e > s:
            out.append((s, e))
    return out


def total(intervals: Iterable[Interval]) -> int:
    """Summed length in ms (the intervals must not overlap: pass them through ``union``)."""
    return sum(end - start for start, end in intervals)


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The time in both ``a`` and ``b`` (each sorted and non-overlapping: from ``union``)."""
    out: list[Interval] = []
    left, right = list(a), list(b)
    i = j = 0
    while i < len(left) and j < len(right):
        s, e = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if e > s:
            out.append((s, e))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out
