"""The display's routes on the node's local API (loopback only, no credentials:
whoever can reach the node's loopback is the classroom itself).

- ``GET /display``: the full-screen page (kiosk Chromium opens it);
- ``GET /display/static/{file}``: its script and style sheet;
- ``GET /i18n/{file}``: the message catalogues and ``i18n.js`` (the same files the
  hub serves), so the screen needs nothing from the hub;
- ``GET /display/state?session=``: the current view as JSON;
- ``WS /display/ws?session=``: the view now, then again after every applied event
  (and every 2 s, so the page can show whether the hub link is up);
- ``GET /display/pages/{deck}/{index}``: a verified page image from the deck cache;
- ``POST /display/rtc?session=`` ``{"sdp"}``: the page's WebRTC offer (two receive-only
  video lines), answered by the node with the lead's video and shared screen
  (``classroom_node.display.bridge``); 409 when the node receives no media.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Query, WebSocket, WebSocketDisconnect
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse

from classroom_node.display.service import DisplayService
from classroom_node.exceptions import SessionError

if TYPE_CHECKING:
    from classroom_node.node import ClassroomNode

__all__ = ["STATIC_DIR", "display_router"]

STATIC_DIR = Path(str(resources.files("classroom_node") / "static" / "display"))
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
_FILE = re.compile(r"^[a-z0-9_-]+\.(js|css|html)$")
_PING_S = 2.0

SessionQuery = Annotated[str | None, Query(max_length=64)]


def display_router(node: ClassroomNode) -> APIRouter:
    service = DisplayService(node)
    node.display = service
    router = APIRouter()

    @router.get("/display", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "display.html", media_type="text/html")

    @router.get("/display/static/{name}", include_in_schema=False)
    async def static(name: str) -> Any:
        path = STATIC_DIR / name
        if not _FILE.match(name) or not path.is_file():
            return JSONResponse({"detail": "not found"}, status_code=404)
        return FileResponse(path, media_type=_TYPES[path.suffix])

    @router.get("/display/state")
    async def state(session: SessionQuery = None) -> Any:
        sid = service.resolve(session)
        return service.view(sid)

    @router.get("/display/pages/{deck}/{index}")
    async def deck_page(
        deck: Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")],
        index: Annotated[int, PathParam(ge=0, le=10_000)],
    ) -> Any:
        path = node.deck_cache.page_of(deck, index)
        if path is None:
            return JSONResponse({"detail": "page not cached"}, status_code=404)
        return FileResponse(
            path,
            media_type="image/png",
            headers={"Cache-Control": "max-age=31536000, immutable"},
        )

    @router.post("/display/rtc")
    async def rtc(offer: Annotated[dict[str, str], Body()], session: SessionQuery = None) -> Any:
        from classroom_node.display.bridge import DisplayBridge, NoMedia

        sid = service.resolve(session)
        sdp = offer.get("sdp", "")
        if not sdp or len(sdp) > 64 * 1024:
            return JSONResponse({"detail": "an SDP offer is needed"}, status_code=422)
        if node.display_bridge is None:
            node.display_bridge = DisplayBridge(node)
        try:
            return {"sdp": await node.display_bridge.answer(sid, sdp)}
        except NoMedia as exc:
            return JSONResponse({"detail": str(exc)}, status_code=409)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)

    @router.websocket("/display/ws")
    async def live(websocket: WebSocket, session: SessionQuery = None) -> None:
        await websocket.accept()
        try:
            queue = service.connect()
        except OverflowError as exc:
            await websocket.close(1013, str(exc))
            return
        reader = asyncio.create_task(_drain(websocket))
        try:
            while not reader.done():
                try:
                    sid = service.resolve(session)
                except SessionError as exc:
                    await websocket.send_text(
                        json.dumps({"type": "waiting", "detail": str(exc), "node": node.node_id})
                    )
                    await asyncio.wait({reader}, timeout=_PING_S)
                    continue
                await websocket.send_text(json.dumps(service.view(sid)))
                while not reader.done():
                    getter = asyncio.ensure_future(queue.get())
                    done, _ = await asyncio.wait(
                        {getter, reader}, timeout=_PING_S, return_when=asyncio.FIRST_COMPLETED
                    )
                    if getter not in done:
                        getter.cancel()
                        break  # quiet for a while: send a fresh view (link status)
                    pushed_for, text = getter.result()
                    if pushed_for == sid:
                        await websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            service.disconnect(queue)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    @router.get("/i18n/{name}", include_in_schema=False)
    async def i18n_file(name: str) -> Any:
        from i18n.catalogue import static_file

        found = static_file(name)
        if found is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        path, media_type = found
        return FileResponse(path, media_type=media_type)

    return router


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the screen sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
