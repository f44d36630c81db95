"""The per-session forwarding unit: upstreams in, slot tracks out, routing in between.

One :class:`SessionRelay` per live lesson. For every participant it owns one
``RTCPeerConnection`` whose m-lines follow :func:`hub.media.routing.media_layout`:
the participant's own camera and microphone come in (``recvonly`` at the hub),
and each slot goes out (``sendonly``). The hub makes the offer, so it chooses
the codecs (:mod:`hub.media.codecs`); signalling carries the offer, the layout
and the answer.

Upstream frames are taken encoded from the receivers
(:func:`~webrtc.aiortc_internals.tap_receiver`) and offered to every slot
track of that kind; each slot track keeps only frames of the source the
routing plan gave it. A floor change only changes slot sources (the video
switches at the new source's next keyframe, which is requested at once).
Keyframe requests -- a subscriber starting, overflowing, or sending PLI/FIR --
go upstream as one rate-limited PLI per publisher.

A publisher that joined with two camera layers (``protocols.media``) has a
second video upstream, ``video_low``. Each subscriber's camera slots follow
the layer :mod:`hub.media.layers` chooses for it, from the receiver reports
and REMB estimates its receiver sends back to the hub's senders, and from the
publisher's uplink health (loss on its high upstream). A layer is modelled as
a source key (``pid`` for high, ``pid#low`` for low), so a layer switch is a
source switch of the slot track: it happens at a keyframe of the target layer,
requested at once. Publishers sending one layer are high-only.

In ``RelayMode.TRANSCODE`` (the benchmark's baseline), and for any slot whose
negotiated codec differs from the session's, the upstream is also decoded by
aiortc and the slot's sender re-encodes it for that subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import OperationError
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame

from hub.media.codecs import same_codec, slot_preferences, upstream_preferences
from hub.media.exceptions import NegotiationError, RoutingError
from hub.media.layers import LayerChooser, LayerPolicy, Switch, effective_layer, start_layer
from hub.media.routing import (
    MLine,
    Role,
    RoutingPlan,
    Slot,
    SlotKey,
    feed_of,
    media_layout,
    plan,
    slot_kinds,
)
from hub.media.stalls import LateFrames, watch_stalls
from hub.media.timing import KeyframeLimiter
from hub.media.tracks import DecodedFrameTrack, EncodedFrameTrack, SlotTrack
from protocols.media import LOW_FEED, Layer
from webrtc import aiortc_internals as internals
from webrtc.bitstream import is_keyframe
from webrtc.ice import rtc_configuration
from webrtc.stall import StallGuardBuffer

__all__ = ["FrameListener", "LayerListener", "RelayMode", "RelaySettings", "SessionRelay"]

logger = logging.getLogger(__name__)

KINDS = ("video", "audio")
#: What a publisher may send up: camera video (two layers), microphone audio, the
#: lead's screen.
FEEDS = ("video", "audio", "screen", LOW_FEED)

FrameListener = Callable[[str, str, str, bytes, int, bool], None]
"""``listener(participant, feed, mime_type, data, rtp_timestamp, keyframe)``: every
encoded upstream frame, after the slots got it (the recorder is one). It must not
block; an exception is logged and the listener removed, forwarding goes on."""


LayerListener = Callable[[str, str, str], None]
"""``listener(participant, layer, reason)``: a subscriber's camera layer changed (its
start layer included); ``layer`` is ``"high"`` or ``"low"``, ``reason`` a short word
(start, loss, estimate, stable, uplink, forced). Must not block; an exception is
logged and the listener removed."""


class RelayMode(enum.Enum):
    """How slots are fed: encoded frames forwarded as-is, or decoded and re-encoded."""

    PASSTHROUGH = "passthrough"
    TRANSCODE = "transcode"


@dataclass(frozen=True, kw_only=True)
class RelaySettings:
    """Settings of one session's relay."""

    mode: RelayMode = RelayMode.PASSTHROUGH
    video_codec: str = "video/VP8"
    """The session's video codec: the lead's, which every upstream must send."""
    audio_codec: str = "audio/opus"
    keyframe_interval: float = 0.5
    """Fewest seconds between two keyframe requests to one publisher."""
    video_queue: int = 30
    """Frames a pass-through video slot buffers before dropping to the next keyframe."""
    audio_queue: int = 25
    ice_servers: tuple[RTCIceServer, ...] = ()
    layer_policy: LayerPolicy = field(default_factory=LayerPolicy)
    """When subscribers move between a two-layer publisher's layers."""
    layer_tick_s: float = 0.5
    """How often layer choices are re-checked and publishers' uplink loss sampled."""

    def codec(self, kind: str) -> str:
        return self.video_codec if kind == "video" else self.audio_codec


@dataclass(eq=False)
class _Upstream:
    """The received camera, microphone (and, from the lead, screen) of one publisher,
    keyed by feed (``video``, ``audio``, ``screen``)."""

    participant: str
    receivers: dict[str, RTCRtpReceiver]
    taps: dict[str, internals.ReceiverTap]
    #: keyframe pacing per camera layer (``high`` paces camera and screen)
    limiters: dict[Layer, KeyframeLimiter]
    frames: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FEEDS, 0))
    keyframes: int = 0
    #: PLIs sent to this publisher (ours, and aiortc's own) and holes skipped.
    keyframe_requests: int = 0
    stalls: int = 0
    lateness: dict[str, LateFrames] = field(default_factory=dict)
    guards: dict[str, StallGuardBuffer] = field(default_factory=dict)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    #: uplink health: ``low`` while the high upstream loses too much (two layers only)
    uplink: LayerChooser | None = None
    #: (packets received, packets lost) of the high upstream at the last sample
    counts: tuple[int, int] = (0, 0)

    @property
    def layered(self) -> bool:
        """It sends its camera in two layers."""
        return LOW_FEED in self.receivers


@dataclass(eq=False)
class _LayerState:
    """The layer choice of one subscriber and what it has received so far."""

    chooser: LayerChooser
    current: Layer | None = None
    reason: str | None = None
    switches: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"high": 0.0, "low": 0.0})
    since: float = 0.0

    def account(self, now: float) -> None:
        if self.current is not None:
            self.seconds[self.current] += max(now - self.since, 0.0)
        self.since = now


@dataclass(eq=False)
class _Participant:
    id: str
    role: Role
    pc: RTCPeerConnection
    layout: tuple[MLine, ...]
    transceivers: list[RTCRtpTransceiver]
    upstream: _Upstream | None = None
    slots: dict[tuple[Slot, str], SlotTrack[Any]] = field(default_factory=dict)
    connected: bool = False
    layers: _LayerState | None = None


class SessionRelay:
    """Forwarding unit of one session: participants' peer connections and routing.

    Use: ``offer = await relay.offer(pid, role)``; send ``offer`` and
    ``media_layout(role)`` to the participant; ``await relay.answer(pid, answer)``;
    ``relay.set_floor(pid)`` / ``relay.set_floor(None)``; ``await relay.remove(pid)``;
    ``await relay.close()``. All methods run on the hub's event loop.
    """

    def __init__(self, session_id: str, settings: RelaySettings | None = None) -> None:
        internals.check_internals()
        self.session_id = session_id
        self.settings = settings or RelaySettings()
        self._participants: dict[str, _Participant] = {}
        self._floor: str | None = None
        #: who is sending a screen now: set by its first screen frame
        self._screen: str | None = None
        self._plan: RoutingPlan = {}
        #: slot tracks by the feed they forward (``screen`` slots follow screen feeds)
        self._slots: dict[str, list[SlotTrack[Any]]] = {feed: [] for feed in FEEDS}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listeners: list[FrameListener] = []
        self._layer_listeners: list[LayerListener] = []
        self._layer_task: asyncio.Task[None] | None = None
        self._closed = False

    # -- participants ---------------------------------------------------------

    async def offer(
        self,
        participant_id: str,
        role: Role,
        *,
        screen: bool | None = None,
        layers: int = 1,
        downlink_kbps: float | None = None,
    ) -> RTCSessionDescription:
        """Create the hub's offer for a participant joining with ``role``
        (``screen``: it may share a screen; ``layers=2``: it sends its camera in
        two layers, see ``media_layout``; ``downlink_kbps``: its registered
        downlink, which picks the layer it starts on)."""
        if participant_id in self._participants:
            raise RoutingError(f"{participant_id!r} is already in session {self.session_id}")
        if role is Role.LEAD and any(p.role is Role.LEAD for p in self._participants.values()):
            raise RoutingError(f"session {self.session_id} already has a lead")
        pc = RTCPeerConnection(rtc_configuration(self.settings.ice_servers))
        layout = media_layout(role, screen=screen, layers=layers)
        transceivers = []
        for line in layout:
            transceiver = pc.addTransceiver(line.kind, direction=line.direction)
            codec = self.settings.codec(line.kind)
            prefs = (
                upstream_preferences(line.kind, codec)
                if line.slot is None
                else slot_preferences(line.kind, codec)
            )
            transceiver.setCodecPreferences(prefs)
            transceivers.append(transceiver)
        participant = _Participant(participant_id, role, pc, layout, transceivers)
        if any(ln.slot in (Slot.MAIN, Slot.FLOOR) for ln in layout if ln.direction == "sendonly"):
            now = time.monotonic()
            policy = self.settings.layer_policy
            chooser = LayerChooser(policy, start_layer(downlink_kbps, policy), now)
            participant.layers = _LayerState(chooser, since=now)
        self._participants[participant_id] = participant
        receivers = {
            feed_of(ln.kind, ln.slot, ln.layer): t.receiver
            for t, ln in zip(transceivers, layout, strict=True)
            if ln.direction == "recvonly"
        }
        if receivers:
            participant.upstream = self._tap_upstream(participant_id, receivers)
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription

    async def answer(self, participant_id: str, description: RTCSessionDescription) -> None:
        """Apply a participant's answer: pick slot tracks by codec, then route."""
        participant = self._participants[participant_id]
        try:
            await participant.pc.setRemoteDescription(description)
            self._attach_slots(participant)
        except (OperationError, ValueError, NegotiationError) as exc:
            await self.remove(participant_id)
            if isinstance(exc, NegotiationError):
                raise
            raise NegotiationError(f"{participant_id}: {exc}") from None
        upstream = participant.upstream
        if upstream is not None:  # its tracks exist now (made by setRemoteDescription)
            upstream.readers = [
                self._spawn(self._read_decoded(upstream, feed)) for feed in upstream.receivers
            ]
        participant.connected = True
        self._reroute()
        if participant.layers is not None:
            self._update_layer(participant, "start")
        if self._layer_task is None and not self._closed:
            self._layer_task = self._spawn(self._layer_loop())

    def _attach_slots(self, participant: _Participant) -> None:
        """Give each slot transceiver its track, chosen by the negotiated codec."""
        participant_id = participant.id
        for transceiver, line in zip(participant.transceivers, participant.layout, strict=True):
            codec = internals.negotiated_codec(transceiver)
            if codec is None:
                raise NegotiationError(f"{participant_id}: no codec for {line}")
            wanted = self.settings.codec(line.kind)
            if line.direction == "recvonly":
                if not same_codec(codec.mimeType, wanted):
                    raise NegotiationError(f"{participant_id} sends {codec.mimeType}, not {wanted}")
                continue
            track = self._make_slot_track(line.kind, codec)
            if isinstance(track, EncodedFrameTrack):
                internals.on_keyframe_request(transceiver.sender, self._pli_handler(track))
                internals.retransmit_once(transceiver.sender)
                if line.kind == "video" and line.slot in (Slot.MAIN, Slot.FLOOR):
                    internals.on_receiver_feedback(
                        transceiver.sender, self._feedback_handler(participant_id)
                    )
            transceiver.sender.replaceTrack(track)
            assert line.slot is not None
            participant.slots[(line.slot, line.kind)] = track
            self._slots[feed_of(line.kind, line.slot)].append(track)

    async def remove(self, participant_id: str) -> None:
        """Take a participant out (left or disconnected); the floor returns if it held it."""
        participant = self._participants.pop(participant_id, None)
        if participant is None:
            return
        if self._floor == participant_id:
            self._floor = None
        if self._screen == participant_id:
            self._screen = None
        for (slot, kind), track in participant.slots.items():
            self._slots[feed_of(kind, slot)].remove(track)
            track.stop()
        self._reroute()
        if participant.upstream is not None:
            for task in participant.upstream.readers:
                task.cancel()
        await participant.pc.close()

    async def close(self) -> None:
        """Close every peer connection of the session."""
        self._closed = True
        for pid in list(self._participants):
            await self.remove(pid)
        for task in list(self._tasks):
            task.cancel()

    # -- floor and routing ----------------------------------------------------

    @property
    def floor(self) -> str | None:
        """The partner currently holding the floor, if any."""
        return self._floor

    def set_floor(self, participant_id: str | None) -> None:
        """Give the floor to a partner (None: take it back). Video switches at a keyframe."""
        if participant_id is not None:
            participant = self._participants.get(participant_id)
            if participant is None or not participant.connected:
                raise RoutingError(f"{participant_id!r} is not connected to {self.session_id}")
        old = self._floor
        self._floor = participant_id
        try:
            self._reroute()
        except RoutingError:
            self._floor = old
            raise

    def slot_source(self, participant_id: str, slot: Slot) -> str | None:
        """Who the routing plan says feeds ``slot`` of ``participant_id``."""
        return self._plan.get(SlotKey(participant_id, slot))

    def slot_track(self, participant_id: str, slot: Slot, kind: str) -> SlotTrack[Any]:
        """The track the hub sends in ``slot`` (``kind``) to ``participant_id`` (stats, tests)."""
        return self._participants[participant_id].slots[(slot, kind)]

    def _roles(self) -> dict[str, Role]:
        return {pid: p.role for pid, p in self._participants.items() if p.connected}

    def _reroute(self) -> None:
        new = plan(self._roles(), self._floor, self._screen)
        self._plan = new
        for key, source in new.items():
            subscriber = self._participants[key.subscriber]
            for kind in slot_kinds(key.slot):
                track = subscriber.slots[(key.slot, kind)]
                if (
                    kind == "video"
                    and source is not None
                    and isinstance(track, EncodedFrameTrack)
                    and self._layer_for(subscriber, source) == "low"
                ):
                    # down: stop the high layer at once, it congests this subscriber
                    track.set_source(_low_key(source), at_once=track.source == source)
                else:
                    track.set_source(source)
        self._update_decoding()

    # -- layers -----------------------------------------------------------------

    def _layer_for(self, subscriber: _Participant, source: str) -> Layer:
        """The layer of ``source``'s camera that ``subscriber`` gets now."""
        publisher = self._participants.get(source)
        upstream = None if publisher is None else publisher.upstream
        if upstream is None or not upstream.layered:
            return "high"  # a one-layer publisher: high only
        mine: Layer = "high" if subscriber.layers is None else subscriber.layers.chooser.layer
        uplink: Layer = "high" if upstream.uplink is None else upstream.uplink.layer
        return effective_layer(mine, uplink)

    def _primary_source(self, participant: _Participant) -> str | None:
        for slot in (Slot.MAIN, Slot.FLOOR):
            if (slot, "video") in participant.slots:
                return self._plan.get(SlotKey(participant.id, slot))
        return None

    def _update_layer(self, participant: _Participant, reason: str) -> None:
        """Record (and tell listeners) the layer of the subscriber's main picture."""
        state = participant.layers
        if state is None:
            return
        source = self._primary_source(participant)
        if source is None:
            layer = state.chooser.layer
        else:
            layer = self._layer_for(participant, source)
        if layer == state.current:
            return
        state.account(time.monotonic())
        if state.current is not None:
            state.switches += 1
        state.current, state.reason = layer, reason
        self._notify_layer(participant.id, layer, reason)

    def _apply(self, participant: _Participant, switch: Switch) -> None:
        logger.info(
            "%s: %s gets the %s layer (%s)",
            self.session_id,
            participant.id,
            switch.layer,
            switch.reason,
        )
        self._reroute()
        self._update_layer(participant, switch.reason)

    def _feedback_handler(self, participant_id: str) -> internals.FeedbackCallback:
        """Receiver reports and REMB of one subscriber's camera slots feed its layer choice."""

        def on_feedback(
            loss: float | None, estimate_bps: float | None, nacked: tuple[int, ...]
        ) -> None:
            participant = self._participants.get(participant_id)
            if participant is None or participant.layers is None:
                return
            estimate = None if estimate_bps is None else estimate_bps / 1000.0
            switch = participant.layers.chooser.report(
                time.monotonic(), loss=loss, estimate_kbps=estimate, nacked=nacked
            )
            if switch is not None:
                self._apply(participant, switch)

        return on_feedback

    def force_layer(self, participant_id: str, layer: Layer) -> None:
        """Put a subscriber on ``layer`` (an operator's or a test's choice)."""
        participant = self._participants.get(participant_id)
        if participant is None or participant.layers is None:
            return
        switch = participant.layers.chooser.force(layer, time.monotonic())
        if switch is not None:
            self._apply(participant, switch)

    async def _layer_loop(self) -> None:
        """Let stable periods end without feedback, and judge publishers' uplinks."""
        while not self._closed:
            await asyncio.sleep(self.settings.layer_tick_s)
            now = time.monotonic()
            for participant in list(self._participants.values()):
                if participant.layers is not None and participant.connected:
                    switch = participant.layers.chooser.tick(now)
                    if switch is not None:
                        self._apply(participant, switch)
            for participant in list(self._participants.values()):
                upstream = participant.upstream
                if upstream is not None and upstream.layered and participant.connected:
                    try:
                        await self._sample_uplink(upstream)
                    except Exception:
                        logger.exception("uplink sample of %s failed", participant.id)

    async def _sample_uplink(self, upstream: _Upstream) -> None:
        """Loss on the high camera upstream since the last sample feeds the uplink choice."""
        report = await upstream.receivers["video"].getStats()
        received = lost = 0
        for stats in report.values():
            if getattr(stats, "type", None) == "inbound-rtp":
                received += int(stats.packetsReceived)
                lost += int(stats.packetsLost)
        old_received, old_lost = upstream.counts
        upstream.counts = (received, lost)
        delta_received, delta_lost = received - old_received, max(lost - old_lost, 0)
        if delta_received <= 0:
            return
        now = time.monotonic()
        if upstream.uplink is None:
            upstream.uplink = LayerChooser(self.settings.layer_policy, "high", now)
        switch = upstream.uplink.report(now, loss=delta_lost / (delta_received + delta_lost))
        if switch is None:
            switch = upstream.uplink.tick(now)
        if switch is not None:
            logger.info(
                "%s: uplink of %s -> %s (%s)",
                self.session_id,
                upstream.participant,
                switch.layer,
                switch.reason,
            )
            self._reroute()
            for participant in list(self._participants.values()):
                self._update_layer(participant, "uplink")

    def _update_decoding(self) -> None:
        """Decode an upstream only while a re-encoding slot follows it."""
        wanted = {
            source
            for feed in FEEDS
            for track in self._slots[feed]
            if isinstance(track, DecodedFrameTrack)
            for source in (track.source, track.pending_source)
            if source is not None
        }
        wanted = {_split_key(source)[0] for source in wanted}
        for participant in self._participants.values():
            upstream = participant.upstream
            if upstream is None:
                continue
            decode = participant.id in wanted
            for feed, tap in upstream.taps.items():
                if tap.decode != decode:
                    tap.decode = decode
                    if decode and feed != "audio":
                        self._request_keyframe(participant.id)

    # -- upstream side --------------------------------------------------------

    def _tap_upstream(self, pid: str, receivers: dict[str, RTCRtpReceiver]) -> _Upstream:
        interval = self.settings.keyframe_interval
        limiters: dict[Layer, KeyframeLimiter] = {
            layer: KeyframeLimiter(interval) for layer in ("high", "low")
        }
        upstream = _Upstream(pid, receivers, {}, limiters)
        upstream.lateness = {feed: LateFrames(f"{pid} {feed}") for feed in FEEDS}
        for feed, receiver in receivers.items():

            def on_frame(
                codec: RTCRtpCodecParameters, frame: JitterFrame, feed: str = feed
            ) -> None:
                self._on_upstream_frame(pid, feed, codec, frame)

            upstream.taps[feed] = internals.tap_receiver(receiver, on_frame)
            if feed != "audio":
                upstream.guards[feed] = watch_stalls(
                    upstream, feed, receiver, self._restart_at_keyframe
                )
        return upstream

    def _feed_slots(self, pid: str, feed: str) -> tuple[str, list[SlotTrack[Any]]]:
        """The source key of ``pid``'s ``feed`` and the slots it may feed (the low
        layer feeds the camera slots under its own key)."""
        if feed == LOW_FEED:
            return _low_key(pid), self._slots["video"]
        return pid, self._slots[feed]

    def _restart_at_keyframe(self, pid: str, feed: str) -> None:
        """``pid``'s ``feed`` skipped frames: its slots wait for the keyframe asked for."""
        key, slots = self._feed_slots(pid, feed)
        for track in slots:
            if isinstance(track, EncodedFrameTrack):
                track.restart_at_keyframe(key)

    def _on_upstream_frame(
        self, pid: str, feed: str, codec: RTCRtpCodecParameters, frame: JitterFrame
    ) -> None:
        participant = self._participants.get(pid)
        if participant is None or participant.upstream is None:
            return
        if feed == "screen" and self._screen != pid:
            # whoever sends a screen now is shown (the lead's node or its console)
            self._screen = pid
            self._reroute()
            self._request_keyframe(pid)
        keyframe = is_keyframe(codec.mimeType, frame.data)
        upstream = participant.upstream
        upstream.frames[feed] += 1
        if keyframe and feed == "video":
            upstream.keyframes += 1
        # the low layer feeds the same camera slots, under its own source key
        key, slots = self._feed_slots(pid, feed)
        if upstream.lateness[feed].is_late(frame.timestamp, codec.clockRate, time.monotonic()):
            # a frozen hub's backlog: skip it for the slots (see stalls.py); the hole
            # after it will never fill, so the receiver skips it as soon as it blocks
            if feed != "audio":
                self._restart_at_keyframe(pid, feed)
                upstream.guards[feed].hurry()
            slots = []
        for track in slots:
            if isinstance(track, EncodedFrameTrack):
                track.offer(key, frame.data, frame.timestamp, keyframe)
        for listener in self._listeners:
            try:
                listener(pid, feed, codec.mimeType, frame.data, frame.timestamp, keyframe)
            except Exception:
                logger.exception("frame listener %r failed; removed", listener)
                self.remove_listener(listener)

    # -- listeners (recording) --------------------------------------------------

    def add_listener(self, listener: FrameListener) -> None:
        """Also give every encoded upstream frame to ``listener`` (see ``FrameListener``)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: FrameListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def add_layer_listener(self, listener: LayerListener) -> None:
        """Call ``listener`` on every layer change of a subscriber (see ``LayerListener``)."""
        self._layer_listeners.append(listener)

    def remove_layer_listener(self, listener: LayerListener) -> None:
        if listener in self._layer_listeners:
            self._layer_listeners.remove(listener)

    def _notify_layer(self, participant: str, layer: str, reason: str) -> None:
        for listener in list(self._layer_listeners):
            try:
                listener(participant, layer, reason)
            except Exception:
                logger.exception("layer listener %r failed; removed", listener)
                self.remove_layer_listener(listener)

    def request_keyframe(self, participant_id: str) -> None:
        """Ask a publisher for a keyframe (rate-limited like every other request)."""
        if participant_id in self._participants:
            self._request_keyframe(participant_id)

    async def _read_decoded(self, upstream: _Upstream, feed: str) -> None:
        """Fan decoded frames (present only while decoding is on) out to re-encoding slots."""
        remote = upstream.receivers[feed].track
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await remote.recv()
                if not isinstance(frame, Frame) or frame.pts is None:
                    continue
                for slot in self._slots[feed]:
                    if isinstance(slot, DecodedFrameTrack):
                        slot.offer(upstream.participant, frame, frame.pts, True)

    def _request_keyframe(self, source: str) -> None:
        """Ask ``source`` (a participant, or ``pid#low``: its low layer) for a keyframe,
        at most once per ``keyframe_interval`` and layer."""
        pid, layer = _split_key(source)
        participant = self._participants.get(pid)
        if participant is None or participant.upstream is None:
            return
        upstream = participant.upstream
        limiter = upstream.limiters[layer]
        delay = limiter.request(time.monotonic())
        if delay is None:
            return
        if delay == 0.0:
            self._spawn(self._send_pli(upstream, layer))
            return

        async def deferred() -> None:
            await asyncio.sleep(delay)
            limiter.fire(time.monotonic())
            await self._send_pli(upstream, layer)

        self._spawn(deferred())

    async def _send_pli(self, upstream: _Upstream, layer: Layer = "high") -> None:
        # camera and screen: a subscriber of either may be waiting for a keyframe
        sent = False
        feeds = (LOW_FEED,) if layer == "low" else ("video", "screen")
        for feed in feeds:
            receiver = upstream.receivers.get(feed)
            if receiver is not None and await internals.send_pli(receiver):
                sent = True
        if not sent:
            logger.debug("no video SSRC yet from %s; keyframe request dropped", upstream)

    # -- subscriber side ------------------------------------------------------

    def _make_slot_track(self, kind: str, codec: RTCRtpCodecParameters) -> SlotTrack[Any]:
        clock_rate = codec.clockRate
        if self.settings.mode is RelayMode.PASSTHROUGH and same_codec(
            codec.mimeType, self.settings.codec(kind)
        ):
            capacity = self.settings.video_queue if kind == "video" else self.settings.audio_queue
            return EncodedFrameTrack(
                kind, clock_rate, capacity=capacity, on_keyframe_needed=self._request_keyframe
            )
        return DecodedFrameTrack(kind, clock_rate)

    def _pli_handler(self, track: EncodedFrameTrack) -> Callable[[], None]:
        """What to do when the subscriber of ``track`` sends PLI/FIR: ask its source."""

        def on_pli() -> None:
            if track.source is not None:
                self._request_keyframe(track.source)

        return on_pli

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- observation ----------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Plain-data snapshot for metrics and tests."""
        out: dict[str, Any] = {"session": self.session_id, "floor": self._floor, "participants": {}}
        for pid, p in self._participants.items():
            entry: dict[str, Any] = {"role": p.role.value, "slots": {}}
            if p.upstream is not None:
                entry["upstream"] = {
                    **p.upstream.frames,
                    "keyframes": p.upstream.keyframes,
                    "keyframe_requests": p.upstream.keyframe_requests,
                    "stalls": p.upstream.stalls,
                    "late": sum(late.late for late in p.upstream.lateness.values()),
                }
            if (Slot.MAIN, "video") in p.slots or (Slot.FLOOR, "video") in p.slots:
                entry["layer"] = self._layer_stats(p)
            for (slot, kind), track in p.slots.items():
                source, layer = (None, None) if track.source is None else _split_key(track.source)
                pending = track.pending_source
                entry["slots"][f"{slot.value}/{kind}"] = {
                    "source": source,
                    "pending": None if pending is None else _split_key(pending)[0],
                    "layer": layer if kind == "video" else None,
                    "in": track.stats.frames_in,
                    "out": track.stats.frames_out,
                    "dropped": track.stats.dropped,
                    "mode": "passthrough" if isinstance(track, EncodedFrameTrack) else "transcode",
                }
            out["participants"][pid] = entry
        return out

    def _layer_stats(self, participant: _Participant) -> dict[str, Any]:
        """The camera layer a subscriber receives, its switches and time on each layer."""
        state = participant.layers
        if state is None:
            return {
                "current": None,
                "switches": 0,
                "reason": None,
                "seconds": {"high": 0.0, "low": 0.0},
            }
        state.account(time.monotonic())
        return {
            "current": state.current,
            "switches": state.switches,
            "reason": state.reason,
            "seconds": {layer: round(secs, 3) for layer, secs in state.seconds.items()},
        }

    def layer_of(self, participant_id: str) -> Layer | None:
        """The camera layer a subscriber gets now (None: not a camera subscriber)."""
        participant = self._participants.get(participant_id)
        if participant is None or participant.layers is None:
            return None
        return participant.layers.current

    def layer_switches(self, participant_id: str) -> int:
        """Layer switches of a subscriber so far (its start layer is not one)."""
        participant = self._participants.get(participant_id)
        if participant is None or participant.layers is None:
            return 0
        return participant.layers.switches

    def participants(self) -> Iterable[str]:
        return list(self._participants)

    def candidate_types(self, participant_id: str) -> tuple[str, str] | None:
        """(hub side, participant side) ICE candidate types carrying this participant's
        media, e.g. ``("host", "relay")`` when it comes through a TURN server."""
        participant = self._participants.get(participant_id)
        return None if participant is None else internals.selected_pair_types(participant.pc)


_LOW_SUFFIX = "#low"


def _low_key(pid: str) -> str:
    """The source key of a publisher's low camera layer."""
    return pid + _LOW_SUFFIX


def _split_key(key: str) -> tuple[str, Layer]:
    """A source key back to (participant, layer)."""
    if key.endswith(_LOW_SUFFIX):
        return key[: -len(_LOW_SUFFIX)], "low"
    return key, "high"
