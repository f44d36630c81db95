"""``/i18n/``: the message catalogues and the script every page loads them with.

Public and cacheable for an hour: the same words for everyone; a new release
changes the files (``Cache-Control`` keeps a reload within the hour cheap).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from hub.api.problems import Problem
from i18n.catalogue import CATALOGUE_DIR, LANGS

__all__ = ["router"]

router = APIRouter(tags=["i18n"])
_FILES = {"i18n.js": "text/javascript"} | {f"{lang}.json": "application/json" for lang in LANGS}


@router.get("/i18n/{name}", include_in_schema=False)
async def i18n_file(name: str) -> FileResponse:
    media_type = _FILES.get(name)
    if media_type is None:
        raise Problem(404, "not-found", "Not found", f"no file {name!r}")
    return FileResponse(
        CATALOGUE_DIR / name,
        media_type=f"{media_type}; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )
