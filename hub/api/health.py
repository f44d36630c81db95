"""``/healthz`` and ``/metrics``: open, no admin key (scraped by monitoring)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from hub.api.deps import HubDep

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz")
async def healthz(hub: HubDep) -> dict[str, Any]:
    return {
        "status": "ok",
        "mqtt": hub.link_in.connected.is_set() and hub.link_out.connected.is_set(),
        "sessions": len(hub.runtimes),
    }


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}, "description": "Metrics"}},
)
async def metrics(hub: HubDep) -> Response:
    return Response(hub.metrics.render(), media_type=CONTENT_TYPE_LATEST)
