"""WebRTC transport settings shared by the hub's relay and the nodes' media.

Which host addresses aiortc offers, and no public STUN. One module for both sides:
the switch patches a process-wide aioice function, so two copies in one process
(tests run hub and node media together) would each remember a different "original".

Tests, benchmarks and the local stack must carry media on 127.0.0.1 only
(``docs/media.md``, "ICE on loopback"). aioice's ``get_host_addresses`` leaves out 127.0.0.1 and
offers every other interface; ``Connection.gather_candidates`` looks that
function up by module attribute at each gather, so replacing
``aioice.ice.get_host_addresses`` before any peer connection gathers makes
aiortc offer exactly the addresses we choose. The setting is
``ice_host_addresses``: ``("127.0.0.1",)`` in tests and the local stack,
``None`` (aioice's own discovery) in production.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aioice.ice
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
)

__all__ = [
    "LOOPBACK",
    "restrict_host_addresses",
    "restricted_host_addresses",
    "rtc_configuration",
    "rtc_ice_servers",
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
        setattr(aioice.ice, "get_host_addresses", _original_get_host_addresses)  # noqa: B010
        return
    chosen = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    # aioice reads the module attribute at each gather (Connection.gather_candidates).
    setattr(aioice.ice, "get_host_addresses", get_host_addresses)  # noqa: B010


def restricted_host_addresses() -> list[str] | None:
    """The addresses ICE currently offers if restricted, else None (for checks and logs)."""
    if aioice.ice.get_host_addresses is _original_get_host_addresses:
        return None
    return aioice.ice.get_host_addresses(True, True)


def rtc_configuration(
    ice_servers: Sequence[RTCIceServer] = (), *, relay_only: bool = False
) -> RTCConfiguration:
    """An ``RTCConfiguration`` with only the given ICE servers, everything on one transport.

    aiortc's default configuration adds a public STUN server; the hub is
    reachable directly (or via TURN configured explicitly), so by default we
    use none and nothing leaves the machine during a test.

    ``max-bundle``: the relay's peer connections have several m-lines of the
    same kind (upstream plus slots). With aiortc's default ``balanced`` policy
    the second audio m-line is created on the first audio m-line's transport,
    which BUNDLE negotiation then stops: that m-line never gets media (seen in
    aiortc 1.16.0). With ``max-bundle`` every m-line shares one transport from
    the start, which is also one ICE gather and one socket per peer.

    ``relay_only``: offer only TURN relay candidates (a school whose firewall lets
    nothing but the TURN server through).
    """
    return RTCConfiguration(
        iceServers=list(ice_servers),
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
    )


def rtc_ice_servers(servers: Sequence[Mapping[str, Any]]) -> list[RTCIceServer]:
    """aiortc's form of ``joined.ice_servers`` / ``webrtc.iceservers.ice_servers_for``.

    aioice uses the first STUN and the first TURN URL it is given.
    """
    return [
        RTCIceServer(
            urls=list(server["urls"]),
            username=server.get("username"),
            credential=server.get("credential"),
        )
        for server in servers
    ]
