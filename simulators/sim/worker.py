"""A worker process: many real classroom nodes and the lessons they play.

Each simulated classroom is a ``ClassroomNode`` (its own MQTT connection with its
registered credentials, its own journal and state directory) submitting events
exactly as its local API would (``ClassroomNode.submit``: sent, or queued in the
journal while the broker is away). A worker holds whole sessions, so it can match
every event its classrooms submitted with what the hub sequenced or refused.

Classrooms named in the fault schedule connect through a ``TcpProxy`` of their own
(``simulators.faults``), which the main process asks this worker to cut and
restore. Talks to the main process over a pipe, one dict per message:

worker -> main: ``ready``, ``joined``, ``tick`` (every second), ``recovered``,
``result``, ``error``. main -> worker: ``go``, ``cut``, ``restore``, ``watch``,
``stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from classroom_node.config import NodeConfig
from classroom_node.exceptions import InvalidEvent, SessionError
from classroom_node.node import ClassroomNode, OnEvent
from protocols.messages import Event
from runtime.loop import run as run_loop
from simulators.faults import CutMode, TcpProxy
from simulators.script import Step
from simulators.sim.plan import Mix, SessionPlan, session_timeline

__all__ = ["WorkerSpec", "worker_main"]

log = logging.getLogger("dualclass.sim.worker")

#: Refusals the node answers by sending the same event again later.
_TRANSIENT = frozenset({"", "rate_limited"})

#: Nodes started at once (each opens a TCP connection and a few files).
_START_BATCH = 25


@dataclass
class WorkerSpec:
    index: int
    mqtt_host: str
    mqtt_port: int
    topic_prefix: str
    state_dir: str
    sessions: list[SessionPlan]
    secrets: dict[str, str]
    duration_s: float
    lead_rate: float
    mix: Mix
    seed: int
    #: per session index: seconds after the common start (the ramp)
    offsets: dict[int, float]
    proxied: set[str] = field(default_factory=set)
    heartbeat_s: float = 5.0
    journal_fsync: bool = False
    join_timeout_s: float = 120.0
    drain_timeout_s: float = 60.0
    #: media: the lead's hub URL (None: events only)
    media_hub_url: str | None = None
    media_fps: int = 30
    #: MQTT over TLS to an existing deployment's broker (its CA file, if private)
    mqtt_tls: bool = False
    mqtt_ca_file: str | None = None
    media_width: int = 320
    media_height: int = 240


@dataclass
class _SessionBook:
    """What one session's classrooms submitted and applied."""

    plan: SessionPlan
    #: submitted event id -> (type, sender)
    submitted: dict[str, tuple[str, str]] = field(default_factory=dict)
    not_submitted: dict[str, int] = field(default_factory=dict)
    #: event id -> seq, from whatever member applied it first
    seq_of: dict[str, int] = field(default_factory=dict)
    #: node -> seqs applied
    applied: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    duplicated: int = 0
    head: int = 0
    #: (wall ms applied, latency ms): lead events at every other classroom
    latencies: list[tuple[int, float]] = field(default_factory=list)
    #: the two legs of that latency: lead -> hub sequenced (once per event, by the
    #: hub's ``ts``), hub sequenced -> applied (per classroom)
    uplink_ms: list[float] = field(default_factory=list)
    downlink_ms: list[float] = field(default_factory=list)
    done: bool = False


class _Watch:
    """A fault's recovery: which classrooms still have to apply an event sent after
    ``since_ms`` (everything before it then came in order)."""

    def __init__(self, fault: int, since_ms: int, nodes: set[str]) -> None:
        self.fault = fault
        self.since_ms = since_ms
        self.pending = set(nodes)
        self.recovered_at: int | None = None


class Worker:
    def __init__(self, conn: Connection, spec: WorkerSpec) -> None:
        self.conn = conn
        self.spec = spec
        self.nodes: dict[str, ClassroomNode] = {}
        self.proxies: dict[str, TcpProxy] = {}
        self.books = {s.session: _SessionBook(s) for s in spec.sessions}
        self.session_of = {n: s.session for s in spec.sessions for n in s.members}
        self.lead_of = {s.session: s.lead for s in spec.sessions}
        self.watches: dict[int, _Watch] = {}
        self.outbox: list[dict[str, Any]] = []
        self.tick_lat: list[float] = []
        self.applied_total = 0
        self.submitted_total = 0
        self.media: list[Any] = []
        self.start_wall = 0.0
        self.stopping = asyncio.Event()

    # ------------------------------------------------------------ plumbing

    def send(self, message: dict[str, Any]) -> None:
        self.conn.send(message)

    async def recv(self) -> dict[str, Any]:
        """The next message from the main process; a closed pipe means stop."""
        try:
            while not await asyncio.to_thread(self.conn.poll, 0.5):
                pass
            message: dict[str, Any] = self.conn.recv()
        except (EOFError, OSError):
            self.stopping.set()
            return {"t": "stop"}
        return message

    # ------------------------------------------------------------- events

    def hook(self, node: str) -> OnEvent:
        book = self.books[self.session_of[node]]
        applied = book.applied[node]

        def on_event(session: str, event: Event, applied_at_ms: int) -> None:
            if session != book.plan.session:
                return
            seq = event.seq or 0
            if seq in applied:
                book.duplicated += 1
            applied.add(seq)
            known = book.seq_of.setdefault(event.id, seq)
            if known != seq:
                book.duplicated += 1
            book.head = max(book.head, seq)
            self.applied_total += 1
            if event.src == book.plan.lead and event.sent:
                if node == book.plan.lead:
                    if event.ts is not None:
                        book.uplink_ms.append(float(event.ts - event.sent))
                else:
                    latency = float(applied_at_ms - event.sent)
                    book.latencies.append((applied_at_ms, latency))
                    self.tick_lat.append(latency)
                    if event.ts is not None:
                        book.downlink_ms.append(float(applied_at_ms - event.ts))
            if self.watches and event.sent is not None:
                for watch in self.watches.values():
                    if node in watch.pending and event.sent >= watch.since_ms:
                        watch.pending.discard(node)
                        if not watch.pending and watch.recovered_at is None:
                            watch.recovered_at = applied_at_ms
                            self.outbox.append(
                                {
                                    "t": "recovered",
                                    "fault": watch.fault,
                                    "recovery_s": round((applied_at_ms - watch.since_ms) / 1000, 3),
                                }
                            )

        return on_event

    # ----------------------------------------------------------- lifecycle

    async def start_nodes(self) -> None:
        spec = self.spec
        names = [n for s in spec.sessions for n in s.members]
        for i in range(0, len(names), _START_BATCH):
            await asyncio.gather(*(self._start_node(n) for n in names[i : i + _START_BATCH]))

    async def _start_node(self, node: str) -> None:
        spec = self.spec
        host, port = spec.mqtt_host, spec.mqtt_port
        # a cut classroom reaches the broker through 127.0.0.1: its certificate
        # cannot name that address, so that one lab hop skips the name check
        check_hostname = True
        if node in spec.proxied:
            check_hostname = False
            proxy = await TcpProxy(spec.mqtt_port, target_host=spec.mqtt_host).start()
            self.proxies[node] = proxy
            host, port = "127.0.0.1", proxy.port
        config = NodeConfig(
            node_id=node,
            mqtt_host=host,
            mqtt_port=port,
            mqtt_password=spec.secrets[node],
            mqtt_tls=spec.mqtt_tls,
            mqtt_ca_file=Path(spec.mqtt_ca_file) if spec.mqtt_ca_file else None,
            mqtt_tls_check_hostname=check_hostname,
            prefix=spec.topic_prefix,
            state_dir=Path(spec.state_dir) / node,
            heartbeat_s=spec.heartbeat_s,
            api_enabled=False,
            journal_fsync=spec.journal_fsync,
        )
        instance = ClassroomNode(config, on_event=self.hook(node))
        # every rejection kept (the node's own deque keeps the last 100 only)
        instance.rejections = _Unbounded()  # type: ignore[assignment]
        await instance.startup()
        self.nodes[node] = instance

    def joined(self) -> int:
        return sum(1 for n, node in self.nodes.items() if self.session_of[n] in node.sessions)

    async def wait_joined(self) -> bool:
        deadline = time.monotonic() + self.spec.join_timeout_s
        while self.joined() < len(self.nodes):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    async def play(self, book: _SessionBook) -> None:
        """Send one session's timeline at its times (after its ramp offset)."""
        plan = book.plan
        rng = random.Random(f"{self.spec.seed}:{plan.index}")
        steps = session_timeline(
            plan.lead,
            plan.partners,
            self.spec.duration_s,
            lead_rate=self.spec.lead_rate,
            mix=self.spec.mix,
            rng=rng,
        )
        begin = self.start_wall + self.spec.offsets.get(plan.index, 0.0)
        for step in steps:
            delay = begin + step.at_s - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.stopping.is_set():
                break
            await self._submit(book, step)
        book.done = True

    async def _submit(self, book: _SessionBook, step: Step) -> None:
        node = self.nodes[step.actor]
        try:
            done = await node.submit(step.type, step.body, book.plan.session)
        except (InvalidEvent, SessionError) as exc:
            key = type(exc).__name__
            book.not_submitted[key] = book.not_submitted.get(key, 0) + 1
            return
        book.submitted[done.id] = (step.type, step.actor)
        self.submitted_total += 1

    def rejected_ids(self, book: _SessionBook) -> dict[str, str]:
        out: dict[str, str] = {}
        for node in book.plan.members:
            for rejection in self.nodes[node].rejections:
                out[rejection.ref] = rejection.code
        return out

    def settled(self) -> bool:
        """Every submitted event sequenced or refused, every classroom at the head."""
        for book in self.books.values():
            rejected = self.rejected_ids(book)
            for ident in book.submitted:
                if ident in book.seq_of:
                    continue
                if rejected.get(ident, "") in _TRANSIENT:
                    return False  # not refused yet, or refused for now (sent again)
            for node in book.plan.members:
                if len(book.applied[node]) < book.head:
                    return False
        return True

    async def ticker(self) -> None:
        last_reconnects = 0
        while True:
            await asyncio.sleep(1.0)
            online = sum(1 for node in self.nodes.values() if node.connected)
            reconnects = sum(
                max(0, (n.link.connects if n.link else 0) - 1) for n in self.nodes.values()
            )
            fps = {
                name: n.media_stats.fps
                for name, n in self.nodes.items()
                if n.media_stats is not None and self.lead_of[self.session_of[name]] != name
            }
            up = sum(
                1
                for book in self.books.values()
                if all(
                    m in self.nodes
                    and self.nodes[m].connected
                    and book.plan.session in self.nodes[m].sessions
                    for m in book.plan.members
                )
            )
            message = {
                "t": "tick",
                "sessions_up": up,
                "worker": self.spec.index,
                "at": time.time(),
                "online": online,
                "joined": self.joined(),
                "submitted": self.submitted_total,
                "applied": self.applied_total,
                "lat": self.tick_lat,
                "reconnects": reconnects,
                "new_reconnects": reconnects - last_reconnects,
                "fps": fps,
            }
            last_reconnects = reconnects
            self.tick_lat = []
            self.send(message)
            while self.outbox:
                self.send(self.outbox.pop(0))

    async def control(self) -> None:
        """Faults and stop requests from the main process."""
        while True:
            message = await self.recv()
            kind = message.get("t")
            if kind == "cut":
                mode = CutMode(message.get("mode", "reset"))
                for node in message["nodes"]:
                    if node in self.proxies:
                        self.proxies[node].cut(mode)
            elif kind == "restore":
                for node in message["nodes"]:
                    if node in self.proxies:
                        self.proxies[node].restore()
                self._watch(message["fault"], message["at_ms"], set(message["nodes"]))
            elif kind == "watch":
                self._watch(message["fault"], message["at_ms"], set(self.nodes))
            elif kind == "stop":
                self.stopping.set()
                return

    def _watch(self, fault: int, since_ms: int, nodes: set[str]) -> None:
        mine = {n for n in nodes if n in self.nodes}
        if mine:
            self.watches[fault] = _Watch(fault, since_ms, mine)

    def result(self) -> dict[str, Any]:
        sessions = []
        for book in self.books.values():
            rejected = self.rejected_ids(book)
            # refused and never sequenced (a rate_limited refusal is retried by the node
            # with the same id and may be sequenced after all)
            own = {
                i: c for i, c in rejected.items() if i in book.submitted and i not in book.seq_of
            }
            by_reason: dict[str, int] = defaultdict(int)
            for code in own.values():
                by_reason[code] += 1
            unresolved = [i for i in book.submitted if i not in book.seq_of and i not in own]
            missing: set[int] = set()
            expected = set(range(1, book.head + 1))
            for node in book.plan.members:
                missing |= expected - book.applied[node]
            reconnects = {
                n: _reconnects(self.nodes[n]) for n in book.plan.members if n in self.nodes
            }
            sessions.append(
                {
                    "session": book.plan.session,
                    "index": book.plan.index,
                    "classrooms": len(book.plan.members),
                    "submitted": len(book.submitted),
                    "sequenced": sum(1 for i in book.submitted if i in book.seq_of),
                    "rejected": dict(by_reason),
                    "unresolved": len(unresolved),
                    "missing_at_some_classroom": len(missing),
                    "duplicated": book.duplicated,
                    "head": book.head,
                    "not_submitted": dict(book.not_submitted),
                    "latencies": book.latencies,
                    "uplink_ms": book.uplink_ms,
                    "downlink_ms": book.downlink_ms,
                    "reconnects": reconnects,
                    "media": {
                        n: self.nodes[n].media_stats.model_dump()  # type: ignore[union-attr]
                        for n in book.plan.members
                        if n in self.nodes and self.nodes[n].media_stats is not None
                    },
                }
            )
        watches = {
            w.fault: (
                None if w.recovered_at is None else round((w.recovered_at - w.since_ms) / 1000, 3)
            )
            for w in self.watches.values()
        }
        return {"t": "result", "worker": self.spec.index, "sessions": sessions, "watches": watches}

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            await self.shutdown()

    async def _run(self) -> None:
        await self.start_nodes()
        self.send({"t": "ready", "worker": self.spec.index, "nodes": len(self.nodes)})
        go = await self.recv()
        if go.get("t") != "go":
            return
        ok = await self.wait_joined()
        self.send({"t": "joined", "worker": self.spec.index, "ok": ok, "joined": self.joined()})
        start = await self.recv()
        if start.get("t") != "start":
            return
        self.start_wall = float(start["at"])
        ticker = asyncio.create_task(self.ticker())
        control = asyncio.create_task(self.control())
        if self.spec.media_hub_url:
            await self.start_media()
        players: asyncio.Future[Any] = asyncio.gather(*(self.play(b) for b in self.books.values()))
        stop_wait: asyncio.Future[Any] = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait([players, stop_wait], return_when=asyncio.FIRST_COMPLETED)
        if self.stopping.is_set():
            players.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await players
        if not self.stopping.is_set():
            deadline = time.monotonic() + self.spec.drain_timeout_s
            while not self.settled() and time.monotonic() < deadline and not self.stopping.is_set():
                await asyncio.sleep(0.2)
        stop_wait.cancel()
        ticker.cancel()
        await self.stop_media()
        self.send(self.result())
        if not self.stopping.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await control
        control.cancel()

    async def start_media(self) -> None:
        from simulators.sim.media import start_session_media

        assert self.spec.media_hub_url is not None
        for plan in self.spec.sessions:
            self.media.extend(
                await start_session_media(
                    {n: self.nodes[n] for n in plan.members},
                    plan,
                    self.spec.media_hub_url,
                    fps=self.spec.media_fps,
                    width=self.spec.media_width,
                    height=self.spec.media_height,
                )
            )

    async def stop_media(self) -> None:
        for runner in self.media:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner.stop(), 5)
        self.media = []

    async def shutdown(self) -> None:
        async def one(node: ClassroomNode) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(node.shutdown(flush_timeout=1.0), 5)

        nodes, self.nodes = list(self.nodes.values()), {}
        await asyncio.gather(*(one(n) for n in nodes))
        proxies, self.proxies = list(self.proxies.values()), {}
        for proxy in proxies:
            with contextlib.suppress(Exception):
                await proxy.stop()


def _reconnects(node: ClassroomNode) -> int:
    """Connections after the first one."""
    return max(0, node.link.connects - 1) if node.link is not None else 0


class _Unbounded(list[Any]):
    """A list standing in for the node's bounded rejection deque."""


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """Entry of a worker process (spawned)."""
    logging.basicConfig(level=logging.ERROR)
    # paho and asyncio complain about sockets closed under them while hundreds of
    # nodes shut down at once; the report carries what matters
    for noisy in ("mqtt", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    # Ctrl-C reaches the whole process group: the main process decides (it sends
    # "stop" and cleans up), so workers ignore SIGINT themselves.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def main() -> None:
        worker = Worker(conn, spec)
        try:
            await worker.run()
        except Exception:
            with contextlib.suppress(OSError):
                conn.send({"t": "error", "worker": spec.index, "detail": traceback.format_exc()})

    with contextlib.suppress(KeyboardInterrupt):
        run_loop(main())
