"""The I/O adapter between the live hub and the pure participation ledger.

Why a module of its own: ``ledger`` is pure (plus its Redis ``store``) and
knows nothing of the hub; the hub's sequencer, presence handling, heartbeats and
signalling should each make one call and not care how the ledger is kept. This
module is that call surface (``LedgerFeed``), owned by ``HubCore`` as
``hub.ledger_feed``:

====================================  ==============================================
who                                   calls
====================================  ==============================================
sequencer (after the Redis append,    ``event(envelope)`` (sync; also for events a
and for events caught up from the     runtime catches up from the log, which the
log)                                  ledger drops as duplicates when it has them)
``HubCore.on_presence``               ``await presence(node, online)``
``HubCore.on_heartbeat``              ``await heartbeat(node, message)``
signalling (a browser joined/left a   ``await browser(participant, session, joined,
session)                              classroom=None)`` — ``classroom`` = the node id
                                      a tutor console stands in for, else None
recordings API (a replay view's       ``await replay(view, session, classroom,
running total)                        watched_ms)``
signalling (the relay put a           ``await layer(session, classroom, layer,
classroom on a video layer, or it     reason, ts)`` — ``layer`` None: no video
left)                                 any more
``HubCore.create_session``            ``await session_created(spec, teacher=None)``
reports API                           ``await flush()`` then ``await
                                      refresh_directory()`` before reading Redis
``Hub.startup`` / ``Hub.shutdown``    ``await start(session_ids)`` / ``await stop()``
====================================  ==============================================

Persistence (survives a hub restart mid-lesson, counts nothing twice):

- Presence, heartbeat and browser records get the hub's time (``clock``) and are
  appended to ``dc:ledger:inputs`` *before* they are fed, one at a time under a lock,
  so the stream order is the feed order (heartbeats are deduplicated by time order).
- Every ``save_interval_s`` (30 s) and at shutdown, ``save`` writes what changed
  (``store.save``) and then the id of the last input it covered to
  ``dc:ledger:inputs:cursor``.
- On start: ``store.load`` the saved state, ``store.catch_up`` every session from
  its log (events past the saved ``next_seq``), then feed ``dc:ledger:inputs``
  past the cursor again (records fed but not saved before a crash). Every record is
  idempotent (events by seq, presence/browser records are sets, heartbeats by time),
  so replaying a little too much is harmless; a crash between ``store.save`` and
  the cursor write only replays more.
- Several hub replicas: before saving a session it fed, the feed catches it up from
  the log, so no replica writes a session state older than the log. Heartbeat and
  browser figures of a session are those of the replica that saved it last; a
  ``store.rebuild_from_streams`` merges everything exactly.

Presence records are written only on a change of the ledger's view of the node (a
retained presence message delivered again after a hub restart adds nothing). The
hub's own heartbeat timeout (``heartbeat_timeout_s``: a node unheard of for that long
counts as offline, as in ``NodeTracker``) is checked on the same timer and
recorded as offline at ``last heard + timeout``; the next heartbeat brings the node
back online.

Session info for reports: classroom ids in the ledger are node ids. The registry
maps a node to its classroom (``registry.models.Classroom.node``), school and
region; a node the registry does not know stands for its own classroom *and* school (the demo
registers nodes only). The lead teacher is the one given (the timetable's), else
the timetable lesson stored for the session, else the only lead teacher of the
lead school teaching the subject (or the only lead teacher there), else the lead
node id. A session without a grade cannot be placed in a grade x subject matrix
and gets no ``SessionInfo`` (logged). The directory (``dc:ledger:directory``) is
rebuilt from the registry lazily: when a session is created, at start, and before
the API builds a report, so an API report always sees the registry as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis.exceptions

from hub.keys import LEDGER_CURSOR_KEY, LESSONS_KEY
from hub.sessions import SessionSpec
from ledger import store
from ledger.aggregate import Ledger
from ledger.directory import ClassroomInfo, Directory, SchoolInfo, SessionInfo
from ledger.exceptions import LedgerError
from ledger.inputs import (
    MAX_REASON,
    BrowserInput,
    HeartbeatInput,
    LayerInput,
    PresenceInput,
    ReplayInput,
    from_wire,
    heartbeat_input,
    to_wire,
)
from ledger.keys import INFO_KEY, INPUTS_KEY
from protocols.ids import now_ms
from protocols.messages import Envelope, NodeHeartbeat
from registry.models import TeacherRole
from registry.rules import Snapshot
from registry.store import RegistryStore
from runtime.tasks import cancel_and_wait

__all__ = [
    "LedgerFeed",
    "directory_from_registry",
    "session_info",
]

log = logging.getLogger("dualclass.ledger")

#: Stream id of the last ``dc:ledger:inputs`` entry covered by the saved state.
#: Where ``hub.scheduling.accept`` keeps the timetable lessons (read for the teacher).
_UNKNOWN_REGION = "unknown"
_REDIS_ERRORS = (redis.exceptions.RedisError, OSError)

InputRecord = PresenceInput | HeartbeatInput | BrowserInput | ReplayInput | LayerInput


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# ------------------------------------------------------------ pure helpers


def directory_from_registry(snap: Snapshot) -> Directory:
    """The ledger's directory from a registry snapshot (classrooms keyed by node id).

    Classrooms without a node cannot take part in a lesson and are left out; a
    school without a region goes to region ``unknown`` like an unknown school.
    """
    schools = [
        SchoolInfo(school=s.id, name=s.name, region=s.region or _UNKNOWN_REGION, rural=s.rural)
        for s in snap.schools.values()
    ]
    rooms = [
        ClassroomInfo(classroom=c.node, school=c.school, seats=c.seats)
        for c in snap.classrooms.values()
        if c.node is not None and c.school in snap.schools
    ]
    return Directory.build(schools, rooms)


def _lead_teacher(spec: SessionSpec, school: str, snap: Snapshot) -> str | None:
    leads = [t for t in snap.teachers.values() if t.school == school and t.role is TeacherRole.LEAD]
    subject = spec.subject.strip().lower()
    teaching = [t for t in leads if subject in t.subjects]
    for pool in (teaching, leads):
        if len(pool) == 1:
            return pool[0].id
    return None


def session_info(
    spec: SessionSpec, snap: Snapshot, *, teacher: str | None = None
) -> SessionInfo | None:
    """The report spec of ``spec`` (see the module docstring), or None without a grade."""
    if spec.grade is None:
        return None
    by_node = {c.node: c for c in snap.classrooms.values() if c.node is not None}

    def school_of(node: str) -> str:
        room = by_node.get(node)
        return room.school if room is not None else node

    lead_school = school_of(spec.lead)
    start = spec.starts_at if spec.starts_at is not None else 0
    end = spec.ends_at if spec.ends_at is not None else start
    return SessionInfo(
        session=spec.session,
        lead_classroom=spec.lead,
        lead_teacher=teacher or _lead_teacher(spec, lead_school, snap) or spec.lead,
        lead_school=lead_school,
        partners={p: school_of(p) for p in spec.partners},
        subject=spec.subject.strip().lower() or "unspecified",
        grade=spec.grade,
        scheduled_start=start,
        scheduled_end=max(start, end),
    )


# ------------------------------------------------------------------ feed


class LedgerFeed:
    """The hub's ledger, its inputs and its persistence (see the module docstring)."""

    def __init__(
        self,
        redis: Any,
        *,
        clock: Callable[[], int] = now_ms,
        timeout_s: float = 30.0,
        interval_s: float = 2.0,
        save_interval_s: float = 30.0,
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.timeout_ms = int(timeout_s * 1000)
        self.interval_s = interval_s
        #: Saving is for a quick restart, not for correctness: events are replayed
        #: from the session logs and inputs from ``dc:ledger:inputs`` past the cursor.
        #: Measured (bench/events.py): saving every 2 s doubled the hub-path p99.
        self.save_interval_s = save_interval_s
        self.ledger = Ledger()
        self._lock = asyncio.Lock()
        #: the ledger's view of each node (latest presence record)
        self._online: dict[str, bool] = {}
        #: hub time each node was last heard of (presence online, heartbeat, event)
        self._heard: dict[str, int] = {}
        #: sessions fed since the last save (caught up from the log before saving)
        self._touched: set[str] = set()
        #: id of the last ``dc:ledger:inputs`` entry this feed appended or replayed
        self._last_input: str | None = None
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self, sessions: Iterable[str]) -> None:
        """Load the saved ledger, catch up from the logs and inputs, start the timer."""
        sids = sorted(set(sessions))
        self.ledger = await store.load(self.redis, sids)
        for sid in sids:
            await store.catch_up(self.redis, self.ledger, sid)
        replayed = await self._replay_inputs()
        now = self.clock()
        for node, changes in self.ledger.presence.items():
            self._online[node] = max(changes)[1]
            if self._online[node]:
                self._heard[node] = now  # a grace period: it may be heard of again soon
        if replayed:
            log.info("ledger: replayed %d input records past the saved cursor", replayed)
        with contextlib.suppress(*_REDIS_ERRORS, LedgerError):
            await self.refresh_directory()
        self._task = asyncio.create_task(self._loop(), name="ledger-save")

    async def stop(self, *, save: bool = True) -> None:
        """Stop the timer and save once more (after the runtimes drained).

        ``save=False`` is a crash as far as the ledger is concerned (tests of recovery).
        """
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if not save:
            return
        try:
            await self.flush()
        except _REDIS_ERRORS as exc:
            log.warning("ledger: final save failed (replayed from the streams next start): %s", exc)

    async def _replay_inputs(self) -> int:
        raw = await self.redis.get(LEDGER_CURSOR_KEY)
        start = "-" if raw is None else "(" + _text(raw)
        count = 0
        while True:
            entries = await self.redis.xrange(INPUTS_KEY, min=start, max="+", count=1000)
            for entry_id, fields in entries:
                value = fields.get(b"r", fields.get("r"))
                if isinstance(value, str):
                    value = value.encode("latin-1")
                try:
                    self.ledger.feed(from_wire(value))
                except LedgerError as exc:
                    log.warning("ledger: input %s skipped: %s", _text(entry_id), exc)
                count += 1
                self._last_input = _text(entry_id)
            if len(entries) < 1000:
                return count
            start = "(" + _text(entries[-1][0])

    async def _loop(self) -> None:
        last_save = time.monotonic()
        while True:
            await asyncio.sleep(min(self.interval_s, self.save_interval_s))
            try:
                await self.check_timeouts()
                if time.monotonic() - last_save >= self.save_interval_s:
                    last_save = time.monotonic()
                    await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ledger: periodic save failed (retried next tick)")

    async def flush(self) -> int:
        """Save what changed now (keys written); the timer calls this every ``interval_s``."""
        async with self._lock:
            touched, self._touched = self._touched, set()
            try:
                for sid in sorted(touched):
                    await store.catch_up(self.redis, self.ledger, sid)
                cursor = self._last_input
                written = await store.save(self.redis, self.ledger)
            except BaseException:
                self._touched |= touched
                raise
            if cursor is not None:
                await self.redis.set(LEDGER_CURSOR_KEY, cursor)
            return written

    # --------------------------------------------------------------- inputs

    def event(self, event: Envelope) -> None:
        """A sequenced lesson event (after its Redis append); never raises."""
        try:
            self.ledger.feed(event)
        except LedgerError as exc:
            log.warning("ledger: event %s not fed: %s", event.id, exc)
            return
        self._touched.add(event.session)
        if event.src is not None and event.ts is not None and self._online.get(event.src):
            self._heard[event.src] = max(self._heard.get(event.src, 0), event.ts)

    async def _record(self, record: InputRecord) -> None:
        """Append then feed (call under ``_lock``); a Redis failure is logged, not raised."""
        try:
            # ``store.append_input`` without dropping the entry id (the cursor needs it)
            entry = await self.redis.xadd(INPUTS_KEY, {"r": to_wire(record)})
        except _REDIS_ERRORS as exc:
            log.warning("ledger: input not appended (live ledger still counts it): %s", exc)
        else:
            self._last_input = _text(entry)
        self.ledger.feed(record)

    async def _set_online(self, node: str, online: bool, ts: int) -> None:
        if self._online.get(node, False) == online:
            return
        self._online[node] = online
        await self._record(PresenceInput(node, online, ts))

    async def presence(self, node: str, online: bool) -> None:
        """A presence message (retained, last will) about ``node``."""
        async with self._lock:
            ts = self.clock()
            if online:
                self._heard[node] = ts
            await self._set_online(node, online, ts)

    async def heartbeat(self, node: str, message: NodeHeartbeat) -> None:
        """A heartbeat from authenticated ``node``: proof of life and media figures."""
        async with self._lock:
            ts = self.clock()
            self._heard[node] = ts
            await self._set_online(node, True, ts)
            record = heartbeat_input(message, node=node, ts=ts)
            await self._record(record)
            self._touched.update(record.sessions)

    async def browser(
        self, participant: str, session: str, joined: bool, classroom: str | None = None
    ) -> None:
        """A browser ``participant`` joined (``joined``) or left ``session``.

        For signalling: ``classroom`` is the node id a tutor console stands in for
        (its time then counts as that classroom connected), None for a viewer.
        """
        async with self._lock:
            await self._record(BrowserInput(participant, session, self.clock(), joined, classroom))
            self._touched.add(session)

    async def replay(self, view: str, session: str, classroom: str | None, watched_ms: int) -> None:
        """Replay view ``view`` of ``session`` has played ``watched_ms`` so far.

        For the recordings API: ``classroom`` is the node the viewer's token or
        credentials stand for (None for an admin or observer viewer).
        """
        async with self._lock:
            record = ReplayInput(view, session, self.clock(), watched_ms, classroom)
            await self._record(record)
            self._touched.add(session)

    async def layer(
        self, session: str, classroom: str, layer: str | None, reason: str, ts: int | None = None
    ) -> None:
        """The relay put ``classroom`` on video ``layer`` of ``session`` (None: it left).

        For signalling: ``ts`` is the hub time of the change, taken when the relay
        reported it (the record is written later, under the lock).
        """
        async with self._lock:
            at = self.clock() if ts is None else ts
            await self._record(LayerInput(session, classroom, at, layer, reason[:MAX_REASON]))
            self._touched.add(session)

    async def check_timeouts(self) -> int:
        """Record offline for nodes unheard of for ``timeout_s``; how many."""
        async with self._lock:
            now = self.clock()
            late = [
                (node, heard)
                for node, heard in self._heard.items()
                if self._online.get(node) and now - heard > self.timeout_ms
            ]
            for node, heard in late:
                log.info("ledger: node %s timed out (no heartbeat)", node)
                await self._set_online(node, False, heard + self.timeout_ms)
            return len(late)

    def online(self, node: str) -> bool:
        """The ledger's current view of ``node`` (tests wait on it)."""
        return self._online.get(node, False)

    # ------------------------------------------------------- session specs

    async def _teacher_of(self, session: str) -> str | None:
        raw = await self.redis.hget(LESSONS_KEY, session)
        if raw is None:
            return None
        teacher = json.loads(raw).get("teacher")
        return teacher if isinstance(teacher, str) and teacher else None

    async def session_created(self, spec: SessionSpec, *, teacher: str | None = None) -> None:
        """Write the session's ``SessionInfo`` and refresh the directory (best effort)."""
        try:
            snap = await RegistryStore(self.redis).snapshot()
            teacher = teacher or await self._teacher_of(spec.session)
            info = session_info(spec, snap, teacher=teacher)
            if info is None:
                log.warning("ledger: session %s has no grade; left out of reports", spec.session)
                return
            await store.put_session(self.redis, info)
            await store.put_directory(self.redis, directory_from_registry(snap))
        except (*_REDIS_ERRORS, LedgerError, ValueError) as exc:
            log.warning("ledger: no report info for session %s: %s", spec.session, exc)

    async def ensure_infos(self, specs: Iterable[SessionSpec]) -> int:
        """Write ``SessionInfo`` for sessions that have none (older sessions, lost writes)."""
        todo = list(specs)
        if not todo:
            return 0
        have = await self.redis.hmget(INFO_KEY, [s.session for s in todo])
        missing = [s for s, raw in zip(todo, have, strict=True) if raw is None]
        for spec in missing:
            await self.session_created(spec)
        return len(missing)

    async def refresh_directory(self) -> Directory:
        """Rebuild ``dc:ledger:directory`` from the registry now; the directory."""
        directory = directory_from_registry(await RegistryStore(self.redis).snapshot())
        await store.put_directory(self.redis, directory)
        return directory
