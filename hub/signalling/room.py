"""``Room``: one live session at this hub replica: its relay, its feed, its peers.

The room is where the three things of a lesson meet:

- the **feed** (``SessionFeed``) hands every sequenced event to the room, which
  sends it, and the snapshot after it, to every peer that wants events;
- the **relay** (``SessionRelay``, created when the first media peer joins) gets
  one participant per media peer; a classroom has one media connection at a
  time (``Identity.media_key``), so a reconnecting or replacing peer takes over;
- the **floor**: after each event the room makes the relay's floor follow the
  feed's lesson machine, so ``floor.grant`` / ``floor.revoke`` / ``lesson.end``
  switch the routing (at the next keyframe), and a floor holder that connects
  its media later gets the floor as soon as its answer is applied.

The room also tells its ``RelayWatch`` (the signalling service: metrics and
the ledger) what the relay does: every video layer a participant is put on
(the relay's layer listener; a classroom's id with it when the participant is a
classroom's camera connection, so the ledger counts its minutes per layer), a
classroom's video ending when its media leaves or the room closes, and the
relay's statistics just before a participant or the relay goes, so no count is
lost between two scrapes of ``/metrics``.

When the session is to be recorded, the room also owns its ``SessionRecorder``
(``hub.recording``): a listener on the relay, started at ``lesson.start`` (or
at once if the lesson is live when the relay is made), told about floor
changes, and finished at ``lesson.end`` or when the room closes, with the
session's whole event log for its timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from aiortc import RTCSessionDescription

from hub.aio import run_bounded
from hub.media.exceptions import RoutingError
from hub.media.relay import SessionRelay
from hub.media.routing import media_layout
from hub.recording.recorder import SessionRecorder
from hub.recording.settings import RecordingSettings
from hub.recording.timeline import event_time_ms
from hub.sessions import SessionSpec
from hub.signalling.exceptions import JoinRefused
from hub.signalling.feed import SessionFeed
from hub.signalling.identity import Identity
from hub.signalling.settings import SignallingSettings
from hub.store import Store
from protocols.codec import decode
from protocols.exceptions import DecodeError
from protocols.ids import new_id
from protocols.lesson import LessonMachine, LessonStatus
from protocols.messages import Envelope, SessionStateBody
from protocols.signalling import (
    SignalError,
    SignalEvent,
    SignalLayer,
    SignalMLine,
    SignalState,
    dump_signal,
)
from registry.store import RegistryStore

__all__ = ["Peer", "RelayWatch", "Room", "layout_of", "shares_screen"]

log = logging.getLogger("dualclass.hub.signalling")


def layout_of(identity: Identity, layers: int = 1) -> list[SignalMLine]:
    """The m-lines of the hub's offer to this peer, in the signalling shape
    (``layers``: what the peer's join asked for; see ``protocols.media``)."""
    return [
        SignalMLine(
            kind=line.kind,
            direction=line.direction,
            slot=None if line.slot is None else line.slot.value,
            layer=line.layer,
        )
        for line in media_layout(identity.media_role, screen=shares_screen(identity), layers=layers)
    ]


def shares_screen(identity: Identity) -> bool:
    """The lead side may share a screen: the lead's node, and the lead's console even
    while it only watches beside the node (the screen is the teacher's, not the room's)."""
    return identity.role == "lead"


class RelayWatch(Protocol):
    """Who hears what a room's relay does (see the module docstring). Never raises."""

    def layer(
        self, session: str, participant: str, classroom: str | None, layer: str | None, reason: str
    ) -> None:
        """``participant`` now receives ``layer`` (None: no video any more)."""

    def harvest(self, snapshot: Mapping[str, Any], gone: str | None) -> None:
        """The relay's last ``stats()`` before ``gone`` leaves (None: the relay closes)."""


class Peer:
    """One connected peer as the room sees it: identity, media participant, outbox.

    Everything the hub says to a peer goes through ``send`` into one queue that a
    single writer drains, so frames never interleave and a slow browser only
    grows its own queue, up to ``limit`` frames: then it is disconnected.
    """

    def __init__(self, identity: Identity, *, events: bool, limit: int, layers: int = 1) -> None:
        # unique across hub restarts: the ledger keys browser time by it
        self.id = f"peer-{new_id()}"
        self.identity = identity
        self.events = events
        #: 2: the peer sends two camera layers and understands ``layer`` messages
        self.layers = layers
        self.participant: str | None = None
        self.out: asyncio.Queue[str | None] = asyncio.Queue()
        self.close_code = 1000
        self._limit = limit
        self.gone = False

    def send(self, text: str) -> None:
        if self.gone:
            return
        if self.out.qsize() >= self._limit:
            self.kick(1013, "slow_peer", "too many frames queued")
            return
        self.out.put_nowait(text)

    def kick(self, close_code: int, code: str, detail: str, status: int | None = None) -> None:
        """Say why, then close (the writer closes the socket after the error frame)."""
        if self.gone:
            return
        self.out.put_nowait(dump_signal(SignalError(code=code, detail=detail, status=status)))
        self.gone = True
        self.close_code = close_code
        self.out.put_nowait(None)


class Room:
    """See the module docstring."""

    def __init__(
        self,
        store: Store,
        spec: SessionSpec,
        settings: SignallingSettings,
        *,
        recording: RecordingSettings | None = None,
        record: bool = False,
        on_recording_stopped: Callable[[str], None] | None = None,
        watch: RelayWatch | None = None,
    ) -> None:
        self.session = spec.session
        self.spec = spec
        self.settings = settings
        self.feed = SessionFeed(store, spec, self._on_event)
        self.relay: SessionRelay | None = None
        self.peers: dict[str, Peer] = {}
        self._media: dict[str, Peer] = {}
        self._store = store
        self._recording = recording
        self._record = record and recording is not None
        self._on_recording_stopped = on_recording_stopped
        self._watch = watch
        #: participant -> the video layer it was last put on
        self._layers: dict[str, str] = {}
        self.recorder: SessionRecorder | None = None
        self._finishers: set[asyncio.Task[None]] = set()

    async def start(self, seed: LessonMachine | None = None) -> None:
        await self.feed.start(seed)

    async def close(self) -> None:
        """Finish the recording, stop the feed and the relay; each step bounded."""
        timeout = self.settings.stop_timeout_s
        # the recording first: it closes its files (index, duration) and writes the
        # timeline while the relay still exists; a slow disk gets a longer bound
        self._finish_recording()
        if self._finishers:
            await run_bounded(
                asyncio.gather(*self._finishers),
                max(timeout, 15.0),
                f"recording of {self.session}",
            )
        await self.feed.stop(timeout)
        relay, self.relay = self.relay, None
        if relay is not None:
            for participant in list(self._layers):
                self._layer_ended(participant, "closed")
            self._harvest(relay, None)
            await run_bounded(relay.close(), timeout, f"relay of {self.session}")

    # -------------------------------------------------------------- recording

    def set_record(self, record: bool) -> None:
        """Turn recording on or off for this session (``PUT .../recording``)."""
        self._record = record and self._recording is not None
        if self._record:
            self._ensure_recorder()
        else:
            self._finish_recording()

    def _ensure_recorder(self) -> None:
        """Make the recorder (once the relay exists) and start it if the lesson is live."""
        if not self._record or self.relay is None or self._recording is None:
            return
        if self.recorder is None:
            relay = self.relay
            self.recorder = SessionRecorder(
                self.session,
                self._recording,
                lead=self.spec.lead,
                video_codec=relay.settings.video_codec,
                request_keyframe=relay.request_keyframe,
                on_stopped=self._on_recording_stopped,
            )
            relay.add_listener(self.recorder.on_frame)
            self.recorder.set_floor(self.feed.machine.floor)
        if self.feed.machine.status is LessonStatus.LIVE:
            self.recorder.start()

    def _finish_recording(self, until_ms: float | None = None) -> None:
        """Detach the recorder now (a new one may start) and finish it in the background,
        after the lead's pictures up to ``until_ms`` (the lesson's end) are in;
        ``close`` waits for every finish still running."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        task = asyncio.ensure_future(self._finish(recorder, until_ms))
        self._finishers.add(task)
        task.add_done_callback(self._finishers.discard)

    async def _finish(self, recorder: SessionRecorder, until_ms: float | None) -> None:
        if until_ms is not None:
            await recorder.caught_up(until_ms)
        if self.relay is not None:
            self.relay.remove_listener(recorder.on_frame)
        events: list[Envelope] = []
        try:
            events = await self._all_events()
        except Exception:
            log.exception("recording %s: the event log could not be read", self.session)
        await recorder.finish(events)

    async def _all_events(self) -> list[Envelope]:
        out: list[Envelope] = []
        next_seq = 1
        while True:
            stored = await self._store.read_events(self.session, next_seq, limit=500)
            if not stored:
                return out
            for item in stored:
                next_seq = item.seq + 1
                with contextlib.suppress(DecodeError):
                    out.append(decode(item.payload, max_size=16 * 1024 * 1024))

    # ------------------------------------------------------------------ peers

    def add(self, peer: Peer) -> None:
        """Register ``peer`` and send it the snapshot; later events follow it in order."""
        self.peers[peer.id] = peer
        if peer.events:
            peer.send(self._state_text(self.feed.machine.snapshot()))

    async def remove(self, peer: Peer) -> None:
        self.peers.pop(peer.id, None)
        await self._drop_media(peer)

    async def _drop_media(self, peer: Peer) -> None:
        participant, peer.participant = peer.participant, None
        key = peer.identity.media_key
        if key is not None and self._media.get(key) is peer:
            del self._media[key]
        if participant is not None and self.relay is not None:
            self._layer_ended(participant, "left", classroom=key)
            self._harvest(self.relay, participant)
            await run_bounded(
                self.relay.remove(participant),
                self.settings.stop_timeout_s,
                f"media of {participant} in {self.session}",
            )

    # ------------------------------------------------------------------ media

    async def offer(self, peer: Peer) -> RTCSessionDescription:
        """Make ``peer`` a participant of the relay and return the hub's offer.

        One camera per classroom: a node replaces an older connection of its own
        (a restart), a console that chose to send its camera replaces the node,
        and while such a console holds it the node's join is refused with 409
        ``camera_in_use`` (it retries and gets the camera back once the console
        leaves or goes back to watching). Consoles that only watch take no camera.
        """
        identity = peer.identity
        key = identity.media_key
        if key is not None:
            old = self._media.get(key)
            if old is not None and old is not peer:
                if identity.via == "node" and old.identity.via == "token":
                    # the teacher chose this console's camera: the node waits for it
                    raise JoinRefused(
                        409, "camera_in_use", f"a console sends {key}'s camera; retry later"
                    )
                await self._drop_media(old)
                old.kick(4409, "replaced", f"another connection took over {key}'s media")
            self._media[key] = peer
        participant = key or f"{identity.acting_as or 'observer'}-viewer-{new_id()}"
        if self.relay is None:
            self.relay = SessionRelay(self.session, self.settings.relay_settings())
            self.relay.add_layer_listener(self._on_layer)
            self._ensure_recorder()
            self._watch_layers(self.relay)
        peer.participant = participant
        downlink = await self._downlink_kbps(identity.acting_as)
        return await self.relay.offer(
            participant,
            identity.media_role,
            screen=shares_screen(identity),
            layers=peer.layers,
            downlink_kbps=downlink,
        )

    async def _downlink_kbps(self, node: str | None) -> float | None:
        """The registered downlink of ``node``'s classroom (picks its start layer).

        Best effort: no registry entry, or a registry that does not answer within
        a second, means "unknown" (start on high, the feedback decides)."""
        if node is None:
            return None
        try:
            snapshot = await asyncio.wait_for(RegistryStore(self._store.redis).snapshot(), 1.0)
        except Exception as exc:
            log.info("downlink of %s unknown: %s", node, exc)
            return None
        for classroom in snapshot.classrooms.values():
            if classroom.node == node:
                return float(classroom.downlink_kbps)
        return None

    def _on_layer(self, participant: str, layer: str, reason: str) -> None:
        """Tell a peer that understands it (joined with layers) which layer it gets now."""
        if self.relay is None or layer not in ("high", "low"):
            return
        switches = self.relay.layer_switches(participant)
        for peer in self.peers.values():
            if peer.participant == participant and peer.layers >= 2:
                message = SignalLayer(layer=layer, reason=reason[:32], switches=switches)
                peer.send(dump_signal(message))

    async def answer(self, peer: Peer, sdp: str) -> None:
        """Apply the peer's answer (``NegotiationError`` if it cannot be served)."""
        assert self.relay is not None and peer.participant is not None
        try:
            await self.relay.answer(peer.participant, RTCSessionDescription(sdp, "answer"))
        except Exception:
            peer.participant = None  # the relay removed it
            raise
        self.sync_floor()

    def sync_floor(self) -> None:
        """Make the relay's floor what the lesson says, if the holder's media is here."""
        relay = self.relay
        if relay is None:
            return
        wanted = self.feed.machine.floor
        try:
            if relay.floor != wanted:
                relay.set_floor(wanted)
        except RoutingError:
            # not connected (yet): nobody's picture until its answer is applied
            if relay.floor is not None:
                relay.set_floor(None)

    # ----------------------------------------------------------------- events

    def _state_text(self, state: SessionStateBody) -> str:
        return dump_signal(SignalState(session=self.session, state=state))

    def _on_event(self, event: Envelope) -> None:
        kind = getattr(event, "type", "")
        if kind in ("floor.grant", "floor.revoke", "lesson.end"):
            self.sync_floor()
            if self.recorder is not None:
                self.recorder.set_floor(self.feed.machine.floor)
        if kind == "lesson.start":
            self._ensure_recorder()
        elif kind == "lesson.end" and event.ts is not None:
            self._finish_recording(event_time_ms(event.ts, event.sent))
        listeners = [p for p in self.peers.values() if p.events]
        if not listeners:
            return
        event_text = dump_signal(SignalEvent.model_validate({"event": event}))
        state_text = self._state_text(self.feed.machine.snapshot())
        for peer in listeners:
            peer.send(event_text)
            peer.send(state_text)

    # ------------------------------------------------------------ watching

    def _watch_layers(self, relay: SessionRelay) -> None:
        relay.add_layer_listener(self._record_layer)

    def _classroom_of(self, participant: str) -> str | None:
        """The classroom whose camera connection ``participant`` is (None: a viewer)."""
        peer = self._media.get(participant)
        return participant if peer is not None and peer.participant == participant else None

    def _record_layer(self, participant: str, layer: str, reason: str) -> None:
        """Tell the watch (metrics, ledger) about a participant's new layer."""
        if self._layers.get(participant) == layer and reason != "start":
            return
        self._layers[participant] = layer
        if self._watch is not None:
            self._watch.layer(
                self.session, participant, self._classroom_of(participant), layer, reason
            )

    def _layer_ended(self, participant: str, reason: str, classroom: str | None = None) -> None:
        if self._layers.pop(participant, None) is None or self._watch is None:
            return
        room = classroom if classroom == participant else self._classroom_of(participant)
        self._watch.layer(self.session, participant, room, None, reason)

    def _harvest(self, relay: SessionRelay, gone: str | None) -> None:
        if self._watch is None:
            return
        try:
            self._watch.harvest(relay.stats(), gone)
        except Exception:
            log.exception("relay statistics of %s not harvested", self.session)
