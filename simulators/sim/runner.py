"""One simulator run: deployment up, nodes in workers, lessons, faults, report.

``run_sim(options)`` returns the report (see ``simulators.sim.render`` for its
keys). Order: bring up (or reach) the hub; register the run's schools,
classrooms and nodes under its prefix; start the worker processes (each starts its
nodes); create the sessions (the hub tells nodes to join); start every lesson at
one wall-clock time (plus the ramp); fire the faults; wait until every worker has
settled its accounting; then remove what was registered and stop what was started.
Ctrl-C (cancellation) takes the same clean-up path.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from simulators.sim.accounting import latency_block, merge_events, over_time, video_block
from simulators.sim.deploy import Deployment, LocalDeployment, RemoteDeployment
from simulators.sim.faultplan import FaultSpec, random_cuts, resolve_targets
from simulators.sim.plan import Mix, SimPlan, build_plan
from simulators.sim.worker import WorkerSpec, worker_main
from simulators.stats import percentile

__all__ = ["RunOptions", "run_sim"]

#: Seconds after the last session started that count as the start-up burst.
_WARMUP_S = 10.0

#: How often the hub's /metrics (and the stack's /proc) are sampled.
_SAMPLE_S = 5.0


@dataclass
class RunOptions:
    sessions: int = 4
    partners: int = 4
    duration_s: float = 60.0
    ramp_s: float = 0.0
    lead_rate: float = 0.5
    mix: Mix = field(default_factory=Mix)
    media: bool = False
    seed: int = 0
    workers: int = 4
    prefix: str = ""
    faults: list[FaultSpec] = field(default_factory=list)
    fault_rate: float = 0.0
    heartbeat_s: float = 5.0
    journal_fsync: bool = False
    #: existing deployment (all three or none)
    hub_url: str | None = None
    admin_key: str | None = None
    mqtt: str | None = None
    topic_prefix: str = "dc/v1"
    mqtt_tls: bool = False
    mqtt_ca_file: Path | None = None
    hub_ca_file: Path | None = None
    workdir: Path | None = None
    keep_registry: bool = False


class _Pipes:
    """Worker pipes; one reader thread each, feeding one asyncio queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.conns: dict[int, Connection] = {}
        self.procs: dict[int, Any] = {}

    def spawn(self, spec: WorkerSpec) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker_main, args=(child, spec), daemon=True)
        proc.start()
        child.close()
        self.conns[spec.index] = parent
        self.procs[spec.index] = proc
        threading.Thread(target=self._read, args=(spec.index, parent), daemon=True).start()

    def _read(self, index: int, conn: Connection) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                message = {"t": "gone", "worker": index}
            try:
                self.loop.call_soon_threadsafe(self.queue.put_nowait, message)
            except RuntimeError:
                return  # the run is over and its loop closed
            if message["t"] == "gone":
                return

    def send(self, index: int, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conns[index].send(message)

    def send_all(self, message: dict[str, Any]) -> None:
        for index in self.conns:
            self.send(index, message)

    def kill(self) -> None:
        """SIGKILL every worker now (their nodes die as crashed boxes do)."""
        for proc in self.procs.values():
            if proc.is_alive():
                proc.kill()

    async def stop(self) -> None:
        self.send_all({"t": "stop"})
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            while proc.is_alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if proc.is_alive():
                proc.kill()
            proc.join(5)


async def _expect(
    pipes: _Pipes, kind: str, count: int, timeout: float, what: str, on_other: Any = None
) -> list[dict[str, Any]]:
    """Collect ``count`` messages of ``kind`` (others go to ``on_other``)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        try:
            message = await asyncio.wait_for(pipes.queue.get(), remaining)
        except TimeoutError:
            continue
        if message["t"] == kind:
            got.append(message)
        elif message["t"] in ("error", "gone"):
            raise RuntimeError(
                f"worker {message.get('worker')} failed: {message.get('detail', 'it exited')}"
            )
        elif on_other is not None:
            on_other(message)
    return got


class _Live:
    """Live progress: sessions up, nodes online, events/s, current p99, faults fired."""

    def __init__(self, out: TextIO | None, plan: SimPlan, faults: int) -> None:
        self.out = out
        self.plan = plan
        self.faults = faults
        self.fired = 0
        self.ticks: dict[int, dict[str, Any]] = {}
        self.lat_window: list[tuple[float, float]] = []
        self.applied_prev: tuple[float, int] | None = None
        self.tty = out is not None and out.isatty()
        self.last_print = 0.0
        self.start = 0.0

    def tick(self, message: dict[str, Any]) -> None:
        self.ticks[message["worker"]] = message
        now = time.time()
        self.lat_window.extend((now, x) for x in message["lat"])

    def line(self) -> str:
        now = time.time()
        self.lat_window = [(t, x) for t, x in self.lat_window if now - t < 5]
        p99 = percentile([x for _, x in self.lat_window], 99)
        ticks = self.ticks.values()
        applied = sum(t["applied"] for t in ticks)
        submitted = sum(t["submitted"] for t in ticks)
        rate = 0.0
        if self.applied_prev is not None and now > self.applied_prev[0]:
            rate = (submitted - self.applied_prev[1]) / (now - self.applied_prev[0])
        self.applied_prev = (now, submitted)
        return (
            f"[{now - self.start:5.0f}s] sessions up {sum(t['sessions_up'] for t in ticks)}"
            f"/{len(self.plan.sessions)}  nodes online {sum(t['online'] for t in ticks)}"
            f"/{len(self.plan.nodes)}  {rate:6.1f} ev/s  applied {applied}"
            f"  p99 {p99:6.1f} ms  faults {self.fired}/{self.faults}"
        )

    def show(self, force: bool = False) -> None:
        if self.out is None or not self.ticks:
            return
        now = time.monotonic()
        period = 1.0 if self.tty else 5.0
        if not force and now - self.last_print < period:
            return
        self.last_print = now
        text = self.line()
        if self.tty:
            print("\r" + text.ljust(118)[:118], end="", file=self.out, flush=True)
        else:
            print(text, file=self.out, flush=True)

    def done(self) -> None:
        if self.out is not None and self.tty:
            print(file=self.out, flush=True)


async def run_sim(options: RunOptions, out: TextIO | None = sys.stdout) -> dict[str, Any]:
    """Run once; the report as a dict (``interrupted``: True after Ctrl-C)."""
    prefix = options.prefix or f"sim{random.Random().randrange(16**4):04x}"
    plan = build_plan(
        prefix=prefix,
        sessions=options.sessions,
        partners=options.partners,
        workers=options.workers,
        duration_s=options.duration_s,
        ramp_s=options.ramp_s,
        lead_rate=options.lead_rate,
        mix=options.mix,
        seed=options.seed,
    )
    rng = random.Random(f"faults:{options.seed}")
    faults = sorted(
        [*options.faults, *random_cuts(plan, options.fault_rate, rng)], key=lambda f: f.at_s
    )
    targets = {i: resolve_targets(f.target, plan) for i, f in enumerate(faults) if f.kind == "cut"}
    remote = options.hub_url is not None
    if remote and any(f.kind == "kill" for f in faults):
        raise ValueError("--fault AT:kill:SERVICE needs the local stack (no --hub)")

    def say(text: str) -> None:
        if out is not None:
            print(text, file=out, flush=True)

    tmp = None
    workdir = options.workdir
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="dualclass-sim-")
        workdir = Path(tmp.name)
    deployment: Deployment
    if remote:
        assert options.admin_key and options.mqtt and options.hub_url
        deployment = RemoteDeployment(
            options.hub_url,
            options.admin_key,
            options.mqtt,
            options.topic_prefix,
            ca_file=options.hub_ca_file,
        )
    else:
        deployment = LocalDeployment(workdir)
    loop = asyncio.get_running_loop()
    pipes = _Pipes(loop)
    live = _Live(out, plan, len(faults))
    registered = False
    report: dict[str, Any] = {"interrupted": False}
    # progress bars on a terminal; a log (CI, nohup) gets plain phase lines instead
    bars = out is not None and out.isatty()
    try:
        say(
            f"dualclass sim {prefix}: {len(plan.sessions)} sessions x (1 lead + "
            f"{options.partners} partners) = {len(plan.nodes)} classrooms in "
            f"{plan.workers} worker processes, {options.duration_s:g} s"
            + (" with media" if options.media else "")
        )
        await deployment.start()
        say(
            f"  hub {deployment.base_url}   broker {deployment.mqtt_host}:{deployment.mqtt_port}"
            + ("   (own local stack)" if deployment.local else "   (existing deployment)")
        )
        registered = True
        say(f"  registering {len(plan.nodes)} classrooms, their schools and nodes")
        with tqdm(
            total=3 * len(plan.nodes), desc="registering", disable=not bars, leave=False
        ) as bar:
            secrets = await deployment.register(plan, bar)
        for w in range(plan.workers):
            mine = plan.worker_sessions(w)
            members = {n for s in mine for n in s.members}
            pipes.spawn(
                WorkerSpec(
                    index=w,
                    mqtt_host=deployment.mqtt_host,
                    mqtt_port=deployment.mqtt_port,
                    topic_prefix=deployment.topic_prefix,
                    state_dir=str(workdir / "nodes"),
                    sessions=mine,
                    secrets={n: secrets[n] for n in members},
                    duration_s=plan.duration_s,
                    lead_rate=plan.lead_rate,
                    mix=plan.mix,
                    seed=plan.seed,
                    offsets={s.index: plan.start_offset(s.index) for s in mine},
                    proxied={n for nodes in targets.values() for n in nodes if n in members},
                    heartbeat_s=options.heartbeat_s,
                    journal_fsync=options.journal_fsync,
                    media_hub_url=deployment.base_url if options.media else None,
                    mqtt_tls=options.mqtt_tls or options.mqtt_ca_file is not None,
                    mqtt_ca_file=str(options.mqtt_ca_file) if options.mqtt_ca_file else None,
                )
            )
        say(f"  starting {len(plan.nodes)} classroom nodes in {plan.workers} processes")
        await _expect(
            pipes, "ready", plan.workers, 60 + 0.3 * len(plan.nodes), "the nodes to start"
        )
        with tqdm(
            total=len(plan.sessions), desc="creating sessions", disable=not bars, leave=False
        ) as bar:
            await deployment.create_sessions(plan, options.duration_s + options.ramp_s + 600, bar)
        pipes.send_all({"t": "go"})
        joined = await _expect(
            pipes, "joined", plan.workers, 180, "the classrooms to join", on_other=live.tick
        )
        if not all(j["ok"] for j in joined):
            raise RuntimeError(
                f"only {sum(j['joined'] for j in joined)} of {len(plan.nodes)} classrooms joined"
            )
        start = time.time() + 1.0
        live.start = start
        pipes.send_all({"t": "start", "at": start})
        report = await _running(options, plan, faults, targets, deployment, pipes, live, start, say)
    except asyncio.CancelledError:
        report["interrupted"] = True
        say("\ninterrupted: stopping the classrooms and cleaning up")
    finally:
        live.done()
        try:
            await asyncio.shield(
                _teardown(pipes, deployment, prefix, registered, remote, options, report, say)
            )
        except asyncio.CancelledError:
            # a second Ctrl-C: no more waiting, but nothing we started outlives us
            pipes.kill()
            deployment.abandon()
            if registered and remote:
                say(f"  left on the hub: run again with --cleanup-only --prefix {prefix}")
            raise
        finally:
            if tmp is not None:
                tmp.cleanup()
    report["prefix"] = prefix
    return report


async def _teardown(
    pipes: _Pipes,
    deployment: Deployment,
    prefix: str,
    registered: bool,
    remote: bool,
    options: RunOptions,
    report: dict[str, Any],
    say: Any,
) -> None:
    await pipes.stop()
    try:
        if registered and remote and not options.keep_registry:
            removed = await deployment.cleanup(prefix)
            report["cleanup"] = {"removed": removed, "left": await deployment.leftovers(prefix)}
            say(f"  cleaned up on the hub: {removed}")
    finally:
        await deployment.stop()


async def _running(
    options: RunOptions,
    plan: SimPlan,
    faults: list[FaultSpec],
    targets: dict[int, list[str]],
    deployment: Deployment,
    pipes: _Pipes,
    live: _Live,
    start: float,
    say: Any,
) -> dict[str, Any]:
    owner = {n: s.worker for s in plan.sessions for n in s.members}
    fired: list[dict[str, Any]] = []
    recoveries: dict[int, list[float | None]] = defaultdict(list)
    expected_reports: dict[int, int] = {}
    hub_samples: list[tuple[float, dict[str, float]]] = []
    svc_samples: list[tuple[float, dict[str, Any]]] = []
    fps_series: list[tuple[float, float]] = []
    per_classroom_fps: dict[str, list[float]] = defaultdict(list)
    reconnect_series: list[tuple[float, int]] = []
    online_series: list[tuple[float, int]] = []

    async def fire(i: int, fault: FaultSpec) -> None:
        delay = start + fault.at_s - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        record: dict[str, Any] = {
            "index": i,
            "at_s": fault.at_s,
            "kind": fault.kind,
            "target": fault.target,
            "hold_s": fault.hold_s,
            "mode": fault.mode if fault.kind == "cut" else None,
            "fired_at_s": round(time.time() - start, 2),
            "recovery_s": None,
        }
        fired.append(record)
        live.fired += 1
        if fault.kind == "cut":
            nodes = targets[i]
            record["classrooms"] = len(nodes)
            workers = sorted({owner[n] for n in nodes})
            for w in workers:
                pipes.send(
                    w,
                    {
                        "t": "cut",
                        "fault": i,
                        "mode": fault.mode,
                        "nodes": [n for n in nodes if owner[n] == w],
                    },
                )
            await asyncio.sleep(fault.hold_s)
            expected_reports[i] = len(workers)
            at_ms = int(time.time() * 1000)
            for w in workers:
                pipes.send(
                    w,
                    {
                        "t": "restore",
                        "fault": i,
                        "nodes": [n for n in nodes if owner[n] == w],
                        "at_ms": at_ms,
                    },
                )
        else:
            await deployment.kill(fault.target)
            await asyncio.sleep(fault.hold_s)
            await deployment.restart(fault.target)
            expected_reports[i] = plan.workers
            record["restarted_at_s"] = round(time.time() - start, 2)
            pipes.send_all({"t": "watch", "fault": i, "at_ms": int(time.time() * 1000)})
        record["ended_at_s"] = round(time.time() - start, 2)

    async def sampler() -> None:
        while True:
            metrics = await deployment.hub_metrics()
            now = time.time()
            if metrics:
                hub_samples.append((now, metrics))
            svc = deployment.service_samples()
            if svc:
                svc_samples.append((now, {k: (v.cpu_s, v.rss_mb) for k, v in svc.items()}))
            # /metrics of a hub with a thousand nodes is large: scraping it every
            # second would be a noticeable part of what we measure
            await asyncio.sleep(_SAMPLE_S)

    fault_tasks = [
        asyncio.create_task(fire(i, f)) for i, f in enumerate(faults) if f.at_s < plan.duration_s
    ]
    sampler_task = asyncio.create_task(sampler())
    results: list[dict[str, Any]] = []
    try:
        while len(results) < plan.workers:
            try:
                message = await asyncio.wait_for(pipes.queue.get(), 1.0)
            except TimeoutError:
                live.show()
                continue
            kind = message["t"]
            if kind == "tick":
                live.tick(message)
                now = message["at"]
                for node, fps in message["fps"].items():
                    if fps > 0 or per_classroom_fps[node]:
                        per_classroom_fps[node].append(fps)
                        fps_series.append((now, fps))
                reconnect_series.append((now, message["new_reconnects"]))
                online_series.append((now, message["online"]))
                live.show()
            elif kind == "recovered":
                recoveries[message["fault"]].append(message["recovery_s"])
            elif kind == "result":
                results.append(message)
            elif kind in ("error", "gone"):
                raise RuntimeError(
                    f"worker {message.get('worker')} failed: {message.get('detail', 'it exited')}"
                )
    finally:
        for task in [*fault_tasks, sampler_task]:
            task.cancel()
        await asyncio.gather(*fault_tasks, sampler_task, return_exceptions=True)
    live.show(force=True)
    live.done()
    end = time.time()
    for r in results:
        for fault, value in r["watches"].items():
            if value is not None and len(recoveries[fault]) < expected_reports.get(fault, 0):
                recoveries[fault].append(value)
    for record in fired:
        index = record["index"]
        got = recoveries.get(index, [])
        if got and len(got) >= expected_reports.get(index, 1) and all(g is not None for g in got):
            record["recovery_s"] = max(g for g in got if g is not None)
    return _report(
        options,
        plan,
        results,
        fired,
        hub_samples,
        svc_samples,
        fps_series,
        per_classroom_fps,
        reconnect_series,
        start,
        end,
    )


def _machine() -> dict[str, Any]:
    """CPUs and load average at the end of the run: a loaded machine (other jobs)
    inflates every latency, so the figures carry the load they were taken under."""
    out: dict[str, Any] = {"cpus": os.cpu_count()}
    with contextlib.suppress(OSError):
        out["loadavg_1_5_15"] = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    return out


def _cpu_rate(samples: list[tuple[float, float]]) -> float | None:
    """CPU seconds per wall second between the first and last sample (None: too few).

    A restarted process resets its counter: only rising stretches are summed."""
    if len(samples) < 2:
        return None
    used = 0.0
    for (_, c0), (_, c1) in itertools.pairwise(samples):
        if c1 >= c0:
            used += c1 - c0
    span = samples[-1][0] - samples[0][0]
    return round(used / span, 3) if span > 0 else None


def _report(
    options: RunOptions,
    plan: SimPlan,
    results: list[dict[str, Any]],
    fired: list[dict[str, Any]],
    hub_samples: list[tuple[float, dict[str, float]]],
    svc_samples: list[tuple[float, dict[str, Any]]],
    fps_series: list[tuple[float, float]],
    per_classroom_fps: dict[str, list[float]],
    reconnect_series: list[tuple[float, int]],
    start: float,
    end: float,
) -> dict[str, Any]:
    sessions = sorted((s for r in results for s in r["sessions"]), key=lambda s: s["index"])
    latencies = [(at / 1000.0, lat) for s in sessions for at, lat in s["latencies"]]
    values = [lat for _, lat in latencies]
    media_summary = {n: m for s in sessions for n, m in s["media"].items()}
    hub_cpu = _cpu_rate(
        [
            (t, m["process_cpu_seconds_total"])
            for t, m in hub_samples
            if "process_cpu_seconds_total" in m
        ]
    )
    rss = [
        m["process_resident_memory_bytes"] / 2**20
        for _, m in hub_samples
        if "process_resident_memory_bytes" in m
    ]
    services: dict[str, Any] = {}
    for name in ("broker", "redis"):
        series = [(t, v[name][0]) for t, v in svc_samples if name in v]
        if series:
            services[name] = {
                "cpu_s_per_s": _cpu_rate(series),
                "rss_mb_max": round(max(v[name][1] for _, v in svc_samples if name in v), 1),
            }
    reconnects = {n: c for s in sessions for n, c in s["reconnects"].items() if c}
    partner_streams = len(per_classroom_fps)
    report: dict[str, Any] = {
        "interrupted": False,
        "sessions": len(plan.sessions),
        "classrooms": len(plan.nodes),
        "partners": options.partners,
        "duration_s": options.duration_s,
        "wall_s": round(end - start, 1),
        "media": options.media,
        "plan": plan.as_dict(),
        "events": merge_events(sessions),
        "latency_ms": latency_block(values),
        # the same without the start: every classroom joining and catching up at once
        # is a burst a real term does not have (lessons start over minutes)
        "latency_ms_after_warmup": latency_block(
            [lat for at, lat in latencies if at >= start + options.ramp_s + _WARMUP_S]
        ),
        "latency_legs_ms": {
            "lead_to_hub_sequenced": latency_block([x for s in sessions for x in s["uplink_ms"]]),
            "hub_sequenced_to_applied": latency_block(
                [x for s in sessions for x in s["downlink_ms"]]
            ),
        },
        "latency_over_time": over_time(latencies, start),
        "per_session": [
            {
                "session": s["session"],
                "submitted": s["submitted"],
                "sequenced": s["sequenced"],
                "rejected": s["rejected"],
                "lost": s["unresolved"] + s["missing_at_some_classroom"],
                "duplicated": s["duplicated"],
                "latency_ms": latency_block([lat for _, lat in s["latencies"]]),
            }
            for s in sessions
        ],
        "video": video_block(per_classroom_fps, media_summary)
        if options.media
        else {"fps_min": None, "fps_p5": None},
        "fps_over_time": over_time(fps_series, start) if options.media else [],
        "hub": {
            "cpu_s_per_s": hub_cpu,
            "rss_mb": round(max(rss), 1) if rss else None,
            "cpu_s_per_s_per_partner_stream": (
                round(hub_cpu / partner_streams, 4) if hub_cpu and partner_streams else None
            ),
        },
        "services": services,
        "nodes": {
            "reconnects": sum(reconnects.values()),
            "reconnected_classrooms": len(reconnects),
            "reconnects_over_time": [
                {"t_s": round(t - start, 1), "n": n} for t, n in reconnect_series if n
            ],
        },
        "faults": fired,
        "machine": _machine(),
        "machine_note": "shared machine: other jobs compete for the same CPUs",
    }
    return report
