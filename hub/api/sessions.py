"""``/api/sessions``: create sessions, read their spec, live state and events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from hub.api.deps import HubDep, require_admin
from hub.core import SessionOverview
from hub.sessions import SessionSpec
from protocols.messages import MAX_INT

__all__ = ["router"]

router = APIRouter(prefix="/api/sessions", tags=["sessions"], dependencies=[Depends(require_admin)])


def _render(view: SessionOverview) -> dict[str, Any]:
    return {
        "spec": view.spec.model_dump(mode="json"),
        "state": view.state,
        "counters": view.counters,
    }


@router.post("", status_code=201)
async def create_session(spec: SessionSpec, hub: HubDep) -> dict[str, Any]:
    await hub.create_session(spec)
    return _render(await hub.session_view(spec.session))


@router.get("")
async def list_sessions(hub: HubDep) -> list[dict[str, Any]]:
    return [_render(v) for v in await hub.list_sessions()]


@router.get("/{session}")
async def get_session(session: str, hub: HubDep) -> dict[str, Any]:
    return _render(await hub.session_view(session))


@router.delete("/{session}", status_code=204)
async def delete_session(session: str, hub: HubDep) -> Response:
    """Remove a session and its event log (the load simulator cleans up with this)."""
    await hub.remove_session(session)
    return Response(status_code=204)


@router.get("/{session}/events")
async def session_events(
    session: str,
    hub: HubDep,
    from_seq: Annotated[int, Query(ge=1, le=MAX_INT)] = 1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    events = await hub.read_events(session, from_seq, limit)
    return {"session": session, "from_seq": from_seq, "events": events}
