"""The exceptions of ``hub`` (core daemon): one root, data as attributes.

::

    HubError
    ├── StoreUnavailable     Redis did not answer (connection refused, timeout)
    ├── NotFound             a node or session the caller named does not exist
    │   ├── UnknownNode
    │   └── UnknownSession
    ├── AlreadyExists        creating something that is already registered
    │   ├── NodeExists
    │   └── SessionExists
    └── InvalidSpec          a session spec names nodes that are not registered

Beside the tree: ``hub.scheduling.SchedulingError``, ``hub.media.MediaError`` and
``hub.signalling.SignallingError`` are ``HubError`` too. An unusable configuration
is ``runtime.ConfigError``, the one configuration error of every daemon.

Library errors (redis, aiomqtt) are translated at the edge, so the sequencer and the
API only ever see these. Errors from a node's bad input are ``protocols`` errors
(``DecodeError``, ``RuleViolation``): those are answered, never raised out of the loop.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "HubError",
    "InvalidSpec",
    "NodeExists",
    "NotFound",
    "SessionExists",
    "StoreUnavailable",
    "UnknownNode",
    "UnknownSession",
]


class HubError(Exception):
    """Root of every error raised by the hub core."""


class StoreUnavailable(HubError):
    """Redis could not be reached; the operation may be retried."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"redis unavailable: {self.detail}"


class NotFound(HubError):
    """Something named by the caller is not registered."""

    what = "object"

    def __init__(self, ident: str) -> None:
        super().__init__(ident)
        self.ident = ident

    def __str__(self) -> str:
        return f"unknown {self.what} {self.ident!r}"


class UnknownNode(NotFound):
    what = "node"


class UnknownSession(NotFound):
    what = "session"


class AlreadyExists(HubError):
    """Creating something that already exists."""

    what = "object"

    def __init__(self, ident: str) -> None:
        super().__init__(ident)
        self.ident = ident

    def __str__(self) -> str:
        return f"{self.what} {self.ident!r} already exists"


class NodeExists(AlreadyExists):
    what = "node"


class SessionExists(AlreadyExists):
    what = "session"


class InvalidSpec(HubError):
    """A session spec that cannot be accepted (e.g. unregistered member nodes)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"invalid session spec: {self.detail}"
