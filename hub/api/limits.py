"""Input limits of the HTTP API: request body size, CSV uploads, and the last resort.

``BodyLimit`` is a pure ASGI middleware: a request whose ``Content-Length`` is
over the limit is answered 413 before a byte of its body is read; a body without
one (chunked) is counted as it streams in and cut off at the limit. CSV imports
(paths ending in ``/import``) and deck uploads (``POST .../decks``, a PDF of many
megabytes) get their own, larger limits; everything else is JSON of a few kilobytes.
Each refusal is counted in ``dualclass_hub_input_refused_total{limit}``.

``read_csv_body`` turns an accepted CSV body into text after checking its shape
(columns, rows, field size) in a worker thread: ``csv`` parsing of a hostile
file (200,000 header columns) must never run on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.api.problems import Problem, problem_response
from hub.csvlimits import CsvLimitExceeded, CsvLimits, check_csv_shape

__all__ = ["BodyLimit", "read_csv_body"]

log = logging.getLogger("dualclass.hub.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
OnRefused = Callable[[str], None]


def _body_too_large(limit: int) -> StarletteHTTPException:
    # an HTTPException passes through FastAPI's body parsing unchanged (any other
    # error there becomes a 400 "error parsing the body")
    return StarletteHTTPException(413, f"request body larger than {limit} bytes")


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (``csv_bytes`` on ``.../import``,
    ``deck_bytes`` on deck uploads)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        csv_bytes: int,
        deck_bytes: int,
        on_refused: OnRefused,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.csv_bytes = csv_bytes
        self.deck_bytes = deck_bytes
        self.on_refused = on_refused

    def _limit(self, scope: Scope) -> tuple[int, str]:
        path = str(scope.get("path", ""))
        if path.endswith("/import"):
            return self.csv_bytes, "csv_bytes"
        if scope.get("method") == "POST" and path.endswith("/decks"):
            return self.deck_bytes, "deck_bytes"
        return self.max_bytes, "body_bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, name = self._limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            self.on_refused(name)
            detail = f"request body of {declared} bytes; the limit is {limit}"
            response = problem_response(413, "body-too-large", "Request body too large", detail)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    self.on_refused(name)
                    raise _body_too_large(limit)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_csv_body(request: Request, limits: CsvLimits, on_refused: OnRefused) -> str:
    """The request body as UTF-8 text within ``limits``; ``Problem`` otherwise.

    The body itself is already bounded by ``BodyLimit``; decoding and the shape
    check run in a worker thread."""
    data = await request.body()

    def work() -> str:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Problem(
                422, "validation", "Invalid request", f"body is not UTF-8 ({exc})"
            ) from None
        check_csv_shape(text, limits)
        return text

    try:
        return await asyncio.to_thread(work)
    except CsvLimitExceeded as exc:
        on_refused(exc.limit)
        raise Problem(413, "csv-limit", "CSV file over a limit", exc.detail) from None
