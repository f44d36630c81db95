"""The exceptions of ``classroom_node.media``, under the node's root ``NodeError``.

::

    NodeError
    └── NodeMediaError          media could not be set up or kept up
        ├── SignalRefused       the hub refused the join (code, status as it said)
        └── SignalClosed        the signalling connection ended unexpectedly
"""

from __future__ import annotations

from classroom_node.exceptions import NodeError

__all__ = ["NodeMediaError", "SignalClosed", "SignalRefused"]


class NodeMediaError(NodeError):
    """Root of the node's media errors."""


class SignalRefused(NodeMediaError):
    """The hub answered ``error`` to our ``join``."""

    def __init__(self, code: str, detail: str, status: int | None = None) -> None:
        super().__init__(code, detail, status)
        self.code = code
        self.detail = detail
        self.status = status

    def __str__(self) -> str:
        return f"join refused: {self.code} ({self.status}): {self.detail}"


class SignalClosed(NodeMediaError):
    """The signalling WebSocket closed before we were done with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"signalling closed: {self.reason}"
