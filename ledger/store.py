"""Redis persistence of the ledger, and its rebuild from the hub's streams.

Why a module of its own: this is the only module of ``ledger`` that does I/O;
everything it writes is produced by ``snapshot`` (pure) from a ``Ledger`` (pure).

Keys (docs/reports.md, "Redis keys"):

``dc:ledger:s:{sid}``           hash, the session's ledger state (``snapshot.FIELDS``)
``dc:ledger:presence:{node}``   set of ``"{ts}:{1|0}"`` presence changes of a node
``dc:ledger:nodes``             set of nodes with presence records
``dc:ledger:inputs``            stream the hub appends presence, heartbeat and browser
                                records to (field ``r``: ``inputs.to_wire`` msgpack)
``dc:ledger:info``              hash sid -> ``SessionInfo`` JSON
``dc:ledger:info:by_start``     sorted set sid by scheduled start (ms), for windows
``dc:ledger:directory``         string, ``Directory`` JSON
``dc:s:{sid}:log``              the hub's session log (read only): entry id
                                ``{seq}-0``, field ``d`` = ``protocols.codec.encode``

The client may be created with or without ``decode_responses``; both work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm import tqdm

from ledger.aggregate import Ledger
from ledger.directory import Directory, SessionInfo
from ledger.exceptions import StoreError
from ledger.inputs import (
    BrowserInput,
    HeartbeatInput,
    LayerInput,
    Record,
    ReplayInput,
    from_wire,
    to_wire,
)
from ledger.keys import (
    DIRECTORY_KEY,
    INFO_BY_START_KEY,
    INFO_KEY,
    INPUTS_KEY,
    PRESENCE_NODES_KEY,
    presence_key,
    state_key,
)
from ledger.snapshot import (
    parse_presence_member,
    presence_member,
    state_fields,
    state_from_fields,
)
from ledger.term import Term, term_from_ledger
from protocols.codec import decode
from protocols.records import session_log_key as log_key

__all__ = [
    "append_input",
    "catch_up",
    "get_directory",
    "load",
    "load_term",
    "put_directory",
    "put_session",
    "rebuild_from_streams",
    "save",
    "sessions_between",
]

#: Entries read per XRANGE call while rebuilding.
PAGE = 1000


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _field(fields: dict[Any, Any], name: str) -> Any:
    value = fields.get(name.encode())
    return fields.get(name) if value is None else value


# ------------------------------------------------------------------- writing


async def append_input(redis: Any, record: Record) -> None:
    """Append a presence/heartbeat/browser record to ``dc:ledger:inputs``.

    The hub calls this before ``Ledger.feed`` with the same record, so a rebuild
    sees what the live ledger saw, in the same order.
    """
    await redis.xadd(INPUTS_KEY, {"r": to_wire(record)})


async def save(redis: Any, ledger: Ledger) -> int:
    """Write what changed since the last save (one pipeline); the number of keys written.

    The hub calls it after feeding (every event, or on a short timer): a hub
    restarted mid-lesson then ``load``s and ``catch_up``s instead of rebuilding.
    """
    dirty = ledger.take_dirty()
    if not dirty.sessions and not dirty.presence:
        return 0
    async with redis.pipeline(transaction=False) as pipe:
        for sid in sorted(dirty.sessions):
            pipe.hset(state_key(sid), mapping=state_fields(ledger.sessions[sid]))
        for node, keys in dirty.presence.items():
            pipe.sadd(presence_key(node), *(presence_member(ts, on) for ts, on in keys))
            pipe.sadd(PRESENCE_NODES_KEY, node)
        await pipe.execute()
    return len(dirty.sessions) + len(dirty.presence)


async def put_session(redis: Any, info: SessionInfo) -> None:
    """Record a session's spec (call when the session is created or changed)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(INFO_KEY, info.session, info.model_dump_json())
        pipe.zadd(INFO_BY_START_KEY, {info.session: info.scheduled_start})
        await pipe.execute()


async def put_directory(redis: Any, directory: Directory) -> None:
    """Replace the directory (schools, classrooms) that reports read."""
    await redis.set(DIRECTORY_KEY, directory.model_dump_json())


# ------------------------------------------------------------------- reading


async def get_directory(redis: Any) -> Directory:
    raw = await redis.get(DIRECTORY_KEY)
    if raw is None:
        return Directory()
    return Directory.model_validate_json(raw)


async def sessions_between(redis: Any, lo_ms: int, hi_ms: int) -> list[SessionInfo]:
    """Specs of the sessions scheduled to start in ``[lo_ms, hi_ms)``, by start."""
    ids = await redis.zrangebyscore(INFO_BY_START_KEY, lo_ms, f"({hi_ms}")
    if not ids:
        return []
    raws = await redis.hmget(INFO_KEY, ids)
    out = []
    for sid, raw in zip(ids, raws, strict=True):
        if raw is None:
            raise StoreError(INFO_KEY, f"no spec for {_text(sid)}")
        out.append(SessionInfo.model_validate_json(raw))
    return out


async def load(
    redis: Any,
    sessions: Iterable[str],
    nodes: Iterable[str] | None = None,
    *,
    progress: bool = False,
) -> Ledger:
    """A ledger holding the persisted state of ``sessions`` and presence of ``nodes``.

    ``nodes=None`` loads every node with presence records.
    """
    ledger = Ledger()
    sids = list(sessions)
    for start in tqdm(range(0, len(sids), PAGE), desc="load", disable=not progress):
        chunk = sids[start : start + PAGE]
        async with redis.pipeline(transaction=False) as pipe:
            for sid in chunk:
                pipe.hgetall(state_key(sid))
            replies = await pipe.execute()
        for sid, raw in zip(chunk, replies, strict=True):
            if raw:
                fields = {_text(k): _text(v) for k, v in raw.items()}
                ledger.sessions[sid] = state_from_fields(sid, fields)
    if nodes is None:
        node_ids = sorted(_text(n) for n in await redis.smembers(PRESENCE_NODES_KEY))
    else:
        node_ids = sorted(set(nodes))
    for start in range(0, len(node_ids), PAGE):
        chunk = node_ids[start : start + PAGE]
        async with redis.pipeline(transaction=False) as pipe:
            for node in chunk:
                pipe.smembers(presence_key(node))
            replies = await pipe.execute()
        for node, members in zip(chunk, replies, strict=True):
            if members:
                ledger.presence[node] = {parse_presence_member(_text(m)) for m in members}
    ledger.take_dirty()
    return ledger


async def _feed_log(redis: Any, ledger: Ledger, session: str, from_seq: int) -> int:
    """Feed ``dc:s:{session}:log`` from ``from_seq`` on; the number of entries read."""
    start = f"{max(from_seq, 1)}-0"
    count = 0
    while True:
        entries = await redis.xrange(log_key(session), min=start, max="+", count=PAGE)
        for entry_id, fields in entries:
            payload = _field(fields, "d")
            if payload is None:
                payload = _field(fields, "e")
            if payload is None:
                raise StoreError(log_key(session), f"entry {_text(entry_id)} has no field d")
            if isinstance(payload, str):
                payload = payload.encode("latin-1")
            event = decode(payload)
            seq = int(_text(entry_id).split("-", 1)[0])
            patch: dict[str, Any] = {}
            if event.seq is None:
                patch["seq"] = seq
            if event.ts is None and _field(fields, "ts") is not None:
                patch["ts"] = int(_text(_field(fields, "ts")))
            if not event.session:
                patch["session"] = session
            if event.src is None and _field(fields, "src") is not None:
                patch["src"] = _text(_field(fields, "src")) or None
            ledger.feed(event.model_copy(update=patch) if patch else event)
            count += 1
        if len(entries) < PAGE:
            return count
        start = "(" + _text(entries[-1][0])


async def catch_up(redis: Any, ledger: Ledger, session: str) -> int:
    """Feed the session log's events the ledger has not folded yet (after ``load``)."""
    return await _feed_log(redis, ledger, session, ledger.session(session).next_seq)


async def rebuild_from_streams(
    redis: Any, sessions: Iterable[str], *, progress: bool = False
) -> Ledger:
    """A ledger built from scratch from the session logs and ``dc:ledger:inputs``.

    Gives the same figures as the live ledger that was fed the same inputs: events
    are folded in seq order whatever the feed order, presence and browser records
    are sets, and heartbeats are read in the order the hub appended them.
    """
    ledger = Ledger()
    wanted = set(sessions)
    for sid in tqdm(sorted(wanted), desc="rebuild", disable=not progress):
        await _feed_log(redis, ledger, sid, 1)
    start = "-"
    while True:
        entries = await redis.xrange(INPUTS_KEY, min=start, max="+", count=PAGE)
        for _, fields in entries:
            raw = _field(fields, "r")
            if isinstance(raw, str):
                raw = raw.encode("latin-1")
            record = from_wire(raw)
            if isinstance(record, HeartbeatInput):
                keep = tuple(s for s in record.sessions if s in wanted)
                if not keep:
                    continue
                if len(keep) != len(record.sessions):
                    record = HeartbeatInput(
                        record.node, record.ts, keep, record.fps, record.freezes
                    )
            elif (
                isinstance(record, BrowserInput | ReplayInput | LayerInput)
                and record.session not in wanted
            ):
                continue
            ledger.feed(record)
        if len(entries) < PAGE:
            break
        start = "(" + _text(entries[-1][0])
    ledger.take_dirty()
    return ledger


async def load_term(
    redis: Any, lo_ms: int, hi_ms: int, *, records: bool = True, progress: bool = False
) -> Term:
    """The term of sessions scheduled in ``[lo_ms, hi_ms)`` from the persisted ledger.

    ``records=False`` leaves out per-hand/per-answer records (reports need counts only).
    """
    directory = await get_directory(redis)
    infos = await sessions_between(redis, lo_ms, hi_ms)
    nodes = {i.lead_classroom for i in infos} | {p for i in infos for p in i.partners}
    ledger = await load(redis, [i.session for i in infos], nodes, progress=progress)
    return term_from_ledger(ledger, infos, directory, records=records, progress=progress)
