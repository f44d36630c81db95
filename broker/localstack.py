"""Local Mosquitto and Redis servers on free loopback ports.

Used by ``dualclass stack up`` (the dev stack, files under ``var/``) and by the test
fixtures, which need servers they can kill and restart. The machine may also run
system instances on the standard ports (1883, 6379): these launchers never touch
them, because every port is picked free at start.

Synchronous on purpose: starting a process is a one-off, and pytest fixtures and
the CLI are easier to read without an event loop around them.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from broker.admin import write_private as _write_private
from broker.exceptions import LaunchError
from broker.render import (
    BrokerSettings,
    ListenerTls,
    render_acl,
    render_conf,
    render_passwords,
)

__all__ = ["MosquittoServer", "RedisServer", "free_port", "wait_for_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    host: str, port: int, *, timeout: float = 10.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until ``host:port`` accepts TCP connections, or raise ``LaunchError``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise LaunchError(f"process on port {port}", f"exited with status {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise LaunchError(f"server on {host}:{port}", f"no answer within {timeout} s")


def _binary(name: str, fallbacks: Sequence[str]) -> str:
    found = shutil.which(name)
    if found:
        return found
    for path in fallbacks:
        if os.access(path, os.X_OK):
            return path
    raise LaunchError(name, "binary not found (run `make setup`)")


@dataclass
class _Process:
    workdir: Path
    port: int = 0
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _argv: list[str] = field(default_factory=list, repr=False, init=False)
    _log: Path | None = field(default=None, repr=False, init=False)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def _spawn(self, argv: list[str], log: Path) -> None:
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.workdir.chmod(0o700)
        self._argv, self._log = list(argv), log
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as out:
            # umask 077: Redis's AOF/RDB (node hashes, the share group, every lesson)
            # and Mosquitto's persistence file are created private to their owner
            self.proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                umask=0o077,
            )
        wait_for_port(self.host, self.port, proc=self.proc)

    def respawn(self) -> None:
        """Start the same program again on the same port, files left as they are
        (after a crash: what the hub rendered since must survive the restart)."""
        if not self._argv or self._log is None:
            raise LaunchError(type(self).__name__, "never started, nothing to respawn")
        if self.running:
            raise LaunchError(type(self).__name__, f"still running (pid {self.pid})")
        self._spawn(self._argv, self._log)

    def stop(self, *, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: a crash, for fault-injection tests."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@dataclass
class MosquittoServer(_Process):
    """A Mosquitto 2.x process with rendered conf, passwords and ACL in ``workdir``.

    ``users`` maps usernames to plain secrets (hashed on write); ``hub_users`` get
    the whole prefix, every other user is a node restricted by ``node_sessions``.
    With ``tls`` the listener on ``port`` speaks only TLS.
    """

    users: dict[str, str] = field(default_factory=dict)
    hub_users: list[str] = field(default_factory=list)
    node_sessions: dict[str, list[str]] = field(default_factory=dict)
    prefix: str = "dc/v1"
    persistence: bool = True
    max_queued_messages: int = 100_000
    tls: ListenerTls | None = None

    @property
    def conf_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    def _settings(self) -> BrokerSettings:
        return BrokerSettings(
            port=self.port,
            bind=self.host,
            password_file=self.workdir / "passwd",
            acl_file=self.workdir / "acl",
            persistence_dir=(self.workdir / "data") if self.persistence else None,
            log_file=self.workdir / "mosquitto.log",
            max_queued_messages=self.max_queued_messages,
            run_as=getpass.getuser(),
            tls=self.tls,
        )

    def write_conf(self) -> None:
        """Render mosquitto.conf only (credentials stay as whoever wrote them last)."""
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.host)
        settings = self._settings()
        if settings.persistence_dir is not None:
            settings.persistence_dir.mkdir(mode=0o700, exist_ok=True)
        _write_private(self.conf_path, render_conf(settings))

    def write_files(self) -> None:
        """(Re)render the three files from the current users and sessions."""
        from broker.render import hash_password

        self.write_conf()
        settings = self._settings()
        if settings.persistence_dir is not None:
            settings.persistence_dir.mkdir(mode=0o700, exist_ok=True)
        from broker.render import hub_link_users

        hashed = {name: hash_password(secret) for name, secret in self.users.items()}
        for hub in self.hub_users:
            if hub in hashed:
                hashed[hub_link_users(hub)[1]] = hashed[hub]
        _write_private(settings.password_file, render_passwords(hashed))
        nodes = {u: self.node_sessions.get(u, []) for u in self.users if u not in self.hub_users}
        _write_private(
            settings.acl_file,
            render_acl(hub_users=self.hub_users, node_sessions=nodes, prefix=self.prefix),
        )

    def start(self, *, render_credentials: bool = True) -> MosquittoServer:
        """Render the files and start. ``render_credentials=False`` keeps the password
        file and ACL as they are (a restart: the hub rendered them from its registry)."""
        if render_credentials:
            self.write_files()
        else:
            self.write_conf()
        binary = _binary("mosquitto", ["/usr/sbin/mosquitto"])
        self._spawn([binary, "-c", str(self.conf_path)], self.workdir / "stdout.log")
        self._write_pid()
        return self

    def respawn(self) -> None:
        super().respawn()
        self._write_pid()

    def _write_pid(self) -> None:
        # the hub SIGHUPs whatever pid this file names: always the live process
        _write_private(self.workdir / "mosquitto.pid", f"{self.pid}\n")

    @property
    def pid_file(self) -> Path:
        return self.workdir / "mosquitto.pid"

    def reload(self) -> None:
        """Re-render and SIGHUP: Mosquitto rereads passwords and ACLs."""
        self.write_files()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)


@dataclass
class RedisServer(_Process):
    """A Redis 7 process with AOF on (``appendfsync everysec``) and a password."""

    password: str | None = None
    appendonly: bool = True

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    def start(self) -> RedisServer:
        if not self.port:
            self.port = free_port(self.host)
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        conf = [
            f"port {self.port}",
            f"bind {self.host}",
            f'dir "{self.workdir}"',
            f"appendonly {'yes' if self.appendonly else 'no'}",
            "appendfsync everysec",
            'save ""',
            "protected-mode yes",
            "daemonize no",
            f'logfile "{self.workdir / "redis.log"}"',
        ]
        if self.password:
            conf.append(f"requirepass {self.password}")
        conf_path = self.workdir / "redis.conf"
        _write_private(conf_path, "\n".join(conf) + "\n")
        binary = _binary("redis-server", ["/usr/bin/redis-server"])
        self._spawn([binary, str(conf_path)], self.workdir / "stdout.log")
        return self
