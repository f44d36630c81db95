"""Fixtures for node tests: a hub stand-in and in-process nodes on the test broker.

Imported by ``conftest.py`` here and by ``tests/integration/test_node_*.py``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from broker.localstack import MosquittoServer
from classroom_node import ClassroomNode, NodeConfig
from tests.classroom_node.hubsim import HubSim

NodeFactory = Callable[..., Awaitable[ClassroomNode]]


async def _bounded(coro: Awaitable[Any], what: str, within: float = 15.0) -> None:
    """Await a teardown step; if it hangs, print every task's stack and fail."""
    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        for other in asyncio.all_tasks():
            print("TASK", other, file=sys.stderr)
            other.print_stack(file=sys.stderr)
        task.cancel()
        raise AssertionError(f"{what} hung for {within} s")
    task.result()


@pytest.fixture
async def hub(mosquitto: MosquittoServer) -> AsyncIterator[HubSim]:
    sim = HubSim(mosquitto.port)
    await sim.__aenter__()
    yield sim
    await _bounded(sim.__aexit__(None, None, None), "hub sim close")


def node_config(mosquitto: MosquittoServer, state_dir: Path, node_id: str, **kw: Any) -> NodeConfig:
    settings: dict[str, Any] = {
        "node_id": node_id,
        "mqtt_port": mosquitto.port,
        "mqtt_password": f"{node_id}-secret",
        "state_dir": state_dir,
        "api_enabled": False,
        "heartbeat_s": 0.5,
        "resync_grace_s": 0.1,
        "resync_timeout_s": 1.0,
    } | kw
    return NodeConfig(**settings)


@pytest.fixture
async def make_node(mosquitto: MosquittoServer, tmp_path: Path) -> AsyncIterator[NodeFactory]:
    """``await make_node("p1", sessions=["s1"], **config)``: a started node.

    ``sessions`` are written into the broker's ACL for that node first.
    """
    nodes: list[ClassroomNode] = []

    async def factory(node_id: str, sessions: list[str] | None = None, **kw: Any) -> ClassroomNode:
        if sessions:
            mosquitto.node_sessions[node_id] = list(sessions)
            mosquitto.reload()
        on_event = kw.pop("on_event", None)
        node = ClassroomNode(
            node_config(mosquitto, tmp_path / node_id, node_id, **kw), on_event=on_event
        )
        await node.startup()
        await node.wait_connected(5)
        nodes.append(node)
        return node

    yield factory
    for node in nodes:
        if node.started:
            await _bounded(node.shutdown(flush_timeout=1), f"shutdown of {node.node_id}")
