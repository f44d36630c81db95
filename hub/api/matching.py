"""``/api/offers``, ``/api/requests``, ``/api/pairs`` and ``/api/matching/runs``.

Inputs are stored one by one (JSON) or replaced wholesale from CSV
(``POST /api/offers/import`` etc., the ``dualclass match`` formats, first error
reported with line and field). A run solves the stored inputs in a worker thread:
``POST /api/matching/runs`` answers 202 with the run id at once, ``GET`` polls it,
``POST .../accept`` turns a done run into timetable sessions.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from hub.api.deps import HubDep, get_hub, require_admin
from hub.api.problems import Problem
from hub.api.registry import PROBLEMS, csv_body, translate_errors
from hub.exceptions import NotFound
from hub.scheduling.accept import accept_run
from hub.scheduling.inputs import InputStore, OfferIn, PairIn, RequestIn
from hub.scheduling.runs import Runner, RunRecord, RunStore
from hub.scheduling.timetable import Period
from matching.csvio import read_offers, read_pairs, read_requests
from matching.exceptions import InputError
from matching.models import Pair
from matching.solvers import SOLVERS

__all__ = ["router"]

T = TypeVar("T")

router = APIRouter(dependencies=[Depends(require_admin)], responses=PROBLEMS)

_CSV_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
}


def get_inputs(hub: HubDep) -> InputStore:
    return InputStore(hub.store.redis)


def get_runner(request: Request) -> Runner:
    """One runner per app (it owns the worker thread and the running tasks)."""
    runner: Runner | None = getattr(request.app.state, "matching_runner", None)
    if runner is None:
        runner = Runner(RunStore(get_hub(request).store.redis))
        request.app.state.matching_runner = runner
    return runner


Inputs = Annotated[InputStore, Depends(get_inputs)]


class _NotFound(NotFound):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(ident)
        self.what = what


async def _read_csv(text: str, name: str, reader: Callable[[Path], T]) -> T:
    """Run the matching CSV reader on an uploaded body (it reads files)."""

    def work() -> T:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8")
            try:
                return reader(path)
            except InputError as exc:
                exc.file = name
                raise

    with translate_errors():
        return await asyncio.to_thread(work)


class Replaced(BaseModel):
    count: int


# ------------------------------------------------------------------ offers


@router.get("/api/offers", tags=["matching inputs"], response_model=list[OfferIn])
async def list_offers(inputs: Inputs) -> list[OfferIn]:
    return [OfferIn.of(o) for o in await inputs.offers()]


@router.post("/api/offers", tags=["matching inputs"], status_code=201, response_model=OfferIn)
async def create_offer(body: OfferIn, inputs: Inputs) -> OfferIn:
    with translate_errors():
        added = await inputs.add_offer(body.to_offer())
    if not added:
        raise Problem(409, "conflict", "Already exists", f"offer {body.offer_id!r} already exists")
    return body


@router.post(
    "/api/offers/import",
    tags=["matching inputs"],
    response_model=Replaced,
    openapi_extra=_CSV_BODY,
    summary="Replace all offers from an offers.csv body",
)
async def import_offers(request: Request, inputs: Inputs) -> Replaced:
    offers = await _read_csv(await csv_body(request), "offers.csv", read_offers)
    await inputs.replace_all(offers=offers)
    return Replaced(count=len(offers))


@router.get("/api/offers/{offer_id}", tags=["matching inputs"], response_model=OfferIn)
async def get_offer(offer_id: str, inputs: Inputs) -> OfferIn:
    offer = await inputs.get_offer(offer_id)
    if offer is None:
        raise _NotFound("offer", offer_id)
    return OfferIn.of(offer)


@router.delete("/api/offers/{offer_id}", tags=["matching inputs"], status_code=204)
async def delete_offer(offer_id: str, inputs: Inputs) -> Response:
    if not await inputs.delete("offers", offer_id):
        raise _NotFound("offer", offer_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- requests


@router.get("/api/requests", tags=["matching inputs"], response_model=list[RequestIn])
async def list_requests(inputs: Inputs) -> list[RequestIn]:
    return [RequestIn.of(r) for r in await inputs.requests()]


@router.post("/api/requests", tags=["matching inputs"], status_code=201, response_model=RequestIn)
async def create_request(body: RequestIn, inputs: Inputs) -> RequestIn:
    if not await inputs.add_request(body.to_request()):
        raise Problem(
            409, "conflict", "Already exists", f"request {body.request_id!r} already exists"
        )
    return body


@router.post(
    "/api/requests/import",
    tags=["matching inputs"],
    response_model=Replaced,
    openapi_extra=_CSV_BODY,
    summary="Replace all requests from a requests.csv body",
)
async def import_requests(request: Request, inputs: Inputs) -> Replaced:
    requests = await _read_csv(await csv_body(request), "requests.csv", read_requests)
    await inputs.replace_all(requests=requests)
    return Replaced(count=len(requests))


@router.get("/api/requests/{request_id}", tags=["matching inputs"], response_model=RequestIn)
async def get_request(request_id: str, inputs: Inputs) -> RequestIn:
    found = await inputs.get_request(request_id)
    if found is None:
        raise _NotFound("request", request_id)
    return RequestIn.of(found)


@router.delete("/api/requests/{request_id}", tags=["matching inputs"], status_code=204)
async def delete_request(request_id: str, inputs: Inputs) -> Response:
    if not await inputs.delete("requests", request_id):
        raise _NotFound("request", request_id)
    return Response(status_code=204)


# ------------------------------------------------------------------- pairs


@router.get("/api/pairs", tags=["matching inputs"], response_model=list[PairIn])
async def list_pairs(inputs: Inputs) -> list[PairIn]:
    return [
        PairIn(lead_school=p.lead_school, partner_school=p.partner_school)
        for p in await inputs.pairs()
    ]


@router.post("/api/pairs", tags=["matching inputs"], status_code=201, response_model=PairIn)
async def create_pair(body: PairIn, inputs: Inputs) -> PairIn:
    await inputs.add_pair(Pair(body.lead_school, body.partner_school))
    return body


@router.post(
    "/api/pairs/import",
    tags=["matching inputs"],
    response_model=Replaced,
    openapi_extra=_CSV_BODY,
    summary="Replace all pairs from a pairs.csv body",
)
async def import_pairs(request: Request, inputs: Inputs) -> Replaced:
    pairs = await _read_csv(await csv_body(request), "pairs.csv", read_pairs)
    await inputs.replace_all(pairs=pairs)
    return Replaced(count=len(pairs))


@router.delete("/api/pairs", tags=["matching inputs"], status_code=204)
async def delete_pair(
    inputs: Inputs,
    lead_school: Annotated[str, Query(min_length=1)],
    partner_school: Annotated[str, Query(min_length=1)],
) -> Response:
    if not await inputs.delete_pair(Pair(lead_school, partner_school)):
        raise _NotFound("pair", f"{lead_school}/{partner_school}")
    return Response(status_code=204)


# -------------------------------------------------------------------- runs


class RunRequest(BaseModel):
    solver: Literal["cpsat", "greedy"] = "cpsat"
    time_limit: float = Field(default=10.0, gt=0, le=600)


class AcceptRequest(BaseModel):
    model_config = {"populate_by_name": True}

    first: date = Field(alias="from")
    last: date = Field(alias="to")
    tz: str = "Asia/Shanghai"
    lesson_minutes: int = Field(default=40, ge=5, le=240)


assert set(SOLVERS) == {"cpsat", "greedy"}, "keep RunRequest.solver in step with SOLVERS"


@router.post(
    "/api/matching/runs",
    tags=["matching runs"],
    status_code=202,
    response_model=RunRecord,
    summary="Start a matching run over the stored offers, requests and pairs",
)
async def start_run(
    body: RunRequest, inputs: Inputs, request: Request, response: Response
) -> RunRecord:
    with translate_errors():
        instance = await inputs.instance()
    record = await get_runner(request).start(instance, body.solver, body.time_limit)
    response.headers["Location"] = f"/api/matching/runs/{record.id}"
    return record


@router.get("/api/matching/runs", tags=["matching runs"], response_model=list[RunRecord])
async def list_runs(
    hub: HubDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[RunRecord]:
    records = await RunStore(hub.store.redis).recent(limit)
    return [r.model_copy(update={"result": None}) for r in records]


@router.get("/api/matching/runs/{run}", tags=["matching runs"], response_model=RunRecord)
async def get_run(run: str, hub: HubDep) -> RunRecord:
    record = await RunStore(hub.store.redis).get(run)
    if record is None:
        raise _NotFound("matching run", run)
    return record


@router.post(
    "/api/matching/runs/{run}/accept",
    tags=["matching runs"],
    status_code=201,
    summary="Turn a done run into timetable sessions for a date range",
)
async def accept(run: str, body: AcceptRequest, hub: HubDep) -> dict[str, Any]:
    with translate_errors():
        period = Period(body.first, body.last, body.tz, body.lesson_minutes)
        summary = await accept_run(hub, run, period)
    return summary.to_dict()
