"""``create_app(hub)``: the FastAPI application around one hub."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from hub.api import (
    consoles,
    decks,
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
from hub.api.limits import BodyLimit
from hub.api.problems import install_problem_handlers
from hub.api.registry import PROBLEMS
from hub.core import HubCore

__all__ = ["create_app"]


def create_app(hub: HubCore, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The app; ``routers`` are included after the core ones (extension point)."""
    # Swagger UI's script and style served by the hub, not a CDN: the printed /docs
    # link must work on a school network without internet
    app = FastAPIOffline(title="dualclass hub", version="0.1.0")
    app.state.hub = hub
    install_problem_handlers(app, on_unexpected=hub.metrics.api_errors.inc)
    app.add_middleware(
        BodyLimit,
        max_bytes=hub.config.max_body_bytes,
        csv_bytes=hub.config.max_csv_bytes,
        deck_bytes=hub.config.deck_max_bytes,
        on_refused=lambda name: hub.metrics.input_refused.labels(name).inc(),
    )
    # every error is a problem document: documented on every admin route
    app.include_router(health.router)
    for router in (
        nodes.router,
        sessions.router,
        registry.router,
        matching.router,
        timetable.router,
        tokens.router,
        reports.router,
        decks.router,
        ops.router,
        recordings.router,
    ):
        app.include_router(router, responses=PROBLEMS)
    for router in (signalling.router, consoles.router, languages.router, *routers):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        # the demo prints the hub's bare address: a person opening it lands on the
        # operator dashboard, not a 404 problem document
        return RedirectResponse("ops", status_code=307)

    return app
