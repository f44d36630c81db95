"""What a node keeps across a restart: memberships and the events it applied.

Layout under ``state_dir``::

    memberships.json            {session: join body}, replaced atomically
    sessions/<session>/events.jsonl   every applied event, in seq order

A node killed with SIGKILL and started again reloads both, re-applies its log to
rebuild the lesson state and its ``received`` counter, and resumes at
``last_seq + 1``. The event log is flushed to the OS after each event but not
fsync'd: a killed process loses nothing that was flushed, and after a power cut a
shortened log only means the node asks the hub for a few more events again.

File I/O only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from classroom_node.exceptions import JournalError

__all__ = ["EventLog", "SessionStore"]


def _read_lines(path: Path) -> list[Any]:
    """Records of a JSON-lines file; a torn tail is dropped and cut off."""
    if not path.exists():
        return []
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalError(str(path), str(exc)) from None
    records: list[Any] = []
    good = 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            records.append(json.loads(line))
        except ValueError:
            break
        good += len(line)
    if good != len(data):
        with path.open("r+b") as f:
            f.truncate(good)
    return records


class EventLog:
    """Append-only log of one session's applied events."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def load(self) -> list[dict[str, Any]]:
        return [r for r in _read_lines(self.path) if isinstance(r, dict)]

    def append(self, event: dict[str, Any]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        try:
            self._file.write(json.dumps(event, separators=(",", ":")).encode() + b"\n")
            self._file.flush()
        except OSError as exc:
            raise JournalError(str(self.path), str(exc)) from None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class SessionStore:
    """Memberships and per-session event logs under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._logs: dict[str, EventLog] = {}

    @property
    def memberships_path(self) -> Path:
        return self.root / "memberships.json"

    def load_memberships(self) -> dict[str, dict[str, Any]]:
        path = self.memberships_path
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise JournalError(str(path), str(exc)) from None
        if not isinstance(data, dict):
            raise JournalError(str(path), "expected a JSON object")
        return {str(k): v for k, v in data.items() if isinstance(v, dict)}

    def save_memberships(self, memberships: dict[str, dict[str, Any]]) -> None:
        """Write-then-rename so a crash leaves either the old or the new file."""
        path = self.memberships_path
        tmp = path.with_suffix(".tmp")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tmp.open("w") as f:
                json.dump(memberships, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise JournalError(str(path), str(exc)) from None

    def log(self, session: str) -> EventLog:
        log = self._logs.get(session)
        if log is None:
            log = self._logs[session] = EventLog(self.root / "sessions" / session / "events.jsonl")
        return log

    def close(self) -> None:
        for log in self._logs.values():
            log.close()
