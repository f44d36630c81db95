"""``/i18n/``: the message catalogues and the script every page loads them with.

Public and cacheable for an hour: the same words for everyone; a new release
changes the files (``Cache-Control`` keeps a reload within the hour cheap).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from hub.api.problems import Problem
from i18n.catalogue import static_file

__all__ = ["router"]

router = APIRouter(tags=["i18n"])


@router.get("/i18n/{name}", include_in_schema=False)
async def i18n_file(name: str) -> FileResponse:
    found = static_file(name)
    if found is None:
        raise Problem(404, "not-found", "Not found", f"no file {name[:100]!r}")
    path, media_type = found
    return FileResponse(
        path, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"}
    )
