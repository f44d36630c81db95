"""Dependencies shared by routers: the hub object and the admin key check."""

from __future__ import annotations

import hmac
import re
from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BeforeValidator

from hub.api.problems import Problem
from hub.core import HubCore

__all__ = ["HubDep", "IsoDate", "get_hub", "require_admin"]


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


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: object) -> object:
    # pydantic also reads "0" or "1700000000" as a unix time; a day parameter
    # documented as format: date must look like one
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected a day as YYYY-MM-DD")
    return value


#: A query parameter that is a calendar day written ``YYYY-MM-DD`` and nothing else.
IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
