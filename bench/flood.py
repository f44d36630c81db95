"""Fairness benchmark: another session's latency while one node floods the hub.

Two sessions on one hub (a real hub process on a local stack): in the quiet one a
lead sends paced chat messages (``--rate``/s) and its partner applies them; we
record sender-clock-to-applied latency. Phase one runs alone (the baseline, this
machine, this run); phase two repeats it while a partner of the *other* session,
with its own valid credentials, publishes events as fast as MQTT lets it (a
runaway box or a hostile client: the hub's per-node token bucket refuses its
excess as ``rate_limited``). Prints both p99 and their ratio (goal: under 2), how
many flood events were offered, sequenced and refused.

    .venv/bin/python bench/flood.py [--seconds 5] [--rate 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker.client import ClientSettings, MqttLink
from broker.exceptions import NotConnected
from protocols.codec import encode
from protocols.ids import new_id, now_ms
from protocols.messages import ChatBody, ChatMessage, Event
from protocols.topics import Topics
from simulators.harness import LocalRun
from simulators.stats import latency_summary

QUIET, LOUD = "quiet", "loud"


async def paced(seconds: float, rate: float, send: Any) -> int:
    interval, sent = 1.0 / rate, 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        await send(sent)
        sent += 1
        await asyncio.sleep(max(0.0, start + sent * interval - time.monotonic()))
    return sent


async def flood(port: int, node: str, secret: str, seconds: float) -> int:
    """Publish events as ``node`` as fast as MQTT lets us; how many were taken."""
    topics = Topics()
    settings = ClientSettings(
        port=port, username=node, password=secret, client_id=f"{node}-flood", max_inflight=1000
    )
    offered = 0
    async with MqttLink(settings) as link:
        await link.wait_connected(10)
        end = time.monotonic() + seconds

        async def one(i: int) -> None:
            nonlocal offered
            message = ChatMessage(
                id=new_id(), session=LOUD, sent=now_ms(), body=ChatBody(text=f"flood {i}")
            )
            try:
                await link.publish(topics.node_up(node), encode(message))
                offered += 1
            except NotConnected:
                pass

        i = 0
        while time.monotonic() < end:
            await asyncio.gather(*(one(i + k) for k in range(50)))
            i += 50
    return offered


async def flood_process(run: LocalRun, node: str, seconds: float) -> int:
    """The flooder in a process of its own (as a real box is): it must not share
    this process's event loop with the quiet classroom being measured."""
    assert run.stack is not None
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--flooder",
        json.dumps([run.stack.mqtt_port, node, run.secrets[node], seconds]),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    return int(out.decode().strip().splitlines()[-1])


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dualclass-flood-") as tmp:
        async with LocalRun(Path(tmp), journal_fsync=False) as run:
            for node in ("qlead", "qpartner", "llead", "lpartner"):
                await run.register_node(node)
            latencies: list[float] = []
            recording = [False]

            def on_event(session: str, event: Event, at_ms: int) -> None:
                if recording[0] and session == QUIET and event.sent:
                    latencies.append(at_ms - event.sent)

            lead = await run.start_node("qlead")
            await run.start_node("qpartner", on_event=on_event)
            await run.start_node("llead")
            now = now_ms()
            for sid, lead_id, partner in (
                (QUIET, "qlead", "qpartner"),
                (LOUD, "llead", "lpartner"),
            ):
                await run.create_session(
                    {"session": sid, "lead": lead_id, "partners": [partner], "starts_at": now}
                )
            await run.wait_for(lambda: QUIET in lead.sessions, 30, "the quiet lead to join")

            async def send(i: int) -> None:
                await lead.send("chat.message", {"text": f"quiet {i}"}, QUIET)

            results: dict[str, Any] = {}
            for phase in ("quiet", "flooded"):
                latencies.clear()
                recording[0] = True
                flooder = (
                    asyncio.create_task(flood_process(run, "lpartner", args.seconds))
                    if phase == "flooded"
                    else None
                )
                sent = await paced(args.seconds, args.rate, send)
                offered = [await flooder] if flooder is not None else [0]
                await run.wait_for(
                    lambda n=sent: len(latencies) >= n,  # type: ignore[misc]
                    60,
                    "quiet events applied",
                )
                recording[0] = False
                results[phase] = latency_summary(latencies)
                if phase == "flooded":
                    results["flood_offered"] = offered[0]
                print(f"  {phase:<8} p99 {results[phase]['p99']:.1f} ms", flush=True)
            metrics = (await run.http.get("/metrics")).text
            limited = [
                line
                for line in metrics.splitlines()
                if line.startswith('dualclass_hub_rate_limited_total{node="lpartner"}')
            ]
            results["flood_rate_limited"] = float(limited[0].split()[-1]) if limited else 0.0
            loud = await run.api("GET", f"/api/sessions/{LOUD}")
            results["flood_sequenced"] = int(loud["state"]["last_seq"])
            quiet_p99 = max(results["quiet"]["p99"], 0.1)
            results["p99_ratio"] = round(results["flooded"]["p99"] / quiet_p99, 2)
            return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=20.0, help="quiet events/s")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--flooder", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.flooder:
        port, node, secret, seconds = json.loads(args.flooder)
        print(asyncio.run(flood(port, node, secret, seconds)))
        return 0
    results = asyncio.run(main_async(args))
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
