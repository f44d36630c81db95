"""What the media benchmarks share: child processes that answer over a pipe, and the
JSON-lines signalling their hub and peers speak over TCP.

Each benchmark process (hub, lead, subscribers) runs its own event loop in a spawned
child, so the hub's CPU time is its own; the parent asks and waits with a deadline,
and ``close`` never leaves a child behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["Children", "read_json", "recv_cmd", "send_json"]


class Children:
    """Spawned children, each given its end of a pipe first and ``extra`` args last."""

    def __init__(self, ctx: Any, *extra: Any) -> None:
        self.ctx = ctx
        self.extra = extra
        self.procs: list[tuple[Any, Connection]] = []

    def spawn(self, target: Callable[..., None], *args: Any) -> Connection:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=target, args=(child, *args, *self.extra), daemon=True)
        proc.start()
        self.procs.append((proc, parent))
        conn: Connection = parent
        return conn

    @staticmethod
    def expect(conn: Connection, seconds: float, what: str) -> Any:
        if not conn.poll(seconds):
            raise TimeoutError(f"{what}: no answer within {seconds} s")
        return conn.recv()

    @staticmethod
    def ask(conn: Connection, message: Any, seconds: float, what: str) -> Any:
        conn.send(message)
        return Children.expect(conn, seconds, what)

    def close(self) -> None:
        for _, conn in self.procs:
            with contextlib.suppress(OSError):
                conn.send("quit")
        for proc, _ in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(2)


async def recv_cmd(conn: Connection) -> Any:
    """The parent's next command, without blocking the child's event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, conn.recv)


async def send_json(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(json.dumps(message).encode() + b"\n")
    await writer.drain()


async def read_json(reader: asyncio.StreamReader) -> dict[str, Any]:
    line = await reader.readline()
    if not line:
        raise ConnectionError("signalling connection closed")
    message: dict[str, Any] = json.loads(line)
    return message
