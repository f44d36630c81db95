"""ICE settings of the relay: which host addresses aiortc offers, and no public STUN.

Tests, benchmarks and the local stack must carry media on 127.0.0.1 only (see
WEBRTC-LOOPBACK.md). aioice's ``get_host_addresses`` leaves out 127.0.0.1 and
offers every other interface; ``Connection.gather_candidates`` looks that
function up by module attribute at each gather, so replacing
``aioice.ice.get_host_addresses`` before any peer connection gathers makes
aiortc offer exactly the addresses we choose. The setting is
``ice_host_addresses``: ``("127.0.0.1",)`` in tests and the local stack,
``None`` (aioice's own discovery) in production.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

__all__ = [
    "LOOPBACK",
    "restrict_host_addresses",
    "restricted_host_addresses",
    "rtc_configuration",
]

LOOPBACK: tuple[str, ...] = ("127.0.0.1",)
"""The value of ``ice_host_addresses`` for tests and the local stack."""

_original_get_host_addresses: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: Sequence[str] | None) -> None:
    """Make every later ICE gather in this process offer exactly ``addresses``.

    ``None`` restores aioice's own interface discovery. This is process-wide
    (aioice has no per-connection hook), so call it once at start-up from the
    process's configuration, before the first peer connection gathers.
    """
    if addresses is None:
        aioice.ice.get_host_addresses = _original_get_host_addresses
        return
    chosen = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


def restricted_host_addresses() -> list[str] | None:
    """The addresses ICE currently offers if restricted, else None (for checks and logs)."""
    if aioice.ice.get_host_addresses is _original_get_host_addresses:
        return None
    return aioice.ice.get_host_addresses(True, True)


def rtc_configuration(ice_servers: Sequence[RTCIceServer] = ()) -> RTCConfiguration:
    """An ``RTCConfiguration`` with only the given ICE servers.

    aiortc's default configuration adds a public STUN server; the hub is
    reachable directly (or via TURN configured explicitly), so by default we
    use none and nothing leaves the machine during a test.
    """
    return RTCConfiguration(iceServers=list(ice_servers))
