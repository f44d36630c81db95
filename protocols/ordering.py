"""Receiver-side ordering: a sans-I/O state machine.

A node receives sequenced events from MQTT (QoS 1: at least once, possibly out of
order across reconnects) and from resync replies. ``Reorderer`` turns that into
exactly-once, in-order delivery: push ``(seq, item)`` in, get the items that are
now deliverable out; duplicates are dropped and counted; ``gap()`` says which range
to request when something is missing. It keeps no clock: the adapter decides when a
gap has lasted long enough to ask for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Reorderer", "SeqRange"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SeqRange:
    """An inclusive range of sequence numbers, ``first <= last``."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if self.first < 1 or self.last < self.first:
            raise ValueError(f"invalid range {self.first}..{self.last}")

    def __len__(self) -> int:
        return self.last - self.first + 1


class Reorderer(Generic[T]):
    """Deliver items in ``seq`` order exactly once.

    ``next_seq`` is the first sequence number not yet delivered. Items ahead of it
    wait in a buffer of at most ``window`` entries; an item further ahead than the
    window is not buffered (it will come back through resync) but still extends the
    known head, so the gap is reported.
    """

    def __init__(self, next_seq: int = 1, *, window: int = 10_000) -> None:
        if next_seq < 1:
            raise ValueError("next_seq starts at 1")
        self._next = next_seq
        self._window = window
        self._buffer: dict[int, T] = {}
        self._head = next_seq - 1
        self.delivered = 0
        self.duplicates = 0

    @property
    def next_seq(self) -> int:
        """First sequence number not yet delivered."""
        return self._next

    @property
    def last_delivered(self) -> int:
        return self._next - 1

    @property
    def head(self) -> int:
        """Highest sequence number known to exist."""
        return self._head

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def push(self, seq: int, item: T) -> list[T]:
        """Accept one item; return every item now deliverable, in order."""
        if seq < 1:
            raise ValueError("seq starts at 1")
        if seq < self._next or seq in self._buffer:
            self.duplicates += 1
            return []
        self._head = max(self._head, seq)
        if seq != self._next:
            if seq - self._next < self._window:
                self._buffer[seq] = item
            return []
        out = [item]
        self._next += 1
        while self._next in self._buffer:
            out.append(self._buffer.pop(self._next))
            self._next += 1
        self.delivered += len(out)
        return out

    def observe_head(self, seq: int) -> None:
        """Note that events up to ``seq`` exist (from a snapshot or a heartbeat)."""
        self._head = max(self._head, seq)

    def skip_to(self, next_seq: int) -> list[T]:
        """Jump forward (the caller applied a snapshot covering up to ``next_seq - 1``).

        Returns buffered items that became deliverable past the jump.
        """
        if next_seq <= self._next:
            return []
        for seq in [s for s in self._buffer if s < next_seq]:
            del self._buffer[seq]
        self._next = next_seq
        self._head = max(self._head, next_seq - 1)
        out: list[T] = []
        while self._next in self._buffer:
            out.append(self._buffer.pop(self._next))
            self._next += 1
        self.delivered += len(out)
        return out

    def gap(self) -> SeqRange | None:
        """The first missing range to request, or ``None`` if nothing is missing."""
        if self._head < self._next:
            return None
        later = [s for s in self._buffer if s > self._next]
        last = (min(later) - 1) if later else self._head
        return SeqRange(self._next, last)
