"""Who may read or change one session's material: the operator, a join token, a node.

Decks and recordings are reached three ways: the operator's admin key (bearer),
a join token for that session (bearer, or ``?token=`` where a browser cannot set a
header, e.g. a ``<video>`` source), or a member node's own credentials (HTTP Basic,
the secret its MQTT login uses). One function decides, so the rules cannot drift
apart between routes: identity always comes from the credential, never from the
request's body or path beyond the session it names.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from fastapi import Request

from broker.render import verify_password
from hub.api.deps import get_hub
from hub.api.problems import Problem
from hub.exceptions import UnknownSession
from hub.tokens import JoinRole, TokenError, derive_key, verify_token

__all__ = ["Caller", "authenticate"]


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: ``via`` is ``admin``, ``token`` or ``node``."""

    via: str
    #: The token's role (``via == "token"``).
    role: JoinRole | None = None
    #: The classroom the caller stands for: the node, or the token's node (if any).
    node: str | None = None
    #: The token's id (``via == "token"``).
    jti: str | None = None

    @property
    def admin(self) -> bool:
        return self.via == "admin"


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail)


async def authenticate(
    request: Request, session: str | None, *, query_token: str | None = None
) -> Caller:
    """The caller of a request about ``session`` (None: only the operator may call)."""
    hub = get_hub(request)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "basic" and session is not None:
        return await _member_node(request, session, value)
    presented = value if scheme.lower() == "bearer" and value else query_token
    if not presented:
        raise _unauthorized("the admin key, a join token or node credentials")
    admin_key = hub.config.admin_key
    if admin_key is None:
        raise Problem(503, "tokens-unavailable", "Tokens unavailable", "no admin key")
    if hmac.compare_digest(presented.encode(), admin_key.get_secret_value().encode()):
        return Caller("admin")
    if session is None:
        raise _unauthorized("admin key needed")
    try:
        claims = verify_token(
            presented,
            key=derive_key(admin_key.get_secret_value()),
            session=session,
            roles=list(JoinRole),
        )
    except TokenError as exc:
        slug = "forbidden" if exc.status == 403 else "unauthorized"
        raise Problem(exc.status, slug, slug.title(), str(exc)) from None
    return Caller("token", role=claims.role, node=claims.node, jti=claims.jti)


async def _member_node(request: Request, session: str, credentials: str) -> Caller:
    hub = get_hub(request)
    try:
        node, _, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("malformed Basic credentials") from None
    hashed = (await hub.store.nodes()).get(node)
    if hashed is None or not secret or not verify_password(secret, hashed):
        raise _unauthorized("unknown node or wrong secret")
    try:
        spec = await hub.get_spec(session)
    except UnknownSession:
        raise Problem(404, "not-found", "Not found", f"no session {session!r}") from None
    if node not in spec.roster():
        raise Problem(403, "forbidden", "Forbidden", f"{node} is not in {session}")
    return Caller("node", node=node)
