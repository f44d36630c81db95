"""``Signalling``: the rooms of one hub replica, made when the first peer of a session
joins and closed when its last peer leaves.

One instance per hub replica: the hub makes it at start-up (``hub.api.signalling``
finds it on ``app.state``) and closes it at shutdown. Applying the hub's
``ice_host_addresses`` happens here, once, before the first peer connection of
the process gathers candidates.

No lock is held across an await. Opening a room (spec and snapshot from Redis)
runs as one task per session that every joiner of that session awaits with a
deadline; joins of other sessions never wait on it. Taking a room out of
``rooms`` and deciding it is empty happen in one synchronous step, and its
clean-up (feed, relay) runs after, bounded by ``stop_timeout_s``. A join that
arrives while an old room of the same session is still closing opens a new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from hub.core import HubCore
from hub.recording.flags import should_record
from hub.signalling.identity import Identity
from hub.signalling.room import Peer, Room
from hub.signalling.settings import SignallingSettings
from webrtc.ice import restrict_host_addresses

log = logging.getLogger("dualclass.hub.signalling")

__all__ = ["Signalling"]


def _reason_label(reason: str) -> str:
    """A bounded label for the metric (reasons may carry file names)."""
    return reason if reason in ("disk_full",) else reason.split(" ", 1)[0].rstrip(":")[:32]


class Signalling:
    """Rooms by session id; see the module docstring."""

    def __init__(self, hub: HubCore, settings: SignallingSettings | None = None) -> None:
        self.hub = hub
        config = hub.config
        self.settings = (settings or config.signalling).model_copy(
            update={
                "ice_servers": config.ice_servers,
                "turn_secret": config.turn_secret,
                "turn_ttl_s": config.turn_ttl_s,
            }
        )
        if hub.config.ice_host_addresses is not None:
            # never widens a restriction made earlier in the process
            restrict_host_addresses(hub.config.ice_host_addresses)
        self.rooms: dict[str, Room] = {}
        self._opening: dict[str, asyncio.Task[Room]] = {}
        self._ledger_writes: set[asyncio.Task[None]] = set()
        # /metrics reads the live relays' statistics at scrape time
        hub.metrics.relay.source = self._relay_snapshots

    async def enter(self, identity: Identity, peer: Peer) -> Room:
        """The session's room (opened if new) with ``peer`` registered in it.

        Raises what opening raised (``UnknownSession``...) or ``TimeoutError``."""
        session = identity.session
        room = self.rooms.get(session)
        if room is None:
            opening = self._opening.get(session)
            if opening is None:
                opening = asyncio.create_task(self._open(session), name=f"room-{session}")
                self._opening[session] = opening
                opening.add_done_callback(lambda task: self._opened(session, task))
            done, _ = await asyncio.wait({opening}, timeout=self.settings.open_timeout_s)
            if not done:
                raise TimeoutError(f"room of {session} did not open in time")
            room = opening.result()
        # no await between here and add: the room cannot close under us
        room.add(peer)
        await self._record_browser(identity, peer, joined=True)
        return room

    async def _open(self, session: str) -> Room:
        spec = await self.hub.get_spec(session)
        runtime = self.hub.runtime(session)
        room = Room(
            self.hub.store,
            spec,
            self.settings,
            recording=self.hub.config.recording_settings(),
            record=await should_record(self.hub, spec),
            on_recording_stopped=self._recording_alert(spec.session),
            watch=self,
        )
        await room.start(runtime.machine if runtime is not None else None)
        self.rooms[session] = room
        return room

    def _opened(self, session: str, task: asyncio.Task[Room]) -> None:
        if self._opening.get(session) is task:
            del self._opening[session]
        if not task.cancelled() and task.exception() is not None:
            log.info("room of %s not opened: %r", session, task.exception())

    async def leave(self, room: Room, peer: Peer) -> None:
        """Take ``peer`` out; the last one out closes the room (feed and relay)."""
        await room.remove(peer)
        await self._record_browser(peer.identity, peer, joined=False)
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
        """The recorder's alert: counted in ``dualclass_hub_recording_stopped_total``."""

        def alert(reason: str) -> None:
            self.hub.metrics.recording_stopped.labels(reason=_reason_label(reason)).inc()

        return alert

    # --------------------------------------------------------- relay watch

    def _relay_snapshots(self) -> list[Mapping[str, Any]]:
        return [room.relay.stats() for room in list(self.rooms.values()) if room.relay is not None]

    def layer(
        self, session: str, participant: str, classroom: str | None, layer: str | None, reason: str
    ) -> None:
        """A subscriber's video layer changed: counted, and a classroom's goes to the ledger."""
        tally = self.hub.metrics.relay.tally
        if layer is not None:
            tally.switched(session, participant, layer, reason, classroom)
        else:
            tally.layers.pop((session, participant), None)
            tally.classrooms.pop((session, participant), None)
        if classroom is None:
            return
        feed = self.hub.ledger_feed
        task = asyncio.ensure_future(
            self._write_layer(session, classroom, layer, reason, feed.clock())
        )
        self._ledger_writes.add(task)
        task.add_done_callback(self._ledger_writes.discard)

    async def _write_layer(
        self, session: str, classroom: str, layer: str | None, reason: str, ts: int
    ) -> None:
        try:
            await self.hub.ledger_feed.layer(session, classroom, layer, reason, ts)
        except Exception:
            log.exception("ledger: layer of %s in %s not recorded", classroom, session)

    def harvest(self, snapshot: Mapping[str, Any], gone: str | None) -> None:
        tally = self.hub.metrics.relay.tally
        tally.fold(snapshot)
        tally.forget(str(snapshot.get("session", "")), gone)

    def room(self, session: str) -> Room | None:
        return self.rooms.get(session)

    async def close(self) -> None:
        rooms, self.rooms = list(self.rooms.values()), {}
        for room in rooms:
            for peer in list(room.peers.values()):
                peer.kick(1001, "shutting_down", "the hub is stopping")
            await room.close()
        if self._ledger_writes:
            await asyncio.wait(set(self._ledger_writes), timeout=self.settings.stop_timeout_s)
