"""``Signalling``: the rooms of one hub replica, made when the first peer of a session
joins and closed when its last peer leaves.

One instance per hub replica: the hub makes it at start-up (``hub.api.signalling``
finds it on ``app.state``) and closes it at shutdown. Applying the hub's
``ice_host_addresses`` happens here, once, before the first peer connection of
the process gathers candidates.
"""

from __future__ import annotations

import asyncio
import logging

from hub.core import HubCore
from hub.signalling.identity import Identity
from hub.signalling.room import Peer, Room
from hub.signalling.settings import SignallingSettings
from webrtc.ice import restrict_host_addresses

log = logging.getLogger("dualclass.hub.signalling")

__all__ = ["Signalling"]


class Signalling:
    """Rooms by session id; see the module docstring."""

    def __init__(self, hub: HubCore, settings: SignallingSettings | None = None) -> None:
        self.hub = hub
        self.settings = settings or hub.config.signalling
        if hub.config.ice_host_addresses is not None:
            # never widens a restriction made earlier in the process
            restrict_host_addresses(hub.config.ice_host_addresses)
        self.rooms: dict[str, Room] = {}
        self._lock = asyncio.Lock()

    async def enter(self, identity: Identity, peer: Peer) -> Room:
        """The session's room (started if new) with ``peer`` registered in it."""
        async with self._lock:
            room = self.rooms.get(identity.session)
            if room is None:
                spec = await self.hub.get_spec(identity.session)
                room = Room(self.hub.store, spec, self.settings)
                await room.start()
                self.rooms[identity.session] = room
            room.add(peer)
        await self._record_browser(identity, peer, joined=True)
        return room

    async def leave(self, room: Room, peer: Peer) -> None:
        """Take ``peer`` out; the last one out closes the room (feed and relay)."""
        await room.remove(peer)
        await self._record_browser(peer.identity, peer, joined=False)
        async with self._lock:
            if not room.peers and self.rooms.get(room.session) is room:
                del self.rooms[room.session]
                await room.close()

    async def _record_browser(self, identity: Identity, peer: Peer, *, joined: bool) -> None:
        """Teacher consoles count in the ledger (nodes count through MQTT presence).

        A tutor console stands in for its classroom: its time connected is that
        classroom's; a lead or observer console is a viewer. A ledger failure never
        costs a teacher the lesson.
        """
        if identity.via != "token":
            return
        classroom = identity.acting_as if identity.role == "tutor" else None
        try:
            await self.hub.ledger_feed.browser(peer.id, identity.session, joined, classroom)
        except Exception:
            log.exception("ledger: browser %s of %s not recorded", peer.id, identity.session)

    def room(self, session: str) -> Room | None:
        return self.rooms.get(session)

    async def close(self) -> None:
        async with self._lock:
            rooms, self.rooms = list(self.rooms.values()), {}
        for room in rooms:
            for peer in list(room.peers.values()):
                peer.kick(1001, "shutting_down", "the hub is stopping")
            await room.close()
