"""Benchmark of the operator dashboard (issue 13): transfer and main-thread work per
update with many live lessons, in Debian Chromium.

    unshare --net sh -c 'ip link set lo up && .venv/bin/python bench/ops.py [--lessons 50]'

A synthetic feed (the real ``/ops`` routes, ``OpsFeed`` fan-out and merge patches;
lessons, boxes and media figures made up) ticks once a second; every classroom's
fps, bitrate and RTT change every tick (worse than real: heartbeats come every 5 s).
Printed: the page's whole transfer (HTML, scripts, catalogue, the event stream) over
``--seconds``, the bytes per update against the baseline measured in the same run
(sending the whole document each tick, as polling would), and Chromium's main-thread
task time per update (CDP ``Performance.getMetrics`` TaskDuration).

Goal: < 2 MB transfer, < 50 ms main-thread per update with 50 live lessons.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from hub.api import languages, ops
from hub.api.problems import install_problem_handlers
from hub.metrics import HubMetrics
from hub.ops import overview
from hub.ops.feed import OpsFeed
from hub.ops.patch import diff, strip_none
from protocols.ids import now_ms

KEY = "bench-key"


class SyntheticFeed(OpsFeed):
    def __init__(self, hub: Any, lessons: int, churn: float) -> None:
        super().__init__(hub)
        self.n = lessons
        self.churn = churn
        self.media: dict[str, dict[str, float]] = {}
        self.rng = random.Random(13)
        self.full_bytes: list[int] = []
        self.patch_bytes: list[int] = []

    async def tick(self) -> dict[str, Any]:
        now = now_ms()
        lessons, nodes = [], {}
        for i in range(self.n):
            roster = {f"lead{i}": "lead", f"p{i}a": "partner", f"p{i}b": "partner"}
            lessons.append(
                overview.LessonFacts(
                    f"S{i:03d}",
                    "live",
                    roster,
                    title=f"Lesson {i}",
                    subject="math",
                    grade=1 + i % 9,
                    starts_at=now - 600_000,
                    head_seq=100 + now // 10_000 % 1000,
                )
            )
            for node in roster:
                media = self.media.get(node)
                if media is None or self.rng.random() < self.churn:
                    # a heartbeat with new figures (real nodes: one every 5 s)
                    media = self.media[node] = {
                        "fps": self.rng.uniform(14, 30),
                        "bitrate_kbps": self.rng.uniform(300, 900),
                        "loss": self.rng.uniform(0, 0.06),
                        "rtt_ms": self.rng.uniform(5, 80),
                        "freezes": 0,
                    }
                nodes[node] = overview.NodeFacts(
                    node,
                    True,
                    last_seen=now // 5000 * 5000,
                    heartbeat_at=now // 5000 * 5000,
                    sessions=(f"S{i:03d}",),
                    last_seq={f"S{i:03d}": 100},
                    journal_backlog=0,
                    media=media,
                    version="0.1.0",
                    has_media=True,
                )
        alerts = self.alerts.update(now, [])
        hub = {
            "events_per_s": self.rng.uniform(10, 50),
            "sequencing_p99_ms": 3.0,
            "delivery_p99_ms": 5.0,
            "rejected": {},
            "broker": True,
            "redis": True,
            "cpu_percent": 20,
            "memory_mb": 150,
            "sessions": self.n,
        }
        document = overview.build(
            now_ms=now,
            day_start_ms=now - 3_600_000,
            lessons=lessons,
            nodes=nodes,
            hub=hub,
            coverage=None,
            alerts=alerts,
        )
        keyed = strip_none(overview.keyed(document))
        patch = diff(self.keyed, keyed) if self.keyed else {}
        self.document, self.keyed = document, keyed
        if patch:
            self.full_bytes.append(
                len(json.dumps({"now": now, "doc": keyed}, separators=(",", ":")))
            )
            self.patch_bytes.append(
                len(json.dumps({"now": now, "patch": patch}, separators=(",", ":")))
            )
            self._fan_out({"now": now, "patch": patch})
        return patch


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lessons", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--churn", type=float, default=1.0, help="share of classrooms whose figures change a tick"
    )
    args = parser.parse_args()
    from playwright.async_api import async_playwright

    hub = SimpleNamespace(
        config=SimpleNamespace(
            admin_key=SecretStr(KEY), ops_session_ttl_s=3600, ops_interval_s=1.0
        ),
        metrics=HubMetrics(),
    )
    feed = SyntheticFeed(hub, args.lessons, args.churn)
    hub.ops = feed
    app = FastAPI()
    app.state.hub = hub
    install_problem_handlers(app)
    app.include_router(ops.router)
    app.include_router(languages.router)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    await feed.tick()

    async def ticking() -> None:
        while True:
            await asyncio.sleep(1.0)
            await feed.tick()

    ticker = asyncio.create_task(ticking())
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--disable-gpu", "--no-first-run"],
        )
        page = await browser.new_page()
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Performance.enable")
        await cdp.send("Network.enable")
        received = [0]
        cdp.on(
            "Network.dataReceived",
            lambda e: received.__setitem__(0, received[0] + e.get("encodedDataLength", 0)),
        )
        cdp.on(
            "Network.responseReceived",
            lambda e: received.__setitem__(
                0, received[0] + e["response"].get("encodedDataLength", 0)
            ),
        )
        await page.goto(f"http://127.0.0.1:{port}/ops?lang=zh-CN")
        await page.fill("#signin-key", KEY)
        await page.click("#signin-form button[type=submit]")
        await page.wait_for_function("() => window.ops && window.ops.connected", timeout=30_000)
        loaded = received[0]
        await page.wait_for_function("() => window.ops.updates >= 2", timeout=30_000)

        async def sample() -> dict[str, float]:
            metrics = await cdp.send("Performance.getMetrics")
            return {m["name"]: float(m["value"]) for m in metrics["metrics"]}

        before = await sample()
        updates0 = await page.evaluate("() => window.ops.updates")
        await asyncio.sleep(args.seconds)
        after = await sample()
        updates = await page.evaluate("() => window.ops.updates") - updates0
        timings = await page.evaluate("() => window.ops.timings.slice(2)")
        await browser.close()
    ticker.cancel()
    server.should_exit = True
    await serving

    def per_update(name: str) -> float:
        return 1000 * (after.get(name, 0.0) - before.get(name, 0.0)) / max(updates, 1)

    full = sum(feed.full_bytes) / len(feed.full_bytes)
    patch = sum(feed.patch_bytes) / len(feed.patch_bytes)
    timings.sort()
    median, worst = timings[len(timings) // 2], timings[-1]
    print(f"dashboard, {args.lessons} live lessons ({3 * args.lessons} classrooms)")
    print(f"  {args.seconds:.0f} s, {updates} updates")
    print(f"  page load (HTML, scripts, catalogue, snapshot): {loaded / 1e6:.2f} MB")
    print(f"  page transfer, load + updates: {received[0] / 1e6:.2f} MB")
    print(f"  per update: patch {patch / 1000:.1f} kB, whole document {full / 1000:.1f} kB")
    print(f"  (baseline: polling the whole state) -> ratio {patch / full:.2f}")
    cpu, wall = per_update("ThreadTime"), per_update("TaskDuration")
    script, layout = per_update("ScriptDuration"), per_update("LayoutDuration")
    style = per_update("RecalcStyleDuration")
    print("  main thread per update (CDP; includes the 1 s heartbeat-age timer):")
    print(f"    CPU {cpu:.1f} ms; task wall time {wall:.1f} ms")
    print(f"    (script {script:.1f}, style {style:.1f}, layout {layout:.1f} ms)")
    print(f"  script per update (patch + redraw): median {median:.1f} ms, max {worst:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
