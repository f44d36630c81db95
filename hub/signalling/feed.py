"""``SessionFeed``: a session's sequenced events as they are appended, from Redis.

Browser peers need every sequenced event of their session live, whichever hub
replica sequenced it. The Redis stream ``dc:s:{sid}:log`` is the record (the
sequencer appends there before anything is published), so the feed follows it
with ``XREAD BLOCK`` from the last seq it has seen: nothing is missed, nothing
arrives twice, and there is no MQTT subscription to keep in step.

The feed keeps its own ``LessonMachine`` fed only from the stream, so the
snapshot it hands out always matches exactly the events handed out so far (the
sequencer's machine may be ahead or, on another replica, behind).

Opening a feed costs the size of the lesson's state, not of its log: it starts
from a copy of the replica's sequencer machine (``seed``; every event it holds is
already in the stream, which is appended first) and reads the stream only past
that machine's last seq. Replaying the whole log on every console join cost
0.55 s at 10,000 events.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from typing import Any

import redis.exceptions

from hub.aio import stop_task
from hub.exceptions import StoreUnavailable
from hub.sessions import SessionSpec
from hub.store import Store, log_key
from protocols.codec import decode
from protocols.exceptions import DecodeError
from protocols.lesson import LessonMachine
from protocols.messages import Envelope

__all__ = ["OnEvent", "SessionFeed"]

log = logging.getLogger("dualclass.hub.signalling")

#: ``on_event(event)``, called after the feed's machine applied it.
OnEvent = Callable[[Envelope], None]

_READ_LIMIT = 16 * 1024 * 1024
_BLOCK_MS = 1000
_PAGE = 500


class SessionFeed:
    """Follow one session's log; ``machine`` is the state after the last event seen."""

    def __init__(self, store: Store, spec: SessionSpec, on_event: OnEvent) -> None:
        self.session = spec.session
        self.machine = LessonMachine(spec.session, spec.roster())
        self._store = store
        self._redis: Any = store.redis  # untyped on purpose, as in hub.store
        self._on_event = on_event
        self._task: asyncio.Task[None] | None = None

    async def start(self, seed: LessonMachine | None = None) -> None:
        """Catch up (no callbacks), then follow the log in the background.

        With ``seed`` (the sequencer's machine), start from a copy of it; without,
        apply the whole log so far."""
        if seed is not None and seed.session == self.session:
            self.machine = copy.deepcopy(seed)
        while True:
            stored = await self._store.read_events(
                self.session, self.machine.last_seq + 1, limit=_PAGE
            )
            if not stored:
                break
            for item in stored:
                self._apply(item.payload, notify=False)
        self._task = asyncio.create_task(self._follow(), name=f"feed-{self.session}")

    async def stop(self, timeout_s: float = 3.0) -> bool:
        """Stop following; never waits more than ``timeout_s`` (see ``bounded``)."""
        task, self._task = self._task, None
        return await stop_task(task, timeout_s, f"feed of {self.session}")

    def _apply(self, payload: bytes, *, notify: bool) -> None:
        try:
            event = decode(payload, max_size=_READ_LIMIT)
        except DecodeError:
            log.exception("session %s: undecodable event in the log", self.session)
            return
        if event.seq is not None and event.seq <= self.machine.last_seq:
            return
        self.machine.apply(event)
        if notify:
            try:
                self._on_event(event)
            except Exception:
                log.exception("session %s: feed listener failed", self.session)

    async def _follow(self) -> None:
        key = log_key(self.session)
        delay = 0.05
        while True:
            try:
                reply = await self._redis.xread(
                    {key: f"{self.machine.last_seq}-0"}, block=_BLOCK_MS, count=_PAGE
                )
                delay = 0.05
            except (
                redis.exceptions.ConnectionError,
                redis.exceptions.TimeoutError,
                OSError,
                StoreUnavailable,
            ) as exc:
                log.warning("session %s feed: %s; retrying in %.2f s", self.session, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            for _stream, entries in reply or ():
                for _entry_id, fields in entries:
                    self._apply(fields[b"d"], notify=True)
