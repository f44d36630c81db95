"""The recordings folder: one sub-folder per session, read and pruned safely.

Every name that comes from outside (a session id in a URL, a file name) is
checked against a strict pattern and against the session's own manifest before
a path is built, so a request can reach only files the recorder wrote.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any

from hub.recording.exceptions import RecordingError, RecordingNotFound
from hub.recording.recorder import MANIFEST, TIMELINE

__all__ = ["RecordingStore"]

log = logging.getLogger("dualclass.hub.recording")

_SESSION = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,63}$")
_FILE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}\.(webm|json)$")


class RecordingStore:
    """Read, list and delete recordings under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, session: str) -> Path:
        if not _SESSION.match(session) or session in (".", ".."):
            raise RecordingNotFound(f"no recording for {session!r}")
        return self.root / session

    def manifest(self, session: str) -> dict[str, Any]:
        """The session's manifest (``RecordingNotFound`` if there is none)."""
        path = self.folder(session) / MANIFEST
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            raise RecordingNotFound(f"no recording for {session!r}") from None
        except (OSError, ValueError) as exc:
            raise RecordingError(f"recording of {session!r} unreadable: {exc}") from None
        return data

    def manifests(self) -> list[dict[str, Any]]:
        """Every recording's manifest, newest first."""
        out: list[dict[str, Any]] = []
        if not self.root.is_dir():
            return out
        for child in self.root.iterdir():
            try:
                out.append(self.manifest(child.name))
            except (RecordingNotFound, RecordingError):
                continue
        return sorted(out, key=lambda m: m.get("epoch_ms") or 0, reverse=True)

    def file(self, session: str, name: str) -> Path:
        """Path of a file the manifest lists (or the timeline); else ``RecordingNotFound``."""
        manifest = self.manifest(session)
        allowed = {f.get("name") for f in manifest.get("files", [])} | {TIMELINE, MANIFEST}
        if not _FILE.match(name) or name not in allowed:
            raise RecordingNotFound(f"no file {name!r} in the recording of {session!r}")
        path = self.folder(session) / name
        if not path.is_file():
            raise RecordingNotFound(f"no file {name!r} in the recording of {session!r}")
        return path

    def timeline(self, session: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((self.folder(session) / TIMELINE).read_text())
        except (OSError, ValueError):
            return None
        return data

    def delete(self, session: str) -> None:
        folder = self.folder(session)
        if not (folder / MANIFEST).exists():
            raise RecordingNotFound(f"no recording for {session!r}")
        shutil.rmtree(folder)

    def prune(self, retention_days: float, *, now: float | None = None) -> list[str]:
        """Delete recordings last written more than ``retention_days`` ago; their ids."""
        if not self.root.is_dir():
            return []
        cutoff = (time.time() if now is None else now) - retention_days * 86_400
        gone = []
        for child in self.root.iterdir():
            manifest = child / MANIFEST
            try:
                if not _SESSION.match(child.name) or not manifest.is_file():
                    continue
                if manifest.stat().st_mtime < cutoff:
                    shutil.rmtree(child)
                    gone.append(child.name)
            except OSError as exc:
                log.warning("recordings: cannot prune %s: %s", child, exc)
        if gone:
            log.info("recordings older than %s days deleted: %s", retention_days, gone)
        return gone
