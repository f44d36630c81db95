"""Accepting a matching run: plan its lessons, check the registry, create sessions.

Why all checks before any session: a timetable half created because classroom 7
has no node yet is worse than none; ``Unschedulable`` lists every registry gap, the
operator fixes them and accepts again. Accepting again is safe: session ids are
derived from offer and date, existing sessions are reported, not duplicated.

Sessions go through ``HubCore.create_session`` (spec in Redis, broker ACL, runtime);
joins are *not* sent then for future lessons (``SessionSpec.join_due`` is false
until ``lead_time`` before the start) — ``LessonScheduler`` sends them on time.

Lessons (who teaches, which classrooms, which run) are kept beside the sessions::

    dc:tt:lessons   hash  session id -> JSON of ``TimetableLesson`` + run id
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import redis.asyncio as aioredis

from hub.core import HubCore
from hub.exceptions import SessionExists
from hub.keys import LESSONS_KEY
from hub.scheduling.exceptions import RunNotReady, UnknownRun, Unschedulable
from hub.scheduling.inputs import instance_from_json
from hub.scheduling.runs import RunStatus, RunStore
from hub.scheduling.timetable import Period, TimetableLesson, plan, to_specs
from hub.store import translate_redis_errors
from matching.models import Assignment
from protocols.ids import now_ms
from registry.store import RegistryStore

__all__ = ["AcceptSummary", "LessonStore", "accept_run"]


def lesson_to_dict(lesson: TimetableLesson, run: str) -> dict[str, Any]:
    data = dataclasses.asdict(lesson)
    data["day"] = lesson.day.isoformat()
    data["partner_schools"] = list(lesson.partner_schools)
    data["partner_classrooms"] = list(lesson.partner_classrooms)
    data["run"] = run
    return data


class LessonStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r: Any = client

    async def put(self, lessons: list[TimetableLesson], run: str) -> None:
        if not lessons:
            return
        mapping = {
            ls.session: json.dumps(lesson_to_dict(ls, run), ensure_ascii=False) for ls in lessons
        }
        with translate_redis_errors():
            await self._r.hset(LESSONS_KEY, mapping=mapping)

    async def lessons(
        self,
        *,
        first: date | None = None,
        last: date | None = None,
        school: str | None = None,
        classroom: str | None = None,
    ) -> list[dict[str, Any]]:
        """Stored lessons (JSON-ready), filtered, by start time."""
        with translate_redis_errors():
            raw = await self._r.hvals(LESSONS_KEY)
        out = []
        for value in raw:
            item: dict[str, Any] = json.loads(value)
            day = date.fromisoformat(item["day"])
            if (first and day < first) or (last and day > last):
                continue
            if school and school != item["lead_school"] and school not in item["partner_schools"]:
                continue
            rooms = [item["lead_classroom"], *item["partner_classrooms"]]
            if classroom and classroom not in rooms:
                continue
            out.append(item)
        out.sort(key=lambda item: (item["starts_at"], item["session"]))
        return out


@dataclass(frozen=True, slots=True)
class AcceptSummary:
    run: str
    lessons: int
    created: list[str]
    existing: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


async def accept_run(hub: HubCore, run: str, period: Period) -> AcceptSummary:
    """Turn done run ``run`` into sessions over ``period`` (see module docstring)."""
    runs = RunStore(hub.store.redis)
    record = await runs.get(run)
    text = await runs.input(run)
    if record is None or text is None:
        raise UnknownRun(run)
    if record.status is not RunStatus.DONE or record.result is None:
        raise RunNotReady(run, record.status.value)
    instance = instance_from_json(text)
    assignments = [
        Assignment(a["request_id"], a["offer_id"], a.get("pair_kept", False))
        for a in record.result["assignments"]
    ]
    lessons = plan(instance, assignments, period)
    specs, problems = to_specs(lessons, await RegistryStore(hub.store.redis).snapshot())
    if problems:
        raise Unschedulable(problems)
    created: list[str] = []
    existing: list[str] = []
    # the lead teacher is known here, not in the spec: the ledger's reports need it
    teachers = {lesson.session: lesson.teacher for lesson in lessons}
    for spec in specs:
        try:
            await hub.create_session(spec, teacher=teachers.get(spec.session))
            created.append(spec.session)
        except SessionExists:
            existing.append(spec.session)
    await LessonStore(hub.store.redis).put(lessons, run)
    summary = AcceptSummary(run, len(lessons), created, existing)
    accepted = {
        "at_ms": now_ms(),
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "tz": period.tz,
        "lesson_minutes": period.lesson_minutes,
        **summary.to_dict(),
    }
    await runs.put(record.model_copy(update={"accepted": accepted}))
    return summary
