"""The hub a run drives: its own local stack, or an existing deployment.

``LocalDeployment`` brings up Mosquitto + Redis on free loopback ports and a hub
process (``simulators.harness.HubProcess``), and can kill and restart each of the
three for ``--fault AT:kill:SERVICE``. ``RemoteDeployment`` only knows a hub URL,
its admin key and the broker's address; service kills are refused there.

Both register the run's synthetic schools, classrooms and nodes through the
operator API, and ``cleanup(prefix)`` removes everything whose id starts with the
prefix (sessions, classrooms, teachers, schools, nodes), found by listing the
registry again, so a run interrupted at any point is cleaned up by the same call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from broker.localstack import free_port
from broker.stack import StackInfo, stack_down, stack_status, stack_up
from simulators.faults import ChildProcess, hub_process, kill_pid
from simulators.sim.plan import SimPlan

__all__ = ["ApiError", "Deployment", "LocalDeployment", "RemoteDeployment", "parse_metrics"]

#: Concurrent API calls while registering or cleaning up (the hub renders the
#: broker's files once for all node registrations queued behind a render).
_PARALLEL = 32
_REGISTRY_PARALLEL = 4


#: Rows per registry CSV import.
_IMPORT_BATCH = 200


def _csv_cell(value: Any) -> str:
    """Our ids and names are plain (no commas or quotes); booleans as yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class ApiError(RuntimeError):
    """The hub refused an operator API call (status and body in the message)."""


@dataclass(frozen=True, slots=True)
class ProcSample:
    cpu_s: float
    rss_mb: float


def parse_metrics(text: str) -> dict[str, float]:
    """Un-labelled samples of a Prometheus text exposition (name -> value)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line[0] == "#" or "{" in line.split(" ", 1)[0]:
            continue
        name, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            out[name] = float(value.split(" ")[0])
    return out


def proc_sample(pid: int) -> ProcSample | None:
    """CPU seconds (user + system) and RSS of a local process, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    if match:
        rss = int(match.group(1)) / 1024
    return ProcSample(cpu, rss)


class Deployment:
    """What the runner needs of a hub: API, broker address, metrics, faults."""

    base_url: str
    admin_key: str
    mqtt_host: str
    mqtt_port: int
    topic_prefix: str = "dc/v1"
    local = False

    def __init__(self) -> None:
        self._http: httpx.AsyncClient | None = None
        #: CA of the hub's HTTPS certificate when it is private (True: system store)
        self.verify: str | bool = True

    async def start(self) -> None:
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=30,
            verify=self.verify,
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        assert self._http is not None, "start() first"
        return self._http

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    # ------------------------------------------------------------ registry

    async def register(self, plan: SimPlan, progress: Any = None) -> dict[str, str]:
        """Schools, classrooms and nodes of ``plan``; returns node -> MQTT secret."""
        sem = asyncio.Semaphore(_PARALLEL)

        async def call(method: str, path: str, body: dict[str, Any]) -> Any:
            async with sem:
                result = await self.api(method, path, json=body)
            if progress is not None:
                progress.update(1)
            return result

        schools: list[dict[str, Any]] = []
        classrooms: list[dict[str, Any]] = []
        for s in plan.sessions:
            lead_school = f"{s.session}-school"
            schools.append(
                {"id": lead_school, "name": f"Sim lead school {s.index}", "kind": "lead"}
            )
            classrooms.append({"id": f"{s.lead}-room", "school": lead_school, "node": s.lead})
            for p in s.partners:
                schools.append(
                    {
                        "id": f"{p}-school",
                        "name": f"Sim village school {p}",
                        "kind": "partner",
                        "rural": True,
                    }
                )
                classrooms.append({"id": f"{p}-room", "school": f"{p}-school", "node": p})
        secrets: dict[str, str] = {}

        async def node(name: str) -> None:
            data = await call("POST", "/api/nodes", {"node": name})
            secrets[name] = str(data["secret"])

        # Schools and classrooms go in as CSV imports (one registry transaction per
        # batch); one POST each would re-read the registry thousands of times.
        await self._import("schools", schools, progress)
        await asyncio.gather(*(node(n) for n in plan.nodes))
        await self._import("classrooms", classrooms, progress)
        return secrets

    async def _import(self, kind: str, rows: list[dict[str, Any]], progress: Any) -> None:
        columns = {
            "schools": ("id", "name", "kind", "rural"),
            "classrooms": ("id", "school", "node"),
        }
        head = columns[kind]
        for i in range(0, len(rows), _IMPORT_BATCH):
            batch = rows[i : i + _IMPORT_BATCH]
            lines = [",".join(head)]
            lines += [",".join(_csv_cell(row.get(c, "")) for c in head) for row in batch]
            await self.api(
                "POST",
                f"/api/{kind}/import",
                content="\n".join(lines) + "\n",
                headers={"Content-Type": "text/csv"},
            )
            if progress is not None:
                progress.update(len(batch))

    async def create_sessions(self, plan: SimPlan, ends_in_s: float, progress: Any = None) -> None:
        sem = asyncio.Semaphore(_PARALLEL)
        now = int(time.time() * 1000)

        async def one(s: Any) -> None:
            body = {
                "session": s.session,
                "lead": s.lead,
                "partners": list(s.partners),
                "title": "dualclass sim",
                "subject": "math",
                "grade": 5,
                "starts_at": now,
                "ends_at": now + int(ends_in_s * 1000),
            }
            async with sem:
                await self.api("POST", "/api/sessions", json=body)
            if progress is not None:
                progress.update(1)

        await asyncio.gather(*(one(s) for s in plan.sessions))

    async def cleanup(self, prefix: str) -> dict[str, int]:
        """Remove every session, classroom, teacher, school and node whose id starts
        with ``prefix``; returns how many of each went."""
        mine = prefix + "-"
        removed: dict[str, int] = {}
        wide = asyncio.Semaphore(_PARALLEL)
        # registry writes are optimistic transactions over the whole registry: many
        # at once only make each other retry
        narrow = asyncio.Semaphore(_REGISTRY_PARALLEL)

        async def delete(path: str) -> bool:
            sem = narrow if path.split("/")[2] in ("classrooms", "teachers", "schools") else wide
            async with sem:
                response = await self.http.delete(path)
            if response.status_code not in (204, 404):
                raise ApiError(f"DELETE {path}: {response.status_code} {response.text[:300]}")
            return response.status_code == 204

        sessions = [
            s["spec"]["session"]
            for s in await self.api("GET", "/api/sessions")
            if s["spec"]["session"].startswith(mine)
        ]
        done = await asyncio.gather(*(delete(f"/api/sessions/{s}") for s in sessions))
        removed["sessions"] = sum(done)
        for kind in ("classrooms", "teachers", "schools"):
            ids = [
                e["id"] for e in await self.api("GET", f"/api/{kind}") if e["id"].startswith(mine)
            ]
            done = await asyncio.gather(*(delete(f"/api/{kind}/{i}") for i in ids))
            removed[kind] = sum(done)
        nodes = [
            n["node"] for n in await self.api("GET", "/api/nodes") if n["node"].startswith(mine)
        ]
        done = await asyncio.gather(*(delete(f"/api/nodes/{n}") for n in nodes))
        removed["nodes"] = sum(done)
        return removed

    async def leftovers(self, prefix: str) -> dict[str, list[str]]:
        """Ids with ``prefix`` still registered (for the report and the tests)."""
        mine = prefix + "-"
        out: dict[str, list[str]] = {
            "sessions": [
                s["spec"]["session"]
                for s in await self.api("GET", "/api/sessions")
                if s["spec"]["session"].startswith(mine)
            ],
            "nodes": [
                n["node"] for n in await self.api("GET", "/api/nodes") if n["node"].startswith(mine)
            ],
        }
        for kind in ("schools", "classrooms", "teachers"):
            out[kind] = [
                e["id"] for e in await self.api("GET", f"/api/{kind}") if e["id"].startswith(mine)
            ]
        return {k: v for k, v in out.items() if v}

    # ------------------------------------------------------------- metrics

    async def hub_metrics(self) -> dict[str, float]:
        """The hub's own ``/metrics`` (process CPU and memory, counters); {} if down."""
        try:
            response = await self.http.get("/metrics", timeout=5)
        except httpx.HTTPError:
            return {}
        return parse_metrics(response.text) if response.status_code == 200 else {}

    def service_samples(self) -> dict[str, ProcSample]:
        """Broker and Redis CPU/RSS where we can see their processes (local stack)."""
        return {}

    # --------------------------------------------------------------- faults

    async def kill(self, service: str) -> None:
        raise ApiError(f"kill:{service} needs the local stack (the simulator's own hub)")

    async def restart(self, service: str) -> None:
        raise ApiError(f"cannot restart {service} of a deployment the simulator did not start")

    async def stop(self) -> None:
        await self.close()

    def abandon(self) -> None:
        """Synchronous last resort (a second Ctrl-C): stop what we started, now."""


class RemoteDeployment(Deployment):
    """An existing hub: ``--hub URL --admin-key K --mqtt HOST:PORT``."""

    def __init__(
        self,
        base_url: str,
        admin_key: str,
        mqtt: str,
        topic_prefix: str,
        *,
        ca_file: Path | None = None,
    ) -> None:
        super().__init__()
        if ca_file is not None:
            self.verify = str(ca_file)
        host, _, port = mqtt.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"--mqtt {mqtt!r}: expected HOST:PORT")
        self.base_url = base_url.rstrip("/")
        self.admin_key = admin_key
        self.mqtt_host = host
        self.mqtt_port = int(port)
        self.topic_prefix = topic_prefix

    async def start(self) -> None:
        await super().start()
        await self.api("GET", "/api/nodes")  # the key works, the hub answers


class LocalDeployment(Deployment):
    """Its own Mosquitto, Redis and hub under ``workdir`` (torn down by ``stop``).

    Service faults use the chaos suite's tools (``simulators.faults``): the hub is a
    ``ChildProcess`` (SIGKILL, start again with the same argv); Mosquitto or Redis is
    killed by pid and brought back by ``stack_up``, which restarts only what is dead,
    on the same port with the files the hub rendered, as an operator would."""

    local = True

    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.workdir = workdir
        self.stack: StackInfo | None = None
        self.hub: ChildProcess | None = None

    async def start(self) -> None:
        self.stack = await asyncio.to_thread(stack_up, self.workdir / "stack")
        port = free_port()
        self.hub = hub_process(self.stack.path, self.workdir / "hub", api_port=port)
        await asyncio.to_thread(self.hub.start, 60)
        self.base_url = f"http://127.0.0.1:{port}"
        self.admin_key = str(self.stack.data["admin_key"])
        self.mqtt_host = "127.0.0.1"
        self.mqtt_port = self.stack.mqtt_port
        self.topic_prefix = str(self.stack.data.get("prefix", "dc/v1"))
        await super().start()

    async def stop(self) -> None:
        await self.close()
        if self.hub is not None:
            await asyncio.to_thread(self.hub.terminate)
        await asyncio.to_thread(stack_down, self.workdir / "stack")

    def abandon(self) -> None:
        if self.hub is not None and self.hub.alive:
            self.hub.kill()
        stack_down(self.workdir / "stack", timeout=2.0)

    def _pid(self, service: str) -> int | None:
        if service == "hub":
            return self.hub.pid if self.hub is not None and self.hub.alive else None
        status = stack_status(self.workdir / "stack")[_STACK_NAMES[service]]
        return int(status["pid"]) if status["alive"] else None

    def service_samples(self) -> dict[str, ProcSample]:
        out: dict[str, ProcSample] = {}
        for service in ("broker", "redis"):
            pid = self._pid(service)
            sample = proc_sample(pid) if pid else None
            if sample is not None:
                out[service] = sample
        return out

    async def kill(self, service: str) -> None:
        """SIGKILL, like a crash or the OOM killer."""
        if service == "hub":
            assert self.hub is not None
            await asyncio.to_thread(self.hub.kill)
            return
        pid = self._pid(service)
        if pid is not None:
            await asyncio.to_thread(kill_pid, pid)

    async def restart(self, service: str) -> None:
        """Start the service again on the same port with the same files."""
        if service == "hub":
            assert self.hub is not None
            await asyncio.to_thread(self.hub.start, 60)
        else:
            self.stack = await asyncio.to_thread(stack_up, self.workdir / "stack")


_STACK_NAMES = {"broker": "mosquitto", "redis": "redis"}
