"""``HubProbe``: a pause between reconnection attempts ends when the hub answers again."""

from __future__ import annotations

import asyncio
import time

from broker.localstack import free_port
from classroom_node.media.hubprobe import HubProbe


class TinyHealthz:
    """``GET /healthz`` -> 200 on a fixed port, started and stopped at will."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: asyncio.Server | None = None
        self.requests = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        body = b'{"status":"ok"}'
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()


async def test_pause_ends_as_soon_as_the_hub_answers_again() -> None:
    port = free_port()
    hub = TinyHealthz(port)
    probe = HubProbe(f"http://127.0.0.1:{port}", interval_s=0.1)
    try:
        pause = asyncio.create_task(probe.pause(10.0))
        await asyncio.sleep(0.5)  # the hub is away: probes fail, the pause goes on
        assert not pause.done()
        back = time.monotonic()
        await hub.start()
        assert await asyncio.wait_for(pause, 5) is True
        assert time.monotonic() - back < 1.0
        assert probe.woken == 1
    finally:
        await probe.close()
        await hub.stop()


async def test_a_hub_that_answers_gets_the_plain_backoff() -> None:
    """Up but refusing (or failing) us: no tight loop, the whole delay is waited."""
    port = free_port()
    hub = TinyHealthz(port)
    await hub.start()
    probe = HubProbe(f"http://127.0.0.1:{port}", interval_s=0.05)
    try:
        started = time.monotonic()
        assert await probe.pause(0.6) is False
        assert time.monotonic() - started >= 0.55
        assert hub.requests == 1
    finally:
        await probe.close()
        await hub.stop()


async def test_a_frozen_hub_does_not_answer() -> None:
    """Accepts TCP, says nothing (SIGSTOP): the probe gives up after its timeout."""
    port = free_port()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", port)
    probe = HubProbe(f"http://127.0.0.1:{port}", timeout_s=0.2)
    try:
        started = time.monotonic()
        assert await probe.answers() is False
        assert time.monotonic() - started < 2.0
    finally:
        await probe.close()
        server.close()
