"""ICE server lists and short-lived TURN credentials (pure; no aiortc here).

A classroom behind a firewall that blocks UDP, or a hub behind NAT, gets media
only through a TURN relay. TURN needs credentials, and a long-lived password in a
console page would be a password for the world. So the hub holds TURN's shared
secret (coturn's ``use-auth-secret`` + ``static-auth-secret``) and, for every
signalling join, mints a credential that expires (the "TURN REST API" scheme that
coturn implements, draft-uberti-behave-turn-rest):

    username   = "<unix expiry>:<who>"
    credential = base64(HMAC-SHA1(secret, username))

coturn recomputes the HMAC from its copy of the secret and refuses the
allocation once the expiry has passed; nothing is stored anywhere.

``IceServerSpec`` is one configured server (hub ``ice_servers``, node
``DUALCLASS_NODE_MEDIA__ICE_SERVERS``): ``urls`` plus, for a TURN server that is not
ours, a static ``username``/``credential``. ``ice_servers_for`` turns the list into
what a peer receives in ``joined.ice_servers`` (the shape of the browser's
``RTCIceServer`` dictionary).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "IceServerSpec",
    "ice_servers_for",
    "is_turn_url",
    "turn_credential",
    "turn_username",
]

_URL = re.compile(r"^(stun|stuns|turn|turns):[A-Za-z0-9.\-\[\]:]{1,255}(\?transport=(udp|tcp))?$")
#: coturn splits the username at the first ':' and HMACs all of it; keep ``who`` tame.
_WHO = re.compile(r"[^A-Za-z0-9_.\-]")


class IceServerSpec(BaseModel):
    """One STUN or TURN server; TURN without ``credential`` gets minted credentials."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    urls: Annotated[list[str], Field(min_length=1, max_length=8)]
    username: Annotated[str, Field(max_length=256)] | None = None
    credential: Annotated[str, Field(max_length=256)] | None = None

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not _URL.match(url):
                raise ValueError(f"not a stun:/stuns:/turn:/turns: URL: {url!r}")
        return urls


def is_turn_url(url: str) -> bool:
    return url.startswith(("turn:", "turns:"))


def turn_username(who: str, ttl_s: int, *, now: float | None = None) -> str:
    """``<expiry>:<who>`` with ``who`` reduced to safe characters."""
    expiry = int(time.time() if now is None else now) + int(ttl_s)
    return f"{expiry}:{_WHO.sub('_', who)[:64] or 'peer'}"


def turn_credential(secret: str, username: str) -> str:
    """coturn's REST credential: base64 of HMAC-SHA1 over the username."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def ice_servers_for(
    specs: Sequence[IceServerSpec],
    *,
    who: str,
    secret: str | None,
    ttl_s: int,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """What one peer gets: every server, TURN ones with fresh credentials.

    A TURN server with a static credential keeps it; one without is skipped when
    the hub has no ``turn_secret`` (it could not be used anyway).
    """
    out: list[dict[str, Any]] = []
    minted: tuple[str, str] | None = None
    for spec in specs:
        turn = any(is_turn_url(u) for u in spec.urls)
        entry: dict[str, Any] = {"urls": list(spec.urls)}
        if turn and spec.credential is not None:
            entry |= {"username": spec.username or "", "credential": spec.credential}
        elif turn:
            if secret is None:
                continue
            if minted is None:
                username = turn_username(who, ttl_s, now=now)
                minted = (username, turn_credential(secret, username))
            entry |= {"username": minted[0], "credential": minted[1]}
        out.append(entry)
    return out
