"""The consoles: ``/console/lead``, ``/console/tutor``, ``/console/observer`` (``?token=``).

Plain HTML + JavaScript from ``hub/static/console/`` (no build step). The page
itself is not secret; the join token in its query is what the page presents on
``/ws/signal`` (``join {token, role}``), where it is verified, so a tutor token
on the lead console is refused there as ``wrong_role``. Pages are sent with
``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store`` so the token in
the address does not leak to other sites or linger in caches.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from hub.api.problems import Problem

__all__ = ["STATIC_DIR", "router"]

STATIC_DIR = Path(str(resources.files("hub") / "static" / "console"))
_PAGES = {"lead": "lead.html", "tutor": "tutor.html", "observer": "observer.html"}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}

router = APIRouter(tags=["consoles"])


def _file(name: str) -> FileResponse:
    path = STATIC_DIR / name
    if "/" in name or name.startswith(".") or not path.is_file() or path.suffix not in _TYPES:
        raise Problem(404, "not-found", "Not found", f"no console file {name!r}")
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=_HEADERS)


@router.get("/console/{page}", include_in_schema=False)
async def console(page: str) -> FileResponse:
    """The lead or tutor console page; it reads ``token`` from its own address."""
    name = _PAGES.get(page)
    if name is None:
        raise Problem(404, "not-found", "Not found", f"no console {page!r}")
    return _file(name)


@router.get("/console/static/{name}", include_in_schema=False)
async def console_static(name: str) -> FileResponse:
    """The consoles' script and style sheet."""
    return _file(name)
