"""The fault toolbox itself (simulators/faults.py): each verb does to a real process
or socket what it says, and undoing it gives the service back."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from broker.localstack import MosquittoServer, RedisServer
from simulators.faults import CutMode, FaultError, ServerFaults, TcpProxy, frozen


async def _echo_server() -> tuple[asyncio.Server, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(1024):
                writer.write(data)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _roundtrip(port: int, timeout: float = 2.0) -> bytes:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(b"ping")
        await writer.drain()
        return await asyncio.wait_for(reader.read(4), timeout)
    finally:
        writer.transport.abort()


async def test_proxy_cut_modes_and_restore() -> None:
    server, port = await _echo_server()
    proxy = await TcpProxy(port).start()
    try:
        assert await _roundtrip(proxy.port) == b"ping"

        proxy.cut(CutMode.RESET)  # accepted, then reset at once
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            data = await _roundtrip(proxy.port)
            if not data:
                raise ConnectionResetError("closed")

        await proxy.cut_async(CutMode.REFUSE)
        with pytest.raises(ConnectionRefusedError):
            await _roundtrip(proxy.port)

        await proxy.restore_async()
        assert await _roundtrip(proxy.port) == b"ping"

        proxy.cut(CutMode.BLACKHOLE)  # connects, nothing ever comes back
        with pytest.raises(TimeoutError):
            await _roundtrip(proxy.port, timeout=0.5)
        proxy.restore()
        assert await _roundtrip(proxy.port) == b"ping"
    finally:
        await proxy.stop()
        server.close()


async def test_redis_kill_restart_same_port_and_freeze(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    faults = ServerFaults(server)
    client = aioredis.Redis(port=server.port)
    try:
        old_pid, port = faults.pid, server.port
        faults.kill()
        assert not faults.alive
        faults.restart()
        assert faults.alive and faults.pid != old_pid and server.port == port
        assert await client.ping()

        async with frozen(faults):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.ping(), 0.5)
        async with aioredis.Redis(port=server.port) as fresh:
            assert await asyncio.wait_for(fresh.ping(), 5)
    finally:
        await client.aclose()
        server.stop()
    with pytest.raises(FaultError):
        faults.pause()


def test_mosquitto_restart_keeps_port_files_and_pid_file(tmp_path: Path) -> None:
    server = MosquittoServer(tmp_path / "mq", users={"hub": "s"}, hub_users=["hub"]).start()
    try:
        passwd = server.workdir / "passwd"
        passwd.write_text(passwd.read_text() + "extra:$7$101$AAAA$BBBB\n")  # as the hub renders
        ServerFaults(server).restart()
        assert "extra:" in passwd.read_text()
        assert server.pid_file.read_text().strip() == str(server.pid)
        with socket.create_connection(("127.0.0.1", server.port), timeout=2):
            pass
    finally:
        server.stop()
