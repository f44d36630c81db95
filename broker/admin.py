"""Apply a registry snapshot to a running Mosquitto: write its files, then SIGHUP.

The hub calls this whenever nodes or session memberships change. Mosquitto 2.x
rereads ``password_file`` and ``acl_file`` on SIGHUP without dropping clients; read
access is checked again on every delivery, so a node added to a session starts
receiving that session's topics once the reload is done.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from broker.render import hub_link_users, render_acl, render_passwords
from runtime.settings import exposed_secret_file  # re-exported: one check for every secret file

__all__ = ["BrokerFiles", "exposed_secret_file", "write_private"]


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Atomically write a file readable only by its owner (it holds hashes).

    ``mode`` 0o640 lets a service group read it (Mosquitto, dropped to its own
    user, re-reads the files the hub renders on every SIGHUP); never wider."""
    if mode & ~0o640:
        raise ValueError(f"mode {mode:04o} would expose a credential file")
    tmp = path.with_suffix(path.suffix + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a leftover from a crash may carry another mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), mode)  # not widened by the umask, not narrowed either
        handle.write(text)
    os.replace(tmp, path)


@dataclass(frozen=True, kw_only=True)
class BrokerFiles:
    """Where a managed Mosquitto reads its credentials, and how to poke it."""

    password_file: Path
    acl_file: Path
    pid_file: Path | None = None
    prefix: str = "dc/v1"
    #: 0o600, or 0o640 when Mosquitto reads them through a shared group
    mode: int = 0o600

    def write(
        self,
        *,
        hub_users: Mapping[str, str],
        node_users: Mapping[str, str],
        node_sessions: Mapping[str, Sequence[str]],
        muted: Collection[str] = (),
    ) -> None:
        """Render both files from ``{user: $7$ hash}`` maps and session memberships
        (``muted``: nodes that may not publish for now, see ``render_acl``)."""
        hubs = {u: h for user, h in hub_users.items() for u in hub_link_users(user)}
        users = {**node_users, **hubs}
        write_private(self.password_file, render_passwords(users), self.mode)
        sessions = {node: list(node_sessions.get(node, ())) for node in node_users}
        write_private(
            self.acl_file,
            render_acl(
                hub_users=sorted(hub_users),
                node_sessions=sessions,
                prefix=self.prefix,
                muted=muted,
            ),
            self.mode,
        )

    def reload(self) -> bool:
        """SIGHUP the broker named by ``pid_file``; False if there is none to signal."""
        if self.pid_file is None or not self.pid_file.exists():
            return False
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, signal.SIGHUP)
        except (ValueError, ProcessLookupError, PermissionError):
            return False
        return True
