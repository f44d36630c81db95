"""One session as a node sees it: pure, no I/O, no clock of its own.

``SessionView`` glues the receiver-side ``Reorderer`` to the ``LessonMachine`` and
keeps the counters issue 2 reports. Sequenced events come in through ``offer``
(live from the session topic or inside a ``cmd.resync`` reply); each one is applied
exactly once, in ``seq`` order, and returned so the adapter can log it and call its
hooks. Time is passed in by the caller, which keeps the resync decisions testable.

Resync policy (``due_request``):

* after a join, a restart or a reconnect the node asks for everything from its
  ``next_seq`` ("catch-up"): the broker may have dropped deliveries while the
  hub was reloading its ACL, or while we were away;
* a gap (a later seq arrived, or a snapshot says the head is further) is asked for
  only once it has lasted ``grace_s``, because reordering across a reconnect
  usually fills it by itself;
* at most one request is outstanding per session; without an answer within
  ``timeout_s`` the node asks again, from ``next_seq`` to the newest, waiting twice
  as long after each unanswered request (up to ``MAX_TIMEOUT_S``): a hub that is
  slow to answer a thousand classrooms must not get a thousand more requests every
  two seconds (the load simulator showed that storm);
* an answer with ``more`` is followed at once by a request from ``to_seq + 1``.

Snapshots: a retained ``session.state`` tells the head (so the gap is known) and
lets ``state()`` draw the lesson at once for a node that has applied nothing yet.
We do **not** ``skip_to`` the snapshot: the node still replays from seq 1, so its
applied log is complete and ``received`` counts every event it applied (issue 2's
"lost" counter is "sequenced events some partner never applied").
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from typing import Any

from protocols.lesson import LessonMachine, Role
from protocols.messages import (
    CmdJoinBody,
    CmdResyncBody,
    Envelope,
    Event,
    NodeResyncBody,
    SessionStateBody,
)
from protocols.ordering import Reorderer

__all__ = ["Applied", "Counters", "LatencyStats", "SessionView"]


@dataclass(frozen=True, slots=True)
class Applied:
    """An event the view just applied, with when and how late."""

    event: Event
    applied_at_ms: int
    #: ``applied_at_ms - event.sent``; ``None`` if the sender gave no clock.
    latency_ms: int | None
    via_resync: bool


class LatencyStats:
    """Count, mean, max and percentiles of apply latency over the recent window."""

    def __init__(self, window: int = 2000) -> None:
        self.count = 0
        self.total = 0
        self.max: int | None = None
        self.recent: deque[int] = deque(maxlen=window)

    def add(self, value: int) -> None:
        self.count += 1
        self.total += value
        self.max = value if self.max is None else max(self.max, value)
        self.recent.append(value)

    def summary(self) -> dict[str, float]:
        if not self.count:
            return {"count": 0}
        values = sorted(self.recent)
        qs = (
            statistics.quantiles(values, n=100, method="inclusive")
            if len(values) > 1
            else values * 99
        )
        return {
            "count": self.count,
            "mean_ms": self.total / self.count,
            "p50_ms": qs[49],
            "p95_ms": qs[94],
            "p99_ms": qs[98],
            "max_ms": self.max or 0,
        }


@dataclass(frozen=True, slots=True)
class Counters:
    """A copy of one session's counters (for the local API, heartbeats, simulators)."""

    received: int
    last_seq: int
    head: int
    buffered: int
    #: ``cmd.resync`` replies that moved the applied position past a known gap.
    gaps_repaired: int
    duplicates_dropped: int
    resync_requests: int
    #: Events applied while handling resync replies (incl. buffered ones they released).
    resynced: int
    latency: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "last_seq": self.last_seq,
            "head": self.head,
            "buffered": self.buffered,
            "gaps_repaired": self.gaps_repaired,
            "duplicates_dropped": self.duplicates_dropped,
            "resync_requests": self.resync_requests,
            "resynced": self.resynced,
            "latency": dict(self.latency),
        }


@dataclass(slots=True)
class _Request:
    body: NodeResyncBody
    sent_at: float


#: Longest wait for a resync answer before asking again (after repeated misses).
MAX_TIMEOUT_S = 30.0


class SessionView:
    """Reorderer + lesson machine + counters + resync planning for one session."""

    def __init__(
        self,
        session: str,
        join: CmdJoinBody | None = None,
        *,
        grace_s: float = 0.2,
        timeout_s: float = 2.0,
    ) -> None:
        self.session = session
        self.join = join
        self.joined = join is not None
        self.grace_s = grace_s
        self.timeout_s = timeout_s
        self.reorderer: Reorderer[Event] = Reorderer()
        self.machine = LessonMachine(session=session, roster={})
        self.snapshot: SessionStateBody | None = None
        self.received = 0
        self.gaps_repaired = 0
        self.resync_requests = 0
        self.resynced = 0
        self.latency = LatencyStats()
        self._catch_up = self.joined
        self._outstanding: _Request | None = None
        self._follow_up: NodeResyncBody | None = None
        self._gap_first = 0
        self._gap_seen_at: float | None = None
        #: consecutive requests that went unanswered (the wait doubles with each)
        self._misses = 0

    # ----------------------------------------------------------------- input

    @property
    def last_seq(self) -> int:
        return self.reorderer.last_delivered

    @property
    def next_seq(self) -> int:
        return self.reorderer.next_seq

    def restore(self, events: list[Event]) -> None:
        """Re-apply a previous run's log (contiguous from seq 1): no hooks, no latency."""
        for event in events:
            assert event.seq is not None
            for item in self.reorderer.push(event.seq, event):
                self.machine.apply(item)
                self.received += 1

    def offer(self, event: Event, now_ms: int, *, via_resync: bool = False) -> list[Applied]:
        """Accept one sequenced event; return what got applied, in order."""
        if event.seq is None:
            return []
        out: list[Applied] = []
        for item in self.reorderer.push(event.seq, event):
            self.machine.apply(item)
            self.received += 1
            latency = None if item.sent is None else now_ms - item.sent
            if latency is not None:
                self.latency.add(latency)
            if via_resync:
                self.resynced += 1
            out.append(Applied(item, now_ms, latency, via_resync))
        return out

    def offer_resync(self, events: list[Event], now_ms: int) -> list[Applied]:
        """Accept the events of one ``cmd.resync`` reply.

        ``gaps_repaired`` counts replies that moved the applied position past a
        known gap (a later seq or a snapshot head had shown it was missing).
        """
        gap = self.reorderer.gap()
        out: list[Applied] = []
        for event in events:
            out += self.offer(event, now_ms, via_resync=True)
        if gap is not None and self.reorderer.next_seq > gap.first:
            self.gaps_repaired += 1
        return out

    def observe_snapshot(self, body: SessionStateBody) -> None:
        """A retained ``session.state``: learn the head and the roster."""
        self.snapshot = body
        if body.last_seq > 0:
            self.reorderer.observe_head(body.last_seq)
        self.machine.roster = {node: Role(role) for node, role in body.roster.items()}

    def state(self) -> SessionStateBody:
        """What to draw now: our own state, or the snapshot while we are behind it."""
        if self.snapshot is not None and self.snapshot.last_seq > self.machine.last_seq:
            return self.snapshot
        return self.machine.snapshot()

    # ---------------------------------------------------------------- resync

    def request_catch_up(self) -> None:
        """After a join, restart or reconnect: ask for everything from ``next_seq``."""
        self._catch_up = True
        self._outstanding = None
        self._follow_up = None

    def due_request(self, now: float) -> NodeResyncBody | None:
        """The ``node.resync`` to send now, if any (``now`` in seconds, monotonic)."""
        if not self.joined:
            return None
        if self._outstanding is not None:
            if now - self._outstanding.sent_at < self.current_timeout_s:
                return None
            self._misses += 1
            self._outstanding = None
            self._follow_up = None
            self._catch_up = True
        body: NodeResyncBody | None
        if self._follow_up is not None:
            body, self._follow_up = self._follow_up, None
        elif self._catch_up:
            body = NodeResyncBody(from_seq=self.next_seq)
            self._catch_up = False
        else:
            body = self._gap_request(now)
            if body is None:
                return None
        self._outstanding = _Request(body, now)
        self.resync_requests += 1
        return body

    def _gap_request(self, now: float) -> NodeResyncBody | None:
        gap = self.reorderer.gap()
        if gap is None:
            self._gap_seen_at = None
            return None
        if self._gap_seen_at is None or self._gap_first != gap.first:
            self._gap_seen_at = now
            self._gap_first = gap.first
        if now - self._gap_seen_at < self.grace_s:
            return None
        self._gap_seen_at = None
        return NodeResyncBody(from_seq=gap.first, to_seq=gap.last)

    def resync_answered(self, body: CmdResyncBody) -> None:
        """Bookkeeping for a ``cmd.resync`` reply (its events go through ``offer``)."""
        if body.to_seq >= body.from_seq:
            self.reorderer.observe_head(body.to_seq)
        request = self._outstanding
        self._misses = 0
        if request is not None and request.body.from_seq == body.from_seq:
            self._outstanding = None
            if body.more:
                wanted = request.body.to_seq
                if wanted is None or wanted > body.to_seq:
                    self._follow_up = NodeResyncBody(from_seq=body.to_seq + 1, to_seq=wanted)

    @property
    def current_timeout_s(self) -> float:
        """How long the outstanding request may stay unanswered before asking again."""
        wait: float = self.timeout_s * 2.0 ** min(self._misses, 16)
        return min(wait, max(self.timeout_s, MAX_TIMEOUT_S))

    @property
    def needs_attention(self) -> bool:
        """The resync loop must watch this view: a gap is open or a request is owed."""
        return self.joined and (
            self.resync_pending or self.reorderer.head >= self.reorderer.next_seq
        )

    @property
    def resync_pending(self) -> bool:
        """A request is waiting to be sent or answered."""
        return self._outstanding is not None or self._catch_up or self._follow_up is not None

    # --------------------------------------------------------------- reports

    def counters(self) -> Counters:
        return Counters(
            received=self.received,
            last_seq=self.last_seq,
            head=self.reorderer.head,
            buffered=self.reorderer.buffered,
            gaps_repaired=self.gaps_repaired,
            duplicates_dropped=self.reorderer.duplicates,
            resync_requests=self.resync_requests,
            resynced=self.resynced,
            latency=self.latency.summary(),
        )

    def describe(self) -> dict[str, Any]:
        """JSON-ready view for the local API."""
        join = self.join.model_dump(mode="json") if self.join is not None else None
        return {
            "session": self.session,
            "joined": self.joined,
            "membership": join,
            "state": self.state().model_dump(mode="json"),
            "counters": self.counters().as_dict(),
        }


def is_sequenced(message: Envelope) -> bool:
    """True for a lesson event that carries a hub ``seq``."""
    return message.kind == "event" and message.seq is not None
