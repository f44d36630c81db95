"""Whether a session is recorded: the API's override, else its spec, else the hub default.

The override lives in Redis (hash ``dc:recording:flags``, session -> ``1``/``0``)
so that every hub replica sees it; the spec is immutable once created.
"""

from __future__ import annotations

from typing import Any, Protocol

from hub.sessions import SessionSpec

__all__ = ["FLAGS_KEY", "decide", "set_flag", "should_record"]

FLAGS_KEY = "dc:recording:flags"


class _Hub(Protocol):
    @property
    def store(self) -> Any: ...

    @property
    def config(self) -> Any: ...


def decide(override: bool | None, spec: SessionSpec, default: bool) -> bool:
    """The rule, pure: the API's word, then the spec's, then the hub's default."""
    if override is not None:
        return override
    if spec.record is not None:
        return spec.record
    return default


async def get_flag(hub: _Hub, session: str) -> bool | None:
    raw = await hub.store.redis.hget(FLAGS_KEY, session)
    return None if raw is None else raw in (b"1", "1")


async def set_flag(hub: _Hub, session: str, record: bool) -> None:
    await hub.store.redis.hset(FLAGS_KEY, session, "1" if record else "0")


async def should_record(hub: _Hub, spec: SessionSpec) -> bool:
    return decide(await get_flag(hub, spec.session), spec, hub.config.record_by_default)
