"""Media recovery runs: a lesson's video as separate processes, faults, time to full rate.

``MediaRecoveryRun`` starts what an operator runs -- ``dualclass stack up``
(Mosquitto, Redis), the hub process, a lead and partner classroom nodes with
media on (synthetic pattern camera, ICE on 127.0.0.1) -- and one lesson. It
watches every partner's video frame rate where a classroom sees it: the node's
own figures (``GET /v1/state`` -> ``media.fps``, what its next heartbeat
carries), read every 0.1 s.

``fault(name)`` injects one fault (``FAULTS``: the hub SIGKILLed and started again
``hub_down_s`` later, the hub SIGSTOPped for ``stop_s``, the lead node and a
partner node SIGKILLed and started again), heals it, and measures for each
partner the time from the heal (hub or node process ready again, SIGCONT)
until its video is back at full rate: the first reading at ``full_fps`` (80 % of
the camera's rate) that starts ``stable_s`` of full rate (mean at least
``full_fps``, no reading under 60 %), so a burst of stale frames after a freeze
does not count. The figures are the node's 0.5 s averages refreshed
every 0.5 s, so they lag the picture by up to a second: the times are upper
bounds.

Used by ``tests/media_recovery`` (asserts every partner is back within 3 s)
and ``bench/media_recovery.py`` (prints the figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from broker.localstack import free_port
from broker.stack import StackInfo, stack_down, stack_up
from simulators.faults import ChildProcess, hub_process, node_process

__all__ = ["FAULTS", "MediaRecoveryRun", "RecoveryReport"]

SESSION = "media-recovery"

#: Every fault, in the order a full run injects them.
FAULTS = ("hub_sigkill", "hub_sigstop", "lead_restart", "partner_restart")


@dataclass
class RecoveryReport:
    """One fault: seconds from the heal to full rate, per partner (None: never)."""

    fault: str
    recovery_s: dict[str, float | None] = field(default_factory=dict)
    #: (seconds since the heal, partner, fps or None) for every reading.
    trace: list[tuple[float, str, float | None]] = field(default_factory=list)

    @property
    def worst_s(self) -> float | None:
        times = list(self.recovery_s.values())
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "recovery_s": {
                k: None if v is None else round(v, 2) for k, v in self.recovery_s.items()
            },
            "worst_s": None if self.worst_s is None else round(self.worst_s, 2),
        }


@dataclass
class _Node:
    name: str
    api_port: int
    proc: ChildProcess


@dataclass
class MediaRecoveryRun:
    """See the module docstring. ``async with MediaRecoveryRun(dir) as run: ...``."""

    workdir: Path
    partners: int = 2
    width: int = 320
    height: int = 240
    fps: int = 15
    #: Full rate: at least this share of the camera's frame rate.
    full_share: float = 0.8
    stable_s: float = 2.0
    stop_s: float = 10.0
    #: The hub stays dead this long before it is started again (a supervisor's
    #: restart delay); long enough that a plain doubling backoff would be
    #: waiting past the hub's return.
    hub_down_s: float = 4.0
    recovery_timeout_s: float = 30.0
    hub_log_level: str = "warning"
    say: Callable[[str], None] = print

    def __post_init__(self) -> None:
        self.stack_dir = self.workdir / "stack"
        self.nodes: dict[str, _Node] = {}
        self.reports: dict[str, RecoveryReport] = {}
        self._stack: StackInfo | None = None
        self._hub: ChildProcess | None = None
        self._hub_url = ""
        self._http: httpx.AsyncClient | None = None
        self._probe: httpx.AsyncClient | None = None

    @property
    def full_fps(self) -> float:
        return self.fps * self.full_share

    @property
    def partner_names(self) -> list[str]:
        return [f"p{i}" for i in range(1, self.partners + 1)]

    # ------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> MediaRecoveryRun:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self.say("media recovery: starting stack, hub and nodes")
        self._stack = await asyncio.to_thread(stack_up, self.stack_dir)
        api_port = free_port()
        self._hub_url = f"http://127.0.0.1:{api_port}"
        self._hub = hub_process(
            self._stack.path,
            self.workdir / "hub",
            api_port=api_port,
            extra_args=["--log-level", self.hub_log_level],
        )
        await asyncio.to_thread(self._hub.start)
        self._http = httpx.AsyncClient(
            base_url=self._hub_url,
            headers={"Authorization": f"Bearer {self._stack.data['admin_key']}"},
            timeout=30,
        )
        self._probe = httpx.AsyncClient(timeout=1.0)
        for name in ["lead", *self.partner_names]:
            response = await self._http.post("/api/nodes", json={"node": name})
            response.raise_for_status()
            self.nodes[name] = self._node(name, str(response.json()["secret"]))
        await asyncio.gather(*(asyncio.to_thread(n.proc.start) for n in self.nodes.values()))
        spec = {
            "session": SESSION,
            "lead": "lead",
            "partners": self.partner_names,
            "title": "media recovery",
            "starts_at": int(time.time() * 1000),
        }
        (await self._http.post("/api/sessions", json=spec)).raise_for_status()
        report = await self._measure("start", time.monotonic(), timeout=60.0)
        if report.worst_s is None:
            raise TimeoutError(f"media recovery: partners never at full rate: {report.as_dict()}")
        self.say(f"media recovery: every partner at full rate ({report.as_dict()})")

    def _node(self, name: str, secret: str) -> _Node:
        assert self._stack is not None
        workdir = self.workdir / "nodes" / name
        workdir.mkdir(parents=True, exist_ok=True)
        api_port = free_port()
        config = workdir / "node.toml"
        config.write_text(
            "\n".join(
                [
                    f'node_id = "{name}"',
                    f"mqtt_port = {self._stack.mqtt_port}",
                    f'mqtt_password = "{secret}"',
                    f'state_dir = "{workdir / "state"}"',
                    f"api_port = {api_port}",
                    "heartbeat_s = 1.0",
                    'log_level = "info"',
                    "[media]",
                    "enabled = true",
                    f'hub_url = "{self._hub_url}"',
                    'source = "pattern"',
                    f"width = {self.width}",
                    f"height = {self.height}",
                    f"fps = {self.fps}",
                    'ice_host_addresses = ["127.0.0.1"]',
                    "stats_interval_s = 0.5",
                ]
            )
            + "\n"
        )
        return _Node(name, api_port, node_process(name, config, workdir, api_port=api_port))

    async def stop(self) -> None:
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.proc.resume()
            await asyncio.to_thread(node.proc.terminate, 10.0)
        if self._hub is not None:
            with contextlib.suppress(Exception):
                self._hub.resume()
            await asyncio.to_thread(self._hub.terminate, 15.0)
        for client in (self._http, self._probe):
            if client is not None:
                await client.aclose()
        if self._stack is not None:
            await asyncio.to_thread(stack_down, self.stack_dir)

    # ---------------------------------------------------------------- faults

    async def fault(self, name: str) -> RecoveryReport:
        """Inject ``name``, heal it, measure every partner's time back to full rate."""
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; one of {FAULTS}")
        hub = self._hub
        assert hub is not None
        self.say(f"media recovery: {name}")
        match name:
            case "hub_sigkill":
                hub.kill()
                await asyncio.sleep(self.hub_down_s)
                await asyncio.to_thread(hub.start)
            case "hub_sigstop":
                hub.pause()
                await asyncio.sleep(self.stop_s)
                hub.resume()
            case "lead_restart" | "partner_restart":
                victim = self.nodes["lead" if name == "lead_restart" else self.partner_names[0]]
                victim.proc.kill()
                await asyncio.to_thread(victim.proc.start)
        report = await self._measure(name, time.monotonic(), timeout=self.recovery_timeout_s)
        self.reports[name] = report
        self.say(f"media recovery: {name}: {report.as_dict()}")
        return report

    # ----------------------------------------------------------- measurement

    async def partner_fps(self, name: str) -> float | None:
        """The partner's current video frame rate (its node's figures), None if unknown."""
        assert self._probe is not None
        node = self.nodes[name]
        try:
            response = await self._probe.get(f"http://127.0.0.1:{node.api_port}/v1/state")
            media = response.json().get("media")
        except (httpx.HTTPError, ValueError):
            return None
        return None if not media else float(media["fps"])

    async def _measure(self, name: str, healed: float, *, timeout: float) -> RecoveryReport:
        """Per partner: seconds from ``healed`` to the start of ``stable_s`` at full rate."""
        report = RecoveryReport(name, dict.fromkeys(self.partner_names))
        readings: dict[str, list[tuple[float, float | None]]] = {p: [] for p in self.partner_names}
        deadline = healed + timeout + self.stable_s
        while time.monotonic() < deadline:
            rates = await asyncio.gather(*(self.partner_fps(p) for p in self.partner_names))
            now = time.monotonic()
            for partner, fps in zip(self.partner_names, rates, strict=True):
                report.trace.append((round(now - healed, 2), partner, fps))
                if report.recovery_s[partner] is None:
                    readings[partner].append((now, fps))
                    since = self._full_since(readings[partner])
                    if since is not None:
                        report.recovery_s[partner] = since - healed
            if all(v is not None for v in report.recovery_s.values()):
                break
            await asyncio.sleep(0.1)
        return report

    def _full_since(self, readings: list[tuple[float, float | None]]) -> float | None:
        """The first reading at full rate that starts ``stable_s`` at full rate (pure).

        Full rate over a stretch: its mean at least ``full_fps`` and no reading under
        60 % of the camera's rate (the node's 0.5 s figures at 15 fps are 6, 7 or 8
        frames, so one reading a frame short is jitter, not a freeze).
        """
        floor = 0.6 * self.fps
        last = readings[-1][0]
        for i, (start, fps) in enumerate(readings):
            if last - start < self.stable_s:
                return None
            if fps is None or fps < self.full_fps:
                continue
            window = [f for t, f in readings[i:] if t - start <= self.stable_s]
            if all(f is not None and f >= floor for f in window):
                rates = [f for f in window if f is not None]
                if sum(rates) / len(rates) >= self.full_fps:
                    return start
        return None

    def summary(self) -> dict[str, Any]:
        return {
            "full_fps": self.full_fps,
            "stable_s": self.stable_s,
            "faults": [self.reports[f].as_dict() for f in FAULTS if f in self.reports],
        }
