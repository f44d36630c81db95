"""Matching runs: started over the stored inputs, solved off the event loop, kept in Redis.

Keys::

    dc:match:runs            zset  run id -> created (ms)
    dc:match:run:{id}        JSON  status record (``RunRecord``)
    dc:match:run:{id}:input  JSON  the ``Instance`` it solved (``instance_to_json``)

Why a thread: CP-SAT and greedy are CPU-bound and synchronous; run in the event loop
they would stall MQTT and the API for the whole time limit. OR-Tools releases the
GIL while it searches, so one worker thread keeps the hub responsive. Runs are queued
one at a time (``max_workers=1``): two solves on a 2-core box would only slow both.

A run whose hub died mid-solve stays ``running`` in Redis; starting a new one is
the remedy (the record says which replica owned it and when it started).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel

from hub.keys import RUNS_KEY, run_key
from hub.scheduling.inputs import instance_to_json
from hub.store import translate_redis_errors
from matching.models import Instance, MatchResult
from matching.solvers import solve
from protocols.ids import new_id, now_ms

__all__ = ["RunRecord", "RunStatus", "RunStore", "Runner"]

log = logging.getLogger("dualclass.matching")


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RunRecord(BaseModel):
    id: str
    status: RunStatus
    solver: str
    time_limit: float
    owner: str
    created_ms: int
    finished_ms: int | None = None
    counts: dict[str, int] = {}
    result: dict[str, Any] | None = None
    error: str | None = None
    accepted: dict[str, Any] | None = None


class RunStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r: Any = client

    async def put(self, record: RunRecord) -> None:
        with translate_redis_errors():
            await self._r.set(run_key(record.id), record.model_dump_json())

    async def create(self, record: RunRecord, instance: Instance) -> None:
        with translate_redis_errors():
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.set(run_key(record.id), record.model_dump_json())
                pipe.set(run_key(record.id) + ":input", instance_to_json(instance))
                pipe.zadd(RUNS_KEY, {record.id: record.created_ms})
                await pipe.execute()

    async def get(self, run: str) -> RunRecord | None:
        with translate_redis_errors():
            raw = await self._r.get(run_key(run))
        return None if raw is None else RunRecord.model_validate_json(raw)

    async def input(self, run: str) -> str | None:
        with translate_redis_errors():
            raw = await self._r.get(run_key(run) + ":input")
        return None if raw is None else bytes(raw).decode()

    async def recent(self, limit: int = 100) -> list[RunRecord]:
        with translate_redis_errors():
            ids = await self._r.zrevrange(RUNS_KEY, 0, limit - 1)
            values = await self._r.mget([run_key(i.decode()) for i in ids]) if ids else []
        return [RunRecord.model_validate_json(v) for v in values if v is not None]


class Runner:
    """Starts runs; holds their tasks so they are not garbage-collected mid-solve."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matching")
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, instance: Instance, solver: str, time_limit: float) -> RunRecord:
        record = RunRecord(
            id=new_id(),
            status=RunStatus.RUNNING,
            solver=solver,
            time_limit=time_limit,
            owner=socket.gethostname(),
            created_ms=now_ms(),
            counts={
                "offers": len(instance.offers),
                "requests": len(instance.requests),
                "pairs": len(instance.pairs),
            },
        )
        await self.store.create(record, instance)
        task = asyncio.create_task(self._solve(record, instance), name=f"matching-{record.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return record

    async def _solve(self, record: RunRecord, instance: Instance) -> None:
        loop = asyncio.get_running_loop()
        try:
            result: MatchResult = await loop.run_in_executor(
                self._executor, solve, instance, record.solver, record.time_limit
            )
            done = record.model_copy(
                update={
                    "status": RunStatus.DONE,
                    "result": json.loads(result.to_json(indent=None)),
                    "finished_ms": now_ms(),
                }
            )
        except Exception as exc:  # a solver bug must still end the run visibly
            log.exception("matching run %s failed", record.id)
            done = record.model_copy(
                update={"status": RunStatus.FAILED, "error": str(exc), "finished_ms": now_ms()}
            )
        await self.store.put(done)

    async def wait(self) -> None:
        """Until every started run has finished (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
