"""Broker file renders are shared by the calls queued behind one (bulk registration)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hub.brokersync import BrokerSync


class _Store:
    def __init__(self) -> None:
        self.node_hashes: dict[str, str] = {}

    async def nodes(self) -> dict[str, str]:
        await asyncio.sleep(0)
        return dict(self.node_hashes)

    async def hub_users(self) -> dict[str, str]:
        return {}

    async def all_sessions(self) -> dict[str, str]:
        return {}


class _Files:
    def __init__(self) -> None:
        self.renders: list[set[str]] = []

    def write(self, *, node_users: dict[str, str], **_: Any) -> None:
        time.sleep(0.01)  # a render takes a while: others queue up meanwhile
        self.renders.append(set(node_users))

    def reload(self) -> bool:
        return True


async def _probe() -> None:
    await asyncio.sleep(0)


async def test_queued_applies_share_a_render_and_every_change_is_in_the_files() -> None:
    store, files = _Store(), _Files()
    sync = BrokerSync(files, store, _probe)  # type: ignore[arg-type]

    async def register(node: str) -> None:
        store.node_hashes[node] = "$7$..."
        await sync.apply()
        # when apply returns, a render that includes this node has finished
        assert any(node in render for render in files.renders)

    await asyncio.gather(*(register(f"n{i}") for i in range(40)))
    assert files.renders[-1] == {f"n{i}" for i in range(40)}
    assert 2 <= sync.reloads < 40


async def test_one_after_another_each_renders() -> None:
    store, files = _Store(), _Files()
    sync = BrokerSync(files, store, _probe)  # type: ignore[arg-type]
    for i in range(3):
        store.node_hashes[f"n{i}"] = "h"
        await sync.apply()
    assert sync.reloads == 3
    assert files.renders[-1] == {"n0", "n1", "n2"}
