"""The exceptions of ``hub.signalling``: one root, data as attributes.

::

    SignallingError (HubError)
    └── JoinRefused      a join the hub will not accept: bad, expired or misplaced
                         credentials, unknown session, not a member

``code`` is the machine code sent in the ``error`` message and ``status`` its HTTP
equivalent (401 who-are-you, 403 not-allowed, 404 no-such-session), so browser code
can treat a WebSocket refusal like a refused HTTP call.
"""

from __future__ import annotations

from hub.exceptions import HubError

__all__ = ["JoinRefused", "SignallingError"]


class SignallingError(HubError):
    """Root of every error raised by ``hub.signalling`` (a ``HubError``)."""


class JoinRefused(SignallingError):
    """The peer's ``join`` is refused; the socket is closed after saying why."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(status, code, detail)
        self.status = status
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail}"
