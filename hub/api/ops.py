"""``/ops``: the operator dashboard, its sign-in, live stream and JSON.

* ``GET /ops`` the page (not secret: it asks for sign-in when it has no cookie);
  ``/ops/static/*`` its script and style sheet.
* ``POST /ops/signin`` ``{"key": admin key}`` -> ``204`` and the session cookie
  (``HttpOnly; SameSite=Strict; Path=/``, ``Secure`` over HTTPS, ``Max-Age`` =
  ``ops_session_ttl_s``); a wrong key is ``401``, counted
  (``dualclass_hub_ops_signin_failed_total``) and answered after a short pause.
  ``POST /ops/signout`` revokes the cookie and clears it.
* ``POST /api/ops/links`` (admin bearer key) -> ``{"url", "expires"}``: a sign-in
  link, ``/ops/signin?link=VALUE[&lesson=SESSION]``, for a printed or mailed link
  (``dualclass demo`` prints one) where nobody can type the key. ``GET`` on it sets
  the same cookie the form does and redirects to ``/ops`` (``#lesson=SESSION``
  opens that lesson's drill-down). ``VALUE`` is a cookie value: it expires with
  ``ops_session_ttl_s`` and signing out revokes it. It opens the dashboard only,
  never the admin API.
* ``GET /api/ops/overview``: the dashboard document as JSON (admin bearer key or
  the cookie); ``GET /api/ops/stream``: server-sent events, ``snapshot`` once then
  ``patch`` (RFC 7386) whenever something shown changed, a comment every 15 s.
* ``GET /api/ops/lessons/{session}``: drill-down, the lesson's live state and its
  latest events. ``GET /ops/report``: the week's HTML coverage report with the
  cookie (a link cannot carry a bearer key).
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import re
from collections.abc import AsyncIterator
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field, SecretStr

from hub.api import reports
from hub.api.deps import HubDep, get_hub, require_admin
from hub.api.problems import Problem
from hub.ops.feed import MAX_SUBSCRIBERS
from hub.ops.overview import with_ages
from hub.ops.signin import COOKIE, MAX_COOKIE_LEN, OpsSessions, derive_ops_key
from protocols.ids import now_ms

__all__ = ["router"]

OPS_DIR = Path(str(resources.files("hub") / "static" / "ops"))
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
#: Pause before answering a wrong key: slows guessing, costs the hub nothing.
_WRONG_KEY_PAUSE_S = 0.5
#: Comment line on the event stream this often, so proxies keep it open.
_KEEPALIVE_S = 15.0

router = APIRouter(tags=["ops"])


class SignIn(BaseModel):
    key: str = Field(min_length=1, max_length=512)


def _sessions(request: Request) -> OpsSessions:
    """The cookie issuer of this app (built once from the admin key)."""
    state = request.app.state
    found: OpsSessions | None = getattr(state, "ops_sessions", None)
    if found is None:
        hub = get_hub(request)
        key = hub.config.admin_key
        if key is None:
            raise Problem(401, "unauthorized", "Unauthorized", "no admin key is configured")
        found = OpsSessions(derive_ops_key(key.get_secret_value()), hub.config.ops_session_ttl_s)
        state.ops_sessions = found
    return found


def require_operator(request: Request) -> None:
    """The admin bearer key, or a valid dashboard session cookie."""
    if request.headers.get("authorization"):
        require_admin(request)
        return
    if not _sessions(request).valid(request.cookies.get(COOKIE), now_ms()):
        raise Problem(401, "unauthorized", "Unauthorized", "sign in at /ops or send the admin key")


Operator = Depends(require_operator)


def _file(name: str) -> FileResponse:
    path = OPS_DIR / name
    if "/" in name or name.startswith(".") or not path.is_file() or path.suffix not in _TYPES:
        raise Problem(404, "not-found", "Not found", f"no dashboard file {name!r}")
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=_NO_STORE)


@router.get("/ops", include_in_schema=False)
async def ops_page() -> FileResponse:
    return _file("ops.html")


@router.get("/ops/static/{name}", include_in_schema=False)
async def ops_static(name: str) -> FileResponse:
    return _file(name)


@router.post("/ops/signin", status_code=204, summary="Exchange the admin key for a cookie")
async def signin(body: SignIn, request: Request) -> Response:
    hub = get_hub(request)
    sessions = _sessions(request)
    try:
        require_admin_key(hub.config.admin_key, body.key)
    except Problem:
        hub.metrics.ops_signin_failed.inc()
        await asyncio.sleep(_WRONG_KEY_PAUSE_S)
        raise
    value, _exp = sessions.issue(now_ms())
    response = Response(status_code=204, headers=_NO_STORE)
    response.set_cookie(
        COOKIE,
        value,
        max_age=sessions.ttl_s,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


#: A session id as a link may name it (the drill-down to open after sign-in).
_LESSON = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class SignInLink(BaseModel):
    lesson: str | None = Field(default=None, pattern=_LESSON.pattern)


@router.post(
    "/api/ops/links",
    dependencies=[Depends(require_admin)],
    summary="A sign-in link to the dashboard (admin key)",
)
async def signin_link(body: SignInLink, request: Request) -> JSONResponse:
    value, exp = _sessions(request).issue(now_ms())
    url = f"/ops/signin?link={value}"
    if body.lesson:
        url += f"&lesson={body.lesson}"
    return JSONResponse({"url": url, "expires": exp}, headers=_NO_STORE)


@router.get(
    "/ops/signin",
    status_code=303,
    response_class=RedirectResponse,
    summary="Follow a sign-in link to the dashboard",
    responses={303: {"description": "To /ops: signed in when the link is valid, else its form"}},
)
async def signin_by_link(
    request: Request,
    link: Annotated[str, Query(max_length=MAX_COOKIE_LEN)] = "",
    lesson: Annotated[str | None, Query(pattern=_LESSON.pattern)] = None,
) -> Response:
    """Follow a sign-in link: a valid one becomes the cookie; any other shows the form."""
    sessions = _sessions(request)
    target = "/ops" + (f"#lesson={lesson}" if lesson else "")
    response = RedirectResponse(target, status_code=303, headers=_NO_STORE)
    if not sessions.valid(link, now_ms()):
        # expired or forged: the dashboard's own sign-in form, and a count of it
        get_hub(request).metrics.ops_signin_failed.inc()
        return response
    exp = link.split(".", 1)[0]
    response.set_cookie(
        COOKIE,
        link,
        max_age=max(0, int(exp) - now_ms() // 1000),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def require_admin_key(configured: SecretStr | None, given: str) -> None:
    if configured is None or not hmac.compare_digest(
        given.strip().encode(), configured.get_secret_value().encode()
    ):
        raise Problem(401, "unauthorized", "Unauthorized", "wrong admin key")


@router.post("/ops/signout", status_code=204, summary="End the dashboard session")
async def signout(request: Request) -> Response:
    _sessions(request).revoke(request.cookies.get(COOKIE), now_ms())
    response = Response(status_code=204, headers=_NO_STORE)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/api/ops/overview", dependencies=[Operator], summary="The dashboard as JSON")
async def overview(hub: HubDep) -> JSONResponse:
    if not hub.ops.document:
        await hub.ops.tick()
    document = with_ages(copy.deepcopy(hub.ops.document), now_ms())
    return JSONResponse(document, headers=_NO_STORE)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@router.get(
    "/api/ops/stream",
    dependencies=[Operator],
    summary="Live dashboard (SSE)",
    response_class=StreamingResponse,
    responses={200: {"description": "Server-sent events", "content": {"text/event-stream": {}}}},
)
async def stream(hub: HubDep) -> StreamingResponse:
    if len(hub.ops.subscribers) >= MAX_SUBSCRIBERS:
        raise Problem(503, "busy", "Too many dashboards", "too many open dashboards")

    async def events() -> AsyncIterator[bytes]:
        async with hub.ops.subscribe() as queue:
            yield _sse("snapshot", {"now": now_ms(), "doc": hub.ops.keyed})
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if message is None:
                    return  # dropped or shutting down: the page reconnects
                yield _sse("patch", message)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={**_NO_STORE, "X-Accel-Buffering": "no"},
    )


@router.get("/api/ops/lessons/{session}", dependencies=[Operator], summary="One lesson")
async def lesson(
    session: Annotated[str, PathParam(max_length=128)],
    hub: HubDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSONResponse:
    view = await hub.session_view(session)
    first = max(1, view.counters["last_seq"] - limit + 1)
    events = await hub.read_events(session, first, limit)
    shown = [x for x in hub.ops.document.get("lessons", []) if x["session"] == session]
    rooms = shown[0]["classrooms"] if shown else []
    return JSONResponse(
        {
            "session": session,
            "spec": view.spec.model_dump(mode="json"),
            "state": view.state,
            "counters": view.counters,
            "classrooms": rooms,
            "events": events,
        },
        headers=_NO_STORE,
    )


@router.get("/ops/report", dependencies=[Operator], include_in_schema=False)
async def report(
    hub: HubDep,
    request: Request,
    first: Annotated[date, Query(alias="from")],
    last: Annotated[date, Query(alias="to")],
    tz: str = "+08:00",
    lang: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The HTML coverage report of a window, for the dashboard's link."""
    return await reports.render_coverage(
        hub,
        first,
        last,
        None,
        reports.ReportFormat.HTML,
        tz,
        5.0,
        lang,
        request.headers.get("accept-language"),
        base="/ops/report",
    )
