"""WebRTC from the node to its own classroom screen: the lead's video and screen.

The node already receives the lesson's media from the hub (``classroom_node.media``:
the lead in the ``main`` slot, the lead's shared screen in the ``screen`` slot). The
display page on the same box asks for both by offering two receive-only video
m-lines on ``POST /display/rtc``; the node answers with a peer connection of its
own that sends those tracks (read through the media layer's relay, latest frame
only). Nothing here touches the hub: the page and the node talk over loopback.
Without node media (``DUALCLASS_NODE_MEDIA__ENABLED`` off) the page keeps the slides
and says the video is unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from aiortc import RTCPeerConnection, RTCSessionDescription

from webrtc.ice import rtc_configuration

if TYPE_CHECKING:
    from classroom_node.node import ClassroomNode

__all__ = ["DisplayBridge", "NoMedia"]

log = logging.getLogger("dualclass.node.display")

#: The display page's m-lines, in order: what each one shows.
LINES = ("main/video", "screen/video")
#: Screens connected at once; a new one beyond this closes the oldest.
MAX_PEERS = 4


class NoMedia(Exception):
    """The node receives no media for that session (media off, or not connected yet)."""


class DisplayBridge:
    """Peer connections from this node to its display pages."""

    def __init__(self, node: ClassroomNode) -> None:
        self.node = node
        self._peers: list[RTCPeerConnection] = []
        #: which media connection each peer's tracks come from
        self._source: dict[RTCPeerConnection, Any] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def available(self, session: str) -> dict[str, bool]:
        """Which of the lead's video and screen the node is receiving now.

        Peers fed by a media connection that has since been replaced (the hub link
        dropped and came back) are closed, so their pages ask again.
        """
        media = self._session_media(session)
        for pc, source in list(self._source.items()):
            if source.session == session and source is not media:
                self._forget(pc)
        received = getattr(media, "received", {}) if media is not None else {}
        return {name.split("/")[0]: name in received for name in LINES}

    def _session_media(self, session: str) -> Any:
        runner = getattr(self.node, "media", None)
        sessions = getattr(runner, "sessions", None) or {}
        media = sessions.get(session)
        if media is None or not media.connected.is_set():
            return None
        return media

    async def answer(self, session: str, offer_sdp: str) -> str:
        """Answer a display page's offer with the node's received tracks."""
        media = self._session_media(session)
        if media is None:
            raise NoMedia(f"no media for {session} on this node")
        pc = RTCPeerConnection(rtc_configuration())
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            transceivers = pc.getTransceivers()
            if len(transceivers) != len(LINES) or any(t.kind != "video" for t in transceivers):
                raise ValueError(f"expected {len(LINES)} video m-lines")
            for transceiver, name in zip(transceivers, LINES, strict=True):
                track = media.watch(name)
                if track is not None:
                    transceiver.sender.replaceTrack(track)
                    transceiver.direction = "sendonly"
                else:
                    transceiver.direction = "inactive"
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:
            await pc.close()
            raise
        self._peers.append(pc)
        self._source[pc] = media
        while len(self._peers) > MAX_PEERS:
            self._forget(self._peers[0])

        @pc.on("connectionstatechange")
        async def _state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self._forget(pc)

        return str(pc.localDescription.sdp)

    def _forget(self, pc: RTCPeerConnection) -> None:
        if pc in self._peers:
            self._peers.remove(pc)
        self._source.pop(pc, None)
        task = asyncio.ensure_future(pc.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        for pc in list(self._peers):
            self._forget(pc)
        for task in list(self._closing):
            with contextlib.suppress(Exception):
                await task
