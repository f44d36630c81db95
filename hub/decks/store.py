"""Where decks live: page images on disk by hash, manifests and attachments in Redis.

::

    <decks_dir>/pages/<sha256>.png      one file per distinct page image
    <decks_dir>/incoming/               uploads while they are rendered
    dc:deck:{id}                        JSON of the ``DeckManifest``
    dc:s:{sid}:decks                    list of deck ids attached to the session
    dc:s:{sid}:deckready                hash "{deck}|{node}" -> ms the node first had it all

Files are written once under their hash and never changed, so several hub
replicas sharing the directory (or a CDN in front of it) never see a torn page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from hub.decks.convert import convert_to_pdf, sniff_presentation
from hub.decks.exceptions import DeckTooLarge, UnknownDeck
from hub.decks.models import DeckManifest, deck_id_for
from hub.decks.render import DeckLimits, DeckRenderer
from hub.exceptions import StoreUnavailable
from protocols.ids import now_ms

__all__ = ["DeckStore"]

log = logging.getLogger("dualclass.hub.decks")

_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
#: Decks one session may carry (a term's worth of lessons is one session per lesson).
MAX_DECKS_PER_SESSION = 16


def _deck_key(deck: str) -> str:
    return f"dc:deck:{deck}"


def _session_decks_key(session: str) -> str:
    return f"dc:s:{session}:decks"


def _ready_key(session: str) -> str:
    return f"dc:s:{session}:deckready"


class DeckStore:
    """Decks of one hub: add (render + store), look up, attach, readiness."""

    def __init__(
        self,
        redis_client: aioredis.Redis | Callable[[], Any],
        root: Path,
        renderer: DeckRenderer,
    ) -> None:
        # the hub's current client (a callable: the hub may replace its store), bytes
        # out (no decode_responses) like hub.store: talked to untyped
        self._redis = redis_client if callable(redis_client) else (lambda: redis_client)
        self.root = root
        self.pages_dir = root / "pages"
        self.renderer = renderer

    @property
    def redis(self) -> Any:
        return self._redis()

    @redis.setter
    def redis(self, client: Any) -> None:
        self._redis = lambda: client

    @property
    def limits(self) -> DeckLimits:
        return self.renderer.limits

    def page_path(self, sha256: str) -> Path:
        return self.pages_dir / f"{sha256}.png"

    async def add(
        self,
        data: bytes,
        name: str = "",
        on_progress: Callable[[int, int], None] | None = None,
    ) -> DeckManifest:
        """Render and store an uploaded file; the same file again is the same deck."""
        limits = self.renderer.limits
        if len(data) > limits.max_bytes:
            raise DeckTooLarge(f"{len(data)} bytes; at most {limits.max_bytes} are accepted")
        deck = await asyncio.to_thread(deck_id_for, data)  # 50 MB hash: not on the loop
        existing = await self.find(deck)
        if existing is not None and all(self.page_path(p.sha256).is_file() for p in existing.pages):
            return existing
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{deck}-", dir=incoming))
        try:
            suffix = sniff_presentation(data, name)
            source = work / f"upload{suffix or '.pdf'}"
            await asyncio.to_thread(source.write_bytes, data)
            pdf = source
            if suffix is not None:
                pdf = await convert_to_pdf(source, work, timeout_s=limits.timeout_s)
            pages = await self.renderer.render(pdf, self.pages_dir, on_progress)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
        manifest = DeckManifest(
            id=deck,
            name=name[:200],
            source_bytes=len(data),
            pages=pages,
            created_ms=now_ms(),
        )
        try:
            await self.redis.set(_deck_key(deck), manifest.model_dump_json())
        except _DOWN as exc:
            raise StoreUnavailable(str(exc)) from None
        log.info("deck %s (%s): %d pages, %d bytes", deck, name, len(pages), manifest.total_bytes)
        return manifest

    async def find(self, deck: str) -> DeckManifest | None:
        try:
            raw = await self.redis.get(_deck_key(deck))
        except _DOWN as exc:
            raise StoreUnavailable(str(exc)) from None
        return None if raw is None else DeckManifest.model_validate_json(raw)

    async def get(self, deck: str) -> DeckManifest:
        found = await self.find(deck)
        if found is None:
            raise UnknownDeck(f"no deck {deck!r}")
        return found

    async def attach(self, session: str, deck: str) -> bool:
        """Attach ``deck`` to ``session``; False if it already was."""
        await self.get(deck)
        key = _session_decks_key(session)
        try:
            current = [d.decode() for d in await self.redis.lrange(key, 0, -1)]
            if deck in current:
                return False
            if len(current) >= MAX_DECKS_PER_SESSION:
                raise DeckTooLarge(f"a session carries at most {MAX_DECKS_PER_SESSION} decks")
            await self.redis.rpush(key, deck)
        except _DOWN as exc:
            raise StoreUnavailable(str(exc)) from None
        return True

    async def session_deck_ids(self, session: str) -> list[str]:
        try:
            return [d.decode() for d in await self.redis.lrange(_session_decks_key(session), 0, -1)]
        except _DOWN as exc:
            raise StoreUnavailable(str(exc)) from None

    async def session_decks(self, session: str) -> list[DeckManifest]:
        out = []
        for deck in await self.session_deck_ids(session):
            found = await self.find(deck)
            if found is not None:
                out.append(found)
        return out

    async def session_deck(self, session: str, deck: str) -> DeckManifest:
        """The deck if it is attached to the session (else ``UnknownDeck``)."""
        if deck not in await self.session_deck_ids(session):
            raise UnknownDeck(f"deck {deck!r} is not attached to {session!r}")
        return await self.get(deck)

    async def mark_ready(self, session: str, deck: str, node: str, at_ms: int) -> bool:
        """Record when ``node`` first had all of ``deck``; True the first time."""
        with contextlib.suppress(*_DOWN):
            return bool(await self.redis.hsetnx(_ready_key(session), f"{deck}|{node}", at_ms))
        return False

    async def readiness(self, session: str) -> dict[str, dict[str, int]]:
        """deck -> {node: ms it was first ready}."""
        try:
            raw = await self.redis.hgetall(_ready_key(session))
        except _DOWN as exc:
            raise StoreUnavailable(str(exc)) from None
        out: dict[str, dict[str, int]] = {}
        for field, value in raw.items():
            deck, _, node = field.decode().partition("|")
            out.setdefault(deck, {})[node] = int(value)
        return out
