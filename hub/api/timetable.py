"""``/api/timetable``: the lessons created by accepted runs, filtered, by start time.

Each lesson names its session (live state under ``/api/sessions/{id}``), the lead
classroom and teacher, the partner classrooms, subject, grade and its times.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from hub.api.deps import HubDep, IsoDate, require_admin
from hub.api.registry import PROBLEMS
from hub.scheduling.accept import LessonStore

__all__ = ["router"]

router = APIRouter(
    prefix="/api/timetable",
    tags=["timetable"],
    dependencies=[Depends(require_admin)],
    responses=PROBLEMS,
)


@router.get("", summary="Lessons, optionally within dates and for one school or classroom")
async def timetable(
    hub: HubDep,
    first: Annotated[IsoDate | None, Query(alias="from")] = None,
    last: Annotated[IsoDate | None, Query(alias="to")] = None,
    school: str | None = None,
    classroom: str | None = None,
) -> list[dict[str, Any]]:
    return await LessonStore(hub.store.redis).lessons(
        first=first, last=last, school=school, classroom=classroom
    )
