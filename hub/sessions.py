"""The session spec: who takes part in a lesson, in which role, and when.

Pure data: the spec is stored as JSON in Redis (``dc:session:{sid}``) and turned into
the roster of ``protocols.lesson.LessonMachine`` and the broker ACL's memberships.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocols.lesson import Role
from protocols.messages import CmdJoinBody, TimestampMs

__all__ = ["SessionSpec"]

_Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
_NodeId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class SessionSpec(BaseModel):
    """A scheduled lesson: one lead node, partner nodes, observers and metadata.

    ``starts_at``/``ends_at`` are epoch milliseconds (like every ``ts`` on the wire).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    session: _Ident
    lead: _NodeId
    partners: Annotated[list[_NodeId], Field(max_length=64)] = []
    observers: Annotated[list[_NodeId], Field(max_length=64)] = []
    title: Annotated[str, Field(max_length=200)] = ""
    subject: Annotated[str, Field(max_length=200)] = ""
    grade: int | None = Field(default=None, ge=1, le=12)
    #: Epoch ms before 2100 (``protocols.messages.TimestampMs``): a far-future
    #: ``ends_at`` (10^30) once made every scheduler tick fail.
    starts_at: TimestampMs | None = None
    ends_at: TimestampMs | None = None
    #: Record the lesson (``hub.recording``); ``None``: the hub's ``record_by_default``.
    #: ``PUT /api/sessions/{session}/recording`` overrides it later.
    record: bool | None = None

    @model_validator(mode="after")
    def _one_role_each(self) -> SessionSpec:
        members = [self.lead, *self.partners, *self.observers]
        if len(members) != len(set(members)):
            raise ValueError("a node may appear only once (lead, partners, observers)")
        start, end = self.starts_at, self.ends_at
        if start is not None and end is not None and end <= start:
            raise ValueError("ends_at must be after starts_at")
        return self

    def roster(self) -> dict[str, Role]:
        """Node id -> role, the lesson machine's roster."""
        out = {self.lead: Role.LEAD}
        out.update({p: Role.PARTNER for p in self.partners})
        out.update({o: Role.OBSERVER for o in self.observers})
        return out

    @property
    def members(self) -> list[str]:
        return [self.lead, *self.partners, *self.observers]

    def join_due(self, now_ms: int, lead_time_s: float) -> bool:
        """True once members should get ``cmd.join``: ``lead_time_s`` before the start."""
        # Not after ends_at (hub.scheduling sends cmd.leave then; a heartbeat must not re-join).
        if self.ends_at is not None and now_ms >= self.ends_at:
            return False
        return self.starts_at is None or now_ms >= self.starts_at - int(lead_time_s * 1000)

    def join_body(self, node: str) -> CmdJoinBody:
        """What ``cmd.join`` tells ``node`` (which must be a member)."""
        return CmdJoinBody(
            role=self.roster()[node].value,
            title=self.title,
            subject=self.subject,
            grade=self.grade,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
        )
