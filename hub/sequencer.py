"""The I/O adapter around one session's pure ``LessonMachine``.

A ``SessionRuntime`` owns one session: an inbox of uplinks worked by one task, so
events of a session are checked and sequenced strictly in arrival order while
sessions run concurrently; and an outbox worked by a second task that publishes the
sequenced events (QoS 1) and, whenever it catches up, the retained ``session.state``
snapshot. Splitting the two keeps a slow broker from slowing sequencing down.

The publisher keeps up to ``PUBLISH_WINDOW`` events in flight (each waits for its
own PUBACK) instead of one at a time: stop-and-wait cost one broker round trip per
event, and after a hub restart with a backlog of a few hundred events that was
half the recovery time on a loaded machine. They leave in seq order on the one
connection, so the broker delivers them in order; a publish retried after the
broker went away may overtake, which nodes' reordering absorbs. The snapshot goes
out only when no event is in flight, so it never announces a head ahead of them.

Per uplink: ``check`` the rules, encode with ``seq = last + 1``, append through the
store's script, and only then ``apply`` and queue for publishing. The store answers

* ``APPENDED``: done;
* ``DUPLICATE``: the id was sequenced before (a node resending after an outage, or
  a hub crash between append and publish): nothing is appended, the stored event is
  published again so nobody misses it;
* ``CONFLICT``: another hub replica sequenced this session meanwhile: read the
  missing events, apply them, check again, retry.

Uplinks already queued when the worker looks are taken together (up to
``BATCH_MAX``): checked in turn against a copy of the machine that applies each,
and appended in one round trip (``Store.append_many``); the first one the batch
cannot settle (refused, a duplicate, a conflict) goes through the single path
above. A restarted hub facing a backlog thus pays one Redis round trip per batch,
not per event.

Redis being down holds the uplink (retry with backoff) rather than dropping it: an
event is acknowledged to nobody until it is in the log. Each uplink carries a
``done`` callback (the MQTT acknowledgement to the broker, see ``hub.uplinks``)
that runs exactly once, after the event is stored, found a duplicate, or refused
and answered; an uplink still queued when the hub dies was never acknowledged, so
the broker delivers it again. The inbox is bounded (``inbox_size``): ``put`` waits
when it is full, which stops the router and leaves further uplinks at the broker.
A failed publish is retried with backoff too; nodes also recover any miss through
``node.resync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from broker.exceptions import NotConnected
from hub.exceptions import StoreUnavailable
from hub.metrics import HubMetrics
from hub.sessions import SessionSpec
from hub.store import AppendStatus, NewEvent, Store
from protocols.codec import decode, encode
from protocols.exceptions import DecodeError, MessageTooLarge, RuleViolation
from protocols.ids import new_id, now_ms
from protocols.lesson import LessonMachine
from protocols.messages import Envelope, SessionState
from protocols.topics import Topics
from runtime.tasks import cancel_and_wait

__all__ = [
    "RESYNC_OVERHEAD",
    "OnSequenced",
    "Publish",
    "Reject",
    "SessionRuntime",
    "Uplink",
    "Verdict",
    "sent_within",
]

log = logging.getLogger("dualclass.hub.sequencer")

T = TypeVar("T")

#: Room kept free in every message so that any sequenced event fits in a resync page.
RESYNC_OVERHEAD = 1024
#: Stored events are trusted (we wrote them); read them back with a generous limit.
_READ_LIMIT = 16 * 1024 * 1024

#: ``sent`` is kept only this far behind the hub's clock (a node that was offline
#: sends its journal later, with its original times) ...
SENT_PAST_MS = 24 * 3600 * 1000
#: ... and this far ahead of it (classroom boxes' clocks drift).
SENT_FUTURE_MS = 60 * 1000


def sent_within(sent: int | None, hub_ms: int) -> int | None:
    """The sender's ``sent`` if it is within the window around ``hub_ms``, else None.

    Everything downstream (node latency figures, the demo summary, benches)
    subtracts ``sent`` from a clock: an absurd value (a box set to 1970, a hostile
    +-2^63) would poison those figures, so it is dropped here, once, at the hub."""
    if sent is None or not hub_ms - SENT_PAST_MS <= sent <= hub_ms + SENT_FUTURE_MS:
        return None
    return sent


#: ``publish(topic, payload, retain)``; raises ``NotConnected`` when the broker is away.
Publish = Callable[[str, bytes, bool], Awaitable[None]]
#: ``reject(node, ref, code, detail)``: count, log and answer a refused uplink.
Reject = Callable[[str, str, str, str], Awaitable[None]]
#: ``on_sequenced(event)``: an event is in the log (the participation ledger's feed).
OnSequenced = Callable[[Envelope], None]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What became of an uplink whose sender waits for it: its seq, or why it was refused."""

    seq: int | None
    code: str = ""
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.seq is not None


@dataclass(frozen=True, slots=True)
class Uplink:
    """A decoded lesson event from ``src`` (the node id taken from the topic)."""

    src: str
    message: Envelope
    received: float = field(default_factory=time.monotonic)
    #: Set when the sender waits on its own connection (a browser over signalling):
    #: a refusal is answered there instead of with ``cmd.rejected`` over MQTT.
    verdict: asyncio.Future[Verdict] | None = field(default=None, compare=False)
    #: Called once when the uplink is settled (stored, duplicate or refused): the
    #: MQTT acknowledgement that lets the broker forget it.
    done: Callable[[], None] | None = field(default=None, compare=False)


#: Shortest time between two retained ``session.state`` publishes of one session.
STATE_INTERVAL_S = 0.5
#: Most queued uplinks of one session appended in one Redis round trip.
BATCH_MAX = 64
#: Sequenced events of one session published at once, each awaiting its PUBACK.
PUBLISH_WINDOW = 64


@dataclass(slots=True)
class _Out:
    payload: bytes
    received: float | None


class SessionRuntime:
    """One session: lesson machine, ordered sequencing worker, publisher."""

    def __init__(
        self,
        spec: SessionSpec,
        *,
        store: Store,
        topics: Topics,
        metrics: HubMetrics,
        publish: Publish,
        reject: Reject,
        max_size: int,
        clock: Callable[[], int] = now_ms,
        on_sequenced: OnSequenced | None = None,
        inbox_size: int = 0,
    ) -> None:
        self.spec = spec
        self.session = spec.session
        self.machine = LessonMachine(spec.session, spec.roster())
        self._store = store
        self._topics = topics
        self._metrics = metrics
        self._publish = publish
        self._reject = reject
        self._max_size = max_size
        self._event_limit = max_size - RESYNC_OVERHEAD
        self._clock = clock
        self._on_sequenced = on_sequenced
        self._inbox: asyncio.Queue[Uplink | None] = asyncio.Queue(inbox_size)
        self._outbox: asyncio.Queue[_Out | None] = asyncio.Queue()
        self._state_dirty = True
        self._state_published_at = float("-inf")
        self._tasks: list[asyncio.Task[None]] = []
        self.accepted = 0
        self.rejected = 0
        self.duplicates = 0

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"seq-{self.session}"),
            asyncio.create_task(self._publisher(), name=f"pub-{self.session}"),
        ]

    async def put(self, uplink: Uplink) -> None:
        """Queue an uplink (waiting while the inbox is full); it is handled after
        every earlier one of this session."""
        await self._inbox.put(uplink)

    async def submit_wait(self, src: str, message: Envelope) -> Verdict:
        """Sequence ``message`` as ``src`` (authenticated by the caller) and wait for it.

        The entry point for senders that are not MQTT uplinks (signalling): same
        queue, same rules, same order as node uplinks; the verdict comes back here.
        """
        future: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        await self.put(Uplink(src, message, verdict=future))
        return await future

    def publish_state(self) -> None:
        """Ask the publisher to (re)publish the retained snapshot."""
        self._state_dirty = True
        self._outbox.put_nowait(_Out(b"", None))

    @property
    def pending(self) -> int:
        return self._inbox.qsize()

    async def drain_inbox(self, timeout: float) -> bool:
        """Wait (up to ``timeout``) until every queued uplink is settled."""
        try:
            await asyncio.wait_for(self._inbox.join(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, grace_s: float) -> None:
        """Finish queued uplinks and publishes (up to ``grace_s``), then stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._inbox.put(None), grace_s)
        await asyncio.wait(self._tasks, timeout=grace_s)
        # what still runs after the grace is cancelled; every task is awaited, errors logged
        await cancel_and_wait(*self._tasks)

    async def idle(self) -> None:
        """Wait until every queued uplink is sequenced and published (tests, drain)."""
        await self._inbox.join()
        await self._outbox.join()

    # ---------------------------------------------------------------- rebuild

    async def catch_up(self) -> int:
        """Apply events in the log past what this machine has seen; return how many."""
        applied = 0
        while True:
            stored = await self._store.read_events(
                self.session, self.machine.last_seq + 1, limit=1000
            )
            if not stored:
                return applied
            for item in stored:
                event = decode(item.payload, max_size=_READ_LIMIT)
                self.machine.apply(event)
                # events another replica sequenced (or a previous run): the ledger
                # drops the ones it already has
                if self._on_sequenced is not None:
                    self._on_sequenced(event)
                applied += 1
            self._state_dirty = True

    # ------------------------------------------------------------- sequencing

    async def _work(self) -> None:
        while True:
            batch = [await self._inbox.get()]
            while len(batch) < BATCH_MAX and batch[-1] is not None and not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
            uplinks = [u for u in batch if u is not None]
            try:
                await self._sequence_all(uplinks)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("session %s: uplinks from %s failed", self.session, uplinks[:1])
                for uplink in uplinks:  # settled ones keep their verdict
                    _settle(uplink, Verdict(None, "internal", "the hub failed to sequence it"))
            finally:
                for uplink in uplinks:
                    _done(uplink)  # after a failure, the sender's resend is the retry
                for _ in batch:
                    self._inbox.task_done()
            if batch[-1] is None:
                self._outbox.put_nowait(None)
                return

    async def _sequence_all(self, uplinks: list[Uplink]) -> None:
        """Sequence ``uplinks`` in order: runs that pass the rules go to the store in
        one round trip each (``Store.append_many``); an uplink the batch cannot settle
        (refused, a duplicate, a conflict) goes through ``_sequence`` alone."""
        pending = uplinks
        while pending:
            settled = await self._sequence_batch(pending) if len(pending) > 1 else 0
            pending = pending[settled:]
            if pending:
                await self._sequence(pending[0])
                pending = pending[1:]

    async def _sequence_batch(self, uplinks: list[Uplink]) -> int:
        """Append the leading run of ``uplinks`` that passes the rules, checked against
        a copy of the machine that applies each in turn; how many got appended."""
        shadow = copy.deepcopy(self.machine)
        planned: list[tuple[Uplink, Envelope, bytes]] = []
        for uplink in uplinks:
            try:
                shadow.check(uplink.src, uplink.message)
                sequenced, payload = self._stamp(uplink, shadow.last_seq)
            except (RuleViolation, MessageTooLarge):
                break  # settled on its own, with its answer
            shadow.apply(sequenced)
            planned.append((uplink, sequenced, payload))
        if len(planned) < 2:
            return 0
        news = [
            NewEvent(u.message.id, payload, getattr(e, "type", ""), u.src, e.ts or 0)
            for u, e, payload in planned
        ]
        expected = self.machine.last_seq
        results = await self._retrying(
            lambda: self._store.append_many(self.session, expected, news)
        )
        appended = 0
        for (uplink, sequenced, payload), result in zip(planned, results, strict=False):
            if result.status is not AppendStatus.APPENDED:
                break
            self._appended(uplink, sequenced, payload)
            appended += 1
        return appended

    def _stamp(self, uplink: Uplink, expected: int) -> tuple[Envelope, bytes]:
        """The event as sequenced after ``expected``, and its encoding (may raise
        ``MessageTooLarge``)."""
        event = uplink.message
        hub_ms = self._clock()
        sent = sent_within(event.sent, hub_ms)
        if sent != event.sent:
            self._metrics.sent_dropped.inc()
        sequenced = event.model_copy(
            update={
                "seq": expected + 1,
                "ts": hub_ms,
                "src": uplink.src,
                "session": self.session,
                "sent": sent,
            }
        )
        return sequenced, encode(sequenced, max_size=self._event_limit)

    def _appended(self, uplink: Uplink, sequenced: Envelope, payload: bytes) -> None:
        """``sequenced`` is in the log: apply, count, queue for publishing, answer."""
        self.machine.apply(sequenced)
        if self._on_sequenced is not None:
            self._on_sequenced(sequenced)
        self.accepted += 1
        self._metrics.sequenced.inc()
        self._metrics.sequencing_latency.observe(time.monotonic() - uplink.received)
        self._state_dirty = True
        self._outbox.put_nowait(_Out(payload, uplink.received))
        _settle(uplink, Verdict(self.machine.last_seq))

    async def _retrying(self, op: Callable[[], Awaitable[T]]) -> T:
        delay = 0.05
        while True:
            try:
                return await op()
            except StoreUnavailable as exc:
                self._metrics.store_retries.inc()
                log.warning("session %s: %s; retrying in %.2f s", self.session, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _sequence(self, uplink: Uplink) -> None:
        event = uplink.message
        src = uplink.src
        while True:
            try:
                self.machine.check(src, event)
            except RuleViolation as exc:
                # A resend of something already sequenced may now break the rules
                # (e.g. after lesson.end): that is a duplicate, not a violation.
                seq = await self._retrying(lambda: self._store.seq_of(self.session, src, event.id))
                if seq is not None:
                    await self._duplicate(seq)
                    _settle(uplink, Verdict(seq))
                else:
                    await self._refuse(uplink, exc.code, exc.detail)
                return
            expected = self.machine.last_seq
            try:
                sequenced, payload = self._stamp(uplink, expected)
            except MessageTooLarge as exc:
                await self._refuse(uplink, exc.code, str(exc))
                return
            type_ = getattr(sequenced, "type", "")
            append = functools.partial(
                self._store.append,
                self.session,
                event.id,
                expected,
                payload,
                type_=type_,
                src=src,
                ts=sequenced.ts or 0,
            )
            result = await self._retrying(append)
            if result.status is AppendStatus.APPENDED:
                self._appended(uplink, sequenced, payload)
                return
            if result.status is AppendStatus.DUPLICATE:
                await self._duplicate(result.seq)
                _settle(uplink, Verdict(result.seq))
                return
            self._metrics.conflicts.inc()
            await self._retrying(self.catch_up)

    async def _refuse(self, uplink: Uplink, code: str, detail: str) -> None:
        self.rejected += 1
        if uplink.verdict is None:
            await self._reject(uplink.src, uplink.message.id, code, detail)
        else:
            self._metrics.rejected.labels(code).inc()
            _settle(uplink, Verdict(None, code, detail))

    async def _duplicate(self, seq: int) -> None:
        self.duplicates += 1
        self._metrics.duplicates.inc()
        if seq > self.machine.last_seq:
            await self._retrying(self.catch_up)
        stored = await self._retrying(lambda: self._store.read_events(self.session, seq, seq))
        for item in stored:
            self._outbox.put_nowait(_Out(item.payload, None))

    # -------------------------------------------------------------- publishing

    def snapshot_message(self) -> SessionState:
        return SessionState(id=new_id(), session=self.session, body=self.machine.snapshot())

    async def _publish_retrying(self, topic: str, payload: bytes, retain: bool) -> None:
        delay = 0.05
        while True:
            try:
                await self._publish(topic, payload, retain)
                return
            except NotConnected:
                self._metrics.publish_retries.inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _publish_state(self) -> None:
        self._state_dirty = False
        self._state_published_at = time.monotonic()
        try:
            payload = encode(self.snapshot_message(), max_size=self._max_size * 4)
        except DecodeError:
            log.exception("session %s: snapshot too large to publish", self.session)
            return
        await self._publish_retrying(self._topics.session_state(self.session), payload, True)

    async def _publisher(self) -> None:
        events_topic = self._topics.session_events(self.session)
        window = asyncio.Semaphore(PUBLISH_WINDOW)
        flying: set[asyncio.Task[None]] = set()
        try:
            await self._publish_loop(events_topic, window, flying)
        finally:
            await cancel_and_wait(*flying)

    async def _publish_event(self, topic: str, item: _Out, window: asyncio.Semaphore) -> None:
        try:
            await self._publish_retrying(topic, item.payload, False)
            if item.received is not None:
                self._metrics.delivery_latency.observe(time.monotonic() - item.received)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("session %s: publish failed", self.session)
        finally:
            window.release()
            self._outbox.task_done()

    async def _publish_loop(
        self, events_topic: str, window: asyncio.Semaphore, flying: set[asyncio.Task[None]]
    ) -> None:
        async def settle() -> None:
            # the snapshot must not announce a head ahead of events still in flight
            if flying:
                await asyncio.wait(set(flying))

        while True:
            if self._outbox.empty() and self._state_dirty:
                # The retained snapshot is for late joiners and trailing-gap detection,
                # not delivery: publish it at most every STATE_INTERVAL_S, so a busy
                # lesson does not double every classroom's incoming traffic.
                wait = STATE_INTERVAL_S - (time.monotonic() - self._state_published_at)
                if wait <= 0:
                    await settle()
                    await self._publish_state()
                    continue
                getter = asyncio.ensure_future(self._outbox.get())
                done, _ = await asyncio.wait({getter}, timeout=wait)
                if not done:
                    getter.cancel()
                    continue
                item = getter.result()
            else:
                item = await self._outbox.get()
            if item is not None and item.payload:
                await window.acquire()
                # started in seq order: each task hands its message to the client
                # before its first await, so the wire order is the seq order
                task = asyncio.create_task(self._publish_event(events_topic, item, window))
                flying.add(task)
                task.add_done_callback(flying.discard)
                continue
            try:
                if item is None:
                    await settle()
                    if self._state_dirty:
                        await self._publish_state()
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("session %s: publish failed", self.session)
            finally:
                self._outbox.task_done()


def _done(uplink: Uplink) -> None:
    if uplink.done is not None:
        try:
            uplink.done()
        except Exception:
            log.exception("acknowledging an uplink failed")


def _settle(uplink: Uplink, verdict: Verdict) -> None:
    if uplink.verdict is not None and not uplink.verdict.done():
        uplink.verdict.set_result(verdict)
