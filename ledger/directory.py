"""Who is who: schools, classrooms and the spec of each session.

Why a module of its own: the ledger counts per classroom and session without
knowing schools or regions; reports need to know which school a classroom belongs
to, where the school is and what each session was meant to teach. That knowledge
comes from the hub's registry and matching, and is handed to reports as these
frozen values (the hub writes them to Redis through ``store.put_directory`` and
``store.put_session``).

Identifiers: a classroom id is the node id of the classroom's box (one node per
classroom). A tutor's browser console standing in for a node uses the same id.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger.exceptions import DirectoryError

__all__ = ["ClassroomInfo", "Directory", "SchoolInfo", "SessionInfo"]

Ident = Annotated[str, Field(min_length=1, max_length=64)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SchoolInfo(_Frozen):
    """A school; ``rural`` marks the schools the programme exists to reach."""

    school: Ident
    name: str = ""
    region: Ident
    rural: bool = False


class ClassroomInfo(_Frozen):
    """A classroom (one node) of a school with its enrolled seats."""

    classroom: Ident
    school: Ident
    seats: int = Field(default=0, ge=0)


class SessionInfo(_Frozen):
    """The spec of one session (one lesson): who teaches whom, what, when.

    ``partners`` maps each partner classroom to its school, so a report can place a
    classroom that has since moved or been removed from the registry. Times are hub
    milliseconds since the epoch, like every ``ts`` in the protocol.
    """

    session: Ident
    lead_classroom: Ident
    lead_teacher: Ident
    lead_school: Ident
    partners: dict[str, str] = Field(min_length=1)
    subject: Annotated[str, Field(min_length=1, max_length=64)]
    grade: int = Field(ge=1, le=12)
    scheduled_start: int
    scheduled_end: int

    @model_validator(mode="after")
    def _ordered(self) -> SessionInfo:
        if self.scheduled_end < self.scheduled_start:
            raise ValueError("scheduled_end must not be before scheduled_start")
        if self.lead_classroom in self.partners:
            raise ValueError("the lead classroom cannot also be a partner")
        return self


class Directory(_Frozen):
    """Schools and classrooms by id: the registry's view that reports need."""

    schools: dict[str, SchoolInfo] = {}
    classrooms: dict[str, ClassroomInfo] = {}

    @classmethod
    def build(cls, schools: list[SchoolInfo], classrooms: list[ClassroomInfo]) -> Directory:
        """Index lists by id; a classroom of an unknown school is an error."""
        by_school = {s.school: s for s in schools}
        for room in classrooms:
            if room.school not in by_school:
                raise DirectoryError("school", room.school, f"of classroom {room.classroom}")
        return cls(schools=by_school, classrooms={c.classroom: c for c in classrooms})

    def school(self, school_id: str) -> SchoolInfo:
        """The school, or a placeholder in region ``unknown`` so reports never drop data."""
        found = self.schools.get(school_id)
        if found is None:
            return SchoolInfo(school=school_id, region="unknown")
        return found

    def region_of(self, school_id: str) -> str:
        return self.school(school_id).region
