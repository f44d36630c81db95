"""Benchmark of lesson slides: ready before class, and what a slide change costs.

    .venv/bin/python bench/slides.py [--pages 40] [--partners 3] [--json FILE]

A local stack (Mosquitto, Redis, the hub process) with one lead and N partner
nodes. A ``--pages`` PDF is uploaded to the session; the bench times rendering and
the download until every partner has the whole deck on disk (and the hub has heard
so), before ``lesson.start``. Then the lead shows every page once while partner p1's
classroom display is open in Debian Chromium, and for each change it measures:

- **network at the partner**: bytes through p1's MQTT connection (both directions,
  counted by a TCP proxy in front of it) while the change is delivered. Baseline in
  the same run: fetching that page's image from the hub at change time (what a
  slide costs when it is not prefetched) -- ``ratio`` = baseline / event bytes;
- **time to the screen**: from the event applied at the node (its clock) to the
  page image loaded on the display page (the browser's clock; same machine).
  Baseline in the same run: the time the same page takes to fetch from the hub.

Goals: the deck is ready before the lesson starts; a change costs < 1 KB at the
partner and shows within 100 ms. Chromium needs a loopback-only network namespace
(see docs/media.md); as root the bench re-runs itself under ``unshare --net``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from tqdm import tqdm

from protocols.ids import now_ms
from simulators.faults import TcpProxy
from simulators.harness import LocalRun
from simulators.slides import write_deck

SESSION = "bench-slides"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def _isolated() -> bool:
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def _reexec_isolated() -> None:
    """Run this script again inside a network namespace with only loopback."""
    if _isolated() or os.environ.get("DC_BENCH_NETNS"):
        return
    if os.geteuid() != 0:
        sys.exit("bench/slides.py: run as root (for unshare --net) or inside a loopback-only netns")
    argv = " ".join(f"'{a}'" for a in [sys.executable, *sys.argv])
    env = {**os.environ, "DC_BENCH_NETNS": "1"}
    sys.exit(
        subprocess.call(
            ["unshare", "--net", "sh", "-c", f"ip link set lo up && exec {argv}"], env=env
        )
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def _quiet(proxy: TcpProxy, settle_s: float = 0.3) -> int:
    """Wait until no byte moved through ``proxy`` for ``settle_s``; the byte count then."""
    last = -1
    while True:
        now = proxy.bytes_up + proxy.bytes_down
        if now == last:
            return now
        last = now
        await asyncio.sleep(settle_s)


async def run(pages: int, partners: int, workdir: Path) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    names = [f"p{i}" for i in range(1, partners + 1)]
    async with LocalRun(workdir, heartbeat_s=60.0) as local:
        assert local.stack is not None and local.hub is not None
        for node in ["lead", *names]:
            await local.register_node(node)
        mqtt = await TcpProxy(local.stack.mqtt_port).start()
        lead = await local.start_node("lead")
        nodes = {
            n: await local.start_node(
                n, api_enabled=(n == "p1"), mqtt_port=mqtt.port if n == "p1" else None
            )
            for n in names
        }
        now = now_ms()
        await local.create_session(
            {
                "session": SESSION,
                "lead": "lead",
                "partners": names,
                "starts_at": now,
                "ends_at": now + 3_600_000,
            }
        )
        await local.wait_for(
            lambda: all(SESSION in n.sessions for n in nodes.values()), 30, "joins"
        )

        pdf = write_deck(workdir / "deck.pdf", pages)
        t0 = time.monotonic()
        response = await local.http.post(
            f"/api/sessions/{SESSION}/decks",
            params={"name": "deck.pdf"},
            content=pdf.read_bytes(),
            timeout=600,
        )
        response.raise_for_status()
        deck = response.json()
        rendered_s = time.monotonic() - t0
        bar = tqdm(total=partners, desc="deck on partners", unit="node")
        done: set[str] = set()

        def ready() -> bool:
            for name, node in nodes.items():
                if name not in done and node.deck_cache.complete(deck["id"]):
                    done.add(name)
                    bar.update(1)
            return len(done) == partners

        await local.wait_for(ready, 300, "every partner to download the deck")
        bar.close()
        on_disk_s = time.monotonic() - t0
        while True:  # the hub hears it in a heartbeat (sent early when a deck completes)
            info = await local.api("GET", f"/api/sessions/{SESSION}/decks")
            if set(info.get("ready", {}).get(deck["id"], {})) >= set(names):
                break
            await asyncio.sleep(0.05)
        hub_knows_s = time.monotonic() - t0
        await lead.send("lesson.start", {"title": "bench"}, SESSION)
        start_ts = (await local.api("GET", f"/api/sessions/{SESSION}/events"))["events"][0]["ts"]
        ready_at = info["ready"][deck["id"]]
        ready_before_start = all(ready_at[n] <= start_ts for n in names)

        applied: dict[int, int] = {}

        def on_event(session: str, event: Any, at: int) -> None:
            if event.type == "slide.show":
                applied[event.body.index] = at

        nodes["p1"].listeners.append(on_event)
        result: dict[str, Any] = {}
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = await browser.new_page(viewport={"width": 1920, "height": 1080})
            page.set_default_timeout(60_000)
            await page.goto(f"{nodes['p1'].api.base_url}/display?lang=en")
            await page.wait_for_function("() => window.dc.view && window.dc.view.status === 'live'")
            await page.wait_for_function(
                f"() => performance.getEntriesByType('resource')"
                f".filter((e) => e.name.includes('/display/pages/')).length >= {pages}"
            )  # the page preloads the cached deck into the browser
            event_bytes: list[int] = []
            shown_ms: list[float] = []
            fetch_bytes: list[int] = []
            fetch_ms: list[float] = []
            auth = (names[0], local.secrets[names[0]])
            async with httpx.AsyncClient(base_url=local.hub.base_url, auth=auth) as hub_http:
                for index in tqdm(range(pages), desc="slide changes", unit="slide"):
                    before = await _quiet(mqtt)
                    await lead.send("slide.show", {"deck": deck["id"], "index": index}, SESSION)
                    await page.wait_for_function(
                        f"() => document.getElementById('slide').dataset.index === '{index}'"
                    )
                    event_bytes.append(await _quiet(mqtt) - before)
                    shown = await page.evaluate(
                        f"() => window.dc.shown.filter((s) => s.index === {index}).pop().shown_at"
                    )
                    shown_ms.append(shown - applied[index])
                    # baseline: the same page fetched from the hub now
                    t = time.perf_counter()
                    got = await hub_http.get(
                        f"/api/sessions/{SESSION}/decks/{deck['id']}/pages/{index}"
                    )
                    fetch_ms.append((time.perf_counter() - t) * 1000)
                    fetch_bytes.append(len(got.content) + len(got.headers.raw))
            await browser.close()
        await nodes["p1"].shutdown()  # before its proxy goes
        await mqtt.stop()
        result = {
            "pages": pages,
            "partners": partners,
            "deck_bytes": sum(p["size"] for p in deck["pages"]),
            "render_s": round(rendered_s, 2),
            "on_every_partner_s": round(on_disk_s, 2),
            "hub_knows_s": round(hub_knows_s, 2),
            "ready_before_start": ready_before_start,
            "change_bytes": {
                "median": statistics.median(event_bytes),
                "max": max(event_bytes),
                "baseline_fetch_median": statistics.median(fetch_bytes),
                "ratio": round(
                    statistics.median(fetch_bytes) / max(statistics.median(event_bytes), 1)
                ),
            },
            "display_ms": {
                "p50": _pct(shown_ms, 0.5),
                "p95": _pct(shown_ms, 0.95),
                "max": round(max(shown_ms), 1),
                "baseline_fetch_p50": _pct(fetch_ms, 0.5),
            },
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--partners", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    _reexec_isolated()
    with tempfile.TemporaryDirectory(prefix="dc-bench-slides-") as tmp:
        result = asyncio.run(run(args.pages, args.partners, Path(tmp)))
    c, d = result["change_bytes"], result["display_ms"]
    print(
        f"deck of {result['pages']} pages ({result['deck_bytes'] / 1e6:.1f} MB): rendered in "
        f"{result['render_s']} s, on all {result['partners']} partners "
        f"{result['on_every_partner_s']} s after upload, hub told {result['hub_knows_s']} s; "
        f"ready before lesson.start: {result['ready_before_start']}"
    )
    print(
        f"slide change at the partner: {c['median']} B median, {c['max']} B max "
        f"(goal < 1024) vs {c['baseline_fetch_median']} B to fetch the page then: "
        f"{c['ratio']}x less"
    )
    print(
        f"event applied at the node -> page on the display: p50 {d['p50']} ms, p95 {d['p95']} ms, "
        f"max {d['max']} ms (goal < 100) vs fetching the page from the hub: p50 "
        f"{d['baseline_fetch_p50']} ms"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = result["ready_before_start"] and c["max"] < 1024 and d["p95"] < 100
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
