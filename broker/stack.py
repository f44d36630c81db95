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

With ``tls`` (``dualclass stack up --tls``) a throwaway local CA is made under
``<dir>/tls`` (``broker.certs``), Mosquitto listens with TLS only, and the file
also holds ``"tls": true``, ``"ca_file"``, ``mqtt.ca_file`` (what clients trust)
and ``"api": {"cert_file", "key_file"}`` (a certificate a hub on this stack serves
HTTPS and WSS with). Clients check the server name: dial ``127.0.0.1`` or
``localhost``, the names the certificates carry.

The hub re-renders the broker's password and ACL files from its registry; the
hub users' hashes are kept here so that re-rendering never locks the hub out.
``stack down`` stops both processes; data (Redis AOF, Mosquitto persistence) stays
under ``<dir>`` so the next ``up`` continues where the last one stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broker.admin import write_private
from broker.certs import LocalCa
from broker.localstack import MosquittoServer, RedisServer, free_port
from broker.render import ListenerTls

__all__ = ["DEFAULT_STACK_DIR", "StackInfo", "stack_down", "stack_up"]

DEFAULT_STACK_DIR = Path("var/stack")
HUB_USER = "hub"


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

    @property
    def tls(self) -> bool:
        return bool(self.data.get("tls"))

    @property
    def ca_file(self) -> Path | None:
        """The local CA clients trust (``--tls`` stacks only)."""
        ca = self.data.get("ca_file")
        return Path(ca) if ca else None

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


#: The names the local stack's certificates carry (what clients may dial).
LOCAL_NAMES = ("127.0.0.1", "localhost")


def stack_up(directory: Path = DEFAULT_STACK_DIR, *, tls: bool = False) -> StackInfo:
    """Start Mosquitto and Redis (or return the running stack) and write stack.json.

    Credentials are generated on first start and reused afterwards, so nodes
    registered in an earlier run keep working. A running stack is returned as it
    is only if its TLS mode is the one asked for.
    """
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    previous: dict[str, Any] = {}
    if (directory / "stack.json").exists():
        previous = json.loads((directory / "stack.json").read_text())
        pids = previous.get("pids", {})
        if _alive(pids.get("mosquitto")) and _alive(pids.get("redis")):
            if bool(previous.get("tls")) != tls:
                raise RuntimeError(
                    f"the stack in {directory} is running {'with' if not tls else 'without'} "
                    "TLS; run `dualclass stack down` first"
                )
            return StackInfo(directory / "stack.json", previous)
    hub_password = previous.get("mqtt", {}).get("hub_password") or secrets.token_urlsafe(24)
    redis_password = previous.get("redis_password") or secrets.token_urlsafe(24)
    admin_key = previous.get("admin_key") or secrets.token_urlsafe(32)
    prefix = previous.get("prefix", "dc/v1")

    tls_data: dict[str, Any] = {}
    listener_tls = None
    if tls:
        ca = LocalCa(directory / "tls")
        broker_cert = ca.issue("mqtt", LOCAL_NAMES)
        api_cert = ca.issue("api", LOCAL_NAMES)
        listener_tls = ListenerTls(cert_file=broker_cert.cert_file, key_file=broker_cert.key_file)
        tls_data = {
            "tls": True,
            "ca_file": str(ca.cert_file),
            "api": {"cert_file": str(api_cert.cert_file), "key_file": str(api_cert.key_file)},
        }
    mosquitto = MosquittoServer(
        directory / "mosquitto",
        port=free_port(),
        users={HUB_USER: hub_password},
        hub_users=[HUB_USER],
        prefix=prefix,
        tls=listener_tls,
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
        }
        | ({"ca_file": tls_data["ca_file"]} if tls else {}),
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
        # WebRTC on the local stack stays on loopback (WEBRTC-LOOPBACK facts)
        "ice_host_addresses": ["127.0.0.1"],
        "pids": {"mosquitto": mosquitto.pid, "redis": redis.pid},
        "started_at": time.time(),
    } | tls_data
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
