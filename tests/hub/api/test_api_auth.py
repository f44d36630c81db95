"""Admin key and join tokens: 401 without or with a wrong key, 403 for the wrong role
or session, 401 for an expired or forged token, 200 for a good one."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends

from hub.api.tokens import require_join_token
from hub.sessions import SessionSpec
from hub.tokens import Claims, JoinRole, derive_key, mint_token, verify_token
from tests.hub.api.conftest import AUTH, HubClient
from tests.hub.hubkit import ADMIN_KEY

lead_only = APIRouter()


@lead_only.get("/test/sessions/{session}/lead-only")
async def lead_route(
    claims: Annotated[Claims, Depends(require_join_token([JoinRole.LEAD]))],
) -> dict[str, Any]:
    return claims.to_dict()


@pytest.fixture
def extra_routers() -> list[APIRouter]:
    return [lead_only]


async def _setup(client: HubClient) -> None:
    """Two schools, lead and partner classrooms on registered nodes, one session."""
    http = client.http
    for node in ("n-lead", "n-p1"):
        await client.hub.add_node(node)
    schools = "id,name,kind\nL1,Lead,lead\nP1,Hill,partner\n"
    rooms = "id,school,node\nlc1,L1,n-lead\npc1,P1,n-p1\n"
    teachers = "id,name,school,role\nt1,Li,L1,lead\nt2,Wang,P1,tutor\n"
    for kind, body in (("schools", schools), ("classrooms", rooms), ("teachers", teachers)):
        r = await http.post(
            f"/api/{kind}/import", content=body, headers={**AUTH, "content-type": "text/csv"}
        )
        assert r.status_code == 200, r.text
    await client.hub.create_session(SessionSpec(session="S1", lead="n-lead", partners=["n-p1"]))


async def _token(http: Any, body: dict[str, Any], session: str = "S1") -> str:
    r = await http.post(f"/api/sessions/{session}/tokens", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


async def test_admin_key_required(hub_client: HubClient) -> None:
    http = hub_client.http
    none = await http.get("/api/schools")
    assert none.status_code == 401
    assert none.headers["content-type"] == "application/problem+json"
    assert none.headers["www-authenticate"] == "Bearer"
    wrong = await http.get("/api/schools", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert (await http.get("/api/schools", headers=AUTH)).status_code == 200


async def test_join_tokens(hub_client: HubClient) -> None:
    http = hub_client.http
    await _setup(hub_client)
    lead = await _token(http, {"role": "lead", "teacher": "t1"})
    tutor = await _token(http, {"role": "tutor", "classroom": "pc1", "teacher": "t2"})

    who = await http.get("/api/sessions/S1/whoami", headers={"Authorization": f"Bearer {lead}"})
    assert who.status_code == 200
    claims = who.json()
    assert (claims["role"], claims["classroom"], claims["node"], claims["teacher"]) == (
        "lead",
        "lc1",
        "n-lead",
        "t1",
    )
    ok = await http.get("/test/sessions/S1/lead-only", headers={"Authorization": f"Bearer {lead}"})
    assert ok.status_code == 200
    forbidden = await http.get(
        "/test/sessions/S1/lead-only", headers={"Authorization": f"Bearer {tutor}"}
    )
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"
    other = await http.get("/api/sessions/S2/whoami", headers={"Authorization": f"Bearer {lead}"})
    assert other.status_code == 403
    # The admin key is not a join token.
    assert (await http.get("/api/sessions/S1/whoami", headers=AUTH)).status_code == 401
    assert (await http.get("/api/sessions/S1/whoami")).status_code == 401


async def test_expired_and_forged_tokens(hub_client: HubClient) -> None:
    http = hub_client.http
    await _setup(hub_client)
    key = derive_key(ADMIN_KEY)
    old, _ = mint_token(key, session="S1", role=JoinRole.LEAD, ttl_s=60, now=1_000_000)
    expired = await http.get("/api/sessions/S1/whoami", headers={"Authorization": f"Bearer {old}"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    forged, _ = mint_token(derive_key("not-the-key"), session="S1", role=JoinRole.LEAD, ttl_s=60)
    bad = await http.get("/api/sessions/S1/whoami", headers={"Authorization": f"Bearer {forged}"})
    assert bad.status_code == 401
    garbage = await http.get("/api/sessions/S1/whoami", headers={"Authorization": "Bearer x.y.z"})
    assert garbage.status_code == 401


async def test_mint_checks_role_against_session(hub_client: HubClient) -> None:
    http = hub_client.http
    await _setup(hub_client)
    cases = [
        {"role": "tutor"},  # no classroom
        {"role": "tutor", "classroom": "lc1"},  # the lead's classroom
        {"role": "lead", "classroom": "pc1"},
        {"role": "lead", "teacher": "t2"},  # a tutor as lead
        {"role": "observer", "ttl_s": 10},  # too short
    ]
    for body in cases:
        r = await http.post("/api/sessions/S1/tokens", json=body, headers=AUTH)
        assert r.status_code == 422, (body, r.text)
    missing = await http.post("/api/sessions/NOPE/tokens", json={"role": "lead"}, headers=AUTH)
    assert missing.status_code == 404
    observer = await _token(http, {"role": "observer"})
    assert verify_token(
        observer, key=derive_key(ADMIN_KEY), session="S1", roles=[JoinRole.OBSERVER]
    )
    unauth = await http.post("/api/sessions/S1/tokens", json={"role": "lead"})
    assert unauth.status_code == 401
