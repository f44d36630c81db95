"""Careless operators and hostile nodes feeding the hub bad input during a lesson.

While lead and p1 keep a lesson going, everything from the issue is thrown at the
same hub: a registry CSV with 200,000 header columns, a body declared at 64 MiB,
a session ending in 10^30, ``from_seq`` = 2^64, and uplinks from a registered
node with ``v: 1.0``, NaN, ``sent`` = +-2^63, garbage bytes and oversized
payloads; then console join/leave cycles with one room's feed wedged. Every event
of the lesson must be sequenced, every refusal typed and counted, nothing absurd
stored, and ``/healthz`` quick throughout.
"""

from __future__ import annotations

import asyncio
import math

import httpx
import msgpack

from broker.localstack import MosquittoServer, RedisServer
from classroom_node.media.signalclient import SignalClient
from hub.server import Hub
from hub.tokens import JoinRole
from protocols.codec import decode
from protocols.ids import new_id
from protocols.signalling import SignalJoin
from tests.hostile.kit import HealthWatch
from tests.hostile.test_broker_attacks import S, _lesson_traffic
from tests.hub.hubkit import ADMIN_KEY, classroom, hub_config, running_hub, wait_for
from tests.hub.signalling.peers import token

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _uplink(**fields: object) -> bytes:
    raw = {"v": 1, "id": new_id(), "type": "chat.message", "session": S, "body": {"text": "x"}}
    raw.update(fields)
    return msgpack.packb(raw)


HOSTILE_UPLINKS = [
    _uplink(v=1.0),
    _uplink(v=True),
    _uplink(sent=2**63),
    _uplink(sent=-(2**63)),
    _uplink(type="annotation.stroke", body={"points": [[math.nan, math.inf]]}),
    _uplink(type="node.heartbeat", session="", body={"uptime_s": math.inf}),
    _uplink(type="node.resync", body={"from_seq": 2**63}),
    _uplink(body={"text": "x" * 100_000}),  # over the hub limit, under the broker packet limit
    b"\xc1garbage",
    b"",
]


async def test_bad_input_during_a_lesson_loses_nothing_and_stalls_nothing(
    mosquitto: MosquittoServer, redis_server: RedisServer
) -> None:
    async with running_hub(hub_config(mosquitto, redis_server)) as hub:
        base = f"http://127.0.0.1:{hub.api_port}"
        async with (
            classroom(hub, mosquitto.port, partners=2) as nodes,
            httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as http,
        ):
            header = ",".join(f"c{i}" for i in range(200_000)).encode()
            async with HealthWatch(hub.api_port) as watch:
                lesson = asyncio.create_task(_lesson_traffic(nodes, lead_events=10, p1_events=8))
                r = await http.post("/api/schools/import", content=header)
                assert r.status_code == 413
                assert await _declared_64_mib(hub.api_port) == 413
                bad_spec = {"session": "S9", "lead": "lead", "ends_at": 10**30}
                assert (await http.post("/api/sessions", json=bad_spec)).status_code == 422
                r = await http.get(f"/api/sessions/{S}/events", params={"from_seq": 2**64})
                assert r.status_code == 422
                rejected_before = _rejected(hub)
                for payload in HOSTILE_UPLINKS:
                    await nodes["p2"].send_raw(payload)
                # console join/leave cycles meanwhile (each join under a second)
                for _ in range(20):
                    join = SignalJoin(token=token(JoinRole.LEAD, session=S), media=False)
                    async with SignalClient(base, join) as client:
                        await client.joined(within=1.0)
                sent = await lesson
                events = await nodes["p2"].wait_events(S, len(sent), within=30)
                assert sent <= {e.id for e in events}

                async def all_refused() -> bool:
                    return _rejected(hub) - rejected_before >= len(HOSTILE_UPLINKS)

                await wait_for(all_refused, within=10, what="refusals counted")
            watch.assert_responsive()
            # nothing absurd made it into the record
            for stored in await hub.store.read_events(S):
                event = decode(stored.payload, max_size=1 << 20)
                assert event.sent is None or abs(event.sent - (event.ts or 0)) < 86_400_000
            assert (await http.get("/healthz")).status_code == 200


def _rejected(hub: Hub) -> float:
    """Every refused uplink so far, whatever the reason (each one is typed and counted)."""
    return sum(
        sample.value
        for metric in hub.metrics.registry.collect()
        if metric.name == "dualclass_hub_rejected"
        for sample in metric.samples
        if sample.name == "dualclass_hub_rejected_total"
    )


async def _declared_64_mib(port: int) -> int:
    """POST declaring a 64 MiB body, sending 2 bytes: the status the hub answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /api/sessions HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {ADMIN_KEY}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 67108864\r\n\r\n{}"
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        return int(status_line.split()[1])
    finally:
        writer.close()
