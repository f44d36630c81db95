"""Input limits of the hub's HTTP API, against a real hub (uvicorn) and Redis.

Each limit answers a typed problem (413 or 422, ``application/problem+json``),
counts the refusal in ``dualclass_hub_input_refused_total{limit}``, and never
stalls the event loop: ``/healthz`` is watched from another thread meanwhile.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest

from broker.localstack import MosquittoServer, RedisServer
from hub.api import reports
from hub.server import Hub
from protocols.csvsafe import restore
from tests.hostile.kit import HealthWatch
from tests.hub.hubkit import ADMIN_KEY, hub_config, running_hub

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
PROBLEM = "application/problem+json"


@pytest.fixture
async def hub(mosquitto: MosquittoServer, redis_server: RedisServer) -> AsyncIterator[Hub]:
    config = hub_config(
        mosquitto,
        redis_server,
        max_csv_rows=200,
        max_body_bytes=64 * 1024,
        deck_max_bytes=512 * 1024,
    )
    async with running_hub(config) as running:
        yield running


def _refused(hub: Hub, limit: str) -> float:
    value = hub.metrics.registry.get_sample_value(
        "dualclass_hub_input_refused_total", {"limit": limit}
    )
    return value or 0.0


def _client(hub: Hub) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub.api_port}", headers=AUTH, timeout=30)


async def test_body_over_the_limit_is_refused_unread(hub: Hub) -> None:
    async with _client(hub) as http, HealthWatch(hub.api_port) as watch:
        big = b'{"session": "S1", "lead": "lead", "title": "' + b"x" * (256 * 1024) + b'"}'
        r = await http.post("/api/sessions", content=big)
        assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["type"].endswith("/body-too-large")

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(8):
                yield b" " * (16 * 1024)

        r = await http.post("/api/nodes", content=chunks())
        assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)
        # a body under the limit still works
        r = await http.post("/api/nodes", json={"node": "n1"})
        assert r.status_code == 201
    watch.assert_responsive()
    assert _refused(hub, "body_bytes") == 2


async def test_deck_uploads_have_their_own_limit(hub: Hub) -> None:
    """A slide deck is megabytes: the JSON limit must not refuse it, its own limit must."""
    limit = hub.config.deck_max_bytes
    assert limit > hub.config.max_body_bytes
    async with _client(hub) as http:
        # bigger than the JSON limit: reaches the deck route (which finds no PDF in it)
        r = await http.post("/api/decks", content=b"%PDF-1.4\n" + b"0" * (limit // 2))
        assert r.status_code != 413, r.text
        r = await http.post("/api/decks", content=b"%PDF-1.4\n" + b"0" * limit)
        assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)
    assert _refused(hub, "deck_bytes") == 1


async def test_csv_with_200000_columns_is_refused_without_stalling(hub: Hub) -> None:
    header = ",".join(f"c{i}" for i in range(200_000))
    async with _client(hub) as http, HealthWatch(hub.api_port) as watch:
        r = await http.post(
            "/api/schools/import", content=header.encode(), headers={"content-type": "text/csv"}
        )
        assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)
        assert "200000 columns" in r.json()["detail"]
    watch.assert_responsive()
    assert _refused(hub, "csv_columns") == 1


async def test_csv_rows_and_size_limits(hub: Hub) -> None:
    rows = "id,name,kind\n" + "".join(f"s{i},School {i},lead\n" for i in range(201))
    async with _client(hub) as http:
        r = await http.post("/api/schools/import", content=rows.encode())
        assert r.status_code == 413 and "200 rows" in r.json()["detail"]
        ok = "id,name,kind\n" + "".join(f"s{i},School {i},lead\n" for i in range(200))
        r = await http.post("/api/schools/import", content=ok.encode())
        assert r.status_code == 200, r.text
        huge_cell = 'id,name,kind\ns1,"' + "x" * 200_000 + '",lead\n'
        r = await http.post("/api/schools/import", content=huge_cell.encode())
        assert r.status_code == 413
    assert _refused(hub, "csv_rows") == 1
    assert _refused(hub, "csv_field") == 1


async def test_numbers_from_outside_are_bounded(hub: Hub) -> None:
    async with _client(hub) as http:
        r = await http.get("/api/sessions/S1/events", params={"from_seq": 2**64})
        assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
        spec = {"session": "S9", "lead": "lead", "ends_at": 10**30}
        r = await http.post("/api/sessions", json=spec)
        assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
        # the scheduler and everything else go on: the hub still answers
        assert (await http.get("/healthz")).status_code == 200


async def test_report_csv_cells_are_neutralised_for_spreadsheets(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Imported names beginning with = + - @ leave in the report zip as text."""
    hostile = [['=HYPERLINK("http://x")'], ["+1+1"], ["-2+3"], ["@SUM(A1)"], ["\uff1d1"], [-5]]
    monkeypatch.setattr(reports, "tables", lambda report: {"schools": (["name"], hostile)})
    async with _client(hub) as http:
        r = await http.get(
            "/api/reports/coverage",
            params={"from": "2026-01-05", "to": "2026-01-09", "format": "csv"},
        )
        assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        rows = list(csv.reader(io.StringIO(archive.read("schools.csv").decode())))
    cells = [row[0] for row in rows[1:]]
    assert cells == ['\'=HYPERLINK("http://x")', "'+1+1", "'-2+3", "'@SUM(A1)", "'\uff1d1", "-5"]
    assert [restore(c) for c in cells[:4]] == [h[0] for h in hostile[:4]]
