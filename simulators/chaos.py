"""Chaos runs: a whole deployment as separate processes, steady traffic, one fault at a time.

``ChaosRun`` starts what an operator runs: ``dualclass stack up`` (Mosquitto and
Redis), the hub process, and a lead plus partner classroom nodes as processes of
their own, all registered through the hub's API and joined to one lesson. One
partner reaches the broker through a ``TcpProxy`` so its network can be cut. Every
node gets steady traffic through its local API (``POST /v1/chat``), exactly as
clickers and tablets would send it; an event counts as *accepted* only when the
node answered 202.

``fault(name)`` injects one fault (see ``FAULTS``), heals it, and measures the
recovery time: from the heal (process back and ready, path restored, SIGCONT)
until every event accepted so far is in the session log and every node has
applied the log up to the newest of them. ``finish()`` stops the traffic, waits
for quiescence and checks the promise: every accepted id is in the log exactly
once, and every node's applied-event log is exactly seqs 1..N of the hub's log,
in order, once each. Losses and duplicates are charged to the fault during whose
window the event was accepted.

Used by ``tests/chaos`` (short outages) and ``bench/chaos.py`` (the long version).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from broker.localstack import free_port
from broker.stack import StackInfo, stack_down, stack_up
from runtime.tasks import cancel_and_wait
from simulators.faults import (
    ChildProcess,
    CutMode,
    StackFaults,
    TcpProxy,
    hub_process,
    node_process,
)

__all__ = ["FAULTS", "ChaosRun", "Durations", "FaultReport"]

SESSION = "chaos"

#: Every fault, in the order a full run injects them.
FAULTS = (
    "hub_sigkill",
    "hub_sigterm",
    "mosquitto_sigkill",
    "redis_sigkill",
    "node_sigkill",
    "node_sigstop",
    "node_network_cut",
    "hub_sigkill_burst",
    "hub_sigkill_redis_frozen",
)


@dataclass(frozen=True)
class Durations:
    """How long the timed faults last and how much steady traffic runs around them."""

    stop_s: float = 30.0
    cut_s: float = 60.0
    before_s: float = 1.0
    frozen_s: float = 2.0
    burst_per_node: int = 40
    recovery_timeout_s: float = 120.0


@dataclass
class FaultReport:
    fault: str
    submitted: int = 0
    lost: int = 0
    duplicated: int = 0
    recovery_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "submitted": self.submitted,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "recovery_s": None if self.recovery_s is None else round(self.recovery_s, 3),
        }


@dataclass
class _Node:
    name: str
    api_port: int
    proc: ChildProcess
    sent: int = 0


@dataclass
class _Accepted:
    node: str
    phase: str


@dataclass
class ChaosRun:
    """See the module docstring. ``async with ChaosRun(dir) as run: await run.fault(...)``."""

    workdir: Path
    partners: int = 5
    rate_per_node: float = 3.0
    durations: Durations = field(default_factory=Durations)
    say: Callable[[str], None] = print

    def __post_init__(self) -> None:
        self.stack_dir = self.workdir / "stack"
        self.nodes: dict[str, _Node] = {}
        self.accepted: dict[tuple[str, str], _Accepted] = {}  # (node, id) -> phase
        self.reports: dict[str, FaultReport] = {}
        self.refused = 0
        self.phase = "steady"
        self._stack: StackInfo | None = None
        self._hub: ChildProcess | None = None
        self._proxy: TcpProxy | None = None
        self._traffic: list[asyncio.Task[None]] = []
        self._running = False
        self._log: list[tuple[int, str, str]] = []  # (seq, src, id)
        self._http: httpx.AsyncClient | None = None
        self._probe: httpx.AsyncClient | None = None

    # ------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> ChaosRun:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def lead(self) -> str:
        return "lead"

    @property
    def partner_names(self) -> list[str]:
        return [f"p{i}" for i in range(1, self.partners + 1)]

    @property
    def cut_node(self) -> str:
        return self.partner_names[-1]

    async def start(self) -> None:
        self.say("chaos: starting stack, hub and nodes")
        self._stack = await asyncio.to_thread(stack_up, self.stack_dir)
        api_port = free_port()
        self._hub = hub_process(
            self._stack.path,
            self.workdir / "hub",
            api_port=api_port,
            extra_args=["--log-level", "warning"],
        )
        await asyncio.to_thread(self._hub.start)
        self._http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {self._stack.data['admin_key']}"},
            timeout=30,
        )
        self._proxy = await TcpProxy(self._stack.mqtt_port).start()
        secrets: dict[str, str] = {}
        for name in [self.lead, *self.partner_names]:
            response = await self._http.post("/api/nodes", json={"node": name})
            response.raise_for_status()
            secrets[name] = str(response.json()["secret"])
        for name, secret in secrets.items():
            port = self._proxy.port if name == self.cut_node else self._stack.mqtt_port
            self.nodes[name] = self._node(name, secret, port)
        await asyncio.gather(*(asyncio.to_thread(n.proc.start) for n in self.nodes.values()))
        spec = {
            "session": SESSION,
            "lead": self.lead,
            "partners": self.partner_names,
            "title": "chaos",
            "starts_at": int(time.time() * 1000),
        }
        (await self._http.post("/api/sessions", json=spec)).raise_for_status()
        await self._until(self._all_joined, 60, "every node joined")
        self._running = True
        self._traffic = [asyncio.create_task(self._steady(n)) for n in self.nodes.values()]
        self.say(f"chaos: {len(self.nodes)} nodes joined; traffic {self.rate_per_node}/s each")

    def _node(self, name: str, secret: str, mqtt_port: int) -> _Node:
        workdir = self.workdir / "nodes" / name
        workdir.mkdir(parents=True, exist_ok=True)
        api_port = free_port()
        config = workdir / "node.toml"
        config.write_text(
            "\n".join(
                [
                    f'node_id = "{name}"',
                    f"mqtt_port = {mqtt_port}",
                    f'mqtt_password = "{secret}"',
                    f'state_dir = "{workdir / "state"}"',
                    f"api_port = {api_port}",
                    "heartbeat_s = 1.0",
                    "resync_grace_s = 0.2",
                    "resync_timeout_s = 1.0",
                    'log_level = "warning"',
                ]
            )
            + "\n"
        )
        return _Node(name, api_port, node_process(name, config, workdir, api_port=api_port))

    async def stop(self) -> None:
        self._running = False
        await cancel_and_wait(*self._traffic)
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.proc.resume()
            await asyncio.to_thread(node.proc.terminate, 10.0)
        if self._hub is not None:
            await asyncio.to_thread(self._hub.terminate, 15.0)
        if self._proxy is not None:
            await self._proxy.stop()
        for client in (self._http, self._probe):
            if client is not None:
                await client.aclose()
        if self._stack is not None:
            with contextlib.suppress(Exception):
                StackFaults(self.stack_dir, "redis").resume()
            await asyncio.to_thread(stack_down, self.stack_dir)

    # --------------------------------------------------------------- traffic

    async def _submit(self, client: httpx.AsyncClient, node: _Node, text: str) -> None:
        try:
            response = await client.post("/v1/chat", json={"text": text})
        except httpx.HTTPError:
            self.refused += 1
            return
        if response.status_code == 202:
            self.accepted[(node.name, str(response.json()["id"]))] = _Accepted(
                node.name, self.phase
            )
        else:
            self.refused += 1

    async def _steady(self, node: _Node) -> None:
        interval = 1.0 / self.rate_per_node
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{node.api_port}", timeout=2.0
        ) as client:
            while self._running:
                started = time.monotonic()
                node.sent += 1
                await self._submit(client, node, f"{node.name} {node.sent}")
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def burst(self, per_node: int) -> None:
        """Every node gets ``per_node`` events at once (a quiz answered by a room)."""

        async def one(node: _Node) -> None:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{node.api_port}", timeout=10.0
            ) as client:
                await asyncio.gather(
                    *(self._submit(client, node, f"{node.name} burst {i}") for i in range(per_node))
                )

        await asyncio.gather(*(one(n) for n in self.nodes.values()))

    # ---------------------------------------------------------------- faults

    async def fault(self, name: str) -> FaultReport:
        """Inject ``name``, heal it, measure the recovery (see the module docstring)."""
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; one of {FAULTS}")
        assert self._hub is not None and self._proxy is not None
        d = self.durations
        self.phase = name
        report = self.reports[name] = FaultReport(name)
        self.say(f"chaos: {name}")
        await asyncio.sleep(d.before_s)  # steady traffic up to the fault
        hub = self._hub
        victim = self.nodes[self.partner_names[0]]
        match name:
            case "hub_sigkill":
                hub.kill()
                await asyncio.to_thread(hub.start)
            case "hub_sigterm":
                await asyncio.to_thread(hub.terminate, 20.0)
                await asyncio.to_thread(hub.start)
            case "mosquitto_sigkill" | "redis_sigkill":
                service = StackFaults(self.stack_dir, name.split("_")[0])
                await asyncio.to_thread(service.kill)
                await asyncio.to_thread(service.restart)
            case "node_sigkill":
                victim.proc.kill()
                await asyncio.to_thread(victim.proc.start)
            case "node_sigstop":
                victim = self.nodes[self.partner_names[1 % self.partners]]
                victim.proc.pause()
                await asyncio.sleep(d.stop_s)
                victim.proc.resume()
            case "node_network_cut":
                self._proxy.cut(CutMode.BLACKHOLE)  # it keeps submitting meanwhile
                await asyncio.sleep(d.cut_s)
                self._proxy.restore()
            case "hub_sigkill_burst":
                await self.burst(d.burst_per_node)
                hub.kill()
                await asyncio.to_thread(hub.start)
            case "hub_sigkill_redis_frozen":
                redis_faults = StackFaults(self.stack_dir, "redis")
                redis_faults.pause()
                try:
                    await self.burst(d.burst_per_node // 2)
                    await asyncio.sleep(d.frozen_s)
                    hub.kill()
                finally:
                    redis_faults.resume()
                await asyncio.to_thread(hub.start)
        healed = time.monotonic()
        want = set(self.accepted)
        report.submitted = sum(1 for a in self.accepted.values() if a.phase == name)
        try:
            await self._until(lambda: self._recovered(want), d.recovery_timeout_s, "recovery")
            report.recovery_s = time.monotonic() - healed
        except TimeoutError:
            report.recovery_s = None
        self.say(f"chaos: {name}: recovered in {report.recovery_s} s")
        self.phase = f"after {name}"
        return report

    # ---------------------------------------------------------- verification

    def _redis(self) -> redis.Redis:
        assert self._stack is not None
        return redis.Redis.from_url(self._stack.redis_url, socket_timeout=5)

    def _read_log(self) -> list[tuple[int, str, str]]:
        """The session log (seq, src, id), read incrementally from Redis."""
        client = self._redis()
        try:
            start = f"{len(self._log) + 1}-0"
            while True:
                entries: Any = client.xrange(f"dc:s:{SESSION}:log", start, "+", count=1000)
                if not entries:
                    break
                for entry_id, fields in entries:
                    seq = int(entry_id.decode().split("-")[0])
                    self._log.append((seq, fields[b"src"].decode(), fields[b"id"].decode()))
                start = f"{self._log[-1][0] + 1}-0"
        finally:
            client.close()
        return self._log

    async def _states(self) -> dict[str, dict[str, Any] | None]:
        if self._probe is None:
            self._probe = httpx.AsyncClient(timeout=2.0)
        client = self._probe

        async def one(node: _Node) -> dict[str, Any] | None:
            try:
                r = await client.get(f"http://127.0.0.1:{node.api_port}/v1/state")
                data: dict[str, Any] = r.json()
                return data
            except (httpx.HTTPError, ValueError):
                return None

        names = list(self.nodes)
        results = await asyncio.gather(*(one(self.nodes[n]) for n in names))
        return dict(zip(names, results, strict=True))

    @staticmethod
    def _last_seq(state: dict[str, Any] | None) -> int:
        if state is None:
            return -1
        for view in state.get("sessions", []):
            if view.get("session") == SESSION:
                return int(view["counters"]["last_seq"])
        return -1

    async def _all_joined(self) -> bool:
        states = await self._states()
        return all(self._last_seq(s) >= 0 for s in states.values())

    async def _recovered(self, want: set[tuple[str, str]]) -> bool:
        try:
            log = await asyncio.to_thread(self._read_log)
        except redis.RedisError:
            return False
        seq_of = {(src, id_): seq for seq, src, id_ in log}
        if any(key not in seq_of for key in want):
            return False
        target = max((seq_of[k] for k in want), default=0)
        states = await self._states()
        return all(self._last_seq(s) >= target for s in states.values())

    async def _until(self, check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
        deadline = time.monotonic() + within
        while not await check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"chaos: no {what} within {within} s")
            await asyncio.sleep(0.05)

    async def finish(self, quiet_timeout_s: float = 120.0) -> dict[str, Any]:
        """Stop the traffic, let everything settle, check every promise; the summary."""
        self._running = False
        for task in self._traffic:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._traffic = []
        want = set(self.accepted)

        async def settled() -> bool:
            if not await self._recovered(want):
                return False
            states = await self._states()
            return all(self._last_seq(s) == len(self._log) for s in states.values())

        with contextlib.suppress(TimeoutError):
            await self._until(settled, quiet_timeout_s, "quiescence")
        log = await asyncio.to_thread(self._read_log)
        counts: dict[tuple[str, str], int] = {}
        for _, src, id_ in log:
            counts[(src, id_)] = counts.get((src, id_), 0) + 1
        for key, accepted in self.accepted.items():
            report = self.reports.get(accepted.phase)
            if report is None:
                continue
            seen = counts.get(key, 0)
            if seen == 0:
                report.lost += 1
            elif seen > 1:
                report.duplicated += seen - 1
        lost_total = sum(1 for key, a in self.accepted.items() if counts.get(key, 0) == 0)
        duplicated_total = sum(n - 1 for n in counts.values() if n > 1)
        node_logs = {name: self._applied_ok(name, log) for name in self.nodes}
        return {
            "faults": [self.reports[f].as_dict() for f in FAULTS if f in self.reports],
            "lost_total": lost_total,
            "duplicated_total": duplicated_total,
            "accepted": len(self.accepted),
            "refused": self.refused,
            "sequenced": len(log),
            "log_contiguous": [s for s, _, _ in log] == list(range(1, len(log) + 1)),
            "nodes_applied_in_order": node_logs,
        }

    def _applied_ok(self, name: str, log: list[tuple[int, str, str]]) -> bool:
        """The node applied seqs 1..N of the hub's log, once each, in order."""
        path = self.workdir / "nodes" / name / "state" / "sessions" / SESSION / "events.jsonl"
        try:
            lines = path.read_text().splitlines()
        except OSError:
            return False
        applied = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                return False
            applied.append((int(record["seq"]), str(record["id"])))
        return applied == [(seq, id_) for seq, _, id_ in log]
