"""Fault injection for a whole local deployment: processes, the network, Redis.

One small typed toolbox shared by the chaos suite (``tests/chaos/``), the chaos
benchmark (``bench/chaos.py``) and ``dualclass sim --fault``. Everything here works
on real processes and real sockets, the way an operator's machine fails:

* ``ChildProcess``: one program we started (hub, node, or anything with an argv):
  ``start`` (wait until its readiness probe answers), ``kill`` (SIGKILL, reaped),
  ``terminate`` (SIGTERM, then SIGKILL after a grace time), ``pause`` / ``resume``
  (SIGSTOP / SIGCONT), ``restart``. ``hub_process`` and ``node_process`` build the
  two dualclass daemons with the right argv and probe.
* ``ServerFaults``: the same verbs for a ``broker.localstack`` Mosquitto or Redis,
  restarted on the same port with the same files (so clients come back to it).
* ``StackFaults``: the same for the services of a ``dualclass stack up`` directory
  (by the pids in its ``stack.json``); ``restart`` is ``stack up`` again, which
  brings back only what is dead.
* ``TcpProxy``: put between a node and the broker; ``cut`` in one of three ways a
  path fails (connections reset, refused, or silently black-holed), ``restore``.
* ``kill_pid(pid)``: SIGKILL a process we know only by pid (a stack service started
  by ``dualclass stack up``; ``stack_up`` then brings back just that one).
* ``frozen(target, seconds)``: SIGSTOP for a while (a Redis stalled by its disk, a
  node box frozen by its OS), always resumed.

Process helpers are synchronous (a spawn or a signal is a one-off); call them with
``asyncio.to_thread`` from a loop when the readiness wait may be long.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from runtime.tasks import cancel_and_wait

__all__ = [
    "ChildProcess",
    "CutMode",
    "FaultError",
    "Pausable",
    "ServerFaults",
    "StackFaults",
    "TcpProxy",
    "frozen",
    "http_ok",
    "hub_process",
    "kill_pid",
    "node_process",
    "port_open",
]


class FaultError(RuntimeError):
    """A fault could not be injected or undone (process would not start, stop...)."""


# ------------------------------------------------------------------ probes


def port_open(host: str, port: int) -> Callable[[], bool]:
    """Probe: ``host:port`` accepts a TCP connection."""

    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.3):
                return True
        except OSError:
            return False

    return probe


def http_ok(url: str) -> Callable[[], bool]:
    """Probe: ``GET url`` answers 2xx."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                return 200 <= int(response.status) < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    return probe


# --------------------------------------------------------------- processes


class Pausable(Protocol):
    """Anything with a pid we may freeze."""

    @property
    def pid(self) -> int | None: ...


def _signal(pid: int | None, sig: signal.Signals) -> None:
    if pid is None:
        raise FaultError(f"cannot send {sig.name}: process not running")
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        raise FaultError(f"cannot send {sig.name}: pid {pid} is gone") from None


def kill_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL a process known only by its pid (a ``dualclass stack up`` service), and
    wait until it is gone (reaped when it is our child, so no zombie keeps its pid)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)  # a stopped process dies at once either way
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise FaultError(f"pid {pid} survived SIGKILL for {timeout} s")


@dataclass
class ChildProcess:
    """One program we own: argv, log file, readiness probe; every fault verb.

    ``start`` returns once ``ready()`` is true (or raises ``FaultError`` with the
    log's tail if the process exits or the deadline passes).
    """

    name: str
    argv: Sequence[str]
    log: Path
    ready: Callable[[], bool] | None = None
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    start_timeout_s: float = 30.0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self) -> None:
        """Start without waiting for readiness."""
        if self.alive:
            raise FaultError(f"{self.name} is already running (pid {self.pid})")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                list(self.argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.cwd,
                env=dict(self.env) if self.env is not None else None,
                start_new_session=True,
            )
        self.starts += 1

    def start(self, timeout: float | None = None) -> ChildProcess:
        self.spawn()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.start_timeout_s)
        while True:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise FaultError(f"{self.name} exited ({code}) while starting: {self.tail()}")
            if self.ready is None or self.ready():
                return
            if time.monotonic() > deadline:
                raise FaultError(f"{self.name} not ready in time: {self.tail()}")
            time.sleep(0.02)

    def tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL (a crash: no handler runs) and reap."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)  # a stopped process dies too
            self.proc.kill()
        self.proc.wait(10)

    def terminate(self, grace_s: float = 15.0) -> int | None:
        """SIGTERM (a graceful stop), SIGKILL after ``grace_s``; the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def pause(self) -> None:
        """SIGSTOP: frozen, sockets open, nothing answered."""
        _signal(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        _signal(self.pid, signal.SIGCONT)

    def restart(self, timeout: float | None = None) -> None:
        """Start again (after a kill or terminate) with the same argv."""
        if self.alive:
            self.kill()
        self.start(timeout)


def hub_process(
    stack_file: Path,
    workdir: Path,
    *,
    api_port: int,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> ChildProcess:
    """``python -m hub`` on a stack file; ready when ``/healthz`` answers."""
    argv = [
        sys.executable,
        "-m",
        "hub",
        "--stack-file",
        str(stack_file),
        "--api-port",
        str(api_port),
        *extra_args,
    ]
    return ChildProcess(
        "hub",
        argv,
        workdir / "hub.log",
        ready=http_ok(f"http://127.0.0.1:{api_port}/healthz"),
        env=env,
    )


def node_process(
    node_id: str,
    config_file: Path,
    workdir: Path,
    *,
    api_port: int,
    env: Mapping[str, str] | None = None,
) -> ChildProcess:
    """``python -m classroom_node --config FILE``; ready when its local API answers."""
    argv = [sys.executable, "-m", "classroom_node", "--config", str(config_file)]
    return ChildProcess(
        f"node {node_id}",
        argv,
        workdir / f"{node_id}.log",
        ready=http_ok(f"http://127.0.0.1:{api_port}/v1/state"),
        env=env,
    )


class _Server(Protocol):
    """What ``broker.localstack`` servers offer."""

    port: int

    @property
    def pid(self) -> int | None: ...

    @property
    def running(self) -> bool: ...

    def kill(self) -> None: ...

    def stop(self, *, timeout: float = 10.0) -> None: ...

    def respawn(self) -> None: ...


@dataclass
class ServerFaults:
    """Fault verbs for a local Mosquitto or Redis (``broker.localstack``).

    ``restart`` brings it back on the same port with the files it had (a hub-rendered
    password file and ACL stay as they are), like systemd restarting a crashed unit.
    """

    server: _Server

    @property
    def pid(self) -> int | None:
        return self.server.pid

    @property
    def alive(self) -> bool:
        return self.server.running

    def kill(self) -> None:
        pid = self.server.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.server.kill()

    def terminate(self) -> None:
        self.server.stop()

    def pause(self) -> None:
        _signal(self.server.pid, signal.SIGSTOP)

    def resume(self) -> None:
        _signal(self.server.pid, signal.SIGCONT)

    def restart(self) -> None:
        if self.server.running:
            self.server.kill()
        self.server.respawn()


@dataclass
class StackFaults:
    """Fault verbs for ``mosquitto`` or ``redis`` of a ``dualclass stack up`` directory."""

    directory: Path
    service: str

    @property
    def pid(self) -> int | None:
        from broker.stack import StackInfo

        pid = StackInfo.load(self.directory).data.get("pids", {}).get(self.service)
        return int(pid) if pid else None

    @property
    def alive(self) -> bool:
        from broker.stack import stack_status

        return bool(stack_status(self.directory)[self.service]["alive"])

    def kill(self) -> None:
        """SIGKILL, and wait until the process is gone (reaped if it is our child)."""
        pid = self.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.alive:
            if time.monotonic() > deadline:
                raise FaultError(f"{self.service} (pid {pid}) survived SIGKILL")
            time.sleep(0.01)

    def pause(self) -> None:
        _signal(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        _signal(self.pid, signal.SIGCONT)

    def restart(self) -> None:
        """``stack up``: restarts what is dead, on the same port, with the same files."""
        from broker.stack import stack_up

        stack_up(self.directory)


@contextlib.asynccontextmanager
async def frozen(target: Pausable, seconds: float | None = None) -> AsyncIterator[None]:
    """SIGSTOP ``target`` for the block (and at least ``seconds``), then SIGCONT.

    ``async with frozen(redis_faults, 4): ...`` is "Redis stalls for 4 s".
    """
    started = time.monotonic()
    _signal(target.pid, signal.SIGSTOP)
    try:
        yield
        if seconds is not None:
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
    finally:
        with contextlib.suppress(FaultError):
            _signal(target.pid, signal.SIGCONT)


# ----------------------------------------------------------------- network


class CutMode(enum.Enum):
    """How a cut path fails."""

    #: Open connections get a TCP RST; new ones are accepted and at once reset
    #: (a middlebox or a dying uplink: the hardest case for reconnect timing).
    RESET = "reset"
    #: Open connections reset; new connections refused (nothing listens).
    REFUSE = "refuse"
    #: Nothing answers and nothing is reset: bytes vanish (a cable pulled upstream).
    #: Only keepalive timeouts notice.
    BLACKHOLE = "blackhole"


_LINGER_RST = struct.pack("ii", 1, 0)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a RST rather than a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    writer.transport.abort()


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``target_host:target_port`` until cut.

    Put a node behind it (it connects to ``port`` instead of the broker's) and
    ``cut()`` it: its classroom loses the network while the rest of the lesson goes
    on; ``restore()`` gives the path back. Runs in the caller's event loop.
    """

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1", port: int = 0) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = port
        self.mode: CutMode | None = None
        self.connections = 0
        #: bytes forwarded client -> target (``up``) and target -> client (``down``)
        self.bytes_up = 0
        self.bytes_down = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._held: set[asyncio.StreamWriter] = set()

    @property
    def cut_active(self) -> bool:
        return self.mode is not None

    async def start(self) -> TcpProxy:
        await self._listen()
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is CutMode.BLACKHOLE:
            self._held.add(writer)  # accepted, never answered
            return
        if self.mode is not None:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            _reset(writer)
            return
        self.connections += 1
        self._writers |= {writer, up_writer}
        for src, dst, up in ((reader, up_writer, True), (up_reader, writer, False)):
            task = asyncio.create_task(self._pipe(src, dst, up))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool = True
    ) -> None:
        try:
            while data := await src.read(65536):
                if self.mode is CutMode.BLACKHOLE:
                    continue  # the bytes vanish
                if up:
                    self.bytes_up += len(data)
                else:
                    self.bytes_down += len(data)
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if self.mode is not CutMode.BLACKHOLE:
                self._writers.discard(dst)
                _reset(dst)

    async def cut_async(self, mode: CutMode = CutMode.RESET) -> None:
        """``cut`` that can also stop listening (``CutMode.REFUSE``)."""
        self.cut(mode)
        if mode is CutMode.REFUSE and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def cut(self, mode: CutMode = CutMode.RESET) -> None:
        """Cut the path. ``REFUSE`` needs ``cut_async`` to close the listener."""
        self.mode = mode
        if mode is CutMode.BLACKHOLE:
            return
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    def restore(self) -> None:
        """Give the path back. Black-holed connections are reset (they were dead)."""
        self.mode = None
        for writer in list(self._writers | self._held):
            _reset(writer)
        self._writers.clear()
        self._held.clear()

    async def restore_async(self) -> None:
        self.restore()
        if self._server is None:
            await self._listen()

    async def stop(self) -> None:
        self.cut()
        for writer in list(self._held):
            _reset(writer)
        self._held.clear()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await cancel_and_wait(*self._pipes)
