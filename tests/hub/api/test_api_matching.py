"""Matching end to end over HTTP: registry and inputs in, run, poll, accept, sessions out."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from typing import Any

import httpx

from tests.hub.api.conftest import AUTH, HubClient

CSV = {**AUTH, "content-type": "text/csv"}

SCHOOLS = "id,name,kind,rural\nL1,Lead,lead,no\nP1,Hill,partner,yes\nP2,Vale,partner,yes\n"
ROOMS = "id,school,node,grades\nlc1,L1,n-lead,7\npc1,P1,n-p1,7\npc2,P2,n-p2,7\npc3,P2,,7\n"
TEACHERS = "id,name,school,role,subjects\nt1,Li,L1,lead,math\n"
OFFERS = (
    "offer_id,lead_school,lead_classroom,teacher,subject,grade,slot,capacity,bitrate_kbps\n"
    "O1,L1,lc1,t1,math,7,mon-09:00,2,1000\n"
)
REQUESTS = (
    "request_id,partner_school,partner_classroom,subject,grade,slots,downlink_kbps,priority\n"
    "R1,P1,pc1,math,7,mon-09:00;tue-09:00,2000,3\n"
    "R2,P2,pc2,math,7,mon-09:00,2000,2\n"
    "R3,P2,pc2,art,7,mon-09:00,2000,2\n"
)


async def _post_csv(http: httpx.AsyncClient, path: str, body: str) -> httpx.Response:
    response = await http.post(path, content=body, headers=CSV)
    assert response.status_code == 200, response.text
    return response


async def _poll(http: httpx.AsyncClient, run: str, deadline_s: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_s
    while True:
        record: dict[str, Any] = (await http.get(f"/api/matching/runs/{run}", headers=AUTH)).json()
        if record["status"] != "running":
            return record
        assert time.monotonic() < deadline, "matching run did not finish in time"
        await asyncio.sleep(0.05)


async def test_upload_run_accept_sessions_appear(hub_client: HubClient) -> None:
    http, hub = hub_client.http, hub_client.hub
    for node in ("n-lead", "n-p1", "n-p2"):
        await hub.add_node(node)
    await _post_csv(http, "/api/schools/import", SCHOOLS)
    await _post_csv(http, "/api/classrooms/import", ROOMS)
    await _post_csv(http, "/api/teachers/import", TEACHERS)
    assert (await _post_csv(http, "/api/offers/import", OFFERS)).json() == {"count": 1}
    assert (await _post_csv(http, "/api/requests/import", REQUESTS)).json() == {"count": 3}
    pair = {"lead_school": "L1", "partner_school": "P1"}
    assert (await http.post("/api/pairs", json=pair, headers=AUTH)).status_code == 201

    started = await http.post(
        "/api/matching/runs", json={"solver": "cpsat", "time_limit": 5}, headers=AUTH
    )
    assert started.status_code == 202, started.text
    run = started.json()["id"]
    assert started.headers["location"] == f"/api/matching/runs/{run}"
    record = await _poll(http, run)
    assert record["status"] == "done", record
    result = record["result"]
    assert {a["request_id"] for a in result["assignments"]} == {"R1", "R2"}
    assert result["unmatched"] == [{"request_id": "R3", "reason": "no_offer"}]

    # Two weeks starting next Monday: two lessons of O1 with both partner classrooms.
    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())
    period = {"from": monday.isoformat(), "to": (monday + timedelta(days=13)).isoformat()}
    accepted = await http.post(
        f"/api/matching/runs/{run}/accept", json={**period, "tz": "Asia/Shanghai"}, headers=AUTH
    )
    assert accepted.status_code == 201, accepted.text
    ids = [f"O1-{d:%Y%m%d}" for d in (monday, monday + timedelta(days=7))]
    assert accepted.json()["created"] == ids

    sessions = (await http.get("/api/sessions", headers=AUTH)).json()
    specs = {s["spec"]["session"]: s["spec"] for s in sessions}
    assert set(specs) == set(ids)
    assert specs[ids[0]]["lead"] == "n-lead" and specs[ids[0]]["partners"] == ["n-p1", "n-p2"]
    assert specs[ids[0]]["ends_at"] - specs[ids[0]]["starts_at"] == 40 * 60_000

    lessons = (await http.get("/api/timetable", params={"school": "P2"}, headers=AUTH)).json()
    assert [ls["session"] for ls in lessons] == ids and lessons[0]["teacher"] == "t1"

    again = await http.post(f"/api/matching/runs/{run}/accept", json=period, headers=AUTH)
    assert again.json()["created"] == [] and again.json()["existing"] == ids
    shown = (await http.get(f"/api/matching/runs/{run}", headers=AUTH)).json()
    assert shown["accepted"]["tz"] == "Asia/Shanghai"


async def test_accept_refused_for_registry_gaps_and_bad_input(hub_client: HubClient) -> None:
    http = hub_client.http
    bad = OFFERS + "O2,L1,lc1,t1,math,7,mon-09:00,0,1000\n"
    rejected = await http.post("/api/offers/import", content=bad, headers=CSV)
    assert rejected.status_code == 422
    assert "offers.csv line 3, field capacity" in rejected.json()["detail"]

    await _post_csv(http, "/api/offers/import", OFFERS)
    await _post_csv(http, "/api/requests/import", REQUESTS)
    started = await http.post("/api/matching/runs", json={"solver": "greedy"}, headers=AUTH)
    run = started.json()["id"]
    assert (await _poll(http, run))["status"] == "done"
    period = {"from": "2030-01-07", "to": "2030-01-13"}
    refused = await http.post(f"/api/matching/runs/{run}/accept", json=period, headers=AUTH)
    assert refused.status_code == 422
    assert "classroom 'lc1' is not in the registry" in refused.json()["detail"]
    backwards = {"from": "2030-01-13", "to": "2030-01-07"}
    bad_period = await http.post(f"/api/matching/runs/{run}/accept", json=backwards, headers=AUTH)
    assert bad_period.status_code == 422
    unknown = await http.post("/api/matching/runs/NOPE/accept", json=period, headers=AUTH)
    assert unknown.status_code == 404
