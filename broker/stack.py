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

``stack up`` on a directory whose stack is partly running restarts only what is
dead, on the same port, with the same data, credentials and files: the password
file and ACL the hub rendered are kept (rewriting them would lock every node
out), and ``mosquitto.pid`` names the new process, so the hub's SIGHUPs reach it.
A process is alive only if its pid exists, is not a zombie (our own dead children
are reaped first) and is the program we started (a recycled pid is not).

With ``tls`` (``dualclass stack up --tls``) a throwaway local CA is made under
``<dir>/tls`` (``broker.certs``), Mosquitto listens with TLS only, and the file
also holds ``"tls": true``, ``"ca_file"``, ``mqtt.ca_file`` (what clients trust)
and ``"api": {"cert_file", "key_file"}`` (a certificate a hub on this stack serves
HTTPS and WSS with). Clients check the server name: dial ``127.0.0.1`` or
``localhost``, the names the certificates carry. A stack running in the other
mode is refused (``stack down`` first).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from broker.admin import write_private
from broker.certs import LocalCa
from broker.exceptions import LaunchError
from broker.localstack import MosquittoServer, RedisServer, free_port
from broker.render import ListenerTls
from runtime.exceptions import ConfigError
from runtime.settings import warn_if_exposed

__all__ = [
    "DEFAULT_REDIS_URL",
    "DEFAULT_STACK_DIR",
    "DEFAULT_STACK_FILE",
    "StackInfo",
    "main",
    "read_stack_file",
    "redis_url_for",
    "stack_down",
    "stack_status",
    "stack_up",
]

#: What each service's command line contains (a recycled pid runs something else).
_PROGRAMS = {"mosquitto": b"mosquitto", "redis": b"redis"}

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
    warn_if_exposed(path, data)
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
    """What ``stack.json`` holds, parsed; ``started``: what this ``up`` (re)started."""

    path: Path
    data: dict[str, Any]
    started: tuple[str, ...] = ()

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


def _alive(pid: int | None, program: bytes | None = None) -> bool:
    """Is ``pid`` a live process (not a zombie) running ``program``?"""
    if not pid:
        return False
    _reap(pid)
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            return False
        state = stat.rsplit(")", 1)[-1].split()[0]
        if state in ("Z", "X"):
            return False
        return program is None or program in cmdline
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return not Path("/proc/self").is_dir()  # no /proc: trust the signal


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _same_port(name: str, port: int | None) -> int:
    """The port to (re)start ``name`` on: its old one, which must be free."""
    if not port:
        return free_port()
    # a process killed a moment ago may still be releasing its socket
    deadline = time.monotonic() + 5.0
    while _port_taken(port):
        if time.monotonic() > deadline:
            raise LaunchError(name, f"its port {port} is taken by another process")
        time.sleep(0.05)
    return port


def stack_status(directory: Path = DEFAULT_STACK_DIR) -> dict[str, dict[str, Any]]:
    """Each service of the stack: its pid, port and whether it is really alive."""
    info = StackInfo.load(directory)
    pids = info.data.get("pids", {})
    ports = {"mosquitto": info.mqtt_port, "redis": urlsplit(info.redis_url).port}
    return {
        name: {"pid": pids.get(name), "port": ports[name], "alive": _alive(pids.get(name), prog)}
        for name, prog in _PROGRAMS.items()
    }


#: The names the local stack's certificates carry (what clients may dial).
LOCAL_NAMES = ("127.0.0.1", "localhost")


def stack_up(directory: Path = DEFAULT_STACK_DIR, *, tls: bool = False) -> StackInfo:
    """Start what of Mosquitto and Redis is not running, and write stack.json.

    Credentials are generated on first start and reused afterwards, so nodes
    registered in an earlier run keep working; a service that is still alive is
    left alone, a dead one comes back on its old port (see module docstring).
    ``tls``: MQTT over TLS only, and HTTPS certificates for the hub.
    """
    directory = directory.resolve()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)  # it holds stack.json and both servers' data
    previous: dict[str, Any] = {}
    if (directory / "stack.json").exists():
        previous = json.loads((directory / "stack.json").read_text())
    pids: dict[str, int] = dict(previous.get("pids", {}))
    alive = {name: _alive(pids.get(name), prog) for name, prog in _PROGRAMS.items()}
    if any(alive.values()) and bool(previous.get("tls")) != tls:
        raise RuntimeError(
            f"the stack in {directory} is running {'with' if not tls else 'without'} "
            "TLS; run `dualclass stack down` first"
        )
    if all(alive.values()):
        return StackInfo(directory / "stack.json", previous)
    hub_password = previous.get("mqtt", {}).get("hub_password") or secrets.token_urlsafe(24)
    redis_password = previous.get("redis_password") or secrets.token_urlsafe(24)
    admin_key = previous.get("admin_key") or secrets.token_urlsafe(32)
    prefix = previous.get("prefix", "dc/v1")
    mqtt_port: int | None = previous.get("mqtt", {}).get("port")
    redis_port: int | None = None
    if previous.get("redis", {}).get("url"):
        redis_port = urlsplit(previous["redis"]["url"]).port
    started: list[str] = []

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
    passwd = directory / "mosquitto" / "passwd"
    if not alive["mosquitto"]:
        mosquitto = MosquittoServer(
            directory / "mosquitto",
            port=_same_port("mosquitto", mqtt_port),
            users={HUB_USER: hub_password},
            hub_users=[HUB_USER],
            prefix=prefix,
            tls=listener_tls,
        )
        # first start: render everything; a restart keeps what the hub rendered
        mosquitto.start(render_credentials=not passwd.exists())
        mqtt_port, pids["mosquitto"] = mosquitto.port, mosquitto.pid or 0
        started.append("mosquitto")
    hub_hash = previous.get("hub_users", {}).get(HUB_USER) or _hash_in(passwd, HUB_USER)
    if not alive["redis"]:
        redis = RedisServer(
            directory / "redis", port=_same_port("redis", redis_port), password=redis_password
        ).start()
        redis_port, pids["redis"] = redis.port, redis.pid or 0
        started.append("redis")
    redis_url = f"redis://:{redis_password}@127.0.0.1:{redis_port}/0"
    data: dict[str, Any] = {
        "mqtt": {
            "host": "127.0.0.1",
            "port": mqtt_port,
            "hub_username": HUB_USER,
            "hub_password": hub_password,
        }
        | ({"ca_file": tls_data["ca_file"]} if tls else {}),
        "redis": {"url": redis_url},
        "redis_password": redis_password,
        "broker_files": {
            "password_file": str(directory / "mosquitto" / "passwd"),
            "acl_file": str(directory / "mosquitto" / "acl"),
            "pid_file": str(directory / "mosquitto" / "mosquitto.pid"),
        },
        "hub_users": {HUB_USER: hub_hash},
        "admin_key": admin_key,
        "prefix": prefix,
        # WebRTC on the local stack stays on loopback (docs/media.md, ICE on loopback)
        "ice_host_addresses": ["127.0.0.1"],
        "pids": pids,
        "started_at": previous.get("started_at") if not started else time.time(),
    } | tls_data
    write_private(directory / "stack.json", json.dumps(data, indent=2) + "\n")
    return StackInfo(directory / "stack.json", data, tuple(started))


def _hash_in(passwd: Path, user: str) -> str:
    """``user``'s ``$7$`` hash from a Mosquitto password file."""
    with contextlib.suppress(OSError):
        for line in passwd.read_text().splitlines():
            name, _, hashed = line.partition(":")
            if name == user:
                return hashed.strip()
    raise LaunchError("mosquitto", f"no {user!r} entry in {passwd}")


def stack_down(directory: Path = DEFAULT_STACK_DIR, *, timeout: float = 10.0) -> list[str]:
    """Stop the stack's processes; returns what was stopped."""
    path = directory.resolve() / "stack.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    stopped = []
    for name, pid in data.get("pids", {}).items():
        if not _alive(pid, _PROGRAMS.get(name)):
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            _reap(pid, block=True)
        stopped.append(name)
    data["pids"] = {}
    write_private(path, json.dumps(data, indent=2) + "\n")
    return stopped


def _reap(pid: int, *, block: bool = False) -> None:
    """Collect a child we started ourselves (in-process demo), so it is not a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0 if block else os.WNOHANG)


def main(argv: Sequence[str] | None = None) -> int:
    """``dualclass stack up|down|status``: start, stop or show the local stack."""
    parser = argparse.ArgumentParser(
        prog="dualclass stack", description="Start, stop or show the local Mosquitto + Redis stack."
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_STACK_DIR, help="state directory")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="MQTT over TLS only, and HTTPS certificates for the hub, from a throwaway local CA",
    )
    args = parser.parse_args(argv)
    if args.action == "up":
        try:
            info = stack_up(args.dir, tls=args.tls)
        except (LaunchError, RuntimeError) as exc:
            print(f"dualclass stack: {exc}", file=sys.stderr)
            return 1
        started = ", ".join(info.started) if info.started else "nothing (all running)"
        print(f"started    {started}")
        scheme = "mqtts" if info.tls else "mqtt"
        print(f"mosquitto  {scheme}://127.0.0.1:{info.mqtt_port}")
        if info.ca_file is not None:
            print(f"local CA   {info.ca_file}  (trust it: mqtt_ca_file, curl --cacert)")
        print(f"redis      {info.data['redis']['url'].split('@')[-1]}")
        print(f"stack file {info.path}  (credentials; mode 0600)")
        return 0
    if args.action == "down":
        stopped = stack_down(args.dir)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    try:
        status = stack_status(args.dir)
    except FileNotFoundError:
        print("no stack here; run `dualclass stack up`")
        return 1
    for name, item in status.items():
        state = "alive" if item["alive"] else "dead"
        print(f"{name:<10} {state:<6} pid {item['pid'] or '-'}  port {item['port']}")
    return 0 if all(item["alive"] for item in status.values()) else 3
