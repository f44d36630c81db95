"""Recordings over HTTP: list, fetch (byte ranges), delete, mark, count viewing; the replay page.

Who may read a recording: the admin key (``Authorization: Bearer``), or a join
token *for that session* (any role), given as ``Authorization: Bearer`` or as
``?token=`` (a ``<video>`` element cannot send headers; pages are served with
``Referrer-Policy: no-referrer`` so the address does not leak). A classroom
node may also use its own credentials (HTTP Basic, node id + secret) for a
session it is in, for playback on the classroom box. Listing, deleting and
marking need the admin key.

==========================================  =======  ======================================
route                                       who      what
==========================================  =======  ======================================
``GET /api/recordings``                     admin    every recording's manifest
``GET /api/recordings/{s}``                 reader   manifest + timeline
``GET /api/recordings/{s}/files/{name}``    reader   a file; ``Range: bytes=`` answered 206
``DELETE /api/recordings/{s}``              admin    delete (409 while it is being written)
``PUT /api/sessions/{s}/recording``         admin    ``{"record": bool}``: mark / unmark
``POST /api/recordings/{s}/views``          reader   ``{"view", "watched_s"}``: replay minutes
``GET /replay/{s}``                         page     the replay page (asks for a token)
==========================================  =======  ======================================
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.api.access import authenticate
from hub.api.deps import HubDep, get_hub, require_admin
from hub.api.problems import Problem
from hub.recording.exceptions import RecordingError, RecordingNotFound
from hub.recording.flags import set_flag
from hub.recording.storage import RecordingStore

__all__ = ["Reader", "router"]

router = APIRouter(tags=["recordings"])

PAGE_DIR = Path(str(resources.files("hub") / "static" / "replay"))
_PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
_VIEW_ID = r"^[A-Za-z0-9_\-]{8,64}$"
#: Replay views one reader may open per recording (each is a ledger record).
MAX_VIEWS_PER_READER = 50
#: Longest watching time one view report may claim (a lesson is < 2 h; rewinding
#: and watching again counts, up to this).
MAX_VIEW_S = 12 * 3600


@dataclass(frozen=True, slots=True)
class Reader:
    """Who is reading a recording: ``admin``, ``token`` or ``node``."""

    via: str
    #: The classroom (node id) the reader stands for; None for admin and viewers.
    classroom: str | None
    #: Stable id of the principal, part of the viewing record's key.
    principal: str


def _store(request: Request) -> RecordingStore:
    return RecordingStore(get_hub(request).config.recording_dir)


async def require_reader(
    session: str, request: Request, token: Annotated[str | None, Query(max_length=4096)] = None
) -> Reader:
    """The admin, a join token for ``session``, or a member node's credentials."""
    caller = await authenticate(request, session, query_token=token)
    if caller.admin:
        return Reader("admin", None, "admin")
    if caller.via == "token":
        return Reader("token", caller.node, f"jti:{caller.jti}")
    return Reader("node", caller.node, f"node:{caller.node}")


ReaderDep = Annotated[Reader, Depends(require_reader)]


def _not_found(exc: RecordingNotFound) -> Problem:
    return Problem(404, "not-found", "Not found", str(exc))


@router.get("/api/recordings", dependencies=[Depends(require_admin)])
async def list_recordings(request: Request) -> list[dict[str, Any]]:
    return _store(request).manifests()


@router.get("/api/recordings/{session}")
async def get_recording(session: str, request: Request, reader: ReaderDep) -> dict[str, Any]:
    store = _store(request)
    try:
        manifest = store.manifest(session)
    except RecordingNotFound as exc:
        raise _not_found(exc) from None
    except RecordingError as exc:
        raise Problem(500, "recording-unreadable", "Recording unreadable", str(exc)) from None
    return {"manifest": manifest, "timeline": store.timeline(session)}


@router.get("/api/recordings/{session}/files/{name}")
async def get_file(session: str, name: str, request: Request, reader: ReaderDep) -> FileResponse:
    """The file; browsers and players fetch pieces with ``Range`` (answered 206)."""
    try:
        path = _store(request).file(session, name)
    except RecordingNotFound as exc:
        raise _not_found(exc) from None
    except RecordingError as exc:
        raise Problem(500, "recording-unreadable", "Recording unreadable", str(exc)) from None
    media_type = "video/webm" if path.suffix == ".webm" else "application/json"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private"})


@router.delete("/api/recordings/{session}", status_code=204, dependencies=[Depends(require_admin)])
async def delete_recording(session: str, request: Request) -> Response:
    service = getattr(request.app.state, "signalling", None)
    room = service.room(session) if service is not None else None
    if room is not None and room.recorder is not None and room.recorder.recording:
        raise Problem(409, "recording", "Recording", f"{session} is being recorded now")
    try:
        _store(request).delete(session)
    except RecordingNotFound as exc:
        raise _not_found(exc) from None
    return Response(status_code=204)


class RecordFlag(BaseModel):
    record: bool


@router.put("/api/sessions/{session}/recording", dependencies=[Depends(require_admin)])
async def mark_recording(
    session: str, body: RecordFlag, hub: HubDep, request: Request
) -> dict[str, Any]:
    """Record this session (or stop); a live lesson starts or stops recording now."""
    await hub.get_spec(session)  # 404 for an unknown session
    await set_flag(hub, session, body.record)
    service = getattr(request.app.state, "signalling", None)
    room = service.room(session) if service is not None else None
    if room is not None:
        room.set_record(body.record)
    return {"session": session, "record": body.record}


class ViewReport(BaseModel):
    """How long one replay view has played so far (seconds of wall-clock playing time).

    Nothing else: who watched comes from the credentials (an extra field is refused).
    """

    model_config = ConfigDict(extra="forbid")

    view: str = Field(pattern=_VIEW_ID)
    watched_s: float = Field(ge=0, le=MAX_VIEW_S)


@router.post("/api/recordings/{session}/views", status_code=202)
async def report_view(
    session: str, body: ViewReport, reader: ReaderDep, hub: HubDep, request: Request
) -> dict[str, Any]:
    """Count replay viewing in the ledger (apart from live participation).

    A view reports its running total; the ledger keeps the largest per (reader, view),
    so reports repeated or out of order count once. The classroom comes from the
    reader's token or node credentials, never from the body.
    """
    try:
        _store(request).manifest(session)
    except RecordingNotFound as exc:
        raise _not_found(exc) from None
    view = f"{reader.principal}/{body.view}"
    state = hub.ledger_feed.ledger.sessions.get(session)
    known = state.replays if state is not None else {}
    if view not in known and (
        sum(1 for v in known if v.startswith(reader.principal + "/")) >= MAX_VIEWS_PER_READER
    ):
        raise Problem(
            429, "too-many-views", "Too many views", f"at most {MAX_VIEWS_PER_READER} per reader"
        )
    await hub.ledger_feed.replay(view, session, reader.classroom, int(body.watched_s * 1000))
    return {"session": session, "view": body.view, "classroom": reader.classroom}


def _page_file(name: str) -> FileResponse:
    path = PAGE_DIR / name
    if "/" in name or name.startswith(".") or not path.is_file() or path.suffix not in _TYPES:
        raise Problem(404, "not-found", "Not found", f"no replay file {name!r}")
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=_PAGE_HEADERS)


@router.get("/replay/static/{name}", include_in_schema=False)
async def replay_static(name: str) -> FileResponse:
    return _page_file(name)


@router.get("/replay/{session}", include_in_schema=False)
async def replay_page(session: str) -> FileResponse:
    """The replay page; it reads ``token`` from its address or asks for the admin key."""
    return _page_file("replay.html")
