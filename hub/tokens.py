"""Join tokens: short-lived, signed permissions to take part in one session.

An operator (admin key) mints a token for a teacher's browser or a classroom; the
browser presents it as ``Authorization: Bearer`` to the signalling and console
endpoints. JWT, HS256, claims::

    iss "dualclass-hub"  aud "dualclass-join"
    session  the session id it is good for
    role     lead | tutor | observer
    classroom, node, teacher   optional: where / who
    iat, exp (seconds), jti (unique id, for audit and later revocation)

The signing key is derived from the admin key with HKDF-SHA256 (RFC 5869, label
``dualclass join-token v1``), so no new secret has to be provisioned and every
replica with the same admin key verifies every other's tokens. Rotating the admin
key invalidates all outstanding tokens — acceptable for tokens that live hours.

Errors (for the HTTP and WebSocket layers to map)::

    TokenError (HubError)
    ├── TokenInvalid    malformed, bad signature, wrong issuer/audience  -> 401
    ├── TokenExpired                                                     -> 401
    └── TokenForbidden  valid, but another session or a role not allowed -> 403
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
import jwt.types

from hub.exceptions import HubError
from protocols.ids import new_id

__all__ = [
    "ALGORITHM",
    "AUDIENCE",
    "ISSUER",
    "Claims",
    "JoinRole",
    "TokenError",
    "TokenExpired",
    "TokenForbidden",
    "TokenInvalid",
    "derive_key",
    "mint_token",
    "verify_token",
]

ALGORITHM = "HS256"
ISSUER = "dualclass-hub"
AUDIENCE = "dualclass-join"
_SALT = b"dualclass"
_INFO = b"dualclass join-token v1"


class JoinRole(StrEnum):
    LEAD = "lead"
    TUTOR = "tutor"
    OBSERVER = "observer"


class TokenError(HubError):
    """Root of token errors; ``status`` is the HTTP status to answer with."""

    status = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class TokenInvalid(TokenError):
    status = 401


class TokenExpired(TokenError):
    status = 401


class TokenForbidden(TokenError):
    status = 403


@dataclass(frozen=True, slots=True)
class Claims:
    session: str
    role: JoinRole
    exp: int
    iat: int
    jti: str
    classroom: str | None = None
    node: str | None = None
    teacher: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "session": self.session,
            "role": self.role.value,
            "iat": self.iat,
            "exp": self.exp,
            "jti": self.jti,
        }
        for name in ("classroom", "node", "teacher"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


def derive_key(admin_key: str) -> bytes:
    """HKDF-SHA256 extract-and-expand of the admin key to a 32-byte signing key."""
    prk = hmac.new(_SALT, admin_key.encode(), hashlib.sha256).digest()
    return hmac.new(prk, _INFO + b"\x01", hashlib.sha256).digest()


def mint_token(
    key: bytes,
    *,
    session: str,
    role: JoinRole,
    ttl_s: int,
    classroom: str | None = None,
    node: str | None = None,
    teacher: str | None = None,
    now: float | None = None,
) -> tuple[str, Claims]:
    """A signed token and its claims, valid for ``ttl_s`` seconds from ``now``."""
    if ttl_s <= 0:
        raise ValueError("ttl_s must be > 0")
    iat = int(time.time() if now is None else now)
    claims = Claims(
        session=session,
        role=role,
        iat=iat,
        exp=iat + ttl_s,
        jti=new_id(),
        classroom=classroom,
        node=node,
        teacher=teacher,
    )
    return jwt.encode(claims.to_dict(), key, algorithm=ALGORITHM), claims


def verify_token(
    token: str,
    *,
    key: bytes,
    session: str,
    roles: Collection[JoinRole],
    now: float | None = None,
    leeway_s: float = 0.0,
) -> Claims:
    """The claims of ``token`` if it is genuine, unexpired, for ``session`` and one
    of ``roles``; otherwise the matching ``TokenError``."""
    # PyJWT checks exp against the wall clock; for a given ``now`` we check it below.
    options: jwt.types.Options = {
        "require": ["exp", "iat", "jti", "iss", "aud"],
        "verify_exp": now is None,
    }
    try:
        data: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=leeway_s,
            options=options,
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired("the join token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid(f"invalid join token ({exc})") from None
    if now is not None and now > int(data["exp"]) + leeway_s:
        raise TokenExpired("the join token has expired")
    try:
        claims = Claims(
            session=str(data["session"]),
            role=JoinRole(data["role"]),
            exp=int(data["exp"]),
            iat=int(data["iat"]),
            jti=str(data["jti"]),
            classroom=data.get("classroom"),
            node=data.get("node"),
            teacher=data.get("teacher"),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise TokenInvalid(f"invalid join token claims ({exc})") from None
    if claims.session != session:
        raise TokenForbidden(f"the token is for session {claims.session!r}, not {session!r}")
    if claims.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise TokenForbidden(f"role {claims.role.value!r} may not do this (needs {allowed})")
    return claims
