"""Redis access for the hub: session logs, the sequencing script, registries.

Keys: ``hub.keys`` (session log ``dc:s:{sid}:log``; dedupe ``dc:s:{sid}:ids``, a
hash of (sender, message id) -> seq; sessions, specs, nodes, hub users, heartbeats,
the replicas' secret shared-subscription group).

Sequencing is one Lua script (EVALSHA): dedupe by (sender, message id), compare the caller's
expected last seq with the stream's, XADD at ``{last+1}-0`` and record the id, all
atomically. Several hub replicas read uplinks through a shared subscription; each
keeps a lesson machine in memory and sequences optimistically: the one that lost a
race gets ``CONFLICT`` with the current seq, reloads the missing events, re-checks
the rules and tries again. The caller encodes the event with ``seq = expected + 1``
before calling, which is exactly the seq it gets on success.

Redis errors become ``StoreUnavailable``; every write here is idempotent (the
script by message id), so callers simply retry.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from hub.exceptions import StoreUnavailable
from hub.keys import (
    HEARTBEAT_KEY,
    HUB_USERS_KEY,
    NODES_KEY,
    SESSIONS_KEY,
    SHARE_GROUP_KEY,
    ids_key,
    log_key,
    session_key,
)

__all__ = [
    "AppendResult",
    "AppendStatus",
    "NewEvent",
    "Store",
    "StoredEvent",
    "dedupe_key",
    "ids_key",
    "log_key",
    "session_key",
]


def dedupe_key(src: str, event_id: str) -> str:
    """The dedupe field of an event: its sender and id, unambiguously joined.

    Keyed on the sender too, so that one node reusing another's event id cannot
    make the other's event vanish as a "duplicate": ids are chosen by senders, only
    the sender is authenticated. (``len:`` prefix: no separator can be forged.)
    """
    return f"{len(src)}:{src}{event_id}"


# KEYS: log stream, ids hash.  ARGV: dedupe key, expected last seq, field/value pairs.
# Returns {0, seq} appended, {1, seq} duplicate (its existing seq), {2, last} conflict.
_APPEND_LUA = """
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then
  return {1, tonumber(existing)}
end
local last = 0
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #top > 0 then
  last = tonumber(string.match(top[1][1], '^(%d+)'))
end
if last ~= tonumber(ARGV[2]) then
  return {2, last}
end
local seq = last + 1
local args = {'XADD', KEYS[1], string.format('%d-0', seq)}
for i = 3, #ARGV do
  args[#args + 1] = ARGV[i]
end
redis.call(unpack(args))
redis.call('HSET', KEYS[2], ARGV[1], seq)
return {0, seq}
"""

# Several events in one call (a backlog after a restart): KEYS as above. ARGV:
# expected last seq, then per event its dedupe key, its field count and fields.
# Appends in order and stops at the first event that is not appended; returns one
# {status, seq} per event tried ({2, last} alone on a conflict before the first).
_APPEND_MANY_LUA = """
local last = 0
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #top > 0 then
  last = tonumber(string.match(top[1][1], '^(%d+)'))
end
if last ~= tonumber(ARGV[1]) then
  return {{2, last}}
end
local out = {}
local i = 2
while i <= #ARGV do
  local key = ARGV[i]
  local count = tonumber(ARGV[i + 1])
  local existing = redis.call('HGET', KEYS[2], key)
  if existing then
    out[#out + 1] = {1, tonumber(existing)}
    return out
  end
  last = last + 1
  local args = {'XADD', KEYS[1], string.format('%d-0', last)}
  for j = i + 2, i + 1 + count do
    args[#args + 1] = ARGV[j]
  end
  redis.call(unpack(args))
  redis.call('HSET', KEYS[2], key, last)
  out[#out + 1] = {0, last}
  i = i + 2 + count
end
return out
"""

_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except _DOWN as exc:
        raise StoreUnavailable(str(exc) or type(exc).__name__) from None


#: For the hub's other Redis users (scheduling): the same translation.
translate_redis_errors = _translated


class AppendStatus(IntEnum):
    APPENDED = 0
    DUPLICATE = 1
    CONFLICT = 2


@dataclass(frozen=True, slots=True)
class AppendResult:
    """``seq`` is the new seq, the duplicate's seq, or the current last seq on conflict."""

    status: AppendStatus
    seq: int


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event of ``Store.append_many``: encoded with its seq, and its log fields."""

    event_id: str
    payload: bytes
    type_: str
    src: str
    ts: int


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    payload: bytes


def _seq_of_entry_id(entry_id: bytes | str) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])


class Store:
    """The hub's view of Redis. Construct with ``Store.from_url``."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client
        # redis-py's own annotations type replies as ``bytes | str | None`` unions that
        # depend on decode_responses; we always get bytes, so talk to it untyped.
        self._r: Any = client
        self._append = client.register_script(_APPEND_LUA)
        self._append_many = client.register_script(_APPEND_MANY_LUA)

    @classmethod
    def from_url(cls, url: str, *, max_connections: int = 64) -> Store:
        """A client whose pool waits for a free connection instead of failing.

        Many sessions sequence concurrently; a bounded, blocking pool keeps Redis
        connections few and turns bursts into short waits.
        """
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=10.0,
            decode_responses=False,
            socket_connect_timeout=2.0,
            socket_timeout=5.0,
            health_check_interval=10,
        )
        return cls(aioredis.Redis(connection_pool=pool))

    async def close(self) -> None:
        await self.redis.aclose(close_connection_pool=True)

    async def ping(self) -> None:
        with _translated():
            await self._r.ping()

    # ------------------------------------------------------------ session logs

    async def append(
        self,
        session: str,
        event_id: str,
        expected_last: int,
        payload: bytes,
        *,
        type_: str,
        src: str,
        ts: int,
    ) -> AppendResult:
        """Append one sequenced event if the log still ends at ``expected_last``."""
        fields: list[Any] = ["d", payload, "id", event_id, "type", type_, "src", src, "ts", ts]
        with _translated():
            status, seq = await self._append(
                keys=[log_key(session), ids_key(session)],
                args=[dedupe_key(src, event_id), expected_last, *fields],
            )
        return AppendResult(AppendStatus(int(status)), int(seq))

    async def append_many(
        self, session: str, expected_last: int, events: list[NewEvent]
    ) -> list[AppendResult]:
        """Append ``events`` (encoded with seqs ``expected_last + 1, + 2, ...``) in one
        round trip, in order, stopping at the first one not appended (a duplicate, or
        a conflict before the first): one result per event tried.

        A backlog of uplinks (a hub restarted behind a burst) costs one Redis round
        trip per batch instead of per event; on a loaded machine each round trip
        waits for Redis to be scheduled, and that was most of the catch-up time.
        """
        args: list[Any] = [expected_last]
        for e in events:
            fields = ["d", e.payload, "id", e.event_id, "type", e.type_, "src", e.src, "ts", e.ts]
            args += [dedupe_key(e.src, e.event_id), len(fields), *fields]
        with _translated():
            replies = await self._append_many(keys=[log_key(session), ids_key(session)], args=args)
        return [AppendResult(AppendStatus(int(status)), int(seq)) for status, seq in replies]

    async def last_seq(self, session: str) -> int:
        with _translated():
            top = await self._r.xrevrange(log_key(session), "+", "-", count=1)
        return _seq_of_entry_id(top[0][0]) if top else 0

    async def seq_of(self, session: str, src: str, event_id: str) -> int | None:
        """The seq ``src``'s event ``event_id`` got, or ``None`` if never sequenced."""
        with _translated():
            value = await self._r.hget(ids_key(session), dedupe_key(src, event_id))
        return None if value is None else int(value)

    async def read_events(
        self,
        session: str,
        from_seq: int = 1,
        to_seq: int | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """Events ``from_seq..to_seq`` (inclusive; ``None`` = newest), at most ``limit``."""
        start = f"{max(from_seq, 1)}-0"
        end = "+" if to_seq is None else f"{to_seq}-0"
        with _translated():
            entries = await self._r.xrange(log_key(session), start, end, count=limit)
        return [StoredEvent(_seq_of_entry_id(eid), fields[b"d"]) for eid, fields in entries]

    # --------------------------------------------------------------- sessions

    async def add_session(self, session: str, spec_json: str) -> bool:
        """Store a new session spec; False if the id is taken."""
        with _translated():
            # one MULTI: the spec and its membership in the set appear together
            # (adding an id that is already there changes nothing)
            pipe = self._r.pipeline(transaction=True)
            pipe.set(session_key(session), spec_json, nx=True)
            pipe.sadd(SESSIONS_KEY, session)
            created, _ = await pipe.execute()
        return bool(created)

    async def remove_session(self, session: str) -> bool:
        """Drop a session: spec, set membership, event log and id index. False if unknown."""
        with _translated():
            pipe = self._r.pipeline(transaction=True)
            pipe.delete(session_key(session))
            pipe.srem(SESSIONS_KEY, session)
            pipe.delete(log_key(session), ids_key(session))
            removed, _, _ = await pipe.execute()
        return bool(removed)

    async def get_session(self, session: str) -> str | None:
        with _translated():
            value = await self._r.get(session_key(session))
        return None if value is None else value.decode()

    async def all_sessions(self) -> dict[str, str]:
        """Every session id -> spec JSON (one SMEMBERS, one MGET)."""
        with _translated():
            ids = sorted(m.decode() for m in await self._r.smembers(SESSIONS_KEY))
            if not ids:
                return {}
            values = await self._r.mget([session_key(s) for s in ids])
        return {s: v.decode() for s, v in zip(ids, values, strict=True) if v is not None}

    # ------------------------------------------------------------------ nodes

    async def add_node(self, node: str, password_hash: str) -> bool:
        """Register a node; False if it exists."""
        with _translated():
            return bool(await self._r.hsetnx(NODES_KEY, node, password_hash))

    async def set_node(self, node: str, password_hash: str) -> bool:
        """Replace an existing node's hash; False if the node is unknown."""
        with _translated():
            if not await self._r.hexists(NODES_KEY, node):
                return False
            await self._r.hset(NODES_KEY, node, password_hash)
        return True

    async def remove_node(self, node: str) -> bool:
        with _translated():
            removed = await self._r.hdel(NODES_KEY, node)
            await self._r.hdel(HEARTBEAT_KEY, node)
        return bool(removed)

    async def nodes(self) -> dict[str, str]:
        with _translated():
            raw = await self._r.hgetall(NODES_KEY)
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def share_group(self) -> str:
        """The replicas' shared-subscription group: random once, then the same for all.

        Nodes cannot read Redis, so they cannot learn it and join the group."""
        candidate = "hub-" + secrets.token_hex(16)
        with _translated():
            await self._r.set(SHARE_GROUP_KEY, candidate, nx=True)
            value = await self._r.get(SHARE_GROUP_KEY)
        return value.decode() if isinstance(value, bytes) else str(value)

    async def hub_users(self) -> dict[str, str]:
        with _translated():
            raw = await self._r.hgetall(HUB_USERS_KEY)
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def set_hub_users(self, users: dict[str, str]) -> None:
        if not users:
            return
        with _translated():
            await self._r.hset(HUB_USERS_KEY, mapping=users)

    # -------------------------------------------------------------- heartbeats

    async def put_heartbeat(self, node: str, record: dict[str, Any]) -> None:
        with _translated():
            await self._r.hset(HEARTBEAT_KEY, node, json.dumps(record))

    async def heartbeats(self) -> dict[str, dict[str, Any]]:
        with _translated():
            raw = await self._r.hgetall(HEARTBEAT_KEY)
        return {k.decode(): json.loads(v) for k, v in raw.items()}
