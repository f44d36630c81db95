"""Dependencies shared by routers: the hub object and the admin key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from hub.api.problems import Problem
from hub.core import HubCore

__all__ = ["HubDep", "get_hub", "require_admin"]


def get_hub(request: Request) -> HubCore:
    hub: HubCore = request.app.state.hub
    return hub


def require_admin(request: Request) -> None:
    """``Authorization: Bearer <admin key>``; with no key configured, every call is refused."""
    key = get_hub(request).config.admin_key
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if key is None:
        raise Problem(401, "unauthorized", "Unauthorized", "no admin key is configured")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), key.get_secret_value().encode()
    ):
        raise Problem(401, "unauthorized", "Unauthorized", "missing or wrong admin bearer key")


#: Route parameter type that receives the hub: ``hub: HubDep``.
HubDep = Annotated[HubCore, Depends(get_hub)]
