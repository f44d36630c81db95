"""The local stack: one Mosquitto and one Redis for development and the demo.

``dualclass stack up`` starts both on free loopback ports with generated
credentials and writes everything a hub needs to ``<dir>/stack.json`` (mode 0600):

.. code-block:: json

    {"mqtt": {"host", "port", "hub_username", "hub_password"},
     "redis": {"url"},
     "broker_files": {"password_file", "acl_file", "pid_file"},
     "hub_users": {"hub": "$7$..."},
     "admin_key": "...", "prefix": "dc/v1", "ice_host_addresses": ["127.0.0.1"],
     "pids": {"mosquitto": 123, "redis": 456}}

The hub re-renders the broker's password and ACL files from its registry; the
hub users' hashes are kept here so that re-rendering never locks the hub out.
``stack down`` stops both processes; data (Redis AOF, Mosquitto persistence) stays
under ``<dir>`` so the next ``up`` continues where the last one stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broker.admin import write_private
from broker.localstack import MosquittoServer, RedisServer, free_port
from runtime.exceptions import ConfigError

__all__ = [
    "DEFAULT_REDIS_URL",
    "DEFAULT_STACK_DIR",
    "DEFAULT_STACK_FILE",
    "StackInfo",
    "main",
    "read_stack_file",
    "redis_url_for",
    "stack_down",
    "stack_up",
]

DEFAULT_STACK_DIR = Path("var/stack")
#: Where ``dualclass stack up`` writes its stack file by default.
DEFAULT_STACK_FILE = DEFAULT_STACK_DIR / "stack.json"
#: Redis when nothing says otherwise (the hub's default too).
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
HUB_USER = "hub"


def read_stack_file(path: Path) -> dict[str, Any]:
    """The JSON object of a stack file; ``ConfigError`` if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a stack file ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a stack file (expected a JSON object)")
    return data


def redis_url_for(redis: str | None, stack_file: Path | None) -> str:
    """Redis for an operator command (``dualclass report``, ``dualclass import``).

    ``--redis URL``, else the stack file (given, or ``var/stack/stack.json`` when it
    exists), else the hub's setting ``DUALCLASS_HUB_REDIS_URL``, else the default.
    """
    if redis:
        return redis
    if stack_file is None and DEFAULT_STACK_FILE.exists():
        stack_file = DEFAULT_STACK_FILE
    if stack_file is not None:
        url = (read_stack_file(stack_file).get("redis") or {}).get("url")
        if not isinstance(url, str) or not url:
            raise ConfigError(f"{stack_file}: no redis.url")
        return url
    return os.environ.get("DUALCLASS_HUB_REDIS_URL") or DEFAULT_REDIS_URL


@dataclass(frozen=True)
class StackInfo:
    """What ``stack.json`` holds, parsed."""

    path: Path
    data: dict[str, Any]

    @property
    def mqtt_port(self) -> int:
        return int(self.data["mqtt"]["port"])

    @property
    def redis_url(self) -> str:
        return str(self.data["redis"]["url"])

    @classmethod
    def load(cls, directory: Path = DEFAULT_STACK_DIR) -> StackInfo:
        path = directory / "stack.json"
        return cls(path, json.loads(path.read_text()))


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stack_up(directory: Path = DEFAULT_STACK_DIR) -> StackInfo:
    """Start Mosquitto and Redis (or return the running stack) and write stack.json.

    Credentials are generated on first start and reused afterwards, so nodes
    registered in an earlier run keep working.
    """
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    previous: dict[str, Any] = {}
    if (directory / "stack.json").exists():
        previous = json.loads((directory / "stack.json").read_text())
        pids = previous.get("pids", {})
        if _alive(pids.get("mosquitto")) and _alive(pids.get("redis")):
            return StackInfo(directory / "stack.json", previous)
    hub_password = previous.get("mqtt", {}).get("hub_password") or secrets.token_urlsafe(24)
    redis_password = previous.get("redis_password") or secrets.token_urlsafe(24)
    admin_key = previous.get("admin_key") or secrets.token_urlsafe(32)
    prefix = previous.get("prefix", "dc/v1")

    mosquitto = MosquittoServer(
        directory / "mosquitto",
        port=free_port(),
        users={HUB_USER: hub_password},
        hub_users=[HUB_USER],
        prefix=prefix,
    )
    mosquitto.write_files()
    hub_hash = (directory / "mosquitto" / "passwd").read_text().split(":", 1)[1].strip()
    mosquitto.start()
    redis = RedisServer(directory / "redis", port=free_port(), password=redis_password).start()
    data: dict[str, Any] = {
        "mqtt": {
            "host": "127.0.0.1",
            "port": mosquitto.port,
            "hub_username": HUB_USER,
            "hub_password": hub_password,
        },
        "redis": {"url": redis.url},
        "redis_password": redis_password,
        "broker_files": {
            "password_file": str(directory / "mosquitto" / "passwd"),
            "acl_file": str(directory / "mosquitto" / "acl"),
            "pid_file": str(mosquitto.pid_file),
        },
        "hub_users": {HUB_USER: hub_hash},
        "admin_key": admin_key,
        "prefix": prefix,
        # WebRTC on the local stack stays on loopback (docs/media.md, ICE on loopback)
        "ice_host_addresses": ["127.0.0.1"],
        "pids": {"mosquitto": mosquitto.pid, "redis": redis.pid},
        "started_at": time.time(),
    }
    write_private(directory / "stack.json", json.dumps(data, indent=2) + "\n")
    return StackInfo(directory / "stack.json", data)


def stack_down(directory: Path = DEFAULT_STACK_DIR, *, timeout: float = 10.0) -> list[str]:
    """Stop the stack's processes; returns what was stopped."""
    path = directory.resolve() / "stack.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    stopped = []
    for name, pid in data.get("pids", {}).items():
        if not _alive(pid):
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
            _reap(pid)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped.append(name)
    data["pids"] = {}
    write_private(path, json.dumps(data, indent=2) + "\n")
    return stopped


def _reap(pid: int) -> None:
    """Collect a child we started ourselves (in-process demo), so it is not a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """``dualclass stack up|down|status``: start, stop or show the local stack."""
    parser = argparse.ArgumentParser(
        prog="dualclass stack", description="Start, stop or show the local Mosquitto + Redis stack."
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_STACK_DIR, help="state directory")
    args = parser.parse_args(argv)
    if args.action == "up":
        info = stack_up(args.dir)
        print(f"mosquitto  127.0.0.1:{info.mqtt_port}")
        print(f"redis      {info.data['redis']['url'].split('@')[-1]}")
        print(f"stack file {info.path}  (credentials; mode 0600)")
        return 0
    if args.action == "down":
        stopped = stack_down(args.dir)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    try:
        info = StackInfo.load(args.dir)
    except FileNotFoundError:
        print("no stack here; run `dualclass stack up`")
        return 1
    print(json.dumps({"pids": info.data.get("pids"), "mqtt_port": info.mqtt_port}, indent=2))
    return 0
