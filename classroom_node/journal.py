"""The outbound journal: every event the classroom made, on disk until the hub has it.

An event the local API answered 202 for must reach the session log whatever
crashes, so it is appended here and fsync'd before ``ClassroomNode.submit``
returns, and it stays here until the node has *seen* it: its id in the session's
sequenced stream, or a ``cmd.rejected`` for it. The broker's PUBACK is not enough
(a broker can accept a message and drop it, or crash before it is stored); the
node resends unconfirmed entries, same id, after a timeout with backoff, and the
hub's dedupe on (sender, id) makes a resend harmless.

This module keeps the durable part and the bookkeeping of each entry (sent yet?
when? how many tries?), so the sending policy in ``node.py`` stays small:

* ``due(now, window)``: what to (re)send now: never-sent entries in order while
  fewer than ``window`` are in flight, and sent ones whose confirmation is overdue;
* ``sent(id, now)`` after a publish, ``unsent(id)`` when it did not get through;
* ``confirm(id)`` when the id is seen in the stream or rejected for good.

Bounded: at most ``max_entries`` pending and ``max_bytes`` of them; beyond that
``append`` raises ``JournalFull`` (the caller answers it as an error and counts
it) instead of dropping anything silently.

Format: JSON lines, ``{"add": <message>}`` or ``{"ack": "<id>"}``. Confirmations
are not fsync'd (losing one costs only a resend). A torn last line (crash
mid-write) is ignored and cut off on open. When nothing is pending the file is
truncated; when many confirmed records pile up it is rewritten.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom_node.exceptions import JournalError, JournalFull

__all__ = ["Entry", "Journal"]

#: Rewrite the file once this many confirmed records sit in it.
_COMPACT_AFTER = 1000


@dataclass(slots=True)
class Entry:
    """One pending outbound message and its delivery bookkeeping (memory only)."""

    message: dict[str, Any]
    size: int
    added_at: float
    sent_at: float | None = None
    tries: int = 0
    #: earliest time of the next (re)send
    next_at: float = 0.0


class Journal:
    """Durable outbound queue; entries leave only by ``confirm``."""

    def __init__(
        self,
        path: Path,
        *,
        fsync: bool = True,
        max_entries: int = 20_000,
        max_bytes: int = 32 * 1024 * 1024,
        confirm_timeout_s: float = 10.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.path = path
        self._fsync = fsync
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.confirm_timeout_s = confirm_timeout_s
        self.max_backoff_s = max_backoff_s
        self._pending: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._flying = 0
        self._dead = 0
        self._file: Any = None
        self.appended = 0
        self.confirmed = 0
        self.resent = 0
        self.full = 0

    # ------------------------------------------------------------ lifecycle

    def open(self, now: float = 0.0) -> Journal:
        """Load what a previous run left (all of it counts as never sent) and open."""
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
                self._replay(record, len(line), now)
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

    def _replay(self, record: Any, size: int, now: float) -> None:
        if not isinstance(record, dict):
            return
        if "add" in record and isinstance(record["add"], dict):
            message = record["add"]
            key = str(message.get("id"))
            if key not in self._pending:
                self._pending[key] = Entry(message, size, now)
                self._bytes += size
        elif "ack" in record:
            entry = self._pending.pop(str(record["ack"]), None)
            if entry is not None:
                self._bytes -= entry.size
                self._dead += 2

    # ------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._pending

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def pending(self) -> list[dict[str, Any]]:
        """Unconfirmed messages, oldest first."""
        return [e.message for e in self._pending.values()]

    def entry(self, message_id: str) -> Entry | None:
        return self._pending.get(message_id)

    @property
    def in_flight(self) -> int:
        """Entries sent and not yet confirmed."""
        return self._flying

    def oldest_age(self, now: float) -> float:
        """Seconds the oldest unconfirmed entry has waited (0 when none)."""
        for entry in self._pending.values():
            return max(0.0, now - entry.added_at)
        return 0.0

    def due(self, now: float, window: int) -> list[str]:
        """Ids to (re)send now, in journal order.

        Never-sent entries go in order and only while fewer than ``window`` are in
        flight; the first one still waiting for its backoff stops them (order is
        kept). Sent entries are due again when their confirmation is overdue.
        """
        out: list[str] = []
        flying = self.in_flight
        blocked = False
        sent_seen = 0
        for key, entry in self._pending.items():
            if entry.sent_at is None:
                if blocked or flying >= window or entry.next_at > now:
                    blocked = True
                    if sent_seen >= self._flying:
                        break  # nothing further can be due: a long backlog costs nothing
                    continue
                out.append(key)
                flying += 1
            else:
                sent_seen += 1
                if entry.next_at <= now:
                    out.append(key)
        return out

    # ------------------------------------------------------------ operations

    def append(self, message: dict[str, Any], now: float = 0.0) -> None:
        """Record an outbound message durably (fsync'd unless disabled).

        Raises ``JournalFull`` when the bounds are reached (nothing is written).
        """
        message_id = str(message["id"])
        line = _line({"add": message})
        if len(self._pending) >= self.max_entries or self._bytes + len(line) > self.max_bytes:
            self.full += 1
            raise JournalFull(str(self.path), len(self._pending), self._bytes)
        self._write(line, sync=self._fsync)
        self._pending[message_id] = Entry(message, len(line), now)
        self._bytes += len(line)
        self.appended += 1

    def sent(self, message_id: str, now: float) -> None:
        """It went out (PUBACK): expect to see it in the stream within the timeout."""
        entry = self._pending.get(message_id)
        if entry is None:
            return
        if entry.sent_at is not None:
            self.resent += 1
        else:
            self._flying += 1
        entry.tries += 1
        entry.sent_at = now
        backoff = min(self.confirm_timeout_s * 2 ** (entry.tries - 1), self.max_backoff_s)
        entry.next_at = now + backoff

    def unsent(self, message_id: str, now: float, retry_in: float = 0.0) -> None:
        """It did not get through (or must be sent again): back to the send queue."""
        entry = self._pending.get(message_id)
        if entry is None:
            return
        if entry.sent_at is not None:
            self._flying -= 1
        entry.sent_at = None
        entry.next_at = now + retry_in

    def all_unsent(self) -> None:
        """After a reconnect: in-flight state of the old connection means nothing."""
        for entry in self._pending.values():
            entry.sent_at = None
            entry.next_at = 0.0
        self._flying = 0

    def confirm(self, message_id: str) -> bool:
        """The hub has it (seen in the stream) or refused it for good: forget it."""
        entry = self._pending.pop(message_id, None)
        if entry is None:
            return False
        if entry.sent_at is not None:
            self._flying -= 1
        self._bytes -= entry.size
        self.confirmed += 1
        if not self._pending:
            self._truncate()
            return True
        self._write(_line({"ack": message_id}), sync=False)
        self._dead += 2
        if self._dead >= _COMPACT_AFTER:
            self._rewrite()
        return True

    # ------------------------------------------------------------ file work

    def _write(self, line: bytes, *, sync: bool) -> None:
        if self._file is None:
            raise JournalError(str(self.path), "journal is not open")
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
                for entry in self._pending.values():
                    f.write(_line({"add": entry.message}))
                f.flush()
                os.fsync(f.fileno())
            self._file.close()
            os.replace(tmp, self.path)
            self._file = self.path.open("ab")
        except OSError as exc:
            raise JournalError(str(self.path), str(exc)) from None
        self._dead = 0


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"
