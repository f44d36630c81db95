"""Errors of the media relay.

::

    MediaError                  root: catch this to catch everything below
    +-- RoutingError            a routing request contradicts the roles (our caller's mistake)
    +-- NegotiationError        a peer's SDP cannot be served (the peer's side)
    +-- InternalsChangedError   aiortc no longer has the private internals we rely on
"""

from __future__ import annotations

__all__ = ["InternalsChangedError", "MediaError", "NegotiationError", "RoutingError"]


class MediaError(Exception):
    """Root of every error raised by ``hub.media``."""


class RoutingError(MediaError):
    """A routing request contradicts the session's roles (e.g. floor to the lead)."""


class NegotiationError(MediaError):
    """A peer's description cannot be served, e.g. no common codec."""


class InternalsChangedError(MediaError):
    """An aiortc private attribute we depend on is missing: aiortc was upgraded.

    ``name`` is the attribute that was not found.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return (
            f"aiortc private internal {self.name!r} not found; "
            "hub/media/aiortc_internals.py must be updated for this aiortc version"
        )
