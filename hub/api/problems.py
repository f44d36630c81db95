"""RFC 9457 problem details: one exception type and the handlers that render it.

Every error leaves the API as ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail``: hub and registry errors are mapped here by class,
request validation errors and plain HTTP errors are rewritten into the same shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.exceptions import AlreadyExists, HubError, InvalidSpec, NotFound, StoreUnavailable
from protocols.validation import describe_errors
from registry.exceptions import (
    BrokenReference,
    EntityExists,
    ImportRejected,
    InUse,
    RegistryError,
    RegistryUnavailable,
    UnknownEntity,
)

__all__ = ["PROBLEM_JSON", "Problem", "install_problem_handlers", "problem_response"]

log = logging.getLogger("dualclass.hub.api")

PROBLEM_JSON = "application/problem+json"
_BASE = "https://dualclass.dev/problems/"


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, slug: str, title: str, detail: str = "") -> None:
        super().__init__(status, slug, title, detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (RFC 9110 ``Allow`` on a 405).

    Starlette puts only the first matching route's methods in ``Allow``; a path with
    GET and POST on separate routes would then advertise just one of them.
    """
    methods: set[str] = set()
    path = request.url.path
    for route in request.app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def problem_response(
    status: int, slug: str, title: str, detail: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_ERRORS: list[tuple[type[Exception], int, str, str]] = [
    (NotFound, 404, "not-found", "Not found"),
    (UnknownEntity, 404, "not-found", "Not found"),
    (AlreadyExists, 409, "conflict", "Already exists"),
    (EntityExists, 409, "conflict", "Already exists"),
    # 409, not 422: the body is well-formed; it conflicts with what is registered now.
    (BrokenReference, 409, "broken-reference", "Broken reference"),
    (InUse, 409, "in-use", "Still in use"),
    (InvalidSpec, 422, "invalid-spec", "Invalid session spec"),
    (StoreUnavailable, 503, "store-unavailable", "Storage unavailable"),
    (RegistryUnavailable, 503, "store-unavailable", "Storage unavailable"),
]


def _from_error(exc: Exception) -> JSONResponse:
    if isinstance(exc, ImportRejected):
        detail = "; ".join(str(e) for e in exc.errors)
        return problem_response(422, "import-rejected", "Nothing imported", detail)
    for cls, status, slug, title in _ERRORS:
        if isinstance(exc, cls):
            return problem_response(status, slug, title, str(exc))
    return problem_response(500, "hub-error", "Hub error", str(exc))


def install_problem_handlers(
    app: FastAPI, *, on_unexpected: Callable[[], None] | None = None
) -> None:
    """Every error as a problem document; ``on_unexpected`` counts the last-resort 500s."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.status, exc.slug, exc.title, exc.detail, headers)

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HubError | RegistryError)
        return _from_error(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        parts = describe_errors(exc.errors())
        return problem_response(422, "validation", "Invalid request", "; ".join(parts))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(
            exc.status_code, "http", str(exc.detail), str(exc.detail), headers=headers
        )

    async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # the last resort: a bug must still answer in the API's shape, never text/plain
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        if on_unexpected is not None:
            on_unexpected()
        return problem_response(500, "internal", "Internal error", type(exc).__name__)

    app.add_exception_handler(Exception, on_unexpected_error)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(HubError, on_domain_error)
    app.add_exception_handler(RegistryError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
