"""A stand-in for the hub, for node tests: a raw ``MqttLink`` as user ``hub``.

It records every uplink and presence message, keeps a per-session log of
sequenced events (seq from 1), publishes them (in order or as the test likes),
and answers ``node.resync`` with ``cmd.resync`` pages from that log.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from broker.client import ClientSettings, MqttLink
from broker.exceptions import NotConnected
from protocols.codec import decode, encode
from protocols.ids import new_id, now_ms
from protocols.messages import (
    CLASS_BY_TYPE,
    CmdJoin,
    CmdJoinBody,
    CmdLeave,
    CmdRejected,
    CmdRejectedBody,
    CmdResync,
    CmdResyncBody,
    Envelope,
    NodeResync,
    SessionState,
)
from protocols.topics import TopicKind, Topics

HUB_USER = "hub"
HUB_SECRET = "hub-secret"


async def wait_until(predicate: Callable[[], bool], within: float = 5.0, what: str = "") -> None:
    """Await ``predicate()`` becoming true, checking every 10 ms, or fail at the deadline."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or predicate}")
        await asyncio.sleep(0.01)


@dataclass
class Uplink:
    node: str
    message: Any


@dataclass
class HubSim:
    port: int
    prefix: str = "dc/v1"
    #: Answer node.resync automatically from the log.
    auto_resync: bool = True
    #: Largest number of events per cmd.resync page (``more`` set when cut).
    page: int = 100
    #: Sequence node events like the real hub (dedupe on (sender, id), publish the
    #: sequenced event, republish a duplicate's stored one), so nodes see their own
    #: events in the stream and clear them from their journals.
    echo: bool = False
    uplinks: list[Uplink] = field(default_factory=list)
    presence: dict[str, list[bool]] = field(default_factory=dict)
    logs: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.topics = Topics(self.prefix)
        self.link = MqttLink(
            ClientSettings(
                port=self.port,
                username=HUB_USER,
                password=HUB_SECRET,
                client_id=f"hubsim-{new_id()[-8:]}",
            )
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HubSim:
        await self.link.subscribe(self.topics.all_uplinks)
        await self.link.subscribe(self.topics.all_presence)
        await self.link.start(wait=True)
        self._task = asyncio.create_task(self._receive())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.link.close()

    # ------------------------------------------------------------ receiving

    async def _receive(self) -> None:
        async for incoming in self.link.messages():
            ref = self.topics.parse(incoming.topic)
            message = decode(incoming.payload)
            if ref.kind is TopicKind.NODE_PRESENCE:
                self.presence.setdefault(ref.ident, []).append(message.body.online)
            elif ref.kind is TopicKind.NODE_UP:
                self.uplinks.append(Uplink(ref.ident, message))
                if self.echo and message.kind == "event":
                    with contextlib.suppress(NotConnected):
                        await self._echo(ref.ident, message)
                if isinstance(message, NodeResync) and self.auto_resync:
                    # A lost answer is what the node's resync timeout is for.
                    with contextlib.suppress(NotConnected):
                        await self.answer_resync(ref.ident, message)

    async def _echo(self, node: str, message: Any) -> None:
        log = self.logs.setdefault(message.session, [])
        for event in log:
            if event.src == node and event.id == message.id:
                await self.deliver(event)  # a resend: the stored one again
                return
        event = message.model_copy(update={"seq": len(log) + 1, "ts": now_ms(), "src": node})
        log.append(event)
        await self.deliver(event)

    def sequenced_from(self, node: str) -> list[Any]:
        """Events of ``node`` in the sequenced logs (``echo``), each id once."""
        return [e for log in self.logs.values() for e in log if e.src == node]

    def from_node(self, node: str, type_: str | None = None) -> list[Any]:
        return [
            u.message
            for u in self.uplinks
            if u.node == node and (type_ is None or u.message.type == type_)
        ]

    def events_from(self, node: str) -> list[Any]:
        return [u.message for u in self.uplinks if u.node == node and u.message.kind == "event"]

    # -------------------------------------------------------------- sending

    async def cmd(self, node: str, message: Envelope) -> None:
        await self.link.publish(self.topics.node_cmd(node), encode(message))

    async def join(self, node: str, session: str, role: str = "partner") -> None:
        self.logs.setdefault(session, [])
        await self.cmd(node, CmdJoin(id=new_id(), session=session, body=CmdJoinBody(role=role)))  # type: ignore[arg-type]

    async def leave(self, node: str, session: str) -> None:
        await self.cmd(node, CmdLeave(id=new_id(), session=session))

    async def reject(self, node: str, session: str, ref: str, code: str, detail: str = "") -> None:
        body = CmdRejectedBody(ref=ref, code=code, detail=detail)
        await self.cmd(node, CmdRejected(id=new_id(), session=session, body=body))

    def sequence(
        self, session: str, type_: str, body: dict[str, Any] | None = None, *, src: str = "lead"
    ) -> Any:
        """Append an event to the session log (seq = next) without publishing it."""
        log = self.logs.setdefault(session, [])
        cls = CLASS_BY_TYPE[type_]
        event = cls.model_validate(
            {
                "id": new_id(),
                "type": type_,
                "session": session,
                "seq": len(log) + 1,
                "ts": now_ms(),
                "src": src,
                "sent": now_ms(),
                "body": body or {},
            }
        )
        log.append(event)
        return event

    async def deliver(self, event: Any) -> None:
        await self.link.publish(self.topics.session_events(event.session), encode(event))

    async def publish_event(
        self, session: str, type_: str, body: dict[str, Any] | None = None, *, src: str = "lead"
    ) -> Any:
        event = self.sequence(session, type_, body, src=src)
        await self.deliver(event)
        return event

    async def publish_state(self, session: str, state: Any) -> None:
        message = SessionState(id=new_id(), session=session, body=state)
        await self.link.publish(self.topics.session_state(session), encode(message), retain=True)

    async def answer_resync(self, node: str, request: NodeResync) -> None:
        log = self.logs.get(request.session, [])
        first = request.body.from_seq
        last = min(request.body.to_seq or len(log), len(log))
        events = log[first - 1 : last]
        more = len(events) > self.page
        events = events[: self.page]
        to_seq = first + len(events) - 1 if events else max(first - 1, 0)
        body = CmdResyncBody(from_seq=first, to_seq=to_seq, events=events, more=more)
        await self.cmd(node, CmdResync(id=new_id(), session=request.session, body=body))
