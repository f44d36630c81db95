"""Test peers: a ``SignalClient`` plus the reference aiortc participant of the relay."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiortc import MediaStreamTrack, RTCSessionDescription

from classroom_node.media.signalclient import SignalClient
from hub.media.routing import Role
from hub.tokens import JoinRole, derive_key, mint_token
from protocols.signalling import SignalJoin, SignalJoined
from simulators.media.participant import ParticipantPeer
from simulators.media.testsource import VideoTestSource
from tests.hub.hubkit import ADMIN_KEY

_MEDIA_ROLES = {"lead": Role.LEAD, "tutor": Role.PARTNER, "partner": Role.PARTNER}


def token(role: JoinRole, *, session: str = "S1", node: str | None = None, **kw: Any) -> str:
    ttl = kw.pop("ttl_s", 600)
    text, _ = mint_token(
        derive_key(ADMIN_KEY), session=session, role=role, ttl_s=ttl, node=node, **kw
    )
    return text


@dataclass
class MediaPeer:
    client: SignalClient
    joined: SignalJoined
    rtc: ParticipantPeer


@asynccontextmanager
async def media_peer(
    url: str,
    join: SignalJoin,
    *,
    source: int | None = None,
    screen: int | None = None,
    low: int | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[MediaPeer]:
    """Join, answer the hub's offer (sending the pattern of ``source`` if given, as
    a lead's shared screen the pattern of ``screen``, and with ``low`` a low camera
    layer showing that pattern: join with ``layers=2`` then)."""
    async with SignalClient(url, join, ssl_context=ssl_context) as client:
        joined = await client.joined()
        # a console that only watches (no camera) gets an observer's layout
        camera = joined.camera or join.token is None
        role = _MEDIA_ROLES.get(joined.role, Role.OBSERVER) if camera else Role.OBSERVER
        video: MediaStreamTrack | None = None
        if source is not None:
            video = VideoTestSource(source, width=640, height=480, fps=15)
        shared = VideoTestSource(screen, width=640, height=480, fps=10) if screen else None
        video_low = VideoTestSource(low, width=400, height=240, fps=15) if low else None
        rtc = ParticipantPeer(
            role,
            video=video,
            screen=shared,
            video_low=video_low,
            screen_line=joined.role == "lead",
            decode=True,
        )
        try:
            offer = await client.offer()
            answer = await rtc.answer(RTCSessionDescription(offer.sdp, "offer"))
            await client.answer(answer.sdp)
            yield MediaPeer(client, joined, rtc)
        finally:
            await rtc.close()
