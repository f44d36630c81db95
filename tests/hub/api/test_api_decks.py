"""Deck uploads over the API: the size limit holds with and without Content-Length."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from broker.localstack import MosquittoServer, RedisServer
from hub.api import create_app
from hub.sessions import SessionSpec
from hub.tokens import JoinRole
from tests.hub.api.conftest import AUTH
from tests.hub.hubkit import hub_config, running_hub
from tests.hub.signalling.peers import token


async def test_oversized_uploads_are_refused_with_and_without_content_length(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    config = hub_config(mosquitto, redis_server, api_enabled=False, deck_max_bytes=4096)
    async with running_hub(config) as hub:
        await hub.add_node("lead")
        await hub.add_node("p1")
        await hub.create_session(SessionSpec(session="S1", lead="lead", partners=["p1"]))
        transport = httpx.ASGITransport(app=create_app(hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            # the API's body limit for deck uploads refuses it before reading it
            declared = await http.post("/api/decks", content=b"%PDF-" + b"x" * 5000, headers=AUTH)
            assert declared.status_code == 413
            assert declared.json()["type"].endswith("/body-too-large")

            async def endless() -> AsyncIterator[bytes]:
                for _ in range(1000):  # 1 MB offered, no Content-Length
                    yield b"x" * 1024

            streamed = await http.post("/api/sessions/S1/decks", content=endless(), headers=AUTH)
            assert streamed.status_code == 413
            metrics = (await http.get("/metrics")).text
            assert 'dualclass_hub_input_refused_total{limit="deck_bytes"} 2.0' in metrics
            # only the lead teacher (or an operator) uploads: a tutor's token is refused
            tutor = {"Authorization": f"Bearer {token(JoinRole.TUTOR, node='p1')}"}
            refused = await http.post("/api/sessions/S1/decks", content=b"%PDF-1.7", headers=tutor)
            assert refused.status_code == 403
            # nothing was attached; the tutor may read the (empty) list
            listed = await http.get("/api/sessions/S1/decks", headers=tutor)
            assert listed.status_code == 200 and listed.json()["decks"] == []
