"""``/ops`` and ``/api/ops/*`` on a real hub (Mosquitto, Redis) with raw MQTT nodes:
sign-in cookie, the JSON overview, the live stream of patches, alerts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from broker.localstack import MosquittoServer, RedisServer
from hub.ops.patch import apply_patch
from protocols.codec import encode
from protocols.ids import new_id, now_ms
from protocols.messages import (
    HeartbeatBody,
    LessonStart,
    MediaStats,
    NodeHeartbeat,
    NodePresence,
    PresenceBody,
)
from tests.hub.hubkit import (
    ADMIN_KEY,
    TOPICS,
    FakeNode,
    classroom,
    hub_config,
    running_hub,
    wait_for,
)
from tests.hub.signalling.conftest import LiveHub

pytestmark = pytest.mark.timeout(60)
BEARER = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
async def fast(mosquitto: MosquittoServer, redis_server: RedisServer) -> AsyncIterator[LiveHub]:
    config = hub_config(mosquitto, redis_server, ops_interval_s=0.2, heartbeat_timeout_s=3.0)
    async with running_hub(config) as hub:
        async with classroom(hub, mosquitto.port, partners=2) as nodes:
            yield LiveHub(hub, nodes)


async def heartbeat(node: FakeNode, fps: float, sessions: list[str], backlog: int = 0) -> None:
    media = MediaStats(fps=fps, bitrate_kbps=800, loss=0.01, rtt_ms=4)
    body = HeartbeatBody(
        uptime_s=1,
        sessions=sessions,
        media=media,
        version="9.9",
        rejected=2,
        journal_backlog=backlog,
        journal_oldest_s=12.4 if backlog else 0.0,
    )
    await node.send(NodeHeartbeat(id=new_id(), sent=now_ms(), body=body))


async def _node(overview: Any, name: str) -> dict[str, Any] | None:
    doc = await overview()
    return next((n for n in doc["nodes"] if n["node"] == name), None)


async def test_signin_cookie_and_signout(fast: LiveHub) -> None:
    async with httpx.AsyncClient(base_url=fast.url) as api:
        assert (await api.get("/api/ops/overview")).status_code == 401
        wrong = await api.post("/ops/signin", json={"key": "guess"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        assert (
            fast.hub.metrics.registry.get_sample_value("dualclass_hub_ops_signin_failed_total")
            == 1.0
        )
        assert (await api.post("/ops/signin", json={"key": "x" * 5000})).status_code == 422
        ok = await api.post("/ops/signin", json={"key": ADMIN_KEY})
        assert ok.status_code == 204
        cookie = ok.headers["set-cookie"].lower()
        for attr in ("httponly", "samesite=strict", "max-age=28800", "path=/"):
            assert attr in cookie
        assert ADMIN_KEY.lower() not in cookie
        assert (await api.get("/api/ops/overview")).status_code == 200  # the cookie alone
        value = api.cookies.get("dc_ops")
        assert (await api.post("/ops/signout")).status_code == 204
        assert (await api.get("/api/ops/overview")).status_code == 401
        # the old value, replayed after sign-out, is refused too
        async with httpx.AsyncClient(base_url=fast.url, cookies={"dc_ops": str(value)}) as old:
            assert (await old.get("/api/ops/overview")).status_code == 401
        assert (await api.get("/api/ops/overview", headers=BEARER)).status_code == 200
        assert (await api.get("/ops")).status_code == 200


async def test_signin_link_opens_the_dashboard_only_until_signout(fast: LiveHub) -> None:
    """A printed link signs a browser in (cookie, then /ops); never the admin API."""
    async with httpx.AsyncClient(base_url=fast.url) as api:
        assert (await api.post("/api/ops/links", json={})).status_code == 401
        refused = await api.post("/api/ops/links", json={"lesson": "a b"}, headers=BEARER)
        assert refused.status_code == 422
        made = await api.post("/api/ops/links", json={"lesson": "s-1"}, headers=BEARER)
        assert made.status_code == 200
        url = made.json()["url"]
        assert url.startswith("/ops/signin?link=") and url.endswith("&lesson=s-1")
        assert ADMIN_KEY not in url

    failed = "dualclass_hub_ops_signin_failed_total"
    before = fast.hub.metrics.registry.get_sample_value(failed) or 0.0
    async with httpx.AsyncClient(base_url=fast.url) as browser:
        followed = await browser.get(url)
        assert followed.status_code == 303
        assert followed.headers["location"] == "/ops#lesson=s-1"
        cookie = followed.headers["set-cookie"].lower()
        for attr in ("httponly", "samesite=strict", "path=/"):
            assert attr in cookie
        assert (await browser.get("/api/ops/overview")).status_code == 200
        # the dashboard's cookie is not the admin key: the admin API stays closed
        assert (await browser.get("/api/sessions")).status_code == 401
        assert (await browser.post("/ops/signout")).status_code == 204

    async with httpx.AsyncClient(base_url=fast.url) as late:
        # signed out: the same link is dead; a forged one too (both counted)
        for bad in (url, "/ops/signin?link=1999999999.x.y", "/ops/signin"):
            answer = await late.get(bad)
            assert answer.status_code == 303 and "set-cookie" not in answer.headers, bad
        assert (await late.get("/api/ops/overview")).status_code == 401
        assert (await late.get("/ops/signin?lesson=../x")).status_code == 422
    assert fast.hub.metrics.registry.get_sample_value(failed) == before + 3


async def test_overview_stream_and_offline_alert(fast: LiveHub) -> None:
    lead, p1, p2 = fast.nodes["lead"], fast.nodes["p1"], fast.nodes["p2"]
    for node in (lead, p1, p2):
        await heartbeat(node, 25, ["S1"], backlog=3 if node is p1 else 0)
    await lead.send(LessonStart(id=new_id(), session="S1"))
    async with httpx.AsyncClient(base_url=fast.url, headers=BEARER, timeout=10) as api:

        async def overview() -> dict[str, Any]:
            data: dict[str, Any] = (await api.get("/api/ops/overview")).json()
            return data

        async def all_online() -> bool:
            doc = await overview()
            rooms = [r for x in doc["lessons"] for r in x["classrooms"]]
            return (
                bool(rooms)
                and doc["lessons"][0]["state"] == "live"
                and all(r["online"] and r["joined"] for r in rooms)
            )

        await wait_for(all_online, within=10, what="every classroom online")
        doc = await overview()
        room = next(r for r in doc["lessons"][0]["classrooms"] if r["node"] == "p1")
        assert {
            "node",
            "role",
            "online",
            "joined",
            "heartbeat_age_s",
            "fps",
            "loss",
            "rtt_ms",
        } <= set(room)
        assert room["fps"] == 25 and room["role"] == "partner" and room["rejections"] == 2
        assert room["backlog"] == 3 and room["backlog_oldest_s"] == 12
        assert {"node", "online", "last_seen"} <= set(doc["nodes"][0])
        assert next(n for n in doc["nodes"] if n["node"] == "p1")["version"] == "9.9"
        assert {"events_per_s", "sequencing_p99_ms", "rejected"} <= set(doc["hub"])
        # (the hub p99 alert may be real on a loaded test machine: not about classrooms)
        assert [a for a in doc["alerts"] if a["kind"] != "hub_p99"] == []

        # the live stream: a snapshot, then patches that rebuild the same document
        async with api.stream("GET", "/api/ops/stream") as stream:
            lines = stream.aiter_lines()
            state: dict[str, Any] = {}

            async def next_event() -> tuple[str, dict[str, Any]]:
                kind = ""
                async for line in lines:
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        return kind, json.loads(line[6:])
                raise AssertionError("stream ended")

            kind, first = await next_event()
            assert kind == "snapshot"
            state = first["doc"]
            assert state["lessons"]["S1"]["classrooms"]["p2"]["online"] is True
            # p2 goes silent: its presence says offline (what its last will does)
            offline = NodePresence(id=new_id(), body=PresenceBody(online=False))
            await p2.link.publish(TOPICS.node_presence("p2"), encode(offline), retain=True)  # type: ignore[union-attr]
            while True:
                kind, message = await next_event()
                assert kind == "patch"
                state = apply_patch(state, message["patch"])
                if "classroom_offline:S1/p2" in state.get("alerts", {}):
                    break
            assert state["lessons"]["S1"]["classrooms"]["p2"]["online"] is False
            assert state["nodes"]["p2"]["missing_in_lesson"] is True
            assert state["node_order"][0] == "p2"  # missing from its lesson: listed first

        doc = await overview()
        rooms = [a for a in doc["alerts"] if a["kind"] != "hub_p99"]
        assert [(a["kind"], a["subject"]) for a in rooms] == [("classroom_offline", "S1/p2")]
        assert rooms[0]["since"] <= now_ms()
        detail = (await api.get("/api/ops/lessons/S1")).json()
        assert detail["state"]["status"] == "live" and detail["events"][0]["type"] == "lesson.start"
        assert (await api.get("/api/ops/lessons/nope")).status_code == 404
        assert (await api.get("/api/ops/lessons/S1?limit=100000")).status_code == 422
        assert (await api.get("/api/ops/lessons/" + "x" * 5000)).status_code == 422
        metrics = (await api.get("/metrics")).text
        assert 'dualclass_node_online{node="p2"} 0.0' in metrics
        assert 'dualclass_node_in_lesson{node="p2",role="partner"} 1.0' in metrics
        assert 'dualclass_node_video_fps{node="p1"} 25.0' in metrics
        assert "dualclass_hub_ops_pages 0.0" in metrics  # the stream above has ended

        # registered but never heard of: listed, offline, never seen
        await fast.hub.add_node("spare")
        await wait_for(
            lambda: _node(overview, "spare"), within=15, what="the registered spare box listed"
        )
        spare = await _node(overview, "spare")
        assert spare is not None and spare["online"] is False and spare.get("last_seen") is None


async def test_week_coverage_links_to_the_report_in_the_readers_language(fast: LiveHub) -> None:
    async with httpx.AsyncClient(base_url=fast.url, timeout=30) as api:
        assert (await api.post("/ops/signin", json={"key": ADMIN_KEY})).status_code == 204

        async def coverage() -> dict[str, Any] | None:
            doc = (await api.get("/api/ops/overview")).json()
            found: dict[str, Any] | None = doc["coverage"]
            return found

        summary = await wait_for(coverage, within=30, what="the week's coverage summary")
        assert summary is not None
        assert {"lessons_held", "lessons_scheduled", "schools_reached", "gaps"} <= set(summary)
        page = await api.get(summary["report"], headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-CN">' in page.text and "覆盖报告" in page.text
        assert 'hreflang="en"' in page.text  # the visible switch
        english = await api.get(summary["report"] + "&lang=en")
        assert '<html lang="en">' in english.text
    async with httpx.AsyncClient(base_url=fast.url) as stranger:
        assert (await stranger.get(summary["report"])).status_code == 401
