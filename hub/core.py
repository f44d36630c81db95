"""The hub's shared state and its operations, apart from process lifecycle.

``HubCore`` is the one small object that holds what the hub knows at run time: the
store, the two MQTT links (one subscribes, one publishes, so that on shutdown the
hub can stop taking uplinks and still publish what it already accepted), the
session runtimes, the presence tracker and the metrics. It implements the router's
``RouterHost`` and the operations the API calls (nodes, sessions, events).
``hub.server.Hub`` adds startup, the main loop and shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from broker.client import MqttLink
from broker.exceptions import NotConnected
from broker.render import hash_password, verify_password
from hub.brokersync import BrokerSync
from hub.config import HubConfig
from hub.decks.render import DeckRenderer
from hub.decks.store import DeckStore
from hub.exceptions import (
    InvalidSpec,
    NodeExists,
    SessionExists,
    StoreUnavailable,
    UnknownNode,
    UnknownSession,
)
from hub.ledgerfeed import LedgerFeed
from hub.metrics import HubMetrics
from hub.ops.feed import NodeGauges, OpsFeed
from hub.presence import NodeTracker, NodeView
from hub.ratelimit import NodeRateLimiter
from hub.resync import MAX_PAGE_EVENTS, build_page
from hub.sequencer import SessionRuntime
from hub.sessions import SessionSpec
from hub.store import Store
from hub.uplinks import UplinkRouter
from protocols.codec import decode, encode, to_jsonable
from protocols.exceptions import DecodeError, TopicError
from protocols.ids import new_id, now_ms
from protocols.lesson import LessonStatus
from protocols.messages import (
    CmdJoin,
    CmdLeave,
    CmdRejected,
    CmdRejectedBody,
    DeckRef,
    Envelope,
    NodeHeartbeat,
    NodeResync,
)
from protocols.topics import Topics

__all__ = ["HubCore", "NodeInfo", "SessionOverview"]

log = logging.getLogger("dualclass.hub")

#: The same (node, session) join is not resent more often than this on heartbeats.
_JOIN_RESEND_MS = 30_000


@dataclass(frozen=True, slots=True)
class NodeInfo:
    node: str
    view: NodeView


@dataclass(frozen=True, slots=True)
class SessionOverview:
    spec: SessionSpec
    state: dict[str, Any]
    counters: dict[str, int]


class HubCore:
    """State and operations of one hub replica (see module docstring)."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.topics = Topics(config.prefix)
        self.metrics = HubMetrics()
        self.store = Store.from_url(config.redis_url)
        self.link_in = MqttLink(config.client_settings(intake=True))
        self.link_out = MqttLink(config.client_settings(publisher=True))
        self.tracker = NodeTracker(timeout_s=config.heartbeat_timeout_s)
        #: node -> until (monotonic) it may not publish: quarantined for flooding
        self.muted: dict[str, float] = {}
        self._strikes: dict[str, int] = {}
        self.broker = BrokerSync(
            config.broker_files(), self.store, self._probe, muted=lambda: self.muted.keys()
        )
        self.router = UplinkRouter(
            self,
            self.topics,
            max_size=config.max_payload_size,
            limiter=NodeRateLimiter(config.rate_per_node_s, config.rate_burst),
            metrics=self.metrics,
            flood_threshold=config.flood_threshold,
        )
        self.decks = DeckStore(
            lambda: self.store.redis, config.decks_dir, DeckRenderer(config.deck_limits())
        )
        self.runtimes: dict[str, SessionRuntime] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._join_sent: dict[tuple[str, str], int] = {}
        #: node -> the sessions (with a runtime here) it is a member of; every
        #: heartbeat asks, so it must not scan every session's roster
        self._sessions_of: dict[str, set[str]] = {}
        self._background: set[asyncio.Task[int]] = set()
        #: hub time (ms) of sequenced events and ledger records; tests may replace it
        #: before startup to play a term at scripted times
        self.clock: Callable[[], int] = now_ms
        # the participation ledger (hub.ledgerfeed): fed below, saved on a timer
        self.ledger_feed = LedgerFeed(
            self.store.redis,
            clock=lambda: self.clock(),
            timeout_s=config.heartbeat_timeout_s,
        )
        # the operator dashboard (hub.ops): sampled once a tick, started by the server
        self.ops = OpsFeed(self)
        self.metrics.registry.register(NodeGauges(self.ops))

    # ----------------------------------------------------------- downlinks

    async def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """QoS 1 publish on the outgoing link; raises ``NotConnected``."""
        await self.link_out.publish(topic, payload, qos=1, retain=retain)

    async def send_cmd(self, node: str, message: Envelope) -> bool:
        """Best-effort command to one node; False if it could not be sent now."""
        try:
            payload = encode(message, max_size=self.config.max_payload_size)
            await self.publish(self.topics.node_cmd(node), payload)
        except (NotConnected, DecodeError, TopicError) as exc:
            log.info("cmd %s to %s not sent: %s", getattr(message, "type", "?"), node, exc)
            return False
        return True

    async def _probe(self) -> None:
        await self.publish(f"{self.config.prefix}/hub/probe", b"", False)

    # --------------------------------------------------------- router host

    def count_rejection(self, reason: str) -> None:
        self.metrics.rejected.labels(reason).inc()

    async def reject(self, node: str, ref: str, code: str, detail: str) -> None:
        """Count, log and answer a refused uplink with ``cmd.rejected``."""
        self.count_rejection(code)
        log.info("rejected uplink %s from %s: %s (%s)", ref or "?", node, code, detail)
        body = CmdRejectedBody(ref=ref[:64], code=code[:200], detail=detail[:2000])
        await self.send_cmd(node, CmdRejected(id=new_id(), body=body))

    def quarantine(self, node: str) -> None:
        """Shut a flooding node out at the broker for a while (see ``HubConfig``)."""
        base = self.config.flood_quarantine_s
        if node in self.muted or base <= 0 or not self.broker.enabled:
            return
        strikes = self._strikes[node] = self._strikes.get(node, 0) + 1
        seconds = min(base * 2 ** (strikes - 1), 300.0)
        self.muted[node] = time.monotonic() + seconds
        self.metrics.quarantined.labels(node).inc()
        log.warning("node %s floods: refused at the broker for %.0f s", node, seconds)
        task = asyncio.create_task(self._quarantine(node, seconds))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _quarantine(self, node: str, seconds: float) -> int:
        try:
            await self._apply_quietly()
            await asyncio.sleep(seconds)
        finally:
            self.muted.pop(node, None)
        await self._apply_quietly()
        log.info("node %s may publish again", node)
        return 0

    async def _apply_quietly(self) -> None:
        try:
            await self.broker.apply()
        except (StoreUnavailable, OSError) as exc:
            log.warning("broker files not updated: %s", exc)

    def runtime(self, session: str) -> SessionRuntime | None:
        return self.runtimes.get(session)

    async def find_runtime(self, session: str) -> SessionRuntime | None:
        """The session's runtime, loading it from Redis if another replica created it."""
        found = self.runtimes.get(session)
        if found is not None or not session:
            return found
        lock = self._loading.setdefault(session, asyncio.Lock())
        async with lock:
            found = self.runtimes.get(session)
            if found is not None:
                return found
            raw = await self.store.get_session(session)
            if raw is None:
                return None
            return await self._start_runtime(SessionSpec.model_validate_json(raw))

    async def on_heartbeat(self, node: str, message: NodeHeartbeat) -> None:
        now = now_ms()
        self.metrics.heartbeats.inc()
        came_online = self.tracker.heartbeat(node, message.body, now)
        record = {"at": now, **message.body.model_dump(mode="json")}
        try:
            await self.store.put_heartbeat(node, record)
        except StoreUnavailable as exc:
            log.warning("heartbeat of %s not stored: %s", node, exc)
        await self.ledger_feed.heartbeat(node, message)
        if message.body.decks:
            await self._deck_readiness(node, message.body.sessions, message.body.decks, now)
        joined = set(message.body.sessions)
        await self.send_joins(node, force=came_online, skip=joined)

    async def on_presence(self, node: str, online: bool) -> None:
        came_online = self.tracker.presence(node, online, now_ms())
        self.metrics.nodes_online.set(self.tracker.online_count(now_ms()))
        await self.ledger_feed.presence(node, online)
        if came_online:
            log.info("node %s online", node)
            # in the background: the router must not wait for these publishes
            task = asyncio.create_task(self.send_joins(node, force=True))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        elif not online:
            log.info("node %s offline", node)

    async def on_resync(self, node: str, message: NodeResync) -> None:
        runtime = await self.find_runtime(message.session)
        if runtime is None:
            await self.reject(
                node, message.id, "unknown_session", f"no session {message.session!r}"
            )
            return
        if node not in runtime.spec.roster():
            await self.reject(node, message.id, "not_member", f"{node} is not in {message.session}")
            return
        self.metrics.resync_requests.inc()
        body = message.body
        stored = await self.store.read_events(
            message.session, body.from_seq, body.to_seq, limit=MAX_PAGE_EVENTS + 1
        )
        page, payload = build_page(
            message.session,
            body.from_seq,
            body.to_seq,
            stored,
            max_size=self.config.max_payload_size,
        )
        self.metrics.resync_events.inc(len(page.body.events))
        try:
            await self.publish(self.topics.node_cmd(node), payload)
        except NotConnected:
            log.info("resync reply to %s not sent: broker away (the node will ask again)", node)

    # --------------------------------------------------------------- joins

    async def send_joins(
        self, node: str, *, force: bool = False, skip: set[str] | None = None
    ) -> int:
        """Send ``cmd.join`` for every due, unfinished session ``node`` belongs to.

        ``force`` resends regardless of what was sent before (the node restarted);
        otherwise a join is resent at most every 30 s. ``skip``: sessions the node
        says it has joined already.
        """
        now = now_ms()
        sent = 0
        for session in sorted(self._sessions_of.get(node, ())):
            runtime = self.runtimes.get(session)
            if runtime is None or (skip and session in skip):
                continue
            spec = runtime.spec
            if runtime.machine.status is LessonStatus.ENDED:
                continue
            if not spec.join_due(now, self.config.join_lead_time_s):
                continue
            last = self._join_sent.get((node, spec.session))
            if not force and last is not None and now - last < _JOIN_RESEND_MS:
                continue
            if await self._send_join(spec, node):
                sent += 1
        return sent

    async def join_message(self, spec: SessionSpec, node: str) -> CmdJoin:
        """The ``cmd.join`` for ``node``: the spec's part plus the session's decks.

        Every join the hub sends (here, and the lesson scheduler's) is built here, so
        none forgets the decks (a node takes each join as the whole truth)."""
        body = spec.join_body(node)
        try:
            decks = await self.decks.session_decks(spec.session)
        except StoreUnavailable:
            decks = []
        if decks:
            refs = [DeckRef(id=d.id, name=d.name, pages=d.page_count) for d in decks]
            body = body.model_copy(update={"decks": refs})
        return CmdJoin(id=new_id(), session=spec.session, body=body)

    async def _send_join(self, spec: SessionSpec, node: str) -> bool:
        message = await self.join_message(spec, node)
        ok = await self.send_cmd(node, message)
        if ok:
            self._join_sent[(node, spec.session)] = now_ms()
        return ok

    # --------------------------------------------------------------- decks

    async def attach_deck(self, session: str, deck: str) -> bool:
        """Attach a stored deck to a session and tell its members at once (a fresh
        ``cmd.join`` names the decks, so nodes start downloading now)."""
        spec = await self.get_spec(session)
        added = await self.decks.attach(session, deck)
        if added and spec.join_due(now_ms(), self.config.join_lead_time_s):
            for node in spec.members:
                await self._send_join(spec, node)
        return added

    async def _deck_readiness(
        self, node: str, sessions: list[str], decks: dict[str, bool], now: int
    ) -> None:
        """Remember when a node first reported a deck complete (for the ledger)."""
        for session in sessions:
            try:
                attached = await self.decks.session_deck_ids(session)
            except StoreUnavailable:
                return
            for deck in attached:
                if decks.get(deck):
                    await self.decks.mark_ready(session, deck, node, now)

    # ------------------------------------------------------------ sessions

    async def _start_runtime(self, spec: SessionSpec) -> SessionRuntime:
        runtime = SessionRuntime(
            spec,
            store=self.store,
            topics=self.topics,
            metrics=self.metrics,
            publish=self.publish,
            reject=self.reject,
            max_size=self.config.max_payload_size,
            clock=self.clock,
            on_sequenced=self.ledger_feed.event,
            inbox_size=self.config.inbox_size,
        )
        await runtime.catch_up()
        self.runtimes[spec.session] = runtime
        for member in spec.roster():
            self._sessions_of.setdefault(member, set()).add(spec.session)
        self.metrics.sessions.set(len(self.runtimes))
        runtime.start()
        return runtime

    async def load_sessions(self) -> int:
        """Rebuild every session's machine from its log (hub start)."""
        for session in await self.store.all_sessions():
            await self.find_runtime(session)
        return len(self.runtimes)

    async def create_session(
        self, spec: SessionSpec, *, teacher: str | None = None
    ) -> SessionRuntime:
        """Store a new session, open the broker ACL to its members, tell them to join.

        Order matters: spec in Redis, then broker files + reload (and its barrier),
        then the retained initial state, then ``cmd.join`` to each member (if the
        session is due: ``join_lead_time_s`` before ``starts_at``; later ones are
        sent by the join scheduler). The ledger gets the session's report info
        (``teacher``: the lead teacher when the caller knows it, e.g. the timetable).
        """
        nodes = await self.store.nodes()
        missing = [n for n in spec.members if n not in nodes]
        if missing:
            raise InvalidSpec(f"unregistered nodes: {', '.join(missing)}")
        if not await self.store.add_session(spec.session, spec.model_dump_json()):
            raise SessionExists(spec.session)
        await self.ledger_feed.session_created(spec, teacher=teacher)
        await self.broker.apply()
        # through find_runtime: an uplink may have loaded the session meanwhile
        runtime = await self.find_runtime(spec.session)
        assert runtime is not None
        if spec.join_due(now_ms(), self.config.join_lead_time_s):
            for node in spec.members:
                await self._send_join(spec, node)
        return runtime

    async def remove_session(self, session: str) -> None:
        """Delete a session and its log (simulator clean-up, mistakes): stop its
        runtime, tell its members to leave, close the broker ACL to them.

        Only for sessions nobody needs: the event log is gone afterwards.
        """
        runtime = self.runtimes.pop(session, None)
        if runtime is not None:
            for member in runtime.spec.roster():
                self._sessions_of.get(member, set()).discard(session)
            await runtime.stop(grace_s=2.0)
            self.metrics.sessions.set(len(self.runtimes))
        if not await self.store.remove_session(session) and runtime is None:
            raise UnknownSession(session)
        if runtime is not None:
            for node in runtime.spec.members:
                self._join_sent.pop((node, session), None)
                await self.send_cmd(node, CmdLeave(id=new_id(), session=session))
        await self.broker.apply()

    async def get_spec(self, session: str) -> SessionSpec:
        runtime = await self.find_runtime(session)
        if runtime is None:
            raise UnknownSession(session)
        return runtime.spec

    async def list_sessions(self) -> list[SessionOverview]:
        for raw in (await self.store.all_sessions()).values():
            try:
                spec = SessionSpec.model_validate_json(raw)
            except ValidationError:
                continue
            await self.find_runtime(spec.session)
        return [self._view(r) for _, r in sorted(self.runtimes.items())]

    async def session_view(self, session: str) -> SessionOverview:
        runtime = await self.find_runtime(session)
        if runtime is None:
            raise UnknownSession(session)
        return self._view(runtime)

    @staticmethod
    def _view(runtime: SessionRuntime) -> SessionOverview:
        return SessionOverview(
            spec=runtime.spec,
            state=runtime.machine.snapshot().model_dump(mode="json"),
            counters={
                "accepted": runtime.accepted,
                "rejected": runtime.rejected,
                "duplicates": runtime.duplicates,
                "pending": runtime.pending,
                "last_seq": runtime.machine.last_seq,
            },
        )

    async def read_events(self, session: str, from_seq: int, limit: int) -> list[dict[str, Any]]:
        """Sequenced events as JSON-ready dicts (the browser shape)."""
        if await self.find_runtime(session) is None:
            raise UnknownSession(session)
        stored = await self.store.read_events(session, from_seq, limit=limit)
        return [to_jsonable(decode(s.payload, max_size=16 * 1024 * 1024)) for s in stored]

    # --------------------------------------------------------------- nodes

    @staticmethod
    def _check_node_id(node: str) -> None:
        # A node id is an MQTT username and a topic segment: same rule as topics.
        Topics().node_up(node)

    async def add_node(self, node: str) -> str:
        """Register ``node``; returns its MQTT secret (shown once, stored hashed)."""
        self._check_node_id(node)
        if node in await self.store.hub_users():
            # a node named like a hub replica would share its broker identity
            raise NodeExists(node)
        secret = secrets.token_urlsafe(24)
        if not await self.store.add_node(node, hash_password(secret)):
            raise NodeExists(node)
        await self.broker.apply()
        return secret

    async def rotate_node(self, node: str) -> str:
        """New secret for ``node``. Its current connection stays up until it reconnects."""
        secret = secrets.token_urlsafe(24)
        if not await self.store.set_node(node, hash_password(secret)):
            raise UnknownNode(node)
        await self.broker.apply()
        return secret

    async def remove_node(self, node: str) -> None:
        if not await self.store.remove_node(node):
            raise UnknownNode(node)
        self.tracker.forget(node)
        await self.broker.apply()

    async def list_nodes(self) -> list[NodeInfo]:
        now = now_ms()
        nodes = await self.store.nodes()
        return [NodeInfo(n, self.tracker.view(n, now)) for n in sorted(nodes)]

    async def ensure_hub_users(self) -> None:
        """Keep the hubs' own MQTT users in ``dc:hub_users`` (see ``hub.config``)."""
        stored = await self.store.hub_users()
        updates = {u: h for u, h in self.config.hub_users.items() if stored.get(u) != h}
        password = self.config.mqtt_password
        user = self.config.mqtt_username
        if password is not None and user not in self.config.hub_users:
            current = stored.get(user)
            if current is None or not verify_password(password.get_secret_value(), current):
                updates[user] = hash_password(password.get_secret_value())
        await self.store.set_hub_users(updates)
