"""``create_app(hub)``: the FastAPI application around one hub."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI

from hub.api import (
    consoles,
    health,
    languages,
    matching,
    nodes,
    ops,
    recordings,
    registry,
    reports,
    sessions,
    signalling,
    timetable,
    tokens,
)
from hub.api.problems import install_problem_handlers
from hub.core import HubCore

__all__ = ["create_app"]


def create_app(hub: HubCore, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The app; ``routers`` are included after the core ones (extension point)."""
    app = FastAPI(title="dualclass hub", version="0.1.0")
    app.state.hub = hub
    install_problem_handlers(app)
    for router in (
        health.router,
        nodes.router,
        sessions.router,
        registry.router,
        matching.router,
        timetable.router,
        tokens.router,
        reports.router,
        signalling.router,
        consoles.router,
        ops.router,
        languages.router,
        recordings.router,
        *routers,
    ):
        app.include_router(router)
    return app
