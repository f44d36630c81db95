"""Benchmark of weak rural links: one lead, partners behind shaped links, two layers.

    sudo .venv/bin/python bench/weaklinks.py [--seconds 60] [--json FILE]

Fresh processes: the hub (one ``SessionRelay`` with the hub's default settings),
a lead sending the camera in two layers (noise-filled test patterns, so the
encoders use their whole budget: 640x480 @ 30 fps up to 1 Mbit/s, 320x240 @ 15 fps
up to 250 kbit/s, voice 32 kbit/s) and one partner per link, each partner in a
network namespace of its own joined to ours by a veth pair whose end on our side
is shaped with ``tc qdisc ... tbf`` (the partner's downlink: 300, 600 and 1500
kbit/s with a 32 kB bucket and 400 ms of queue, and one unshaped). Partners join
with their link as registered downlink (the start layer) and receive as nodes
do (the stall guard skips a hole that blocks video). Signalling is complete
SDPs over TCP (JSON lines), to 127.0.0.1 for the lead and to our end of each
veth for the partners; media takes the same paths.

Phase 1 (``--seconds``, 60 by default): the lead sends two layers and the hub
picks one per partner from its receiver feedback. Measured per partner: the
share of time on each layer and the switches (from the relay's statistics), the
lowest frame rate over 1 s windows, and the frozen time (gaps of more than
0.5 s between frames, summed); and the frame rates the hub received from the
lead (``lead_fps``: below 30 / 15 the lead's encoders did not keep up). Phase 2
(``--single-seconds``, as long by default) in the same run: the lead rejoins
sending one layer, same partners; the hub's CPU seconds per wall second of both
phases are compared (the second layer's cost at the same partner count).

Needs root (namespaces, veth, tc; without it the bench says so and steps aside).
Names carry ``dc15c`` and our pid, links are 10.153.i.0/30 (apart from the
tests' islands), the namespaces belong to holder processes (``unshare --net
sleep``), so nothing is left behind if the run dies: killing a holder frees its
namespace and veth pair.
Other work on the machine shares the CPU: the CPU figures are upper bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import itertools
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tqdm import tqdm

from bench.children import Children as Bench
from bench.children import read_json, recv_cmd, send_json
from hub.media.relay import RelaySettings, SessionRelay
from hub.media.routing import Role, Slot
from runtime.loop import run as run_coroutine
from simulators.media.participant import ParticipantPeer
from simulators.media.testsource import AudioTestSource, VideoTestSource
from webrtc import aiortc_internals as internals
from webrtc.ice import restrict_host_addresses

LEAD_SOURCE = 1
#: (name, downlink kbit/s or None for unshaped)
LINKS: tuple[tuple[str, int | None], ...] = (
    ("p300", 300),
    ("p600", 600),
    ("p1500", 1500),
    ("unshaped", None),
)
FREEZE_GAP_S = 0.5
SAMPLE_S = 0.02
CLONE_NEWNET = 0x40000000
TAG = "dc15c"


def run_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    run_coroutine(main(), use_uvloop=True)


# -- network: one namespace per partner ----------------------------------------


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=10)


@dataclass
class Link:
    """A partner's namespace: a holder process, a veth pair, maybe a tbf on our end."""

    name: str
    kbps: int | None
    holder: subprocess.Popen[bytes]
    ours: str
    theirs: str
    dev: str


@contextlib.contextmanager
def links(specs: tuple[tuple[str, int | None], ...]) -> Iterator[list[Link]]:
    made: list[Link] = []
    tag = f"{TAG}-{os.getpid() % 10000}"
    try:
        for i, (name, kbps) in enumerate(specs):
            holder = subprocess.Popen(
                ["unshare", "--net", "sleep", "3600"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 10
            while os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
                if holder.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("unshare --net did not start")
                time.sleep(0.01)
            dev, peer = f"{tag}-{i}h", f"{tag}-{i}p"
            ours, theirs = f"10.153.{i}.1", f"10.153.{i}.2"
            link = Link(name, kbps, holder, ours, theirs, dev)
            made.append(link)
            ns = ["nsenter", "-t", str(holder.pid), "-n"]
            _run("ip", "link", "add", dev, "type", "veth", "peer", "name", peer)
            _run("ip", "link", "set", peer, "netns", str(holder.pid))
            _run("ip", "addr", "add", f"{ours}/30", "dev", dev)
            _run("ip", "link", "set", dev, "up")
            _run(*ns, "ip", "link", "set", "lo", "up")
            _run(*ns, "ip", "addr", "add", f"{theirs}/30", "dev", peer)
            _run(*ns, "ip", "link", "set", peer, "up")
            if kbps is not None:
                # the partner's downlink: what the hub sends it queues here
                # a small school line: a modem-sized buffer (as the shaped tests)
                _run(
                    "tc", "qdisc", "add", "dev", dev, "root", "tbf",
                    "rate", f"{kbps}kbit", "burst", "32kb", "latency", "400ms",
                )  # fmt: skip
        yield made
    finally:
        for link in made:
            link.holder.kill()
            link.holder.wait(10)
            subprocess.run(["ip", "link", "del", link.dev], check=False, capture_output=True)


def enter_namespace(holder_pid: int) -> None:
    """Move this (still single-threaded) process into the holder's network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{holder_pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")
    finally:
        os.close(fd)


# -- signalling: JSON lines over TCP (bench/children.py) ------------------------


async def join(
    host: str,
    port: int,
    pid: str,
    peer: ParticipantPeer,
    layers: int = 1,
    downlink_kbps: int | None = None,
) -> None:
    """Join the hub (``downlink_kbps``: the link as registered, for the start layer)."""
    from aiortc import RTCSessionDescription

    reader, writer = await asyncio.open_connection(host, port)
    try:
        hello = {"pid": pid, "role": peer.role.value, "layers": layers, "downlink": downlink_kbps}
        await send_json(writer, hello)
        offer = await read_json(reader)
        if offer.get("type") == "error":
            raise RuntimeError(f"hub refused {pid}: {offer}")
        answer = await peer.answer(RTCSessionDescription(offer["sdp"], offer["type"]))
        await send_json(writer, {"sdp": answer.sdp, "type": answer.type})
        ok = await read_json(reader)
        if ok.get("type") != "ok":
            raise RuntimeError(f"hub refused {pid}: {ok}")
    finally:
        writer.close()


# -- child processes -----------------------------------------------------------------


def hub_process(conn: Connection, addresses: list[str]) -> None:
    async def main() -> None:
        from aiortc import RTCSessionDescription

        restrict_host_addresses(addresses)
        relay = SessionRelay("weaklinks", RelaySettings())

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                hello = await read_json(reader)
                offer = await relay.offer(
                    hello["pid"],
                    Role(hello["role"]),
                    layers=int(hello.get("layers") or 1),
                    downlink_kbps=hello.get("downlink"),
                )
                await send_json(writer, {"sdp": offer.sdp, "type": offer.type})
                answer = await read_json(reader)
                await relay.answer(hello["pid"], RTCSessionDescription(answer["sdp"], "answer"))
                await send_json(writer, {"type": "ok"})
            except Exception as exc:  # report to the joining peer, keep serving
                await send_json(writer, {"type": "error", "error": repr(exc)})
            finally:
                writer.close()

        # one port on every address: the lead's loopback and our end of each veth
        server = await asyncio.start_server(handle, addresses[0], 0)
        port = server.sockets[0].getsockname()[1]
        others = await asyncio.start_server(handle, addresses[1:], port)
        conn.send(port)
        while (cmd := await recv_cmd(conn)) != "quit":
            if cmd == "mark":
                conn.send((time.process_time(), time.monotonic()))
            elif cmd == "stats":
                conn.send(relay.stats())
            elif isinstance(cmd, tuple) and cmd[0] == "remove":
                await relay.remove(cmd[1])
                conn.send("removed")
        server.close()
        others.close()
        await relay.close()

    run_loop(main)


#: Encoder ceilings (kbit/s) per feed, as the lead node's settings have them.
MAX_KBPS = {"video": 1000, "video_low": 250, "audio": 32}


def lead_peer(layers: int, noise: bool = True) -> ParticipantPeer:
    """The lead: the camera in ``layers`` layers (the low one 320x240 @ 15 fps) + voice,
    each encoder starting at and capped to its ceiling whatever the hub's REMB says.

    ``noise``: fresh noise in every frame, which no encoder can compress (it overshoots
    any bitrate it is given: the worst case); without it the moving test pattern, which
    compresses like a calm classroom camera."""
    low = (
        VideoTestSource(LEAD_SOURCE, width=320, height=240, fps=15, noise=noise)
        if layers > 1
        else None
    )
    return ParticipantPeer(
        Role.LEAD,
        video=VideoTestSource(LEAD_SOURCE, width=640, height=480, fps=30, noise=noise),
        audio=AudioTestSource(LEAD_SOURCE),
        video_low=low,
        max_kbps=MAX_KBPS,
        decode=False,
    )


def lead_process(conn: Connection, port: int, layers: int, noise: bool) -> None:
    async def main() -> None:
        restrict_host_addresses(["127.0.0.1"])
        peer = lead_peer(layers, noise)
        await join("127.0.0.1", port, "lead", peer, layers)
        conn.send("joined")
        while await recv_cmd(conn) != "quit":
            pass
        await peer.close()

    run_loop(main)


def partner_process(
    conn: Connection, holder: int, hub: str, theirs: str, port: int, pid: str, kbps: int | None
) -> None:
    enter_namespace(holder)

    async def main() -> None:
        restrict_host_addresses([theirs])
        # receive as a classroom node does: skip a hole that blocks video for 500 ms
        # and ask for a keyframe, rather than aiortc's wait for 512 packets behind it
        peer = ParticipantPeer(
            Role.PARTNER, decode=False, on_receivers=lambda r: internals.guard_receiver(r)
        )
        await join(hub, port, pid, peer, downlink_kbps=kbps)
        conn.send("joined")
        # frame arrival times, sampled finely enough to see half-second freezes
        arrivals: list[tuple[float, int]] = []
        stop = asyncio.Event()

        async def sample() -> None:
            last = -1
            while not stop.is_set():
                n = peer.slot(Slot.MAIN).encoded
                if n != last:
                    arrivals.append((time.monotonic(), n))
                    last = n
                await asyncio.sleep(SAMPLE_S)

        sampler = asyncio.create_task(sample())
        while (cmd := await recv_cmd(conn)) != "quit":
            if cmd == "frames":
                conn.send(peer.slot(Slot.MAIN).encoded)
            elif isinstance(cmd, tuple) and cmd[0] == "window":
                lo, hi = cmd[1], cmd[2]
                conn.send([a for a in arrivals if lo - 1.0 <= a[0] <= hi])
        stop.set()
        await sampler
        await peer.close()

    run_loop(main)


# -- figures (pure) ------------------------------------------------------------------


def fps_min(arrivals: list[tuple[float, int]], lo: float, hi: float) -> float:
    """Lowest frame count over consecutive whole 1 s windows of ``[lo, hi)``."""

    def count_at(t: float) -> int:
        before = [n for at, n in arrivals if at <= t]
        return before[-1] if before else (arrivals[0][1] if arrivals else 0)

    rates = []
    t = lo
    while t + 1.0 <= hi:
        rates.append(count_at(t + 1.0) - count_at(t))
        t += 1.0
    return float(min(rates)) if rates else 0.0


def fps_mean(arrivals: list[tuple[float, int]], lo: float, hi: float) -> float:
    """Frames per second over ``[lo, hi)``."""
    inside = [n for at, n in arrivals if lo <= at < hi]
    before = [n for at, n in arrivals if at < lo]
    start = before[-1] if before else (inside[0] if inside else 0)
    return (inside[-1] - start) / (hi - lo) if inside and hi > lo else 0.0


def freeze_s(arrivals: list[tuple[float, int]], lo: float, hi: float) -> float:
    """Summed length of gaps over ``FREEZE_GAP_S`` between frames within ``[lo, hi)``."""
    times = [lo] + [at for at, _ in arrivals if lo < at < hi] + [hi]
    return float(sum(b - a for a, b in itertools.pairwise(times) if b - a > FREEZE_GAP_S))


def layer_figures(
    stats: dict[str, Any], before: dict[str, Any], pid: str
) -> tuple[dict[str, float], int]:
    """(share of time on each layer, switches) of ``pid`` between two relay snapshots."""
    now = (stats["participants"].get(pid) or {}).get("layer") or {}
    then = (before["participants"].get(pid) or {}).get("layer") or {}
    seconds = {
        name: float((now.get("seconds") or {}).get(name, 0.0))
        - float((then.get("seconds") or {}).get(name, 0.0))
        for name in ("high", "low")
    }
    total = sum(seconds.values())
    share = {name: round(v / total, 3) if total > 0 else 0.0 for name, v in seconds.items()}
    return share, int(now.get("switches") or 0) - int(then.get("switches") or 0)


def lead_fps(before: dict[str, Any], after: dict[str, Any], seconds: float) -> dict[str, float]:
    """Frames per second the hub received from the lead, per layer: below 30 and 15,
    the lead itself (its encoders) did not keep up, and no partner can do better."""
    then = (before["participants"].get("lead") or {}).get("upstream") or {}
    now = (after["participants"].get("lead") or {}).get("upstream") or {}
    return {
        layer: round((now.get(feed, 0) - then.get(feed, 0)) / seconds, 1) if seconds > 0 else 0.0
        for layer, feed in (("high", "video"), ("low", "video_low"))
    }


# -- orchestration -----------------------------------------------------------------


def phase(
    bench: Bench,
    hub: Connection,
    partners: dict[str, Connection],
    seconds: float,
    label: str,
    status: Callable[[], str],
) -> tuple[float, float, float, dict[str, Any], dict[str, Any]]:
    """Run one measured phase with a progress bar; (cpu s/s, lo, hi, stats before, after)."""
    before = bench.ask(hub, "stats", 10, "stats")
    cpu0, wall0 = bench.ask(hub, "mark", 10, "hub mark")
    steps = max(1, int(seconds))
    with tqdm(total=steps, desc=label, unit="s") as bar:
        for _ in range(steps):
            time.sleep(seconds / steps)
            bar.set_postfix_str(status(), refresh=False)
            bar.update(1)
    cpu1, wall1 = bench.ask(hub, "mark", 10, "hub mark")
    after = bench.ask(hub, "stats", 10, "stats")
    return (cpu1 - cpu0) / (wall1 - wall0), wall0, wall1, before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="two-layer phase length")
    parser.add_argument(
        "--single-seconds", type=float, help="single-layer phase length (default: --seconds)"
    )
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument(
        "--lead-layers",
        type=int,
        choices=(1, 2),
        default=2,
        help="1: the first phase without layers too (what weak links got before)",
    )
    parser.add_argument(
        "--picture",
        choices=("noise", "pattern"),
        default="noise",
        help="noise: incompressible, the encoders overshoot (worst case); "
        "pattern: the moving test pattern, compressible like a calm camera",
    )
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        # as the shaped tests do: say why and step aside (``make bench`` goes on)
        print("weaklinks: skipped, needs root (network namespaces, veth pairs, tc)")
        return
    single_s = args.single_seconds if args.single_seconds is not None else args.seconds
    ctx = mp.get_context("spawn")
    print(
        f"weak links bench: lead VP8 640x480@30 + 320x240@15 + Opus; partners at "
        f"{', '.join(f'{k} kbit/s' if k else 'unshaped' for _, k in LINKS)}; "
        f"{args.seconds:g} s two layers + {single_s:g} s one layer; {os.cpu_count()} cores "
        f"shared (load average {os.getloadavg()[0]:.2f})"
    )
    with links(LINKS) as made:
        bench = Bench(ctx)
        try:
            result = run(
                bench,
                made,
                args.seconds,
                single_s,
                args.warmup,
                args.lead_layers,
                args.picture == "noise",
            )
        finally:
            bench.close()
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


def run(
    bench: Bench,
    made: list[Link],
    seconds: float,
    single_s: float,
    warmup: float,
    layers: int,
    noise: bool = True,
) -> dict[str, Any]:
    hub = bench.spawn(hub_process, ["127.0.0.1", *(link.ours for link in made)])
    port = bench.expect(hub, 30, "hub start")
    lead = bench.spawn(lead_process, port, layers, noise)
    bench.expect(lead, 30, "lead join")
    partners = {
        link.name: bench.spawn(
            partner_process, link.holder.pid, link.ours, link.theirs, port, link.name, link.kbps
        )
        for link in made
    }
    for name, conn in partners.items():
        bench.expect(conn, 60, f"{name} join")
    deadline = time.monotonic() + 30
    while any(bench.ask(c, "frames", 10, "frames") == 0 for c in partners.values()):
        if time.monotonic() > deadline:
            raise TimeoutError("not every partner received video within 30 s")
        time.sleep(0.2)
    time.sleep(warmup)

    def status() -> str:
        stats = bench.ask(hub, "stats", 10, "stats")
        parts = []
        for link in made:
            layer = ((stats["participants"].get(link.name) or {}).get("layer") or {}).get("current")
            parts.append(f"{link.name}:{layer or '?'}")
        return " ".join(parts)

    first = "two layers" if layers == 2 else "one layer (--lead-layers 1)"
    cpu2, lo, hi, before, after = phase(bench, hub, partners, seconds, first, status)
    rows = []
    for link in made:
        arrivals = bench.ask(partners[link.name], ("window", lo, hi), 10, "arrivals")
        share, switches = layer_figures(after, before, link.name)
        rows.append(
            {
                "name": link.name,
                "link_kbps": link.kbps,
                "layer_share": share,
                "fps_min": fps_min(arrivals, lo, hi),
                "fps_mean": round(fps_mean(arrivals, lo, hi), 1),
                "freeze_s": round(freeze_s(arrivals, lo, hi), 2),
                "switches": switches,
            }
        )
    # the same partners, the lead sending one layer
    lead.send("quit")
    bench.ask(hub, ("remove", "lead"), 10, "lead removed")
    lead = bench.spawn(lead_process, port, 1, noise)
    bench.expect(lead, 30, "lead rejoin")
    time.sleep(warmup)
    cpu1, _, _, _, _ = phase(bench, hub, partners, single_s, "one layer", status)
    return {
        "partners": rows,
        "lead_fps": lead_fps(before, after, hi - lo),
        "hub_cpu_s_per_s": round(cpu2, 4),
        "hub_cpu_single_layer_s_per_s": round(cpu1, 4),
        "seconds": seconds,
        "single_layer_seconds": single_s,
    }


def report(result: dict[str, Any]) -> None:
    head = ("partner", "kbit/s", "high", "low", "fps_min", "fps_mean", "freeze_s", "switches")
    print("\n" + " ".join(f"{h:>9}" for h in head))
    for row in result["partners"]:
        share = row["layer_share"]
        kbps = row["link_kbps"] or "-"
        print(
            f"{row['name']:>9} {kbps:>9} {share['high']:9.2f} {share['low']:9.2f} "
            f"{row['fps_min']:9.1f} {row['fps_mean']:9.1f} {row['freeze_s']:9.2f} "
            f"{row['switches']:9d}"
        )
    lead = result["lead_fps"]
    print(f"the hub received the lead at {lead['high']:.1f} fps (high), {lead['low']:.1f} (low)")
    two, one = result["hub_cpu_s_per_s"], result["hub_cpu_single_layer_s_per_s"]
    extra = (two / one - 1) * 100 if one > 0 else float("nan")
    print(
        f"hub CPU: {two:.3f} CPU-s/s with two layers, {one:.3f} with one: "
        f"the second layer adds {extra:+.0f}% (goal < 25%)"
    )


if __name__ == "__main__":
    main()
