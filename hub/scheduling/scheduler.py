"""``LessonScheduler``: sends ``cmd.join`` before a lesson and ``cmd.leave`` after it.

The thin I/O loop around ``due``: every ``interval_s`` it reads the session specs
from Redis (all replicas' sessions, parsed once and cached by their JSON), asks
``due`` what to send, sends each command through the hub's outgoing MQTT link and
remembers what went out. A command that could not be sent (broker away) stays due
and is retried next tick. Several hub replicas may each send: ``cmd.join`` and
``cmd.leave`` are idempotent at the node, so duplicates are harmless.

Wiring (the hub owns its tasks)::

    scheduler = LessonScheduler(hub)          # Timing(lead_s=600) by default
    scheduler.start()                          # in Hub.startup
    await scheduler.stop()                     # in Hub.shutdown

``clock`` is injectable so tests can run a lesson on a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pydantic import ValidationError

from hub.core import HubCore
from hub.exceptions import StoreUnavailable
from hub.scheduling.due import Action, ActionKind, Timing, due, prune
from hub.sessions import SessionSpec
from protocols.ids import new_id, now_ms
from protocols.lesson import LessonStatus
from protocols.messages import CmdLeave, Envelope
from runtime.tasks import cancel_and_wait

__all__ = ["LessonScheduler"]

log = logging.getLogger("dualclass.hub.scheduler")


class LessonScheduler:
    """Join/leave commands on time for every scheduled session (see module docstring)."""

    def __init__(
        self,
        hub: HubCore,
        *,
        timing: Timing | None = None,
        interval_s: float = 5.0,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.hub = hub
        self.timing = timing or Timing()
        self.interval_s = interval_s
        self.clock = clock
        self.done: set[Action] = set()
        self._cache: dict[str, tuple[str, SessionSpec]] = {}
        self._task: asyncio.Task[None] | None = None

    async def specs(self) -> list[SessionSpec]:
        """Every stored session spec; unchanged JSON is not parsed again."""
        raw = await self.hub.store.all_sessions()
        fresh: dict[str, tuple[str, SessionSpec]] = {}
        for sid, text in raw.items():
            cached = self._cache.get(sid)
            if cached is not None and cached[0] == text:
                fresh[sid] = cached
                continue
            try:
                fresh[sid] = (text, SessionSpec.model_validate_json(text))
            except ValidationError:
                log.warning("session %s has an unreadable spec; not scheduled", sid)
        self._cache = fresh
        return [spec for _, spec in fresh.values()]

    def _ended(self) -> set[str]:
        return {
            sid
            for sid, runtime in self.hub.runtimes.items()
            if runtime.machine.status is LessonStatus.ENDED
        }

    async def _message(self, action: Action) -> Envelope:
        if action.kind is ActionKind.LEAVE:
            return CmdLeave(id=new_id(), session=action.session)
        spec = self._cache[action.session][1]
        # through the hub: a join names the session's decks too
        return await self.hub.join_message(spec, action.node)

    async def tick(self) -> list[Action]:
        """One round: send what is due now; returns what was sent."""
        now = self.clock()
        specs = await self.specs()
        sent: list[Action] = []
        for action in due(specs, now, self.timing, self.done, self._ended()):
            try:
                message = await self._message(action)
            except Exception:
                # one bad spec must never keep the other sessions' joins from going out
                log.exception("scheduler: no command for %s", action)
                continue
            if await self.hub.send_cmd(action.node, message):
                self.done.add(action)
                sent.append(action)
        self.done = prune(self.done, specs, now, self.timing)
        if sent:
            log.info("scheduler sent %d command(s)", len(sent))
        return sent

    async def run(self) -> None:
        """Tick forever; a failed tick (Redis away) is logged and retried next time."""
        while True:
            try:
                await self.tick()
            except StoreUnavailable as exc:
                log.warning("scheduler tick skipped: %s", exc)
            except Exception:
                log.exception("scheduler tick failed")
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="hub-lesson-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
