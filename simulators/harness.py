"""A whole local deployment in one object: stack, hub process, nodes.

Used by the demo, the event benchmark and the end-to-end tests. It drives the hub
only as an operator would (its process and HTTP API), so what it exercises is what
production runs; the nodes are real ``ClassroomNode`` instances in this process
(each with its own MQTT connection, credentials, journal and state directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from broker.localstack import free_port
from broker.stack import StackInfo, stack_down, stack_up
from classroom_node.config import NodeConfig
from classroom_node.node import ClassroomNode, OnEvent

__all__ = ["HubProcess", "LocalRun"]


def _tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log (empty if there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class HubProcess:
    """``python -m hub`` as a child process, ready once ``/healthz`` answers."""

    def __init__(
        self,
        stack: StackInfo,
        workdir: Path,
        *,
        api_port: int | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.stack = stack
        self.workdir = workdir
        self.api_port = api_port or free_port()
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.stack.tls else "http"
        return f"{scheme}://127.0.0.1:{self.api_port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an HTTP client must trust to reach this hub (the stack's local CA)."""
        if self.stack.ca_file is None:
            return True
        return ssl.create_default_context(cafile=str(self.stack.ca_file))

    async def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "hub.log").open("ab")
        argv = [
            sys.executable,
            "-m",
            "hub",
            "--stack-file",
            str(self.stack.path),
            "--api-port",
            str(self.api_port),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - a one-off spawn, not a blocking wait
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(verify=self.verify) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    # the log's end goes into the message: a demo's temporary state
                    # dir (and the log in it) is removed before anyone can read it
                    raise RuntimeError(
                        f"hub exited with {self.proc.returncode}; "
                        f"{self.workdir / 'hub.log'} ends:\n{_tail(self.workdir / 'hub.log')}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.base_url + "/healthz", timeout=1)).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise RuntimeError(f"hub did not answer within {timeout} s; see {self.workdir / 'hub.log'}")

    async def stop(self, timeout: float = 15.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


class LocalRun:
    """Stack + hub + nodes under ``workdir``; ``async with`` tears it all down."""

    def __init__(
        self,
        workdir: Path,
        *,
        hub_args: list[str] | None = None,
        heartbeat_s: float = 2.0,
        journal_fsync: bool = True,
        tls: bool = False,
    ) -> None:
        self.workdir = workdir
        self.tls = tls
        self.hub_args = hub_args or []
        self.heartbeat_s = heartbeat_s
        self.journal_fsync = journal_fsync
        self.stack: StackInfo | None = None
        self.hub: HubProcess | None = None
        self.nodes: dict[str, ClassroomNode] = {}
        self.secrets: dict[str, str] = {}
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> LocalRun:
        self.stack = await asyncio.to_thread(stack_up, self.workdir / "stack", tls=self.tls)
        self.hub = HubProcess(self.stack, self.workdir / "hub", extra_args=self.hub_args)
        await self.hub.start()
        self._http = httpx.AsyncClient(
            base_url=self.hub.base_url,
            verify=self.hub.verify,
            headers={"Authorization": f"Bearer {self.stack.data['admin_key']}"},
            timeout=10,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for node in list(self.nodes.values()):
            with contextlib.suppress(Exception):
                await node.shutdown()
        if self._http is not None:
            await self._http.aclose()
        if self.hub is not None:
            await self.hub.stop()
        await asyncio.to_thread(stack_down, self.workdir / "stack")

    @property
    def http(self) -> httpx.AsyncClient:
        assert self._http is not None, "use LocalRun as an async context manager"
        return self._http

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    async def register_node(self, node: str) -> str:
        data = await self.api("POST", "/api/nodes", json={"node": node})
        secret = str(data["secret"])
        self.secrets[node] = secret
        return secret

    async def create_session(self, spec: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.api("POST", "/api/sessions", json=spec)
        return result

    async def start_node(
        self,
        node: str,
        *,
        on_event: OnEvent | None = None,
        api_enabled: bool = False,
        mqtt_port: int | None = None,
        hub_url: str | None = None,
        **extra: Any,
    ) -> ClassroomNode:
        """Start a node with its registered secret; ``mqtt_port`` / ``hub_url`` reroute
        it (through a proxy); ``extra``: more ``NodeConfig`` fields."""
        assert self.stack is not None and self.hub is not None
        config = NodeConfig(
            node_id=node,
            mqtt_host="127.0.0.1",
            mqtt_port=mqtt_port or self.stack.mqtt_port,
            mqtt_password=self.secrets[node],
            mqtt_ca_file=self.stack.ca_file,
            prefix=self.stack.data.get("prefix", "dc/v1"),
            state_dir=self.workdir / "nodes" / node,
            heartbeat_s=self.heartbeat_s,
            api_enabled=api_enabled,
            journal_fsync=self.journal_fsync,
            hub_url=hub_url or self.hub.base_url,
            **{"hub_ca_file": self.stack.ca_file, **extra},
        )
        instance = ClassroomNode(config, on_event=on_event)
        await instance.startup()
        self.nodes[node] = instance
        return instance

    async def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Await a condition with a deadline (never sleep-and-hope)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(0.01)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")
