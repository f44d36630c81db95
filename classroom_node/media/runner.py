"""``NodeMedia``: the node's media follows the node's sessions; stats go to heartbeats.

The MQTT side of the node decides which sessions it is in (``cmd.join`` /
``cmd.leave``); this loop watches ``node.sessions`` and keeps one
``SessionMedia`` per joined session, reconnecting with backoff when the hub or
the network drops it (cut short the moment the hub answers again: ``HubProbe``),
and writes the combined figures to ``node.media_stats``, which the node's
heartbeat carries. It needs from the node only what ``MediaHost`` lists, so it
stays out of the MQTT daemon's code:

    media = NodeMedia(node, node.config.media)   # DUALCLASS_NODE_MEDIA__*, [media]
    await media.start()  ...  await media.stop()

Node credentials for signalling are the node's MQTT username and secret: the hub
checks them against the same registry hashes as the broker does.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable
from typing import Protocol

from classroom_node.media.exceptions import NodeMediaError, SignalClosed, SignalRefused
from classroom_node.media.hubprobe import HubProbe
from classroom_node.media.peer import LayerSettings, SessionMedia
from classroom_node.media.settings import MediaSettings
from classroom_node.media.sources import Source, open_source
from protocols.messages import MediaStats
from protocols.signalling import SignalJoin
from runtime.tasks import cancel_and_wait
from webrtc.ice import restrict_host_addresses

__all__ = ["MediaHost", "NodeMedia", "combine"]

log = logging.getLogger("dualclass.node.media")

_POLL_S = 0.5
#: How often a node asks for its camera back while a console holds it (at most).
CAMERA_RETRY_S = 1.0


class _Credentials(Protocol):
    @property
    def username(self) -> str: ...

    @property
    def mqtt_password(self) -> str | None: ...


class MediaHost(Protocol):
    """What ``NodeMedia`` needs from ``ClassroomNode``."""

    @property
    def config(self) -> _Credentials: ...

    @property
    def sessions(self) -> list[str]: ...

    media_stats: MediaStats | None


def combine(stats: list[MediaStats]) -> MediaStats:
    """One figure for the heartbeat from several sessions: the worst of each (pure)."""
    if not stats:
        return MediaStats()
    return MediaStats(
        fps=min(s.fps for s in stats),
        bitrate_kbps=sum(s.bitrate_kbps for s in stats),
        loss=max(s.loss for s in stats),
        rtt_ms=max(s.rtt_ms for s in stats),
        freezes=sum(s.freezes for s in stats),
        # the camera layer: the lowest any session gets (a node is in one at a time)
        layer=min((s.layer for s in stats if s.layer), default=None, key=_LAYER_ORDER.index),
        layer_switches=sum(s.layer_switches or 0 for s in stats)
        if any(s.layer_switches is not None for s in stats)
        else None,
        layer_reason=next((s.layer_reason for s in stats if s.layer_reason), None),
        keyframe_requests=_sum_known(s.keyframe_requests for s in stats),
    )


_LAYER_ORDER = ("low", "high")


def layer_settings(settings: MediaSettings) -> LayerSettings | None:
    """The camera layers to send (None: the camera once, as before layers existed)."""
    if settings.layers < 2:
        return None
    return LayerSettings(
        high_kbps=settings.high_kbps,
        width=settings.low_width,
        height=settings.low_height,
        fps=settings.low_fps,
        low_kbps=settings.low_kbps,
    )


def _sum_known(values: Iterable[int | None]) -> int | None:
    """Sum of the known values; None when none is known (absent on the wire)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


class NodeMedia:
    """See the module docstring."""

    def __init__(self, node: MediaHost, settings: MediaSettings) -> None:
        self.node = node
        self.settings = settings
        self.source: Source | None = None
        self.sessions: dict[str, SessionMedia] = {}
        self._keepers: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ssl = (
            ssl.create_default_context(cafile=str(settings.ca_file)) if settings.ca_file else None
        )
        self._probe = HubProbe(
            settings.hub_url, interval_s=settings.reconnect_probe_s, ssl_context=self._ssl
        )

    async def start(self) -> None:
        """Apply the ICE setting, open the source, start following the node's sessions."""
        if self.settings.ice_host_addresses is not None:
            restrict_host_addresses(self.settings.ice_host_addresses)
        self.source = open_source(self.settings)
        self._task = asyncio.create_task(self._follow(), name="node-media")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
        for session in list(self._keepers):
            await self._drop(session)
        if self.source is not None:
            self.source.stop()
        await self._probe.close()

    async def _follow(self) -> None:
        while True:
            wanted = set(self.node.sessions)
            for session in wanted - set(self._keepers):
                self._keepers[session] = asyncio.create_task(
                    self._keep(session), name=f"node-media-{session}"
                )
            for session in set(self._keepers) - wanted:
                await self._drop(session)
            live = [m.stats for m in self.sessions.values() if m.connected.is_set()]
            self.node.media_stats = combine(live) if live else None
            await asyncio.sleep(_POLL_S)

    async def _drop(self, session: str) -> None:
        await cancel_and_wait(self._keepers.pop(session))

    def _join(self, session: str) -> SignalJoin:
        config = self.node.config
        if not config.mqtt_password:
            raise NodeMediaError("node credentials for media need mqtt_password")
        return SignalJoin(
            node=config.username, secret=config.mqtt_password, session=session, events=False
        )

    async def _keep(self, session: str) -> None:
        """Keep ``session``'s media up: reconnect with backoff until dropped."""
        delay = 0.5
        while True:
            media = SessionMedia(
                self.settings.hub_url,
                self._join(session),
                self.source,
                stats_interval_s=self.settings.stats_interval_s,
                record_dir=self.settings.record_dir if self.settings.sink == "record" else None,
                ssl_context=self._ssl,
                ice_servers=[s.model_dump(exclude_none=True) for s in self.settings.ice_servers],
                relay_only=self.settings.ice_transport_policy == "relay",
                layers=layer_settings(self.settings),
                audio_kbps=self.settings.audio_kbps,
            )
            self.sessions[session] = media
            try:
                await media.run()
                delay = 0.5  # a clean end (hub closed the room or went away): again soon
            except SignalRefused as exc:
                if exc.status == 409:
                    # a teacher's console sends this classroom's camera for now: ask
                    # again soon, to take it back promptly once the console lets go
                    log.info("media of %s: %s", session, exc)
                    delay = CAMERA_RETRY_S / 2
                else:
                    log.warning("media of %s refused: %s", session, exc)
                    delay = self.settings.reconnect_max_s
            except (SignalClosed, NodeMediaError, OSError, TimeoutError) as exc:
                log.warning("media of %s lost: %s", session, exc)
                if media.connected.is_set():
                    delay = 0.5  # it worked until now: no reason to wait long
            finally:
                self.sessions.pop(session, None)
                await media.close()
            # wait out the backoff, unless the hub comes back meanwhile (hubprobe.py)
            if await self._probe.pause(delay):
                log.info("hub answers again: media of %s reconnects now", session)
                delay = 0.5
            else:
                delay = min(delay * 2, self.settings.reconnect_max_s)
