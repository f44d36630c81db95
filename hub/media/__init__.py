"""Media relay of the hub: the per-session forwarding unit (aiortc).

Modules, pure ones first:

- ``routing``   who receives whom (roles, slots, floor); no I/O, no aiortc
- ``timing``    RTP timestamp rebasing and keyframe-request pacing; pure
- ``codecs``    codec preferences for the hub's transceivers
- ``tracks``    slot tracks: pass-through (encoded) and re-encoding (decoded)
- ``relay``     ``SessionRelay``: peer connections, upstream taps, routing

Shared WebRTC helpers (ICE settings, the aiortc internals, keyframe detection)
live in ``webrtc``; the reference participant and test sources in
``simulators.media``.

May import: webrtc, protocols, aiortc, aioice, av, numpy; nothing else of the hub.
"""

from __future__ import annotations

from hub.media.exceptions import (
    MediaError,
    NegotiationError,
    RoutingError,
)
from hub.media.relay import RelayMode, RelaySettings, SessionRelay
from hub.media.routing import MLine, Role, Slot, media_layout
from webrtc.ice import LOOPBACK, restrict_host_addresses, rtc_configuration

__all__ = [
    "LOOPBACK",
    "MLine",
    "MediaError",
    "NegotiationError",
    "RelayMode",
    "RelaySettings",
    "Role",
    "RoutingError",
    "SessionRelay",
    "Slot",
    "media_layout",
    "restrict_host_addresses",
    "rtc_configuration",
]
