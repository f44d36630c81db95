"""Media relay of the hub: the per-session forwarding unit (aiortc).

Modules, pure ones first:

- ``routing``   who receives whom (roles, slots, floor); no I/O, no aiortc
- ``timing``    RTP timestamp rebasing and keyframe-request pacing; pure
- ``bitstream`` keyframe detection in encoded frames; pure
- ``codecs``    codec preferences for the hub's transceivers
- ``ice``       ICE host-address restriction (loopback in tests) and RTCConfiguration
- ``aiortc_internals`` the ONLY place that touches aiortc private internals
- ``tracks``    slot tracks: pass-through (encoded) and re-encoding (decoded)
- ``relay``     ``SessionRelay``: peer connections, upstream taps, routing
- ``participant`` reference participant peer (tests, bench)
- ``testsource`` synthetic camera/microphone

May import: aiortc, aioice, av, numpy; nothing else of the hub.
"""

from __future__ import annotations

from broker.ice import LOOPBACK, restrict_host_addresses, rtc_configuration
from hub.media.exceptions import (
    InternalsChangedError,
    MediaError,
    NegotiationError,
    RoutingError,
)
from hub.media.relay import RelayMode, RelaySettings, SessionRelay
from hub.media.routing import MLine, Role, Slot, media_layout

__all__ = [
    "LOOPBACK",
    "InternalsChangedError",
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
