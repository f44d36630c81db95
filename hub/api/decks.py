"""Lesson decks over HTTP: upload (render + store), attach to sessions, fetch pages.

Who may do what (one ``Authorization`` header; identity is never a body field):

- the **admin key** (operators): everything;
- a **lead join token** of the session: upload a deck to it, read its decks;
- a tutor or observer **join token** of the session: read its decks;
- a **classroom node** (HTTP Basic ``node:secret``, its registry credentials, the
  same as its MQTT login) that is a member of the session: read its decks.

Uploads are the raw file as the body (``Content-Type: application/pdf``, or a
``.pptx``/``.odp`` with ``?name=`` naming it); at most ``deck_max_bytes`` are read.
Refusals are problem documents with ``code`` (``too_large``, ``not_a_pdf``,
``encrypted``, ``too_many_pages``, ``render_limit``, ``converter_missing``) and are
counted in ``dualclass_hub_deck_refused_total{code}``. Page images carry their hash
as ``ETag``, are immutable, and honour ``Range`` (a node resumes a cut download).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from hub.api.access import authenticate
from hub.api.deps import HubDep, require_admin
from hub.api.problems import PROBLEM_JSON, Problem
from hub.api.registry import PROBLEMS, problem_doc
from hub.core import HubCore
from hub.decks.exceptions import DeckError, DeckRefused, DeckTooLarge, UnknownDeck
from hub.decks.models import DECK_ID_PATTERN, DeckManifest
from hub.tokens import JoinRole

__all__ = ["router"]

log = logging.getLogger("dualclass.hub.decks")

#: Every error is a problem document (documented for clients and schemathesis).
router = APIRouter(
    tags=["decks"],
    responses={**PROBLEMS, 415: problem_doc("Not a PDF, or a presentation without LibreOffice")},
)

DeckId = Annotated[str, Path(pattern=DECK_ID_PATTERN)]
NameQuery = Annotated[
    str, Query(max_length=200, description="file name (its suffix picks the converter)")
]


def _deck_problem(hub: HubCore, exc: DeckError) -> JSONResponse:
    status = exc.status if isinstance(exc, DeckRefused) else 404
    if isinstance(exc, DeckRefused):
        hub.metrics.deck_refused.labels(exc.code).inc()
        log.info("deck refused: %s (%s)", exc.code, exc.detail)
    body = {
        "type": "https://dualclass.dev/problems/" + exc.code.replace("_", "-"),
        "title": "Deck refused" if isinstance(exc, DeckRefused) else "Not found",
        "status": status,
        "detail": exc.detail,
        "code": exc.code,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


async def _upload_body(request: Request, limit: int) -> bytes:
    """The request body; ``DeckTooLarge`` past ``limit`` bytes, without reading on."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise DeckTooLarge(f"{declared} bytes; at most {limit} are accepted")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DeckTooLarge(f"more than {limit} bytes; at most {limit} are accepted")
        chunks.append(chunk)
    return b"".join(chunks)


def _render(manifest: DeckManifest, session: str | None = None) -> dict[str, Any]:
    data = manifest.model_dump(mode="json")
    data["page_count"] = manifest.page_count
    if session is not None:
        base = f"/api/sessions/{session}/decks/{manifest.id}/pages"
        data["page_urls"] = [f"{base}/{i}" for i in range(manifest.page_count)]
    return data


async def _store_upload(hub: HubCore, request: Request, name: str) -> DeckManifest | JSONResponse:
    try:
        data = await _upload_body(request, hub.config.deck_max_bytes)
    except DeckTooLarge as exc:
        return _deck_problem(hub, exc)
    progress = f"deck upload {name or '(unnamed)'}"

    def on_progress(done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            log.info("%s: page %d/%d rendered", progress, done, total)

    try:
        manifest = await hub.decks.add(data, name, on_progress)
    except DeckError as exc:
        return _deck_problem(hub, exc)
    hub.metrics.decks_rendered.inc()
    return manifest


#: Uploads also answer 415: a file that is no PDF (or an office file without LibreOffice).
_UPLOAD_PROBLEMS: dict[int | str, dict[str, Any]] = {
    415: problem_doc("Not a deck the hub can render (not a PDF, encrypted, no LibreOffice)"),
}


@router.post(
    "/api/decks",
    status_code=201,
    responses=_UPLOAD_PROBLEMS,
    dependencies=[Depends(require_admin)],
    summary="Upload a PDF (or PPTX/ODP with LibreOffice) and render it; the manifest",
)
async def upload_deck(request: Request, hub: HubDep, name: NameQuery = "") -> Any:
    result = await _store_upload(hub, request, name)
    return result if isinstance(result, JSONResponse) else _render(result)


@router.get("/api/decks/{deck}", dependencies=[Depends(require_admin)])
async def get_deck(deck: DeckId, hub: HubDep) -> Any:
    try:
        return _render(await hub.decks.get(deck))
    except DeckError as exc:
        return _deck_problem(hub, exc)


@router.post(
    "/api/sessions/{session}/decks",
    status_code=201,
    responses=_UPLOAD_PROBLEMS,
    summary="Upload a deck and attach it to the session (admin key or lead join token)",
)
async def upload_session_deck(
    session: str, request: Request, hub: HubDep, name: NameQuery = ""
) -> Any:
    access = await authenticate(request, session)
    if not (access.admin or access.role is JoinRole.LEAD):
        raise Problem(403, "forbidden", "Forbidden", "only the lead teacher or an operator uploads")
    await hub.get_spec(session)
    result = await _store_upload(hub, request, name)
    if isinstance(result, JSONResponse):
        return result
    await hub.attach_deck(session, result.id)
    return _render(result, session)


@router.put(
    "/api/sessions/{session}/decks/{deck}",
    dependencies=[Depends(require_admin)],
    summary="Attach a stored deck to a session (its members start downloading it)",
)
async def attach_deck(session: str, deck: DeckId, hub: HubDep) -> Any:
    try:
        added = await hub.attach_deck(session, deck)
        manifest = await hub.decks.get(deck)
    except DeckError as exc:
        return _deck_problem(hub, exc)
    return {"attached": added, **_render(manifest, session)}


@router.get("/api/sessions/{session}/decks", summary="The session's decks (and readiness)")
async def session_decks(session: str, request: Request, hub: HubDep) -> dict[str, Any]:
    access = await authenticate(request, session)
    await hub.get_spec(session)
    decks = [_render(m, session) for m in await hub.decks.session_decks(session)]
    out: dict[str, Any] = {"session": session, "decks": decks}
    if access.admin or access.role is JoinRole.LEAD:
        out["ready"] = await hub.decks.readiness(session)
    return out


@router.get("/api/sessions/{session}/decks/{deck}")
async def session_deck(session: str, deck: DeckId, request: Request, hub: HubDep) -> Any:
    await authenticate(request, session)
    try:
        return _render(await hub.decks.session_deck(session, deck), session)
    except DeckError as exc:
        return _deck_problem(hub, exc)


@router.get(
    "/api/sessions/{session}/decks/{deck}/pages/{index}",
    summary="One page image (PNG); supports Range and If-None-Match",
    response_class=FileResponse,
)
async def session_deck_page(
    session: str,
    deck: DeckId,
    index: Annotated[int, Path(ge=0, le=10_000)],
    request: Request,
    hub: HubDep,
) -> Any:
    await authenticate(request, session)
    try:
        manifest = await hub.decks.session_deck(session, deck)
    except DeckError as exc:
        return _deck_problem(hub, exc)
    if index >= manifest.page_count:
        return _deck_problem(hub, UnknownDeck(f"deck {deck} has {manifest.page_count} pages"))
    page = manifest.pages[index]
    path = hub.decks.page_path(page.sha256)
    if not path.is_file():
        raise Problem(503, "page-missing", "Page missing", f"page {index} of {deck} is not on disk")
    hub.metrics.deck_pages_served.inc()
    headers = {
        "ETag": f'"{page.sha256}"',
        "Cache-Control": "private, max-age=31536000, immutable",
        "X-Content-SHA256": page.sha256,
    }
    if request.headers.get("if-none-match", "").strip('"') == page.sha256:
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=manifest.media_type, headers=headers)
