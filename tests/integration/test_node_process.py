"""The node as a real process (``python -m classroom_node``): SIGKILL, restart, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.localstack import MosquittoServer, free_port
from tests.classroom_node.hubsim import HubSim, wait_until
from tests.classroom_node.nodefixtures import hub

__all__ = ["hub"]

S = "s1"
REPO = Path(__file__).resolve().parents[2]


class NodeProcess:
    """One ``python -m classroom_node --config FILE`` child process."""

    def __init__(self, workdir: Path, mosquitto: MosquittoServer, node_id: str = "p1") -> None:
        self.node_id = node_id
        self.api_port = free_port()
        self.state_dir = workdir / "state"
        self.config = workdir / "node.toml"
        self.config.write_text(
            "\n".join(
                [
                    f'node_id = "{node_id}"',
                    f"mqtt_port = {mosquitto.port}",
                    f'mqtt_password = "{node_id}-secret"',
                    f'state_dir = "{self.state_dir}"',
                    f"api_port = {self.api_port}",
                    "heartbeat_s = 0.5",
                    "resync_grace_s = 0.1",
                    "resync_timeout_s = 1.0",
                    'log_level = "info"',
                ]
            )
            + "\n"
        )
        self.log = workdir / "node.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUALCLASS_")}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "classroom_node", "--config", str(self.config)],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    async def state(self) -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=1.0) as client:
                r = await client.get(f"http://127.0.0.1:{self.api_port}/v1/state")
                result: dict[str, Any] = r.json()
                return result
        except httpx.HTTPError:
            return None

    async def wait_state(
        self, predicate: Any, within: float = 10.0, what: str = ""
    ) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            state = await self.state()
            if state is not None and predicate(state):
                return state
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"node exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; last state {state}")
            await asyncio.sleep(0.05)


def _session(state: dict[str, Any], sid: str = S) -> dict[str, Any] | None:
    for s in state["sessions"]:
        if s["session"] == sid:
            return s
    return None


def _counter(state: dict[str, Any], name: str) -> int:
    s = _session(state)
    return -1 if s is None else int(s["counters"][name])


@pytest.fixture
def node_proc(tmp_path: Path, mosquitto: MosquittoServer) -> Iterator[NodeProcess]:
    mosquitto.node_sessions["p1"] = [S]
    mosquitto.reload()
    (tmp_path / "p1").mkdir()
    proc = NodeProcess(tmp_path / "p1", mosquitto)
    yield proc
    proc.stop()


async def test_sigkill_restart_resumes_without_loss(hub: HubSim, node_proc: NodeProcess) -> None:
    node_proc.start()
    await node_proc.wait_state(lambda s: s["connected"], what="connected")
    await hub.join("p1", S)
    await node_proc.wait_state(lambda s: _session(s) is not None, what="joined")
    for i in range(5):
        await hub.publish_event(S, "chat.message", {"text": f"before {i}"})
    await node_proc.wait_state(lambda s: _counter(s, "last_seq") == 5, what="5 applied")

    node_proc.signal(signal.SIGKILL)
    node_proc.wait()
    for i in range(5):
        await hub.publish_event(S, "chat.message", {"text": f"while dead {i}"})
    before_restart = len(hub.from_node("p1", "node.resync"))

    node_proc.start()
    state = await node_proc.wait_state(lambda s: _counter(s, "last_seq") == 10, what="caught up")
    assert _counter(state, "received") == 10
    resumes = [r.body.from_seq for r in hub.from_node("p1", "node.resync")[before_restart:]]
    assert resumes and resumes[0] == 6
    log = node_proc.state_dir / "sessions" / S / "events.jsonl"
    seqs = [json.loads(line)["seq"] for line in log.read_text().splitlines()]
    assert seqs == list(range(1, 11))


async def test_sigterm_is_graceful_and_says_offline(hub: HubSim, node_proc: NodeProcess) -> None:
    node_proc.start()
    await node_proc.wait_state(lambda s: s["connected"], what="connected")
    await wait_until(lambda: hub.presence.get("p1", [])[-1:] == [True], what="online")
    node_proc.signal(signal.SIGTERM)
    assert node_proc.wait(10) == 0
    await wait_until(lambda: hub.presence["p1"][-1] is False, what="offline presence")
    assert "Traceback" not in node_proc.log.read_text()


async def test_journal_survives_sigkill(
    hub: HubSim, node_proc: NodeProcess, mosquitto: MosquittoServer
) -> None:
    node_proc.start()
    await node_proc.wait_state(lambda s: s["connected"], what="connected")
    await hub.join("p1", S)
    await node_proc.wait_state(lambda s: _session(s) is not None, what="joined")
    mosquitto.stop()
    await node_proc.wait_state(lambda s: not s["connected"], what="disconnected")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{node_proc.api_port}") as client:
        r = await client.post("/v1/chat", json={"text": "kept on disk"})
    assert r.status_code == 202 and r.json()["status"] == "queued"
    queued_id = r.json()["id"]
    node_proc.signal(signal.SIGKILL)
    node_proc.wait()
    mosquitto.start()
    node_proc.start()
    await wait_until(lambda: any(m.id == queued_id for m in hub.events_from("p1")), within=15)
    assert [m.id for m in hub.events_from("p1")] == [queued_id]
