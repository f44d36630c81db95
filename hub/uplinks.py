"""Route what arrives from MQTT: node uplinks and presence, by kind.

The sender of an uplink is the node id in the topic ``{prefix}/nodes/{node}/up``;
the broker's ACL lets a node write only its own ``up``, so that is the authenticated
identity. Any ``src`` in the payload is ignored (the sequencer overwrites it).

Every refusal goes through ``RouterHost.reject`` (counted by reason, logged and
answered with ``cmd.rejected``); nothing a node sends can raise out of ``handle``.
Lesson events are only queued here (to their session's runtime); heartbeats and
resync requests run as small tasks.

Crash-safe intake: the uplink link acknowledges nothing by itself (manual ack).
A lesson event is acknowledged to the broker by its runtime once Redis has it (or
it was refused); everything else once handled here. A hub killed with events in
memory never acknowledged them, so the broker delivers them again to the next
run, and the (sender, id) dedupe makes that harmless. A full session inbox makes
``handle`` wait: nothing more is read, and the broker (whose window to us,
``intake_window``, is full of unacknowledged messages) keeps the rest.

Fairness: before anything is decoded each uplink costs a token from its sender's
bucket (``hub.ratelimit``); without one it is refused as ``rate_limited`` (counted
per node; the answer itself is rate-limited too, a flood must not become a flood
of answers). Nodes treat ``rate_limited`` as "send again later".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import msgpack

from broker.client import Incoming
from hub.metrics import HubMetrics
from hub.ratelimit import NodeRateLimiter
from hub.sequencer import SessionRuntime, Uplink
from protocols.codec import decode
from protocols.exceptions import DecodeError, MessageTooLarge, TopicError
from protocols.messages import (
    EVENT_TYPES,
    NodeHeartbeat,
    NodePresence,
    NodeResync,
)
from protocols.topics import TopicKind, Topics

__all__ = ["RouterHost", "UplinkRouter", "guess_ref"]

log = logging.getLogger("dualclass.hub.uplinks")


class RouterHost(Protocol):
    """What the router needs from the hub."""

    async def find_runtime(self, session: str) -> SessionRuntime | None: ...

    async def on_heartbeat(self, node: str, message: NodeHeartbeat) -> None: ...

    async def on_presence(self, node: str, online: bool) -> None: ...

    async def on_resync(self, node: str, message: NodeResync) -> None: ...

    async def reject(self, node: str, ref: str, code: str, detail: str) -> None: ...

    def count_rejection(self, reason: str) -> None: ...

    def quarantine(self, node: str) -> None: ...


def guess_ref(payload: bytes) -> str:
    """The message id of an undecodable payload, if it has a plausible one."""
    try:
        raw = msgpack.unpackb(payload, raw=False)
    except Exception:
        return ""
    ref = raw.get("id") if isinstance(raw, dict) else None
    return ref if isinstance(ref, str) and len(ref) <= 64 else ""


#: Answers to rate-limited uplinks: at most this many per second per node (burst x2).
_REPLIES_PER_S = 10.0


class UplinkRouter:
    """Decode and dispatch one incoming MQTT message at a time."""

    def __init__(
        self,
        host: RouterHost,
        topics: Topics,
        *,
        max_size: int,
        limiter: NodeRateLimiter | None = None,
        metrics: HubMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        flood_threshold: int = 150,
    ) -> None:
        self._host = host
        self._topics = topics
        self._max_size = max_size
        self._limiter = limiter
        self._replies = NodeRateLimiter(_REPLIES_PER_S, 2 * _REPLIES_PER_S)
        self._metrics = metrics
        self._clock = clock
        self._flood_threshold = flood_threshold
        self._tasks: set[asyncio.Task[None]] = set()
        self.rate_limited = 0
        #: node -> (start of the current one-second window, refusals in it)
        self._refusals: dict[str, tuple[float, int]] = {}

    async def handle(self, incoming: Incoming) -> None:
        """Handle one message and see that it is acknowledged exactly once (here, or
        by the session runtime it was handed to); never raises (except cancellation).
        """
        handed_over = False
        try:
            handed_over = await self._handle(incoming)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("uplink on %s failed", incoming.topic)
        if not handed_over:
            incoming.ack()

    async def drain(self) -> None:
        """Wait for the heartbeat/resync tasks started so far."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("uplink task failed", exc_info=task.exception())

    async def _handle(self, incoming: Incoming) -> bool:
        """True when the message was handed to a runtime (which acknowledges it)."""
        try:
            ref = self._topics.parse(incoming.topic)
        except TopicError as exc:
            self._host.count_rejection(exc.code)
            log.warning("ignored message: %s", exc)
            return False
        if ref.kind is TopicKind.NODE_PRESENCE:
            await self._presence(ref.ident, incoming.payload)
        elif ref.kind is TopicKind.NODE_UP:
            if self._limited(ref.ident):
                await self._refuse_limited(ref.ident, incoming.payload)
                return False
            return await self._uplink(ref.ident, incoming.payload, incoming.ack)
        return False

    def _limited(self, node: str) -> bool:
        return self._limiter is not None and not self._limiter.allow(node, self._clock())

    async def _refuse_limited(self, node: str, payload: bytes) -> None:
        self.rate_limited += 1
        if self._metrics is not None:
            self._metrics.rate_limited.labels(node).inc()
        now = self._clock()
        started, count = self._refusals.get(node, (now, 0))
        if now - started >= 1.0:
            started, count = now, 0
        self._refusals[node] = (started, count + 1)
        if count + 1 > self._flood_threshold:
            self._refusals.pop(node, None)
            self._host.quarantine(node)
        if self._replies.allow(node, self._clock()):
            detail = "over the per-node rate limit; send it again later"
            await self._host.reject(node, guess_ref(payload), "rate_limited", detail)
        else:
            self._host.count_rejection("rate_limited")

    async def _presence(self, node: str, payload: bytes) -> None:
        if not payload:
            return  # a cleared retained message
        try:
            message = decode(payload, max_size=self._max_size)
        except DecodeError as exc:
            self._host.count_rejection(f"presence_{exc.code}")
            log.warning("presence of %s refused: %s", node, exc)
            return
        if isinstance(message, NodePresence):
            await self._host.on_presence(node, message.body.online)
        else:
            self._host.count_rejection("presence_unexpected_type")

    async def _uplink(self, node: str, payload: bytes, ack: Callable[[], None]) -> bool:
        try:
            message = decode(payload, max_size=self._max_size)
        except DecodeError as exc:
            ref = "" if isinstance(exc, MessageTooLarge) else guess_ref(payload)
            await self._host.reject(node, ref, exc.code, str(exc))
            return False
        type_ = message.type
        if type_ in EVENT_TYPES:
            runtime = await self._host.find_runtime(message.session)
            if runtime is None:
                await self._host.reject(
                    node, message.id, "unknown_session", f"no session {message.session!r}"
                )
                return False
            await runtime.put(Uplink(node, message, done=ack))
            return True
        elif isinstance(message, NodeHeartbeat):
            self._spawn(self._host.on_heartbeat(node, message))
        elif isinstance(message, NodeResync):
            self._spawn(self._host.on_resync(node, message))
        elif isinstance(message, NodePresence):
            await self._host.on_presence(node, message.body.online)
        else:
            await self._host.reject(
                node, message.id, "unexpected_type", f"{type_} is not sent by nodes"
            )
        return False
