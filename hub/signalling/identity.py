"""Who a signalling peer is: a ``join`` message in, an ``Identity`` (or a refusal) out.

Two ways in, both ending at a session's roster:

- a **join token** (browser consoles): its claims fix the session and the role. A
  ``lead`` token acts as the session's lead node, a ``tutor`` token as the partner
  classroom's node it names, an ``observer`` token acts as nobody (read-only);
- **node credentials** (classroom nodes): node id + secret, checked against the
  hub's node registry (``dc:nodes``, the same ``$7$`` hashes the broker uses), for
  a session whose roster names the node.

Interactions are later sequenced with ``acting_as`` as their ``src``, so a browser
teacher is held to exactly the role rules of the node it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import jwt

from broker.render import verify_password
from hub.core import HubCore
from hub.exceptions import StoreUnavailable, UnknownSession
from hub.media.routing import Role
from hub.sessions import SessionSpec
from hub.signalling.exceptions import JoinRefused
from hub.tokens import (
    Claims,
    JoinRole,
    TokenExpired,
    TokenForbidden,
    TokenInvalid,
    derive_key,
    verify_token,
)
from protocols.lesson import Role as RosterRole
from protocols.signalling import SignalJoin

__all__ = [
    "Identity",
    "authenticate",
    "identity_for_node",
    "identity_for_token",
    "watching",
]

_MEDIA_ROLE = {
    RosterRole.LEAD: Role.LEAD,
    RosterRole.PARTNER: Role.PARTNER,
    RosterRole.OBSERVER: Role.OBSERVER,
}


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated peer of one session."""

    session: str
    #: ``lead`` / ``tutor`` / ``observer`` for tokens, the roster role for nodes.
    role: str
    #: Node id its interactions are sequenced as; None: read-only.
    acting_as: str | None
    media_role: Role
    #: Whose camera this peer's media is: one media connection per classroom at a
    #: time (a new one takes over). None for observers, who may be many.
    media_key: str | None
    via: str  # "token" or "node"

    @property
    def camera(self) -> bool:
        """This peer sends its classroom's camera (a node, or a console that chose to)."""
        return self.media_key is not None


def watching(identity: Identity) -> Identity:
    """A console beside its classroom's node: same controls, media to watch only.

    The classroom's camera stays with the node (its ``media_key`` is not taken);
    the console receives what an observer does: the lead and the floor.
    """
    if identity.via != "token" or identity.media_key is None:
        return identity
    return replace(identity, media_role=Role.OBSERVER, media_key=None)


def _peek_session(token: str) -> str:
    """The session claim, unverified: only to know which session to verify against."""
    try:
        data: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid(f"invalid join token ({exc})") from None
    session = data.get("session")
    if not isinstance(session, str) or not session:
        raise TokenInvalid("the join token names no session")
    return session


def identity_for_token(claims: Claims, spec: SessionSpec) -> Identity:
    """Map verified token claims onto the session's roster (pure)."""
    roster = spec.roster()
    if claims.role is JoinRole.LEAD:
        node = claims.node or spec.lead
        if node != spec.lead:
            raise JoinRefused(403, "wrong_role", f"{node} is not the lead of {spec.session}")
        return Identity(spec.session, "lead", node, Role.LEAD, node, "token")
    if claims.role is JoinRole.TUTOR:
        partner = claims.node
        if partner is None or roster.get(partner) is not RosterRole.PARTNER:
            raise JoinRefused(
                403, "wrong_role", f"{partner!r} is not a partner classroom of {spec.session}"
            )
        return Identity(spec.session, "tutor", partner, Role.PARTNER, partner, "token")
    return Identity(spec.session, "observer", None, Role.OBSERVER, None, "token")


def identity_for_node(node: str, spec: SessionSpec) -> Identity:
    """A registered node's identity in ``spec`` (pure; credentials already checked)."""
    role = spec.roster().get(node)
    if role is None:
        raise JoinRefused(403, "not_member", f"{node} is not in session {spec.session}")
    media_key = None if role is RosterRole.OBSERVER else node
    return Identity(spec.session, role.value, node, _MEDIA_ROLE[role], media_key, "node")


async def _spec(hub: HubCore, session: str) -> SessionSpec:
    try:
        return await hub.get_spec(session)
    except UnknownSession:
        raise JoinRefused(404, "unknown_session", f"no session {session!r}") from None


async def authenticate(hub: HubCore, join: SignalJoin, *, expect: str | None = None) -> Identity:
    """The peer's identity, or ``JoinRefused`` with a code a console can show.

    ``expect``: the role the page asked for (``lead`` console with a tutor token
    is refused as ``wrong_role`` rather than silently showing the wrong console).
    """
    try:
        if join.token is not None:
            identity = await _by_token(hub, join.token)
        else:
            identity = await _by_node(hub, join)
    except StoreUnavailable as exc:
        raise JoinRefused(503, "store_unavailable", str(exc)) from None
    if expect is not None and identity.role != expect:
        raise JoinRefused(403, "wrong_role", f"this is a {identity.role} join, not {expect}")
    return identity if join.camera else watching(identity)


async def _by_token(hub: HubCore, token: str) -> Identity:
    admin_key = hub.config.admin_key
    if admin_key is None:
        raise JoinRefused(503, "tokens_unavailable", "no admin key is configured")
    try:
        session = _peek_session(token)
        claims = verify_token(
            token,
            key=derive_key(admin_key.get_secret_value()),
            session=session,
            roles=list(JoinRole),
        )
    except TokenExpired as exc:
        raise JoinRefused(401, "token_expired", str(exc)) from None
    except TokenInvalid as exc:
        raise JoinRefused(401, "token_invalid", str(exc)) from None
    except TokenForbidden as exc:
        raise JoinRefused(403, "forbidden", str(exc)) from None
    return identity_for_token(claims, await _spec(hub, session))


async def _by_node(hub: HubCore, join: SignalJoin) -> Identity:
    assert join.node is not None and join.secret is not None and join.session is not None
    hashed = (await hub.store.nodes()).get(join.node)
    if hashed is None or not verify_password(join.secret, hashed):
        raise JoinRefused(401, "bad_credentials", "unknown node or wrong secret")
    return identity_for_node(join.node, await _spec(hub, join.session))
