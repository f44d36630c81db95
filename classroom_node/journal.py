"""The offline journal: the node's own outbound events, on disk until the broker has them.

While the broker is unreachable (or a publish fails) an event the classroom made
must survive a crash of the node, so it is appended here and fsync'd before
``ClassroomNode.send`` returns. When the link is back the node sends the pending
entries in order, with their original ids, and acknowledges each one only after
the broker's PUBACK. A crash between PUBACK and the acknowledgement record makes
the node send that event again on restart, which is harmless: the hub drops
duplicates by id.

Format: JSON lines, one record each, ``{"add": <message>}`` or ``{"ack": "<id>"}``.
Acknowledgements are not fsync'd (losing one costs only a duplicate). A torn last
line (crash mid-write) is ignored and cut off on open. When nothing is pending the
file is truncated; when many acknowledged records pile up it is rewritten.

File I/O only: this module knows nothing of MQTT or messages beyond their ``id``.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

from classroom_node.exceptions import JournalError

__all__ = ["Journal"]

#: Rewrite the file once this many acknowledged records sit in it.
_COMPACT_AFTER = 1000


class Journal:
    """Append-only outbound journal; ``pending()`` lists unacknowledged messages in order."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self._fsync = fsync
        self._pending: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._dead = 0
        self._file: Any = None
        self.appended = 0
        self.acked = 0

    # ------------------------------------------------------------ lifecycle

    def open(self) -> Journal:
        """Load what a previous run left and open the file for appending."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        good_bytes = 0
        if self.path.exists():
            try:
                data = self.path.read_bytes()
            except OSError as exc:
                raise JournalError(str(self.path), str(exc)) from None
            for line in data.splitlines(keepends=True):
                if not line.endswith(b"\n"):
                    break  # torn last write
                try:
                    record = json.loads(line)
                except ValueError:
                    break
                self._replay(record)
                good_bytes += len(line)
            if good_bytes != len(data):
                with self.path.open("r+b") as f:
                    f.truncate(good_bytes)
        try:
            self._file = self.path.open("ab")
        except OSError as exc:
            raise JournalError(str(self.path), str(exc)) from None
        if not self._pending and good_bytes:
            self._truncate()
        return self

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _replay(self, record: Any) -> None:
        if not isinstance(record, dict):
            return
        if "add" in record and isinstance(record["add"], dict):
            message = record["add"]
            self._pending[str(message.get("id"))] = message
        elif "ack" in record:
            if self._pending.pop(str(record["ack"]), None) is not None:
                self._dead += 2

    # ------------------------------------------------------------ operations

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._pending

    def pending(self) -> list[dict[str, Any]]:
        """Unacknowledged messages, oldest first."""
        return list(self._pending.values())

    def append(self, message: dict[str, Any]) -> None:
        """Record an outbound message durably (fsync'd unless disabled)."""
        message_id = str(message["id"])
        self._write({"add": message}, sync=self._fsync)
        self._pending[message_id] = message
        self.appended += 1

    def ack(self, message_id: str) -> None:
        """The broker has ``message_id``: forget it."""
        if self._pending.pop(message_id, None) is None:
            return
        self.acked += 1
        if not self._pending:
            self._truncate()
            return
        self._write({"ack": message_id}, sync=False)
        self._dead += 2
        if self._dead >= _COMPACT_AFTER:
            self._rewrite()

    # ------------------------------------------------------------ file work

    def _write(self, record: dict[str, Any], *, sync: bool) -> None:
        if self._file is None:
            raise JournalError(str(self.path), "journal is not open")
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        try:
            self._file.write(line)
            self._file.flush()
            if sync:
                os.fsync(self._file.fileno())
        except OSError as exc:
            raise JournalError(str(self.path), str(exc)) from None

    def _truncate(self) -> None:
        try:
            self._file.truncate(0)
            self._file.flush()
        except OSError as exc:
            raise JournalError(str(self.path), str(exc)) from None
        self._dead = 0

    def _rewrite(self) -> None:
        """Replace the file by one holding only pending entries (atomic rename)."""
        tmp = self.path.with_suffix(".tmp")
        try:
            with tmp.open("wb") as f:
                for message in self._pending.values():
                    f.write(json.dumps({"add": message}, separators=(",", ":")).encode() + b"\n")
                f.flush()
                os.fsync(f.fileno())
            self._file.close()
            os.replace(tmp, self.path)
            self._file = self.path.open("ab")
        except OSError as exc:
            raise JournalError(str(self.path), str(exc)) from None
        self._dead = 0
