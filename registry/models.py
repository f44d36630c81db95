"""The registry's value objects: ``School``, ``Classroom``, ``Teacher``.

Why pydantic (unlike the matching dataclasses): these cross process boundaries as
they are — JSON in Redis, JSON bodies of the HTTP API, rows of a CSV import — and
the validation rules should be written once for all three.

Ids are the same alphabet as session ids (letters, digits, ``_ . -``) because
session ids of a timetable are derived from them. A classroom id is unique across
schools; offers and requests of the matching name classrooms by this id.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator

__all__ = [
    "Classroom",
    "Entity",
    "Ident",
    "Kind",
    "NodeRef",
    "School",
    "SchoolKind",
    "Teacher",
    "TeacherRole",
    "model_of",
]

Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
#: Same rule as ``hub.api.nodes.NodeId`` (a node id is an MQTT username).
NodeRef = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
#: Free text that must not be blank. The ``\S`` pattern puts in the published schema
#: what whitespace stripping (model config) implies: "  " is not a name.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Subject = Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S")]


def _no_text(value: object) -> object:
    if isinstance(value, str | bool):
        raise ValueError("must be a whole number")
    return value


#: Numbers and booleans as JSON Schema sees them: ``"40"`` is not 40 and ``0`` is not
#: ``false`` (the CSV reader converts its text cells itself), but ``40.0`` is 40.
Kbps = Annotated[int, Field(ge=1, le=10_000_000), BeforeValidator(_no_text)]
Seats = Annotated[int, Field(ge=1, le=1000), BeforeValidator(_no_text)]
Grade = Annotated[int, Field(ge=1, le=12), BeforeValidator(_no_text)]


class SchoolKind(StrEnum):
    LEAD = "lead"
    PARTNER = "partner"


class TeacherRole(StrEnum):
    LEAD = "lead"
    TUTOR = "tutor"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class School(_Model):
    """A school; ``kind`` says whether it teaches (lead) or receives (partner)."""

    id: Ident
    name: Name
    kind: SchoolKind
    region: Annotated[str, Field(max_length=200)] = ""
    rural: StrictBool = False


class Classroom(_Model):
    """A room with a classroom node. ``node`` may be empty until its box is installed,
    but a classroom without a node cannot take part in a session."""

    id: Ident
    school: Ident
    node: NodeRef | None = None
    seats: Seats = 40
    grades: Annotated[list[Grade], Field(max_length=12)] = []
    downlink_kbps: Kbps = 2000
    uplink_kbps: Kbps = 1000

    @field_validator("grades")
    @classmethod
    def _sorted_unique(cls, grades: list[int]) -> list[int]:
        return sorted(set(grades))


class Teacher(_Model):
    """A lead teacher (teaches live) or a tutor (runs a partner classroom)."""

    id: Ident
    name: Name
    school: Ident
    role: TeacherRole
    subjects: Annotated[list[Subject], Field(max_length=32)] = []

    @field_validator("subjects")
    @classmethod
    def _normalised(cls, subjects: list[str]) -> list[str]:
        # Lower-cased like the matching CSVs, so "English" here matches "english" there.
        return list(dict.fromkeys(s.strip().lower() for s in subjects if s.strip()))


Entity = School | Classroom | Teacher


class Kind(StrEnum):
    """The three registry collections; the value is the plural used in URLs and CLI."""

    SCHOOLS = "schools"
    CLASSROOMS = "classrooms"
    TEACHERS = "teachers"

    @property
    def singular(self) -> str:
        return self.value[:-1]


def model_of(kind: Kind) -> type[School] | type[Classroom] | type[Teacher]:
    if kind is Kind.SCHOOLS:
        return School
    if kind is Kind.CLASSROOMS:
        return Classroom
    return Teacher
