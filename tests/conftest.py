"""Shared fixtures: real Mosquitto and Redis processes on free loopback ports.

Never the system instances on 1883/6379: every server here is started by the
fixture, in a temporary directory, on a port picked free, so a test may kill and
restart it. Node users are ``lead`` and ``p1`` .. ``p8`` with secret ``<name>-secret``;
the hub user is ``hub`` with secret ``hub-secret``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from broker.localstack import MosquittoServer, RedisServer

# CI replays the same examples every run (a red CI must be reproducible); developers
# get fresh random draws, which is how schema gaps and edge cases are found.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

HUB_USER = "hub"
HUB_SECRET = "hub-secret"
NODE_NAMES = ["lead"] + [f"p{i}" for i in range(1, 9)]


def node_secret(node: str) -> str:
    return f"{node}-secret"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoServer]:
    users = {HUB_USER: HUB_SECRET} | {n: node_secret(n) for n in NODE_NAMES}
    server = MosquittoServer(
        tmp_path / "mosquitto",
        users=users,
        hub_users=[HUB_USER],
        node_sessions={},
    ).start()
    yield server
    server.stop()
