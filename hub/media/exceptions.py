"""Errors of the media relay.

::

    MediaError (HubError)       root: catch this to catch everything below
    +-- RoutingError            a routing request contradicts the roles (our caller's mistake)
    +-- NegotiationError        a peer's SDP cannot be served (the peer's side)
"""

from __future__ import annotations

from hub.exceptions import HubError

__all__ = ["MediaError", "NegotiationError", "RoutingError"]


class MediaError(HubError):
    """Root of every error raised by ``hub.media`` (a ``HubError``)."""


class RoutingError(MediaError):
    """A routing request contradicts the session's roles (e.g. floor to the lead)."""


class NegotiationError(MediaError):
    """A peer's description cannot be served, e.g. no common codec."""
