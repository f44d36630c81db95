"""``ClassroomNode``: the daemon's I/O around the pure session views.

Lifecycle, as in uvicorn's ``Server``: ``startup()`` (load state from disk, connect
with a last will, start the local API and the background tasks) → ``main_loop()``
(wait until asked to exit) → ``shutdown()`` (flush the journal if the broker is
there, publish offline presence, close). ``main.py`` wires signals to it.

Shared mutable state lives here and nowhere else: the session views, the journal,
the store and the counters. The background tasks are:

* receive: every message from the link → commands, sequenced events, snapshots;
* resync: every ``_TICK_S`` ask each view whether a ``node.resync`` is due;
* journal: when kicked (or every ``_SEND_TICK_S`` while anything is pending) and
  connected, send what the journal says is due: new entries in order, within the
  send window, and entries whose confirmation is overdue;
* heartbeat: every ``heartbeat_s`` a ``node.heartbeat``.

End-to-end acknowledgement: every event goes through the journal (fsync'd before
``submit`` returns) and leaves it only when the node sees its id, sent by this
node, in the session's sequenced stream (live, resync page, or the hub's republish
of a duplicate), or a final ``cmd.rejected`` for it. A ``rate_limited`` refusal is
not final: the entry is sent again later. A PUBACK that says the broker did not
take the message ("no matching subscribers" included) counts as not sent.

Programmatic API (used by the local API, the demo and the simulators):
``await send(type_, body, session=None) -> id``, ``submit`` (id and whether it
was sent or queued), ``sessions``, ``views``, ``view(session)``, ``rejections``,
and the ``on_event(session, event, applied_at_ms)`` hook.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

from pydantic import ValidationError

from broker.client import ClientSettings, Incoming, MqttLink, WillSpec
from broker.exceptions import NotConnected, NotDelivered, SubscribeDenied
from classroom_node.config import NodeConfig
from classroom_node.decks.cache import DeckCache
from classroom_node.decks.fetcher import DeckFetcher
from classroom_node.decks.sync import DeckSync
from classroom_node.display.routes import display_router
from classroom_node.exceptions import (
    AmbiguousSession,
    InvalidEvent,
    JournalFull,
    NoSession,
    UnknownSession,
)
from classroom_node.journal import Journal
from classroom_node.localapi import LocalApi
from classroom_node.sessionview import Applied, SessionView
from classroom_node.store import SessionStore
from protocols.codec import decode, decode_map, encode, to_jsonable
from protocols.exceptions import DecodeError, MessageTooLarge, TopicError
from protocols.ids import new_id, now_ms
from protocols.lesson import LessonStatus
from protocols.messages import (
    CLASS_BY_TYPE,
    EVENT_TYPES,
    CmdJoin,
    CmdJoinBody,
    CmdLeave,
    CmdRejected,
    CmdResync,
    DeckRef,
    Envelope,
    Event,
    HeartbeatBody,
    MediaStats,
    NodeHeartbeat,
    NodePresence,
    NodeResync,
    PresenceBody,
    SessionState,
)
from protocols.topics import TopicKind, Topics
from protocols.validation import describe_errors
from runtime.tasks import cancel_and_wait

__all__ = ["ClassroomNode", "NodeStats", "OnEvent", "Rejection", "Submitted"]

log = logging.getLogger("dualclass.node")


def _version() -> str:
    try:
        return metadata.version("dualclass")
    except metadata.PackageNotFoundError:
        return "unknown"


#: Sent in every heartbeat so operators see which software each classroom box runs.
_VERSION = _version()[:64]

#: ``on_event(session, event, applied_at_ms)``: called once per applied event.
OnEvent = Callable[[str, Event, int], None]

_TICK_S = 0.05
#: Journal loop period while entries are pending (kicks wake it earlier).
_SEND_TICK_S = 0.1
#: After a PUBACK saying "not delivered", wait this long before the next try.
_UNDELIVERED_RETRY_S = 0.2
#: Rejection codes that mean "try again later", not "never".
TRANSIENT_REJECTIONS = frozenset({"rate_limited"})
#: Resync loop period when nothing is owed (kicks wake it earlier).
_IDLE_S = 1.0
_SUBSCRIBE_RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class Submitted:
    """What became of an event handed to ``submit``."""

    id: str
    status: Literal["sent", "queued"]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A ``cmd.rejected`` from the hub: why one of our events was refused."""

    ref: str
    code: str
    detail: str
    session: str
    at_ms: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "code": self.code,
            "detail": self.detail,
            "session": self.session,
            "at_ms": self.at_ms,
        }


@dataclass(slots=True)
class NodeStats:
    """Node-wide counters (per-session ones live in each ``SessionView``)."""

    sent: int = 0
    journaled: int = 0
    journal_sent: int = 0
    confirmed: int = 0
    undelivered: int = 0
    journal_full: int = 0
    rejected: int = 0
    malformed: int = 0
    ignored: int = 0
    heartbeats: int = 0
    resync_requests: int = 0
    subscribe_denied: int = 0
    rejected_by_code: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "journaled": self.journaled,
            "journal_sent": self.journal_sent,
            "confirmed": self.confirmed,
            "undelivered": self.undelivered,
            "journal_full": self.journal_full,
            "rejected": self.rejected,
            "rejected_by_code": dict(self.rejected_by_code),
            "malformed": self.malformed,
            "ignored": self.ignored,
            "heartbeats": self.heartbeats,
            "resync_requests": self.resync_requests,
            "subscribe_denied": self.subscribe_denied,
        }


class ClassroomNode:
    """One classroom's daemon: MQTT session, journal, session views, local API."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        on_event: OnEvent | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.node_id = config.node_id
        self.topics = Topics(config.prefix)
        self.on_event = on_event
        #: More ``on_event`` hooks (the classroom display adds one).
        self.listeners: list[OnEvent] = []
        self._clock = clock
        self._views: dict[str, SessionView] = {}
        self.rejections: deque[Rejection] = deque(maxlen=100)
        self.stats = NodeStats()
        #: Filled by the media layer; reported in heartbeats.
        self.media_stats: MediaStats | None = None
        self.should_exit = asyncio.Event()
        self.force_exit = False
        self.started = False
        self.started_at = 0.0
        #: worst sequenced -> applied delay since the last heartbeat (reported, then reset)
        self._worst_latency_ms: float | None = None
        self.journal = Journal(
            config.state_dir / "journal" / "outbound.jsonl",
            fsync=config.journal_fsync,
            max_entries=config.journal_max_entries,
            max_bytes=config.journal_max_bytes,
            confirm_timeout_s=config.confirm_timeout_s,
            max_backoff_s=config.resend_max_s,
        )
        self.store = SessionStore(config.state_dir)
        self.link: MqttLink | None = None
        self.api: LocalApi | None = None
        #: The classroom display service (``classroom_node.display``), with the API.
        self.display: Any = None
        #: WebRTC to the display pages (made on first use: it loads aiortc).
        self.display_bridge: Any = None
        #: The node's media (``classroom_node.media.runner.NodeMedia``) when enabled.
        self.media: Any = None
        self._send_lock = asyncio.Lock()
        self._sent_waiters: dict[str, asyncio.Future[bool]] = {}
        self._journal_kick = asyncio.Event()
        self._resync_kick = asyncio.Event()
        self._denied: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._presence_id = new_id()
        self.deck_cache = DeckCache(config.state_dir / "decks")
        self.deck_sync = DeckSync(
            self.deck_cache,
            self._deck_fetcher(),
            self.wanted_decks,
            on_ready=self.heartbeat,
            retry_max_s=config.deck_retry_max_s,
        )

    def _deck_fetcher(self) -> DeckFetcher | None:
        config = self.config
        if config.hub_url is None:
            return None
        # the hub's CA: its own setting, else the broker's (one local CA signs both)
        ca = config.hub_ca_file or config.mqtt_ca_file
        verify: str | bool = str(ca) if ca else True
        return DeckFetcher(
            config.hub_url, self.node_id, config.mqtt_password or "", self.deck_cache, verify=verify
        )

    def wanted_decks(self) -> list[tuple[str, DeckRef]]:
        """(session, deck) for every deck the joined sessions' ``cmd.join`` named."""
        out: list[tuple[str, DeckRef]] = []
        for sid in self.sessions:
            join = self._views[sid].join
            for ref in (join.decks or []) if join is not None else []:
                out.append((sid, ref))
        return out

    # ================================================================ lifecycle

    async def startup(self) -> None:
        """Load state from disk, connect, start the local API and background tasks."""
        self.started_at = self._clock()
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        self.journal.open(self._clock())
        self._load_sessions()
        will = WillSpec(
            topic=self.topics.node_presence(self.node_id),
            payload=self._presence(False),
            qos=1,
            retain=True,
        )
        settings = ClientSettings(
            host=self.config.mqtt_host,
            port=self.config.mqtt_port,
            username=self.config.username,
            password=self.config.mqtt_password,
            client_id=self.node_id,
            keepalive=self.config.mqtt_keepalive_s,
            will=will,
            tls=self.config.mqtt_tls_settings(),
        )
        self.link = MqttLink(settings, on_connect=self._on_connect)
        await self.link.subscribe(self.topics.node_cmd(self.node_id))
        for sid in self.sessions:
            await self._subscribe_session(sid)
        await self.link.start()
        self._tasks = [
            asyncio.create_task(self._receive_loop(), name=f"node-{self.node_id}-receive"),
            asyncio.create_task(self._resync_loop(), name=f"node-{self.node_id}-resync"),
            asyncio.create_task(self._journal_loop(), name=f"node-{self.node_id}-journal"),
            asyncio.create_task(self._heartbeat_loop(), name=f"node-{self.node_id}-heartbeat"),
        ]
        if self.journal.pending():
            self._journal_kick.set()
        self.deck_sync.start()
        self.deck_sync.kick()
        if self.config.api_enabled:
            self.api = LocalApi(self, routers=[display_router(self)])
            await self.api.start()
        self.started = True
        log.info(
            "node %s started (%d sessions, %d journaled)",
            self.node_id,
            len(self.sessions),
            len(self.journal),
        )

    async def main_loop(self) -> None:
        """Run until ``request_exit()`` (first SIGTERM/SIGINT)."""
        await self.should_exit.wait()

    def request_exit(self) -> None:
        self.should_exit.set()

    async def shutdown(self, *, flush_timeout: float = 3.0) -> None:
        """Flush what can be flushed, say we are going offline, close everything."""
        self.should_exit.set()
        if self.api is not None:
            with contextlib.suppress(Exception):
                await self.api.stop(force=self.force_exit)
        link = self.link
        if link is not None and link.connected.is_set() and not self.force_exit:
            if self.journal.pending():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._flush_journal(), flush_timeout)
            with contextlib.suppress(NotConnected, TimeoutError):
                await asyncio.wait_for(
                    link.publish(
                        self.topics.node_presence(self.node_id), self._presence(False), retain=True
                    ),
                    flush_timeout,
                )
        await self._cancel_tasks()
        if link is not None:
            await link.close()
        self.close_files()
        self.started = False
        log.info("node %s stopped", self.node_id)

    async def abort(self) -> None:
        """Die like a crashed box: no DISCONNECT (the broker fires the last will)."""
        self.should_exit.set()
        if self.api is not None:
            with contextlib.suppress(Exception):
                await self.api.stop(force=True)
        await self._cancel_tasks()
        if self.link is not None:
            await self.link.abort()
        self.close_files()
        self.started = False

    async def _cancel_tasks(self) -> None:
        await self.deck_sync.stop()
        if self.display_bridge is not None:
            await self.display_bridge.close()
        await cancel_and_wait(*self._tasks)
        self._tasks = []

    def close_files(self) -> None:
        self.journal.close()
        self.store.close()

    def _load_sessions(self) -> None:
        for sid, raw in self.store.load_memberships().items():
            try:
                join = CmdJoinBody.model_validate(raw)
            except ValidationError:
                log.warning("dropping unreadable membership of %s", sid)
                continue
            view = self._new_view(sid, join)
            events = self._logged_events(sid)
            view.restore(events)
            # sequenced and applied before a crash, not yet crossed off the journal
            for event in events:
                self._confirm_seen(event)
            view.request_catch_up()

    def _logged_events(self, sid: str) -> list[Event]:
        """The applied-event log of a previous run, up to its first hole or bad record.

        The log must be contiguous from seq 1; whatever follows a hole is asked for
        again from the hub.
        """
        events: list[Event] = []
        for record in self.store.log(sid).load():
            try:
                message = decode_map(record)
            except DecodeError:
                break
            if message.kind != "event" or message.seq != len(events) + 1:
                break
            events.append(message)  # type: ignore[arg-type]
        return events

    def _new_view(self, sid: str, join: CmdJoinBody | None) -> SessionView:
        view = SessionView(
            sid,
            join,
            grace_s=self.config.resync_grace_s,
            timeout_s=self.config.resync_timeout_s,
        )
        self._views[sid] = view
        return view

    # ============================================================ public state

    @property
    def connected(self) -> bool:
        return self.link is not None and self.link.connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Return once the MQTT link is up (raises ``TimeoutError`` after ``timeout``)."""
        assert self.link is not None, "call startup() first"
        await self.link.wait_connected(timeout)

    @property
    def sessions(self) -> list[str]:
        """Sessions this node has joined (and not left), in join order."""
        return [sid for sid, view in self._views.items() if view.joined]

    @property
    def views(self) -> Mapping[str, SessionView]:
        """Every session view, including sessions left since startup."""
        return self._views

    def view(self, session: str) -> SessionView:
        view = self._views.get(session)
        if view is None:
            raise UnknownSession(f"unknown session {session!r}", self.sessions)
        return view

    def resolve_session(self, session: str | None) -> str:
        """The session a request means: the named one, or the single live/joined one."""
        joined = self.sessions
        if session:
            if session not in joined:
                raise UnknownSession(f"session {session!r} is not joined", joined)
            return session
        if not joined:
            raise NoSession("this node has joined no session", joined)
        if len(joined) == 1:
            return joined[0]
        live = [s for s in joined if self._views[s].state().status == LessonStatus.LIVE.value]
        if len(live) == 1:
            return live[0]
        raise AmbiguousSession("several sessions joined; name one", joined)

    def describe(self) -> dict[str, Any]:
        """The whole node as JSON-ready data (``GET /v1/state``)."""
        return {
            "node": self.node_id,
            "connected": self.connected,
            "uptime_s": round(self._clock() - self.started_at, 3) if self.started_at else 0.0,
            "sessions": [self._views[s].describe() for s in self.sessions],
            "journal_backlog": len(self.journal),
            "journal": {
                "backlog": len(self.journal),
                "in_flight": self.journal.in_flight,
                "bytes": self.journal.size_bytes,
                "oldest_unconfirmed_s": round(self.journal.oldest_age(self._clock()), 3),
                "resent": self.journal.resent,
            },
            "stats": self.stats.as_dict(),
            "rejections": [r.as_dict() for r in list(self.rejections)[-20:]],
            "decks": self.deck_sync.describe(),
            # what the next heartbeat carries (None: no media connected)
            "media": self.media_stats.model_dump() if self.media_stats else None,
        }

    # ================================================================= sending

    async def send(
        self, type_: str, body: Mapping[str, Any] | None = None, session: str | None = None
    ) -> str:
        """Send one lesson event; journal it if the broker is away. Returns its id."""
        return (await self.submit(type_, body, session)).id

    async def submit(
        self, type_: str, body: Mapping[str, Any] | None = None, session: str | None = None
    ) -> Submitted:
        """Like ``send`` but also says whether the event was ``sent`` or ``queued``.

        Either way the event is in the fsync'd journal when this returns, and stays
        there until the hub's stream shows it. ``sent``: the broker took it now;
        ``queued``: it waits its turn (broker away, earlier events still queued, or
        the send window full).

        Raises ``InvalidEvent`` (bad type or body), a ``SessionError``, or
        ``JournalFull`` (counted; nothing was accepted).
        """
        sid = self.resolve_session(session)
        message = self._build(type_, dict(body or {}), sid)
        try:
            payload = encode(message, max_size=self.config.max_payload)
        except MessageTooLarge as exc:
            raise InvalidEvent(type_, [str(exc)]) from None
        del payload  # encoded only to check the size; the journal loop sends it
        try:
            self.journal.append(to_jsonable(message), self._clock())
        except JournalFull:
            self.stats.journal_full += 1
            raise
        # The journal loop is the one sender (order, window, retries); wait a moment
        # for it so the caller learns whether the broker took the event. A link that
        # hangs (a black-holed path) must not hang the local API: after
        # ``submit_wait_s`` the answer is "queued" and the loop carries on.
        self._journal_kick.set()
        if not self.connected:
            self.stats.journaled += 1
            return Submitted(message.id, "queued")
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._sent_waiters[message.id] = waiter
        try:
            sent = await asyncio.wait_for(asyncio.shield(waiter), self.config.submit_wait_s)
        except TimeoutError:
            sent = False
        finally:
            self._sent_waiters.pop(message.id, None)
        if sent:
            self.stats.sent += 1
            return Submitted(message.id, "sent")
        self.stats.journaled += 1
        return Submitted(message.id, "queued")

    def _tell_waiter(self, message_id: str, sent: bool) -> None:
        waiter = self._sent_waiters.pop(message_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(sent)

    @staticmethod
    def _build(type_: str, body: dict[str, Any], session: str) -> Envelope:
        if type_ not in EVENT_TYPES:
            raise InvalidEvent(type_, [f"not a lesson event type (one of {sorted(EVENT_TYPES)})"])
        cls = CLASS_BY_TYPE[type_]
        try:
            return cls.model_validate(
                {"id": new_id(), "type": type_, "session": session, "sent": now_ms(), "body": body}
            )
        except ValidationError as exc:
            raise InvalidEvent(type_, describe_errors(exc.errors())) from None

    async def _flush_journal(self) -> None:
        """Send what the journal says is due, in order; stop at the first failure."""
        link = self.link
        if link is None:
            return
        async with self._send_lock:
            for message_id in self.journal.due(self._clock(), self.config.send_window):
                entry = self.journal.entry(message_id)
                if entry is None:
                    continue
                try:
                    payload = encode(decode_map(entry.message), max_size=self.config.max_payload)
                except (DecodeError, MessageTooLarge) as exc:
                    log.error("dropping unsendable journal entry %s: %s", message_id, exc)
                    self.journal.confirm(message_id)
                    continue
                try:
                    await link.publish(
                        self.topics.node_up(self.node_id), payload, need_subscriber=True
                    )
                except NotDelivered:
                    self.stats.undelivered += 1
                    self.journal.unsent(message_id, self._clock(), _UNDELIVERED_RETRY_S)
                    self._unsent_waiters()
                    return
                except NotConnected:
                    self.journal.unsent(message_id, self._clock())
                    self._unsent_waiters()
                    return
                self.journal.sent(message_id, self._clock())
                self.stats.journal_sent += 1
                self._tell_waiter(message_id, True)

    def _unsent_waiters(self) -> None:
        """Submitters whose event this round did not send: they hear "queued" now."""
        for message_id in list(self._sent_waiters):
            entry = self.journal.entry(message_id)
            if entry is None or entry.sent_at is None:
                self._tell_waiter(message_id, False)

    def _confirm_seen(self, event: Envelope) -> None:
        """Our own event is in the session's stream: it may leave the journal."""
        if event.src == self.node_id and self.journal.confirm(event.id):
            self.stats.confirmed += 1

    def _presence(self, online: bool) -> bytes:
        message = NodePresence(
            id=new_id() if online else self._presence_id, body=PresenceBody(online=online)
        )
        return encode(message)

    # ======================================================== background tasks

    async def _on_connect(self) -> None:
        """Every (re)connect: announce presence, catch up every session, drain the journal."""
        assert self.link is not None
        for view in self._views.values():
            if view.joined:
                view.request_catch_up()
        # what the old connection had in flight may be lost (a broker crash): send
        # every unconfirmed entry again now rather than after its timeout
        self.journal.all_unsent()
        self._resync_kick.set()
        self._journal_kick.set()
        self.deck_sync.kick()
        await self.link.publish(
            self.topics.node_presence(self.node_id), self._presence(True), retain=True
        )

    async def _receive_loop(self) -> None:
        assert self.link is not None
        async for incoming in self.link.messages():
            try:
                await self._handle(incoming)
            except Exception:
                log.exception(
                    "node %s failed handling a message on %s", self.node_id, incoming.topic
                )

    async def _journal_loop(self) -> None:
        while True:
            period = _SEND_TICK_S if len(self.journal) else _IDLE_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._journal_kick.wait(), period)
            self._journal_kick.clear()
            if self.connected and len(self.journal):
                await self._flush_journal()

    async def _resync_loop(self) -> None:
        while True:
            # Tick fast only while something is owed (a gap, an unanswered request,
            # a refused subscription); otherwise sleep until kicked. Fifty idle nodes
            # in one simulator process otherwise burn a tenth of a core polling.
            busy = bool(self._denied) or any(v.needs_attention for v in self._views.values())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._resync_kick.wait(), _TICK_S if busy else _IDLE_S)
            self._resync_kick.clear()
            if not self.connected:
                continue
            now = self._clock()
            for sid, retry_at in list(self._denied.items()):
                if now >= retry_at:
                    del self._denied[sid]
                    if sid in self._views and self._views[sid].joined:
                        await self._subscribe_session(sid)
            for sid, view in list(self._views.items()):
                if sid in self._denied:
                    continue
                body = view.due_request(now)
                if body is None:
                    continue
                request = NodeResync(id=new_id(), session=sid, sent=now_ms(), body=body)
                try:
                    assert self.link is not None
                    await self.link.publish(self.topics.node_up(self.node_id), encode(request))
                    self.stats.resync_requests += 1
                except NotConnected:
                    view.request_catch_up()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            if not self.connected:
                continue
            await self.heartbeat()

    async def heartbeat(self) -> bool:
        """Publish one ``node.heartbeat`` now; False if the broker is away."""
        joined = self.sessions
        body = HeartbeatBody(
            uptime_s=max(0.0, self._clock() - self.started_at),
            sessions=joined[:64],
            journal_backlog=len(self.journal),
            journal_oldest_s=round(self.journal.oldest_age(self._clock()), 3),
            last_seq={sid: self._views[sid].last_seq for sid in joined[:64]},
            media=self.media_stats or MediaStats(),
            decks=dict(list(self.deck_sync.readiness().items())[:64]) or None,
            version=_VERSION,
            latency_ms=self._worst_latency_ms,
            rejected=self.stats.rejected,
        )
        message = NodeHeartbeat(id=new_id(), sent=now_ms(), body=body)
        try:
            assert self.link is not None
            await self.link.publish(self.topics.node_up(self.node_id), encode(message))
        except NotConnected:
            return False
        self.stats.heartbeats += 1
        self._worst_latency_ms = None
        return True

    # ================================================================ receiving

    async def _handle(self, incoming: Incoming) -> None:
        try:
            ref = self.topics.parse(incoming.topic)
            message = decode(incoming.payload, max_size=self.config.max_payload)
        except (TopicError, DecodeError) as exc:
            self.stats.malformed += 1
            log.warning("node %s: bad message on %s: %s", self.node_id, incoming.topic, exc)
            return
        if ref.kind is TopicKind.NODE_CMD and ref.ident == self.node_id:
            await self._handle_cmd(message)
        elif ref.kind is TopicKind.SESSION_EVENTS:
            view = self._views.get(ref.ident)
            if view is None or not view.joined or message.kind != "event" or message.seq is None:
                self.stats.ignored += 1
                return
            self._confirm_seen(message)
            self._applied(view, view.offer(message, now_ms()))  # type: ignore[arg-type]
            if view.needs_attention:
                self._resync_kick.set()  # a gap opened: start its grace period now
        elif ref.kind is TopicKind.SESSION_STATE and isinstance(message, SessionState):
            view = self._views.get(ref.ident)
            if view is None or not view.joined:
                self.stats.ignored += 1
                return
            view.observe_snapshot(message.body)
            self._resync_kick.set()
        else:
            self.stats.ignored += 1

    async def _handle_cmd(self, message: Envelope) -> None:
        sid = message.session
        match message:
            case CmdJoin(body=body) if sid:
                await self._join(sid, body)
            case CmdLeave() if sid:
                await self._leave(sid)
            case CmdResync(body=body) if sid:
                view = self._views.get(sid)
                if view is None or not view.joined:
                    self.stats.ignored += 1
                    return
                events = [e for e in body.events if not e.session or e.session == sid]
                for event in events:
                    self._confirm_seen(event)
                self._applied(view, view.offer_resync(events, now_ms()))
                view.resync_answered(body)
                self._resync_kick.set()
            case CmdRejected(body=body):
                if body.code in TRANSIENT_REJECTIONS:
                    # refused for now (the hub's rate limit): keep it, send it later
                    entry = self.journal.entry(body.ref)
                    if entry is not None:
                        wait = min(self.config.confirm_timeout_s * 2**entry.tries, 30.0)
                        self.journal.unsent(body.ref, self._clock(), wait / 3)
                elif self.journal.confirm(body.ref):
                    self.stats.confirmed += 1
                rejection = Rejection(body.ref, body.code, body.detail, sid, now_ms())
                self.rejections.append(rejection)
                self.stats.rejected += 1
                self.stats.rejected_by_code[body.code] = (
                    self.stats.rejected_by_code.get(body.code, 0) + 1
                )
                log.warning(
                    "node %s: hub rejected %s: %s %s",
                    self.node_id,
                    body.ref,
                    body.code,
                    body.detail,
                )
            case _:
                self.stats.ignored += 1

    async def _join(self, sid: str, body: CmdJoinBody) -> None:
        # Subscribe before asking for the catch-up, so nothing published between
        # the resync reply and the subscription can slip through.
        await self._subscribe_session(sid)
        view = self._views.get(sid)
        if view is None:
            view = self._new_view(sid, None)
            # A session left and joined again keeps its log on disk: reuse it.
            view.restore(self._logged_events(sid))
        view.join = _keep_decks(view.join, body)
        view.joined = True
        self._save_memberships()
        view.request_catch_up()
        self._resync_kick.set()
        self.deck_sync.kick()
        log.info("node %s joined %s as %s", self.node_id, sid, body.role)

    async def _leave(self, sid: str) -> None:
        view = self._views.get(sid)
        if view is None or not view.joined:
            return
        view.joined = False
        self._denied.pop(sid, None)
        self._save_memberships()
        assert self.link is not None
        await self.link.unsubscribe(self.topics.session_events(sid))
        await self.link.unsubscribe(self.topics.session_state(sid))
        log.info("node %s left %s", self.node_id, sid)

    async def _subscribe_session(self, sid: str) -> None:
        assert self.link is not None
        try:
            await self.link.subscribe(self.topics.session_events(sid))
            await self.link.subscribe(self.topics.session_state(sid))
        except SubscribeDenied as exc:
            # The hub reloads the broker's ACL before it sends cmd.join; if we were
            # faster, try again shortly (and catch up once it works).
            self.stats.subscribe_denied += 1
            self._denied[sid] = self._clock() + _SUBSCRIBE_RETRY_S
            log.warning("node %s: %s; retrying", self.node_id, exc)
            if sid in self._views:
                self._views[sid].request_catch_up()

    def _save_memberships(self) -> None:
        self.store.save_memberships(
            {
                sid: view.join.model_dump(mode="json")
                for sid, view in self._views.items()
                if view.joined and view.join is not None
            }
        )

    def _applied(self, view: SessionView, applied: list[Applied]) -> None:
        if not applied:
            return
        log_file = self.store.log(view.session)
        for item in applied:
            log_file.append(to_jsonable(item.event))
            if item.event.ts is not None:
                delay = float(min(max(item.applied_at_ms - item.event.ts, 0), 86_400_000))
                worst = self._worst_latency_ms
                self._worst_latency_ms = delay if worst is None else max(worst, delay)
            hooks = [self.on_event, *self.listeners] if self.on_event else self.listeners
            for hook in hooks:
                try:
                    hook(view.session, item.event, item.applied_at_ms)
                except Exception:
                    log.exception("on_event hook failed")


def _keep_decks(old: CmdJoinBody | None, new: CmdJoinBody) -> CmdJoinBody:
    """``new``, still naming the decks ``old`` named: decks are only ever added to a
    session, and a join sent while the hub could not read them must not make the
    classroom forget (and stop fetching) its slides."""
    if old is None or not old.decks:
        return new
    known = {ref.id for ref in new.decks or []}
    merged = [*(new.decks or []), *(ref for ref in old.decks if ref.id not in known)]
    return new.model_copy(update={"decks": merged[:16]})
