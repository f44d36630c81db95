"""``Signalling``: the rooms of one hub replica, made when the first peer of a session
joins and closed when its last peer leaves.

One instance per hub application (``hub.api.signalling`` keeps it on
``app.state``); applying the ICE setting happens here, once, before the first
peer connection of the process gathers candidates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hub.core import HubCore
from hub.recording.flags import should_record
from hub.signalling.identity import Identity
from hub.signalling.room import Peer, Room
from hub.signalling.settings import SignallingSettings

log = logging.getLogger("dualclass.hub.signalling")

__all__ = ["Signalling"]


def _reason_label(reason: str) -> str:
    """A bounded label for the metric (reasons may carry file names)."""
    return reason if reason in ("disk_full",) else reason.split(" ", 1)[0].rstrip(":")[:32]


class Signalling:
    """Rooms by session id; see the module docstring."""

    def __init__(self, hub: HubCore, settings: SignallingSettings | None = None) -> None:
        self.hub = hub
        self.settings = settings or SignallingSettings()
        self.settings.apply_ice()
        self.rooms: dict[str, Room] = {}
        self._lock = asyncio.Lock()

    async def enter(self, identity: Identity, peer: Peer) -> Room:
        """The session's room (started if new) with ``peer`` registered in it."""
        async with self._lock:
            room = self.rooms.get(identity.session)
            if room is None:
                spec = await self.hub.get_spec(identity.session)
                recording = self.hub.config.recording_settings()
                room = Room(
                    self.hub.store,
                    spec,
                    self.settings,
                    recording=recording,
                    record=await should_record(self.hub, spec),
                    on_recording_stopped=self._recording_alert(spec.session),
                )
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

    def _recording_alert(self, session: str) -> Callable[[str], None]:
        def alert(reason: str) -> None:
            self.hub.metrics.recording_stopped.labels(reason=_reason_label(reason)).inc()

        return alert

    def room(self, session: str) -> Room | None:
        return self.rooms.get(session)

    async def close(self) -> None:
        async with self._lock:
            rooms, self.rooms = list(self.rooms.values()), {}
        for room in rooms:
            for peer in list(room.peers.values()):
                peer.kick(1001, "shutting_down", "the hub is stopping")
            await room.close()
