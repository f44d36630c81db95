"""The HTTP API over a real hub: admin auth, problem+json, nodes and sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from broker.client import ClientSettings, MqttLink
from broker.localstack import MosquittoServer, RedisServer
from hub.server import Hub
from protocols.ids import new_id
from protocols.messages import LessonStart
from tests.hub.hubkit import ADMIN_KEY, FakeNode, hub_config, running_hub, wait_for

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
async def hub(mosquitto: MosquittoServer, redis_server: RedisServer) -> AsyncIterator[Hub]:
    async with running_hub(hub_config(mosquitto, redis_server)) as h:
        yield h


@pytest.fixture
async def api(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub.api_port}") as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert body["status"] == status
    return body  # type: ignore[no-any-return]


async def _can_connect(port: int, user: str, secret: str) -> bool:
    link = MqttLink(
        ClientSettings(port=port, username=user, password=secret, client_id=f"probe-{new_id()}")
    )
    await link.start()
    try:
        await link.wait_connected(timeout=1.5)
        return True
    except TimeoutError:
        return False
    finally:
        await link.close()


async def test_admin_routes_need_the_key(api: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/nodes"),
        ("POST", "/api/nodes"),
        ("GET", "/api/sessions"),
        ("GET", "/api/sessions/S1/events"),
    ]:
        body = assert_problem(await api.request(method, path), 401)
        assert body["title"] == "Unauthorized"
    wrong = await api.get("/api/nodes", headers={"Authorization": "Bearer nope"})
    assert_problem(wrong, 401)
    assert wrong.headers["www-authenticate"] == "Bearer"


async def test_health_and_metrics_are_open(api: httpx.AsyncClient) -> None:
    health = await api.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = await api.get("/metrics")
    assert metrics.status_code == 200
    assert "dualclass_hub_events_sequenced_total" in metrics.text


async def test_node_lifecycle(api: httpx.AsyncClient, mosquitto: MosquittoServer) -> None:
    created = await api.post("/api/nodes", json={"node": "school-a"}, headers=AUTH)
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert await _can_connect(mosquitto.port, "school-a", secret)
    assert_problem(await api.post("/api/nodes", json={"node": "school-a"}, headers=AUTH), 409)
    assert_problem(await api.post("/api/nodes", json={"node": "a/b"}, headers=AUTH), 422)
    listed = (await api.get("/api/nodes", headers=AUTH)).json()
    assert [n["node"] for n in listed] == ["school-a"] and listed[0]["online"] is False
    rotated = await api.post("/api/nodes/school-a/rotate", headers=AUTH)
    new_secret = rotated.json()["secret"]
    assert new_secret != secret
    assert await _can_connect(mosquitto.port, "school-a", new_secret)
    assert not await _can_connect(mosquitto.port, "school-a", secret)
    assert (await api.delete("/api/nodes/school-a", headers=AUTH)).status_code == 204
    assert not await _can_connect(mosquitto.port, "school-a", new_secret)
    assert_problem(await api.delete("/api/nodes/school-a", headers=AUTH), 404)


async def test_sessions_create_read_and_events(
    api: httpx.AsyncClient, mosquitto: MosquittoServer
) -> None:
    secrets = {}
    for node in ("lead", "p1"):
        secrets[node] = (await api.post("/api/nodes", json={"node": node}, headers=AUTH)).json()[
            "secret"
        ]
    spec = {"session": "S1", "lead": "lead", "partners": ["p1"], "title": "Fractions", "grade": 4}
    missing = await api.post("/api/sessions", json={**spec, "partners": ["ghost"]}, headers=AUTH)
    assert_problem(missing, 422)
    created = await api.post("/api/sessions", json=spec, headers=AUTH)
    assert created.status_code == 201
    assert created.json()["state"]["status"] == "scheduled"
    assert_problem(await api.post("/api/sessions", json=spec, headers=AUTH), 409)
    assert_problem(await api.get("/api/sessions/nope", headers=AUTH), 404)

    lead = await FakeNode("lead", secrets["lead"], mosquitto.port).start()
    try:
        start = LessonStart(id=new_id(), session="S1")
        await lead.send(start)

        async def live() -> bool:
            view = (await api.get("/api/sessions/S1", headers=AUTH)).json()
            return bool(view["state"]["status"] == "live")

        await wait_for(live, what="session live")
        view = (await api.get("/api/sessions/S1", headers=AUTH)).json()
        assert view["spec"]["partners"] == ["p1"]
        assert view["counters"]["accepted"] == 1 and view["counters"]["last_seq"] == 1
        events = (await api.get("/api/sessions/S1/events?from_seq=1", headers=AUTH)).json()
        assert [(e["seq"], e["id"], e["src"]) for e in events["events"]] == [(1, start.id, "lead")]
        listed = (await api.get("/api/sessions", headers=AUTH)).json()
        assert [s["spec"]["session"] for s in listed] == ["S1"]
        bad = await api.get("/api/sessions/S1/events?from_seq=0", headers=AUTH)
        assert_problem(bad, 422)
    finally:
        await lead.close()
