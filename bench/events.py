"""Event-path benchmark: hub path versus plain Mosquitto pub/sub, same run.

N partner nodes (default 50) spread over S sessions (default 5), each session with
its own lead; the leads send paced events (default 100/s in all). Two phases on
the same local stack:

* **plain**: raw MQTT clients. Each lead publishes the encoded event straight to a
  topic its partners subscribe to; subscribers decode it. One broker hop: the
  floor under any design.
* **hub**: real ``ClassroomNode`` leads and partners through the hub: uplink ->
  hub (validate, role rules, Redis stream + seq, publish) -> partners, which
  reorder and apply.

Latency is sender clock -> applied (or decoded) at each partner, same machine.
Prints p50/p99 of both, their ratio and lost events (sequenced events some
partner never applied). ``--json FILE`` writes the figures.

Usage: ``python bench/events.py [--partners 50] [--sessions 5] [--rate 100]
[--seconds 20] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from broker.client import ClientSettings, MqttLink
from classroom_node.main import settle_heap
from protocols.codec import decode, encode
from protocols.ids import new_id, now_ms
from protocols.messages import Event, SlideShow
from simulators.harness import LocalRun
from simulators.stats import latency_summary


def plan(partners: int, sessions: int) -> dict[str, list[str]]:
    """Session id -> partner ids, round robin."""
    out: dict[str, list[str]] = {f"bench-s{i}": [] for i in range(sessions)}
    keys = list(out)
    for i in range(partners):
        out[keys[i % sessions]].append(f"bp{i:03d}")
    return out


async def pace(rate: float, seconds: float, senders: list[Any], label: str) -> int:
    """Call the senders round robin at ``rate`` per second in all; returns count."""
    interval = 1.0 / rate
    total = int(rate * seconds)
    start = time.monotonic()
    with tqdm(total=total, desc=label, unit="ev", leave=False) as bar:
        for i in range(total):
            target = start + i * interval
            delay = target - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await senders[i % len(senders)](i)
            bar.update(1)
    return total


async def plain_phase(
    run: LocalRun, layout: dict[str, list[str]], rate: float, seconds: float
) -> dict[str, Any]:
    assert run.stack is not None
    mqtt = run.stack.data["mqtt"]

    def settings(cid: str) -> ClientSettings:
        return ClientSettings(
            port=mqtt["port"],
            username=mqtt["hub_username"],
            password=mqtt["hub_password"],
            client_id=cid,
            clean_start=True,
        )

    latencies: list[float] = []
    received: dict[str, int] = defaultdict(int)
    links: list[MqttLink] = []
    readers: list[asyncio.Task[None]] = []

    async def reader(link: MqttLink, name: str) -> None:
        async for msg in link.messages():
            event = decode(msg.payload)
            latencies.append(now_ms() - (event.sent or 0))
            received[name] += 1

    for sid, partners in layout.items():
        for p in partners:
            link = MqttLink(settings(f"plain-{p}"))
            await link.start(wait=True)
            await link.subscribe(f"dc/v1/bench/{sid}")
            links.append(link)
            readers.append(asyncio.create_task(reader(link, p)))
    pubs: list[MqttLink] = []
    senders = []
    for sid in layout:
        link = MqttLink(settings(f"plain-lead-{sid}"))
        await link.start(wait=True)
        pubs.append(link)

        async def send(i: int, link: MqttLink = link, sid: str = sid) -> None:
            msg = SlideShow(
                id=new_id(), session=sid, sent=now_ms(), body={"deck": "bench", "index": i}
            )
            await link.publish(f"dc/v1/bench/{sid}", encode(msg))

        senders.append(send)
    settle_heap()  # as the daemons do after start-up, in both phases
    total = await pace(rate, seconds, senders, "plain mqtt")
    expected = sum(
        len(p) * (total // len(layout) + (1 if i < total % len(layout) else 0))
        for i, p in enumerate(layout.values())
    )
    deadline = time.monotonic() + 20
    while sum(received.values()) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for link in links + pubs:
        await link.close()
    for task in readers:
        task.cancel()
    return {
        "latency_ms": latency_summary(latencies),
        "delivered": sum(received.values()),
        "expected": expected,
        "lost": expected - sum(received.values()),
    }


async def hub_phase(
    run: LocalRun, layout: dict[str, list[str]], rate: float, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    applied: dict[str, set[int]] = defaultdict(set)

    def hook(node: str) -> Any:
        def on_event(session: str, event: Event, at: int) -> None:
            applied[node].add(event.seq or 0)
            if event.type == "slide.show" and event.sent is not None:
                latencies.append(at - event.sent)

        return on_event

    leads = {sid: f"blead{i}" for i, sid in enumerate(layout)}
    everyone = list(leads.values()) + [p for ps in layout.values() for p in ps]
    for node in tqdm(everyone, desc="registering nodes", leave=False):
        await run.register_node(node)
    nodes = {}
    for node in tqdm(everyone, desc="starting nodes", leave=False):
        nodes[node] = await run.start_node(
            node, on_event=hook(node) if not node.startswith("blead") else None
        )
    now = now_ms()
    for sid, partners in layout.items():
        await run.create_session(
            {
                "session": sid,
                "lead": leads[sid],
                "partners": partners,
                "title": "bench",
                "starts_at": now,
                "ends_at": now + 3_600_000,
            }
        )
    await run.wait_for(
        lambda: all(
            sid in nodes[n].sessions for sid, ps in layout.items() for n in [leads[sid], *ps]
        ),
        30,
        "all nodes to join",
    )
    for sid in layout:
        await nodes[leads[sid]].send("lesson.start", {"title": "bench"}, sid)
    await run.wait_for(
        lambda: all(nodes[p].view(sid).last_seq >= 1 for sid, ps in layout.items() for p in ps),
        30,
        "lesson.start everywhere",
    )
    settle_heap()
    latencies.clear()
    senders = []
    for sid in layout:
        lead = nodes[leads[sid]]

        async def send(i: int, lead: Any = lead, sid: str = sid) -> None:
            await lead.send("slide.show", {"deck": "bench", "index": i}, sid)

        senders.append(send)
    await pace(rate, seconds, senders, "hub path")
    heads: dict[str, int] = {}
    for sid in layout:
        info = await run.api("GET", f"/api/sessions/{sid}")
        heads[sid] = int((info.get("state") or info.get("snapshot") or info).get("last_seq", 0))
    try:
        await run.wait_for(
            lambda: all(
                nodes[p].view(sid).last_seq >= heads[sid] for sid, ps in layout.items() for p in ps
            ),
            60,
            "catch-up",
        )
    except TimeoutError:
        pass
    lost = 0
    for sid, partners in layout.items():
        expected = set(range(1, heads[sid] + 1))
        missing: set[int] = set()
        for p in partners:
            missing |= expected - applied[p]
        lost += len(missing)
    return {
        "latency_ms": latency_summary(latencies),
        "sequenced": sum(heads.values()),
        "lost": lost,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    layout = plan(args.partners, args.sessions)
    with tempfile.TemporaryDirectory(prefix="dualclass-bench-") as tmp:
        async with LocalRun(Path(tmp), heartbeat_s=5.0, journal_fsync=False) as run:
            plain = await plain_phase(run, layout, args.rate, args.seconds)
            hub = await hub_phase(run, layout, args.rate, args.seconds)
    ratio = hub["latency_ms"]["p99"] / max(plain["latency_ms"]["p99"], 0.001)
    return {
        "partners": args.partners,
        "sessions": args.sessions,
        "rate": args.rate,
        "seconds": args.seconds,
        "plain": plain,
        "hub": hub,
        "p99_ratio": round(ratio, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--rate", type=float, default=100.0, help="lead events per second, in all")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(main_async(args))
    p, h = result["plain"]["latency_ms"], result["hub"]["latency_ms"]
    print(
        f"{args.partners} partners, {args.sessions} sessions, "
        f"{args.rate:g} lead events/s, {args.seconds:g} s"
    )
    print(
        f"  plain mosquitto pub/sub  p50 {p['p50']:7.2f} ms  p99 {p['p99']:7.2f} ms  "
        f"lost {result['plain']['lost']}"
    )
    print(
        f"  hub path                 p50 {h['p50']:7.2f} ms  p99 {h['p99']:7.2f} ms  "
        f"lost {result['hub']['lost']} of {result['hub']['sequenced']} sequenced"
    )
    print(f"  hub/plain p99 ratio      {result['p99_ratio']:.2f}  (goal <= 2.0)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["hub"]["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
