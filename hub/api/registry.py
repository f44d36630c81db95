"""``/api/schools``, ``/api/classrooms``, ``/api/teachers``: registry CRUD and CSV import.

The same five routes per kind (list, create, read, replace, delete; a reference to
something unregistered or a body id that differs from the path is 409) plus
``POST /api/{kind}/import`` with a ``text/csv`` body (the CLI's all-or-nothing import,
every bad row listed in the problem's ``detail``). Admin bearer key on every route.

Also home of ``translate_errors``, where scheduling, matching and token errors
become RFC 9457 problems (hub and registry errors are mapped by class in
``hub.api.problems``), and of ``PROBLEMS``, the documented error responses the
other new routers reuse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from hub.api.deps import HubDep, require_admin
from hub.api.limits import read_csv_body
from hub.api.problems import PROBLEM_JSON, Problem
from hub.scheduling.exceptions import RunNotReady, Unschedulable
from hub.scheduling.timetable import SlotError
from hub.tokens import TokenError
from matching.exceptions import MatchingError
from registry.csvio import parse
from registry.exceptions import ImportRejected
from registry.models import Classroom, Entity, Kind, School, Teacher
from registry.store import RegistryStore

__all__ = [
    "PROBLEMS",
    "csv_body",
    "problem_doc",
    "router",
    "translate_errors",
]

E = TypeVar("E", School, Classroom, Teacher)

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["type", "title", "status"],
}


def problem_doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}}


#: Error responses shared by the admin routers (documented so clients and
#: schemathesis know every error is problem+json).
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: problem_doc("Malformed request (e.g. a body that is not JSON)"),
    401: problem_doc("Missing or wrong admin bearer key"),
    404: problem_doc("Not found"),
    403: problem_doc("Forbidden"),
    409: problem_doc("Conflict"),
    413: problem_doc("Request body or CSV file over a limit"),
    422: problem_doc("Invalid request"),
    503: problem_doc("Storage unavailable"),
}

_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@contextmanager
def translate_errors() -> Iterator[None]:
    """Domain errors of the new routers -> ``Problem`` (status, slug, title)."""
    try:
        yield
    except RunNotReady as exc:
        raise Problem(409, "run-not-ready", "Run not ready", str(exc)) from None
    except Unschedulable as exc:
        raise Problem(422, "unschedulable", "Timetable not possible", str(exc)) from None
    except SlotError as exc:
        raise Problem(422, "bad-period", "Invalid period", str(exc)) from None
    except MatchingError as exc:
        raise Problem(422, "invalid-matching-input", "Invalid matching input", str(exc)) from None
    except TokenError as exc:
        slug = "forbidden" if exc.status == 403 else "unauthorized"
        title = "Forbidden" if exc.status == 403 else "Unauthorized"
        raise Problem(exc.status, slug, title, str(exc)) from None


async def csv_body(request: Request) -> str:
    """The request body as UTF-8 text (a BOM is dropped) within the hub's CSV limits:
    422 if it is not UTF-8, 413 over a limit (``hub.api.limits``)."""
    hub = request.app.state.hub
    return await read_csv_body(
        request, hub.config.csv_limits(), lambda name: hub.metrics.input_refused.labels(name).inc()
    )


def get_registry(hub: HubDep) -> RegistryStore:
    return RegistryStore(hub.store.redis)


RegistryDep = Annotated[RegistryStore, Depends(get_registry)]


class ImportResult(BaseModel):
    kind: Kind
    created: int
    updated: int


router = APIRouter(dependencies=[Depends(require_admin)], responses=PROBLEMS)


def _routes(kind: Kind, model: type[E]) -> None:
    """Register the CRUD + import routes of one kind (closures keep the body types
    concrete, so the OpenAPI schema shows ``School`` and not a union)."""
    base = f"/api/{kind.value}"
    tags: list[str | Any] = [kind.value]
    name = kind.singular

    async def list_items(registry: RegistryDep) -> list[Entity]:
        return await registry.entities(kind)

    async def create_item(body: Entity, registry: RegistryDep) -> Entity:
        with translate_errors():
            return await registry.create(kind, body)

    async def get_item(ident: str, registry: RegistryDep) -> Entity:
        return await registry.get(kind, ident)

    async def replace_item(ident: str, body: Entity, registry: RegistryDep) -> Entity:
        if body.id != ident:
            raise Problem(409, "id-mismatch", "Id mismatch", "body id differs from the path id")
        with translate_errors():
            return await registry.replace(kind, body)

    async def delete_item(ident: str, registry: RegistryDep) -> Response:
        with translate_errors():
            await registry.delete(kind, ident)
        return Response(status_code=204)

    async def import_items(request: Request, registry: RegistryDep) -> ImportResult:
        text = await csv_body(request)
        # parsing and validating thousands of rows: off the event loop
        rows, errors = await asyncio.to_thread(parse, kind, text)
        with translate_errors():
            if errors:
                raise ImportRejected(f"{kind.value}.csv", errors)
            summary = await registry.import_rows(kind, rows, file=f"{kind.value}.csv")
        return ImportResult(kind=kind, created=summary.created, updated=summary.updated)

    # The body is this kind's model, not the union: FastAPI reads the annotation.
    create_item.__annotations__["body"] = model
    replace_item.__annotations__["body"] = model
    router.add_api_route(
        base,
        list_items,
        methods=["GET"],
        response_model=list[model],  # type: ignore[valid-type]
        tags=tags,
        name=f"list_{kind.value}",
        summary=f"List {kind.value}",
    )
    router.add_api_route(
        base,
        create_item,
        methods=["POST"],
        status_code=201,
        response_model=model,
        tags=tags,
        name=f"create_{name}",
        summary=f"Register a {name}",
    )
    router.add_api_route(
        f"{base}/import",
        import_items,
        methods=["POST"],
        response_model=ImportResult,
        tags=tags,
        name=f"import_{kind.value}",
        openapi_extra=_CSV_BODY,
        summary=f"Import {kind.value} from CSV (all rows or none)",
    )
    router.add_api_route(
        f"{base}/{{ident}}",
        get_item,
        methods=["GET"],
        response_model=model,
        tags=tags,
        name=f"get_{name}",
        summary=f"Read a {name}",
    )
    router.add_api_route(
        f"{base}/{{ident}}",
        replace_item,
        methods=["PUT"],
        response_model=model,
        tags=tags,
        name=f"replace_{name}",
        summary=f"Replace a {name}",
    )
    router.add_api_route(
        f"{base}/{{ident}}",
        delete_item,
        methods=["DELETE"],
        status_code=204,
        tags=tags,
        name=f"delete_{name}",
        summary=f"Delete a {name} (refused while referred to)",
        response_class=Response,
    )


_routes(Kind.SCHOOLS, School)
_routes(Kind.CLASSROOMS, Classroom)
_routes(Kind.TEACHERS, Teacher)
