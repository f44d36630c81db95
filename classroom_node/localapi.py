"""The local input API: clickers and the tutor's tablet talk to the node over HTTP.

It listens on loopback (or a Unix socket) only: the classroom's own devices are
its clients, the hub never is. Each POST turns into one lesson event handed to
``ClassroomNode.submit`` (any ``InputTarget``) and answers
``202 {"id", "status": "sent"|"queued"}``;
"queued" means the broker is away and the event waits in the journal. Errors are
``application/problem+json``: 422 for a body that does not make a valid event,
404 for an unknown session, 409 when no session, or more than one, could be meant.

The uvicorn ``Server`` runs inside the node's event loop; we drive its
``startup``/``shutdown`` ourselves instead of ``serve()`` so uvicorn installs no
signal handlers of its own (the daemon owns SIGTERM/SIGINT).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Protocol

import uvicorn
from fastapi import APIRouter, Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from classroom_node.config import NodeConfig
from classroom_node.exceptions import (
    InvalidEvent,
    JournalError,
    JournalFull,
    SessionError,
    UnknownSession,
)
from protocols.validation import describe_errors

__all__ = ["InputTarget", "LocalApi", "create_app"]


class _Submitted(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...


class InputTarget(Protocol):
    """What the API needs of the node (``ClassroomNode``); the node imports us, not back."""

    @property
    def node_id(self) -> str: ...
    @property
    def config(self) -> NodeConfig: ...
    def describe(self) -> dict[str, Any]: ...
    async def submit(
        self, type_: str, body: Mapping[str, Any] | None = None, session: str | None = None
    ) -> _Submitted: ...


PROBLEM = "application/problem+json"


def _problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    content = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(content, status_code=status, media_type=PROBLEM)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session: str | None = None


class AnswerIn(_In):
    quiz: str
    choice: int
    student: str | None = None


class AttendanceIn(_In):
    present: int
    enrolled: int


class ChatIn(_In):
    text: str


class EventIn(_In):
    type: str
    body: dict[str, Any] = {}


SessionQuery = Annotated[
    str | None, Query(description="session id; default: the single joined one")
]


def create_app(node: InputTarget, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The FastAPI application bound to one node."""
    app = FastAPI(
        title=f"dualclass node {node.node_id}", version="1", docs_url=None, redoc_url=None
    )

    @app.exception_handler(InvalidEvent)
    async def _invalid(_: Request, exc: InvalidEvent) -> JSONResponse:
        return _problem(422, "invalid event", str(exc), errors=exc.errors)

    @app.exception_handler(SessionError)
    async def _session(_: Request, exc: SessionError) -> JSONResponse:
        status = 404 if isinstance(exc, UnknownSession) else 409
        return _problem(status, "session", str(exc), sessions=exc.sessions)

    @app.exception_handler(JournalError)
    async def _journal(_: Request, exc: JournalError) -> JSONResponse:
        # not accepted: the caller must not take this for a 202 (nothing is lost
        # silently); it may retry once the node has caught up with the hub
        title = "journal full" if isinstance(exc, JournalFull) else "journal unavailable"
        return _problem(503, title, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = describe_errors(exc.errors())
        return _problem(422, "invalid request", "; ".join(errors), errors=errors)

    async def submit(type_: str, body: dict[str, Any], session: str | None) -> JSONResponse:
        result = await node.submit(type_, body, session)
        return JSONResponse({"id": result.id, "status": result.status}, status_code=202)

    for router in routers:  # e.g. the classroom display, added by the node
        app.include_router(router)

    @app.get("/v1/state")
    async def state() -> dict[str, Any]:
        return node.describe()

    @app.post("/v1/hand", status_code=202)
    async def raise_hand(session: SessionQuery = None) -> JSONResponse:
        return await submit("hand.raise", {}, session)

    @app.delete("/v1/hand", status_code=202)
    async def lower_hand(session: SessionQuery = None) -> JSONResponse:
        return await submit("hand.lower", {}, session)

    @app.post("/v1/answers", status_code=202)
    async def answer(
        data: Annotated[AnswerIn, Body()], session: SessionQuery = None
    ) -> JSONResponse:
        body = data.model_dump(exclude={"session"}, exclude_none=True)
        return await submit("quiz.answer", body, data.session or session)

    @app.post("/v1/attendance", status_code=202)
    async def attendance(
        data: Annotated[AttendanceIn, Body()], session: SessionQuery = None
    ) -> JSONResponse:
        return await submit(
            "attendance.report", data.model_dump(exclude={"session"}), data.session or session
        )

    @app.post("/v1/chat", status_code=202)
    async def chat(data: Annotated[ChatIn, Body()], session: SessionQuery = None) -> JSONResponse:
        return await submit(
            "chat.message", data.model_dump(exclude={"session"}), data.session or session
        )

    @app.post("/v1/events", status_code=202)
    async def event(data: Annotated[EventIn, Body()], session: SessionQuery = None) -> JSONResponse:
        return await submit(data.type, data.body, data.session or session)

    return app


class LocalApi:
    """The uvicorn server of one node, started and stopped with it."""

    def __init__(self, node: InputTarget, *, routers: Sequence[APIRouter] = ()) -> None:
        self.node = node
        config = node.config
        self._uds = str(config.api_uds) if config.api_uds is not None else None
        self._uv_config = uvicorn.Config(
            create_app(node, routers=routers),
            host=config.api_host,
            port=config.api_port,
            uds=self._uds,
            lifespan="off",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(self._uv_config)
        self._tick: asyncio.Task[None] | None = None
        self._sockets: list[socket.socket] | None = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` (for a Unix socket, the transport must be told the path)."""
        if self._uds is not None:
            return "http://localhost"
        return f"http://{self._uv_config.host}:{self.port}"

    async def start(self) -> None:
        self._uv_config.load()
        self._server.lifespan = self._uv_config.lifespan_class(self._uv_config)
        if self._uds is None:
            sock = socket.socket(socket.AF_INET6 if ":" in self._uv_config.host else socket.AF_INET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._uv_config.host, self._uv_config.port))
            sock.setblocking(False)
            self.port = sock.getsockname()[1]
            self._sockets = [sock]
        await self._server.startup(sockets=self._sockets)
        self._tick = asyncio.create_task(self._server.main_loop(), name="node-api-tick")

    async def stop(self, *, force: bool = False) -> None:
        self._server.should_exit = True
        self._server.force_exit = force
        if self._tick is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick
        await self._server.shutdown(sockets=self._sockets)
        if self._uds is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._uds)
