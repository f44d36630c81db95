"""The hub's HTTP API (FastAPI): health, metrics and the admin routes.

``create_app(hub)`` builds the app; each concern is a router in its own module
(``health``, ``nodes``, ``sessions``). To add routes (e.g. registry and matching),
write an ``APIRouter`` and pass it in ``routers=`` or ``app.include_router`` it;
protect admin routes with ``Depends(require_admin)`` and reach the hub with
``Depends(get_hub)``. Errors are RFC 9457 ``application/problem+json``.

May import: hub core modules, fastapi, prometheus-client.
"""

from __future__ import annotations

from hub.api.app import create_app
from hub.api.deps import HubDep, get_hub, require_admin
from hub.api.problems import Problem

__all__ = ["HubDep", "Problem", "create_app", "get_hub", "require_admin"]
