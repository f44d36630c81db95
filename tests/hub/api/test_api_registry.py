"""Registry routes over HTTP: CRUD, referential problems, CSV import, problem+json."""

from __future__ import annotations

from tests.hub.api.conftest import AUTH, HubClient

SCHOOL = {"id": "L1", "name": "First Middle", "kind": "lead", "region": "east", "rural": False}


async def test_school_crud(core_client: HubClient) -> None:
    http = core_client.http
    created = await http.post("/api/schools", json=SCHOOL, headers=AUTH)
    assert created.status_code == 201 and created.json()["id"] == "L1"
    again = await http.post("/api/schools", json=SCHOOL, headers=AUTH)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert (await http.get("/api/schools/L1", headers=AUTH)).json()["name"] == "First Middle"
    changed = await http.put("/api/schools/L1", json={**SCHOOL, "rural": True}, headers=AUTH)
    assert changed.status_code == 200 and changed.json()["rural"] is True
    mismatch = await http.put("/api/schools/L1", json={**SCHOOL, "id": "L2"}, headers=AUTH)
    assert mismatch.status_code == 409
    listed = await http.get("/api/schools", headers=AUTH)
    assert [s["id"] for s in listed.json()] == ["L1"]
    assert (await http.delete("/api/schools/L1", headers=AUTH)).status_code == 204
    missing = await http.get("/api/schools/L1", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["status"] == 404


async def test_references_checked(core_client: HubClient) -> None:
    http = core_client.http
    room = {"id": "c1", "school": "L1", "node": "n1", "grades": [7]}
    broken = await http.post("/api/classrooms", json=room, headers=AUTH)
    assert broken.status_code == 409
    assert "school 'L1'" in broken.json()["detail"] and "node 'n1'" in broken.json()["detail"]
    await http.post("/api/schools", json=SCHOOL, headers=AUTH)
    await core_client.hub.store.add_node("n1", "$7$x")
    assert (await http.post("/api/classrooms", json=room, headers=AUTH)).status_code == 201
    teacher = {"id": "t1", "name": "Li", "school": "L1", "role": "lead", "subjects": ["Math"]}
    made = await http.post("/api/teachers", json=teacher, headers=AUTH)
    assert made.json()["subjects"] == ["math"]
    in_use = await http.delete("/api/schools/L1", headers=AUTH)
    assert in_use.status_code == 409 and "classroom 'c1'" in in_use.json()["detail"]


async def test_csv_import_all_or_nothing(core_client: HubClient) -> None:
    http = core_client.http
    csv_headers = {**AUTH, "content-type": "text/csv"}
    bad = "id,name,kind\nL1,Lead,lead\nP1,,partner\nP2,Hill,nope\n"
    rejected = await http.post("/api/schools/import", content=bad, headers=csv_headers)
    assert rejected.status_code == 422
    detail = rejected.json()["detail"]
    assert "line 3" in detail and "line 4" in detail
    assert (await http.get("/api/schools", headers=AUTH)).json() == []
    good = "id,name,kind\nL1,Lead,lead\nP1,Hill,partner\n"
    done = await http.post("/api/schools/import", content=good, headers=csv_headers)
    assert done.json() == {"kind": "schools", "created": 2, "updated": 0}
