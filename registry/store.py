"""``RegistryStore``: the registry in Redis, one hash per kind.

Keys: ``registry.keys`` (one hash per kind, and the registered nodes ``dc:nodes``,
read for referential checks).

Every write is one optimistic transaction: WATCH the three hashes and ``dc:nodes``,
read a ``Snapshot``, let ``rules`` decide, MULTI/EXEC the writes, retry if anything
watched changed meanwhile. So a bulk import is all-or-nothing even with several hub
replicas and operators working at once, and a check never races its write.
Redis connection errors become ``RegistryUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
import redis.exceptions

from registry.exceptions import (
    BrokenReference,
    EntityExists,
    ImportRejected,
    InUse,
    RegistryUnavailable,
    UnknownEntity,
)
from registry.keys import NODES_KEY, registry_key
from registry.models import Classroom, Entity, Kind, School, Teacher, model_of
from registry.rules import Snapshot, check, check_batch, users_of

__all__ = ["ImportSummary", "RegistryStore", "translate_redis_errors"]

T = TypeVar("T")
_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


_WATCHED = [registry_key(k) for k in Kind] + [NODES_KEY]


@contextmanager
def translate_redis_errors() -> Iterator[None]:
    try:
        yield
    except _DOWN as exc:
        raise RegistryUnavailable(str(exc) or type(exc).__name__) from None


@dataclass(frozen=True, slots=True)
class ImportSummary:
    kind: Kind
    created: int
    updated: int


#: A write plan: (kind, id, JSON or None to delete).
_Writes = list[tuple[Kind, str, str | None]]


def _decode(raw: dict[bytes, bytes], model: type[Any]) -> dict[str, Any]:
    return {k.decode(): model.model_validate_json(v) for k, v in raw.items()}


class RegistryStore:
    """Registry reads and transactional writes over an ``redis.asyncio`` client."""

    def __init__(self, client: aioredis.Redis) -> None:
        # Untyped: replies are bytes (decode_responses=False), redis-py types them loosely.
        self._r: Any = client

    async def _snapshot(self, conn: Any) -> Snapshot:
        schools = await conn.hgetall(registry_key(Kind.SCHOOLS))
        classrooms = await conn.hgetall(registry_key(Kind.CLASSROOMS))
        teachers = await conn.hgetall(registry_key(Kind.TEACHERS))
        nodes = await conn.hkeys(NODES_KEY)
        return Snapshot(
            schools=_decode(schools, School),
            classrooms=_decode(classrooms, Classroom),
            teachers=_decode(teachers, Teacher),
            nodes=frozenset(n.decode() for n in nodes),
        )

    async def snapshot(self) -> Snapshot:
        """The whole registry now (used by the timetable and token checks)."""
        with translate_redis_errors():
            return await self._snapshot(self._r)

    async def _transact(self, decide: Callable[[Snapshot], tuple[_Writes, T]]) -> T:
        """WATCH, snapshot, ``decide`` (may raise), write atomically; retry on a race."""
        with translate_redis_errors():
            async with self._r.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(*_WATCHED)
                        writes, result = decide(await self._snapshot(pipe))
                        pipe.multi()
                        for kind, ident, value in writes:
                            if value is None:
                                pipe.hdel(registry_key(kind), ident)
                            else:
                                pipe.hset(registry_key(kind), ident, value)
                        await pipe.execute()
                        return result
                    except redis.exceptions.WatchError:
                        continue
                    finally:
                        await pipe.reset()

    # ------------------------------------------------------------------ reads

    async def entities(self, kind: Kind) -> list[Entity]:
        with translate_redis_errors():
            raw = await self._r.hgetall(registry_key(kind))
        items: dict[str, Entity] = _decode(raw, model_of(kind))
        return [items[k] for k in sorted(items)]

    async def get(self, kind: Kind, ident: str) -> Entity:
        with translate_redis_errors():
            raw = await self._r.hget(registry_key(kind), ident)
        if raw is None:
            raise UnknownEntity(kind.singular, ident)
        item: Entity = model_of(kind).model_validate_json(raw)
        return item

    # ----------------------------------------------------------------- writes

    async def create(self, kind: Kind, item: Entity) -> Entity:
        def decide(snap: Snapshot) -> tuple[_Writes, Entity]:
            if item.id in snap.of(kind):
                raise EntityExists(kind.singular, item.id)
            if problems := check(item, snap):
                raise BrokenReference(problems)
            return [(kind, item.id, item.model_dump_json())], item

        return await self._transact(decide)

    async def replace(self, kind: Kind, item: Entity) -> Entity:
        def decide(snap: Snapshot) -> tuple[_Writes, Entity]:
            if item.id not in snap.of(kind):
                raise UnknownEntity(kind.singular, item.id)
            if problems := check(item, snap):
                raise BrokenReference(problems)
            return [(kind, item.id, item.model_dump_json())], item

        return await self._transact(decide)

    async def delete(self, kind: Kind, ident: str) -> None:
        def decide(snap: Snapshot) -> tuple[_Writes, None]:
            if ident not in snap.of(kind):
                raise UnknownEntity(kind.singular, ident)
            if users := users_of(kind, ident, snap):
                raise InUse(kind.singular, ident, users)
            return [(kind, ident, None)], None

        await self._transact(decide)

    async def import_rows(
        self, kind: Kind, rows: list[tuple[int, Entity]], *, file: str = "input"
    ) -> ImportSummary:
        """Create or replace every row, or nothing: ``ImportRejected`` lists all bad rows."""

        def decide(snap: Snapshot) -> tuple[_Writes, ImportSummary]:
            if errors := check_batch(rows, snap):
                raise ImportRejected(file, errors)
            existing = snap.of(kind)
            updated = sum(1 for _, item in rows if item.id in existing)
            writes: _Writes = [(kind, item.id, item.model_dump_json()) for _, item in rows]
            return writes, ImportSummary(kind, len(rows) - updated, updated)

        return await self._transact(decide)
