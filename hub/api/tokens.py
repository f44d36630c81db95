"""Join tokens over HTTP: minting (admin) and the ``require_join_token`` dependency.

``POST /api/sessions/{session}/tokens`` (admin key) checks that the role fits the
session and the registry before signing: a ``lead`` token is for the session's lead
classroom, a ``tutor`` token names one of its partner classrooms, an ``observer``
token may name an observer classroom or none. A named teacher must exist and have
the role (lead teacher for ``lead``, tutor for ``tutor``).

``require_join_token(roles)`` is the dependency other routes (consoles, WebSocket
signalling) use: bearer join token, verified for the ``{session}`` of the path.
``GET /api/sessions/{session}/whoami`` is the smallest route that uses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from hub.api.deps import HubDep, get_hub, require_admin
from hub.api.problems import Problem
from hub.api.registry import PROBLEMS, translate_errors
from hub.sessions import SessionSpec
from hub.tokens import Claims, JoinRole, derive_key, mint_token, verify_token
from registry.models import Ident, TeacherRole
from registry.rules import Snapshot
from registry.store import RegistryStore

__all__ = ["TokenRequest", "TokenResponse", "join_key", "require_join_token", "router"]

router = APIRouter(prefix="/api/sessions", tags=["join tokens"], responses=PROBLEMS)
_bearer = HTTPBearer(auto_error=False, description="A join token from POST .../tokens")


class TokenRequest(BaseModel):
    role: JoinRole
    classroom: Ident | None = None
    teacher: Ident | None = None
    ttl_s: int = Field(default=3600, ge=30, le=86_400)


class TokenResponse(BaseModel):
    token: str
    token_type: str = "Bearer"
    expires_at: int
    claims: dict[str, Any]


def join_key(request: Request) -> bytes:
    """The signing key, derived from the admin key (see ``hub.tokens``)."""
    admin_key = get_hub(request).config.admin_key
    if admin_key is None:
        raise Problem(503, "tokens-unavailable", "Tokens unavailable", "no admin key is configured")
    return derive_key(admin_key.get_secret_value())


def require_join_token(
    roles: Collection[JoinRole],
) -> Callable[..., Awaitable[Claims]]:
    """A dependency: the verified claims of the bearer join token for ``{session}``."""
    allowed = frozenset(roles)

    async def dependency(
        session: str,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Claims:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Problem(401, "unauthorized", "Unauthorized", "missing bearer join token")
        with translate_errors():
            return verify_token(
                credentials.credentials, key=join_key(request), session=session, roles=allowed
            )

    return dependency


def _classroom_for(
    body: TokenRequest, spec: SessionSpec, snap: Snapshot
) -> tuple[str | None, str | None]:
    """``(classroom, node)`` the token is for, or a 422 if the role does not fit."""
    roster = spec.roster()
    if body.classroom is None:
        if body.role is JoinRole.TUTOR:
            raise Problem(422, "validation", "Invalid request", "a tutor token needs a classroom")
        if body.role is JoinRole.LEAD:
            lead_rooms = [c.id for c in snap.classrooms.values() if c.node == spec.lead]
            return (lead_rooms[0] if lead_rooms else None), spec.lead
        return None, None
    room = snap.classrooms.get(body.classroom)
    if room is None or room.node is None or room.node not in roster:
        raise Problem(
            422,
            "validation",
            "Invalid request",
            f"classroom {body.classroom!r} is not in {spec.session}",
        )
    wanted = {JoinRole.LEAD: "lead", JoinRole.TUTOR: "partner", JoinRole.OBSERVER: "observer"}
    if roster[room.node].value != wanted[body.role]:
        raise Problem(
            422,
            "validation",
            "Invalid request",
            f"classroom {body.classroom!r} is {roster[room.node].value} in {spec.session},"
            f" not {wanted[body.role]}",
        )
    return room.id, room.node


def _check_teacher(body: TokenRequest, snap: Snapshot) -> None:
    if body.teacher is None:
        return
    teacher = snap.teachers.get(body.teacher)
    needs = {JoinRole.LEAD: TeacherRole.LEAD, JoinRole.TUTOR: TeacherRole.TUTOR}.get(body.role)
    if teacher is None or (needs is not None and teacher.role is not needs):
        raise Problem(
            422,
            "validation",
            "Invalid request",
            f"teacher {body.teacher!r} is not a registered {needs.value if needs else ''} teacher",
        )


@router.post(
    "/{session}/tokens",
    status_code=201,
    response_model=TokenResponse,
    dependencies=[Depends(require_admin)],
    summary="Mint a signed, expiring join token for one session and role",
)
async def create_token(
    session: str, body: TokenRequest, hub: HubDep, request: Request
) -> TokenResponse:
    spec = await hub.get_spec(session)
    snap = await RegistryStore(hub.store.redis).snapshot()
    classroom, node = _classroom_for(body, spec, snap)
    _check_teacher(body, snap)
    token, claims = mint_token(
        join_key(request),
        session=session,
        role=body.role,
        ttl_s=body.ttl_s,
        classroom=classroom,
        node=node,
        teacher=body.teacher,
    )
    return TokenResponse(token=token, expires_at=claims.exp * 1000, claims=claims.to_dict())


AnyJoinToken = Annotated[Claims, Depends(require_join_token(list(JoinRole)))]


@router.get(
    "/{session}/whoami",
    summary="The claims of the presented join token (bearer join token, not the admin key)",
    responses={403: {"description": "Token for another session or role"}},
)
async def whoami(claims: AnyJoinToken) -> dict[str, Any]:
    return claims.to_dict()
