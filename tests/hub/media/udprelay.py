"""A UDP relay of the test's own between two aiortc peers on 127.0.0.1, with loss.

The kernel here has no ``netem``, so loss comes from this relay. It is spliced
into one peer connection by rewriting the host candidate in each side's SDP:
the hub is told the participant lives at ``hub_side``'s port, the participant
that the hub lives at ``peer_side``'s port, and the relay copies datagrams
between the two. ICE, DTLS, SRTP and RTCP all pass through; SRTP leaves the RTP
header in clear, so a test can drop packets by SSRC and sequence number
(``drop``), e.g. "ten packets of the video SSRC, and every retransmission",
which makes a hole the receiver can never fill.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

__all__ = ["Direction", "UdpRelay", "rtp_header", "rtx_pair", "splice"]

#: ``drop(direction, ssrc, seq) -> bool`` for each RTP packet passing.
DropRule = Callable[["Direction", int, int], bool]


class Direction:
    TO_HUB = "to_hub"
    TO_PEER = "to_peer"


def rtp_header(data: bytes) -> tuple[int, int] | None:
    """(ssrc, sequence number) of an RTP packet; None for RTCP, STUN, DTLS."""
    if len(data) < 12 or data[0] >> 6 != 2 or 64 <= (data[1] & 0x7F) <= 95:
        return None
    return int.from_bytes(data[8:12], "big"), int.from_bytes(data[2:4], "big")


_CANDIDATE = re.compile(r"(a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 )(\d+)( typ host)")


def candidate_port(sdp: str) -> int:
    match = _CANDIDATE.search(sdp)
    if match is None:
        raise ValueError("no 127.0.0.1 host candidate in the SDP")
    return int(match.group(2))


def splice(sdp: str, port: int) -> str:
    """``sdp`` with its host candidate's port replaced by ``port``."""
    return _CANDIDATE.sub(lambda m: f"{m.group(1)}{port}{m.group(3)}", sdp)


def rtx_pair(sdp: str, direction: str) -> tuple[int, int]:
    """(media SSRC, RTX SSRC) of the first video m-section sending in ``direction``
    (``sendonly`` or ``sendrecv``) that has an RTX group."""
    for section in sdp.split("m=")[1:]:
        if not section.startswith("video") or f"a={direction}" not in section:
            continue
        group = re.search(r"a=ssrc-group:FID (\d+) (\d+)", section)
        if group is not None:
            return int(group.group(1)), int(group.group(2))
    raise ValueError(f"no {direction} video section with RTX in the SDP")


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay, direction: str) -> None:
        self.relay = relay
        self.direction = direction  # where what this side receives goes
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.relay.forward(self.direction, data)


@dataclass
class UdpRelay:
    """Two sockets: ``hub_side`` (the hub sends to it) and ``peer_side`` (the peer does)."""

    drop: DropRule | None = None
    hub_addr: tuple[str, int] | None = None
    peer_addr: tuple[str, int] | None = None
    forwarded: dict[str, int] = field(default_factory=lambda: {"to_hub": 0, "to_peer": 0})
    dropped: dict[str, int] = field(default_factory=lambda: {"to_hub": 0, "to_peer": 0})
    _hub_side: _Side | None = None
    _peer_side: _Side | None = None

    async def start(self) -> UdpRelay:
        loop = asyncio.get_running_loop()
        _, self._hub_side = await loop.create_datagram_endpoint(
            lambda: _Side(self, Direction.TO_PEER), local_addr=("127.0.0.1", 0)
        )
        _, self._peer_side = await loop.create_datagram_endpoint(
            lambda: _Side(self, Direction.TO_HUB), local_addr=("127.0.0.1", 0)
        )
        return self

    @property
    def hub_side_port(self) -> int:
        assert self._hub_side is not None and self._hub_side.transport is not None
        return int(self._hub_side.transport.get_extra_info("sockname")[1])

    @property
    def peer_side_port(self) -> int:
        assert self._peer_side is not None and self._peer_side.transport is not None
        return int(self._peer_side.transport.get_extra_info("sockname")[1])

    def forward(self, direction: str, data: bytes) -> None:
        if direction == Direction.TO_HUB:
            out, addr = self._hub_side, self.hub_addr
        else:
            out, addr = self._peer_side, self.peer_addr
        if out is None or out.transport is None or addr is None:
            return
        header = rtp_header(data)
        if header is not None and self.drop is not None and self.drop(direction, *header):
            self.dropped[direction] += 1
            return
        self.forwarded[direction] += 1
        out.transport.sendto(data, addr)

    def close(self) -> None:
        for side in (self._hub_side, self._peer_side):
            if side is not None and side.transport is not None:
                side.transport.close()
