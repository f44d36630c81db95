"""``/api/reports/coverage``: the district's coverage report over a date window.

Why the route saves and refreshes first: the report is built from what is persisted
in Redis (the same code path as ``dualclass report``), so the hub's live ledger is
saved (``LedgerFeed.flush``) and the directory rebuilt from the registry
(``refresh_directory``) right before reading; a lesson running now is counted up to
its latest event.

Formats: ``json`` (the ``CoverageReport`` document), ``html`` (one self-contained
page), ``xapi`` (a JSON array of statements), ``csv`` (a zip of the per-table CSV
files). Building runs in a worker thread: a term is CPU work (seconds for a large
district) and must not stall sequencing on the event loop. No progress bar.

Each recorded lesson's row links to its replay page (``/replay/{session}`` on
this hub, which asks for a join token or the admin key).
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import zipfile
from datetime import date
from enum import StrEnum
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from redis.exceptions import RedisError

from hub.api.deps import HubDep, IsoDate, require_admin
from hub.api.problems import Problem
from hub.core import HubCore
from hub.recording.storage import RecordingStore
from i18n.catalogue import LANGS, messages, negotiate
from ledger.command import load_window
from ledger.formats.csvfmt import tables
from ledger.formats.html import to_html
from ledger.formats.jsonfmt import to_json
from ledger.formats.xapi import statements
from ledger.report import ReportWindow, build_report, parse_tz
from ledger.schema import CoverageReport
from ledger.term import Term
from protocols.csvsafe import safe_writer

__all__ = ["ReportFormat", "router"]

router = APIRouter(prefix="/api/reports", tags=["reports"], dependencies=[Depends(require_admin)])

_HOME_PAGE = "https://dualclass.example.org"
#: pyplot (the HTML charts) keeps global state: one HTML page is drawn at a time.
_CHARTS = threading.Lock()


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XAPI = "xapi"
    HTML = "html"


def _zip_csv(report: CoverageReport) -> bytes:
    """The CSV tables (``{table}.csv``) in one zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (header, rows) in tables(report).items():
            text = io.StringIO()
            writer = safe_writer(text)
            writer.writerow(header)
            writer.writerows(rows)
            archive.writestr(f"{name}.csv", text.getvalue())
    return buffer.getvalue()


def _render(
    term: Term,
    window: ReportWindow,
    fmt: ReportFormat,
    min_minutes: float,
    lang: str = "en",
    switch: dict[str, str] | None = None,
    replays: dict[str, str] | None = None,
) -> Response:
    if fmt is ReportFormat.XAPI:
        items = statements(term, window, home_page=_HOME_PAGE, min_minutes=min_minutes)
        return Response(json.dumps(items, ensure_ascii=False), media_type="application/json")
    report = build_report(term, window, min_minutes=min_minutes, progress=False, replays=replays)
    if fmt is ReportFormat.JSON:
        return Response(to_json(report, indent=None), media_type="application/json")
    if fmt is ReportFormat.HTML:
        with _CHARTS:
            page = to_html(report, messages(lang), switch=switch)
        return Response(page, media_type="text/html; charset=utf-8")
    name = f"coverage-{window.start.isoformat()}-{window.end.isoformat()}.zip"
    return Response(
        _zip_csv(report),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/coverage",
    summary="Coverage report of the lessons in a date window",
    response_class=Response,
    responses={
        200: {
            "description": "The report: JSON, xAPI statements (JSON), HTML, or zipped CSV",
            "content": {"application/json": {}, "text/html": {}, "application/zip": {}},
        }
    },
)
async def coverage(
    hub: HubDep,
    request: Request,
    first: Annotated[IsoDate, Query(alias="from", description="first day (inclusive)")],
    last: Annotated[IsoDate, Query(alias="to", description="last day (inclusive)")],
    region: Annotated[str | None, Query(max_length=200)] = None,
    fmt: Annotated[ReportFormat, Query(alias="format")] = ReportFormat.JSON,
    tz: Annotated[str, Query(description="UTC offset of days and weeks")] = "+08:00",
    min_minutes: Annotated[float, Query(ge=0, le=600)] = 5.0,
    lang: Annotated[
        str | None, Query(max_length=16, description="html: zh-CN or en (default: browser's)")
    ] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    return await render_coverage(
        hub,
        first,
        last,
        region,
        fmt,
        tz,
        min_minutes,
        lang,
        accept_language,
        origin=str(request.base_url).rstrip("/"),
    )


async def render_coverage(
    hub: HubCore,
    first: date,
    last: date,
    region: str | None,
    fmt: ReportFormat,
    tz: str,
    min_minutes: float,
    lang: str | None,
    accept_language: str | None,
    base: str = "/api/reports/coverage",
    origin: str = "",
) -> Response:
    """The report in ``fmt``; HTML in the negotiated language, linking to the other.

    Recorded lessons link to their replay page, ``{origin}/replay/{session}``
    (``origin``: this hub's address, so a saved page still finds it)."""
    if last < first:
        raise Problem(400, "bad-window", "Invalid window", "'to' is before 'from'")
    try:
        zone = parse_tz(tz)
    except ValueError as exc:
        raise Problem(400, "bad-window", "Invalid window", str(exc)) from None
    window = ReportWindow(first, last, zone, region)
    try:
        await hub.ledger_feed.flush()
        await hub.ledger_feed.refresh_directory()
        term = await load_window(
            hub.store.redis, window, records=fmt is ReportFormat.XAPI, progress=False
        )
    except (RedisError, OSError) as exc:
        raise Problem(503, "store-unavailable", "Storage unavailable", str(exc)) from None
    chosen = negotiate(accept_language, lang)
    query = f"from={first.isoformat()}&to={last.isoformat()}&tz={tz.replace('+', '%2B')}"
    query += f"&min_minutes={min_minutes:g}&format=html"
    if region:
        query += f"&region={quote(region)}"
    switch = {code: f"{base}?{query}&lang={code}" for code in LANGS}
    recorded = await asyncio.to_thread(RecordingStore(hub.config.recording_dir).manifests)
    replays = {m["session"]: f"{origin}/replay/{m['session']}" for m in recorded if "session" in m}
    return await asyncio.to_thread(_render, term, window, fmt, min_minutes, chosen, switch, replays)
