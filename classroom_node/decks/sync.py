"""``DeckSync``: keep every joined session's decks complete in the cache.

Woken when a ``cmd.join`` arrives (it names the session's decks) and on the
node's reconnect; while something is missing it retries with backoff (1 s doubling
to ``retry_max_s``), so a node that was offline, or joined late, or was cut in the
middle of a page, fetches what it lacks as soon as the hub answers again. When a
deck becomes complete it asks the node for an early heartbeat, so the hub knows
the partner is ready without waiting a whole heartbeat period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from classroom_node.decks.cache import DeckCache
from classroom_node.decks.fetcher import DeckFetcher, FetchFailed
from protocols.messages import DeckRef

__all__ = ["DeckSync", "Wanted"]

log = logging.getLogger("dualclass.node.decks")

#: (session, deck) pairs the node should have, in join order.
Wanted = Callable[[], Iterable[tuple[str, DeckRef]]]


class DeckSync:
    """The background download task of one node."""

    def __init__(
        self,
        cache: DeckCache,
        fetcher: DeckFetcher | None,
        wanted: Wanted,
        *,
        on_ready: Callable[[], Awaitable[object]] | None = None,
        retry_max_s: float = 15.0,
    ) -> None:
        self.cache = cache
        self.fetcher = fetcher
        self.wanted = wanted
        self.on_ready = on_ready
        self.retry_max_s = retry_max_s
        self.last_error: str | None = None
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.cache.open()
        self._task = asyncio.create_task(self._run(), name="node-deck-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.fetcher is not None:
            await self.fetcher.close()

    def kick(self) -> None:
        self._kick.set()

    def readiness(self) -> dict[str, bool]:
        """Deck id -> complete on disk, for every wanted deck (the heartbeat's field)."""
        return {ref.id: self.cache.complete(ref.id) for _, ref in self.wanted()}

    def describe(self) -> dict[str, object]:
        return {
            "decks": {
                ref.id: {
                    "session": sid,
                    "name": ref.name,
                    "pages": ref.pages,
                    "cached": self.cache.pages_cached(ref.id),
                    "ready": self.cache.complete(ref.id),
                }
                for sid, ref in self.wanted()
            },
            "fetch": self.fetcher.stats.as_dict() if self.fetcher is not None else None,
            "last_error": self.last_error,
        }

    async def _run(self) -> None:
        delay = 1.0
        while True:
            incomplete = await self.sync_once()
            if not incomplete:
                delay = 1.0
                await self._kick.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kick.wait(), delay)
                delay = min(delay * 2, self.retry_max_s)
            self._kick.clear()

    async def sync_once(self) -> int:
        """One pass over the wanted decks; how many are still incomplete."""
        incomplete = 0
        became_ready = False
        for sid, ref in list(self.wanted()):
            if self.cache.complete(ref.id):
                continue
            if self.fetcher is None:
                self.last_error = "no hub_url configured: decks cannot be downloaded"
                incomplete += 1
                continue
            try:
                if await self.fetcher.ensure(sid, ref.id):
                    became_ready = True
                    log.info("deck %s (%s) ready: %d pages", ref.id, ref.name, ref.pages)
                else:
                    incomplete += 1
            except FetchFailed as exc:
                incomplete += 1
                self.last_error = str(exc)
                log.info("deck %s not complete yet: %s", ref.id, exc)
        if became_ready and self.on_ready is not None:
            with contextlib.suppress(Exception):
                await self.on_ready()
        return incomplete
