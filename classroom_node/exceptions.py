"""The exceptions of ``classroom_node``: one root, data as attributes.

::

    NodeError
    ├── JournalError         a journal or event-log file on disk is unusable
    │   └── JournalFull      the outbound journal reached its bound: event refused
    ├── InvalidEvent         a caller asked to send something that is not a valid event
    └── SessionError         no session fits the request
        ├── UnknownSession   the named session is not one this node has joined
        ├── NoSession        no session given and the node has joined none
        └── AmbiguousSession no session given and more than one could be meant

``InvalidEvent`` and ``SessionError`` are the caller's mistakes (the local API
answers them with 422 and 404/409); the others are the node's own trouble.
``classroom_node.media.NodeMediaError`` is a ``NodeError`` too; an unusable
configuration is ``runtime.ConfigError``, the one configuration error of every
daemon. Broker errors stay ``broker.exceptions`` types: ``NotConnected`` never escapes
``ClassroomNode.send`` because the node journals instead.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousSession",
    "InvalidEvent",
    "JournalError",
    "JournalFull",
    "NoSession",
    "NodeError",
    "SessionError",
    "UnknownSession",
]


class NodeError(Exception):
    """Root of every error raised by ``classroom_node``."""


class JournalError(NodeError):
    """A file under ``state_dir`` could not be read or written."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(path, detail)
        self.path = path
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


class JournalFull(JournalError):
    """The outbound journal holds as much as it may; the event was not accepted.

    The hub has been unreachable (or refusing us) for long: the caller gets a clear
    error (the local API answers 503) rather than a 202 for an event that could be
    lost.
    """

    def __init__(self, path: str, entries: int, size: int) -> None:
        super().__init__(path, f"journal full ({entries} events, {size} bytes pending)")
        self.entries = entries
        self.size = size


class InvalidEvent(NodeError):
    """The type is not a lesson event or the body does not fit its schema."""

    def __init__(self, type_: str, errors: list[str]) -> None:
        super().__init__(type_, errors)
        self.type = type_
        self.errors = errors

    def __str__(self) -> str:
        return f"invalid {self.type!r} event: {'; '.join(self.errors)}"


class SessionError(NodeError):
    """No joined session matches what the caller asked for."""

    def __init__(self, detail: str, sessions: list[str] | None = None) -> None:
        super().__init__(detail, sessions)
        self.detail = detail
        self.sessions = sessions or []

    def __str__(self) -> str:
        return self.detail


class UnknownSession(SessionError):
    """The session id names no session this node has joined."""


class NoSession(SessionError):
    """The node has joined no session yet."""


class AmbiguousSession(SessionError):
    """Several joined sessions could be meant; the caller must name one."""
