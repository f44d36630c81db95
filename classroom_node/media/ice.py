"""ICE host addresses for the node's peer connections (tests and local stack: loopback).

aioice leaves 127.0.0.1 out of its candidates and offers every other interface;
it looks ``aioice.ice.get_host_addresses`` up by name at each gather, so replacing
it makes aiortc offer exactly the given addresses (WEBRTC-LOOPBACK.md). The hub
has the same switch; the node cannot import the hub, hence this small twin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import aioice.ice
from aiortc import RTCBundlePolicy, RTCConfiguration

__all__ = ["restrict_host_addresses", "rtc_configuration"]

_original: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: Sequence[str] | None) -> None:
    """Offer exactly ``addresses`` in every later gather (process-wide); None restores."""
    if addresses is None:
        setattr(aioice.ice, "get_host_addresses", _original)  # noqa: B010
        return
    chosen = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    setattr(aioice.ice, "get_host_addresses", get_host_addresses)  # noqa: B010


def rtc_configuration() -> RTCConfiguration:
    """No STUN (aiortc's default is a public host) and one transport for every m-line.

    ``max-bundle`` because the hub's offer has several m-lines of one kind; with
    aiortc's ``balanced`` policy the second one would never carry media.
    """
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
