"""Benchmark of the media relay: pass-through forwarding vs decode/re-encode.

    .venv/bin/python bench/relay.py [--subscribers 1,4,8,16,32] [--seconds 10] [--json FILE]

For each mode and each K, fresh processes: the hub (one ``SessionRelay``), a lead
sending a VP8 640x480 @ 30 fps test pattern, and K observers spread over a few
subscriber processes. Subscribers count complete encoded video frames without
decoding; one of them also decodes and reads the pattern back, to prove the
stream is valid. Signalling is complete SDPs over a loopback TCP socket (JSON
lines); all media stays on 127.0.0.1.

Measured per run, over ``--seconds`` after a warm-up: the hub process's CPU
seconds per wall second (``time.process_time()`` of the hub, all its threads)
and the lowest subscriber frame rate. Other work on the machine (other
engineers' jobs, and the lead and subscriber processes themselves) shares the
CPU, so the figures are upper bounds on the hub's cost.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import math
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tqdm import tqdm

from bench.children import Children, read_json, recv_cmd, send_json
from hub.media.relay import RelayMode, RelaySettings, SessionRelay
from hub.media.routing import Role, Slot
from hub.server import settle_heap
from runtime.loop import run as run_coroutine
from simulators.media.participant import ParticipantPeer
from simulators.media.testsource import AudioTestSource, VideoTestSource
from webrtc.ice import LOOPBACK, restrict_host_addresses

LEAD_SOURCE = 1
RECORD = "record"  # pass-through + the recorder
PER_PROCESS = 8  # subscribers sharing one process
SATURATED_FPS = 25.0  # below this the transcoding hub no longer keeps up


def run_loop(main: Callable[[], Coroutine[Any, Any, None]], use_uvloop: bool) -> None:
    """Run a child's main coroutine on uvloop (the hub's production loop) if asked."""
    run_coroutine(main(), use_uvloop=use_uvloop)


# -- signalling: JSON lines over loopback TCP (bench/children.py) --------------


async def join(port: int, pid: str, peer: ParticipantPeer) -> None:
    """Join the hub on ``port`` as ``pid``: offer in, answer out (complete SDPs)."""
    from aiortc import RTCSessionDescription

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await send_json(writer, {"pid": pid, "role": peer.role.value})
        offer = await read_json(reader)
        answer = await peer.answer(RTCSessionDescription(offer["sdp"], offer["type"]))
        await send_json(writer, {"sdp": answer.sdp, "type": answer.type})
        ok = await read_json(reader)
        if ok.get("type") != "ok":
            raise RuntimeError(f"hub refused {pid}: {ok}")
    finally:
        writer.close()


# -- child processes ----------------------------------------------------------


def hub_process(conn: Connection, mode: str, use_uvloop: bool) -> None:
    async def main() -> None:
        from aiortc import RTCSessionDescription

        from hub.recording.recorder import SessionRecorder
        from hub.recording.settings import RecordingSettings

        restrict_host_addresses(LOOPBACK)
        relay_mode = RelayMode.PASSTHROUGH if mode == RECORD else RelayMode(mode)
        relay = SessionRelay("bench", RelaySettings(mode=relay_mode))
        recorder: SessionRecorder | None = None
        folder = tempfile.mkdtemp(prefix="dc-bench-rec-")
        if mode == RECORD:
            recorder = SessionRecorder(
                "bench",
                RecordingSettings(directory=Path(folder), min_free_mb=100),
                lead="lead",
                request_keyframe=relay.request_keyframe,
            )
            relay.add_listener(recorder.on_frame)
            recorder.start()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                hello = await read_json(reader)
                offer = await relay.offer(hello["pid"], Role(hello["role"]))
                await send_json(writer, {"sdp": offer.sdp, "type": offer.type})
                answer = await read_json(reader)
                await relay.answer(hello["pid"], RTCSessionDescription(answer["sdp"], "answer"))
                await send_json(writer, {"type": "ok"})
            except Exception as exc:  # report to the joining peer, keep serving
                await send_json(writer, {"type": "error", "error": repr(exc)})
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        settle_heap()  # as the hub daemon does once it is up
        conn.send(server.sockets[0].getsockname()[1])
        while (cmd := await recv_cmd(conn)) != "quit":
            if cmd == "mark":
                conn.send((time.process_time(), time.monotonic()))
            elif cmd == "finish":
                summary: dict[str, Any] = {}
                if recorder is not None:
                    manifest = await recorder.finish()
                    summary = {
                        "status": manifest["status"],
                        "frames": manifest["frames"],
                        "dropped": manifest["dropped"],
                        "bytes": sum(f["bytes"] for f in manifest["files"]),
                        "duration_s": manifest["duration_s"],
                    }
                conn.send(summary)
        server.close()
        await relay.close()
        shutil.rmtree(folder, ignore_errors=True)

    run_loop(main, use_uvloop)


def lead_process(conn: Connection, port: int, audio: bool, use_uvloop: bool) -> None:
    async def main() -> None:
        restrict_host_addresses(LOOPBACK)
        peer = ParticipantPeer(
            Role.LEAD,
            video=VideoTestSource(LEAD_SOURCE, width=640, height=480, fps=30),
            audio=AudioTestSource(LEAD_SOURCE) if audio else None,
            decode=False,
        )
        await join(port, "lead", peer)
        conn.send("joined")
        while await recv_cmd(conn) != "quit":
            pass
        await peer.close()

    run_loop(main, use_uvloop)


def subscriber_process(
    conn: Connection, port: int, pids: list[str], decode_first: bool, use_uvloop: bool
) -> None:
    async def main() -> None:
        restrict_host_addresses(LOOPBACK)
        peers = {
            pid: ParticipantPeer(Role.OBSERVER, decode=decode_first and i == 0)
            for i, pid in enumerate(pids)
        }
        await asyncio.gather(*(join(port, pid, peer) for pid, peer in peers.items()))
        conn.send("joined")
        while (cmd := await recv_cmd(conn)) != "quit":
            if cmd == "counts":
                video = {pid: p.slot(Slot.MAIN).encoded for pid, p in peers.items()}
                decoded = {
                    pid: (p.slot(Slot.MAIN).decoded, p.slot(Slot.MAIN).last_pattern)
                    for pid, p in peers.items()
                    if p.slot(Slot.MAIN).decoded
                }
                conn.send((time.monotonic(), video, decoded))
        for peer in peers.values():
            await peer.close()

    run_loop(main, use_uvloop)


# -- orchestration ------------------------------------------------------------


@dataclass
class Result:
    mode: str
    subscribers: int
    hub_cpu_s_per_s: float
    fps_min: float
    fps_mean: float
    decoded_ok: bool
    recording: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "subscribers": self.subscribers,
            "hub_cpu_s_per_s": round(self.hub_cpu_s_per_s, 4),
            "fps_min": round(self.fps_min, 2),
        }


class Run(Children):
    """The processes of one (mode, K) measurement; always cleaned up."""

    def __init__(self, ctx: Any, mode: str, k: int, audio: bool, use_uvloop: bool) -> None:
        super().__init__(ctx, use_uvloop)
        self.mode, self.k, self.audio, self.uvloop = mode, k, audio, use_uvloop

    def measure(self, seconds: float, warmup: float, bar: tqdm[Any]) -> Result:
        bar.set_postfix_str(f"{self.mode} K={self.k}: starting", refresh=True)
        hub = self.spawn(hub_process, self.mode)
        port = self.expect(hub, 30, "hub start")
        lead = self.spawn(lead_process, port, self.audio)
        self.expect(lead, 30, "lead join")
        groups = max(1, math.ceil(self.k / PER_PROCESS))
        pids = [f"sub{i}" for i in range(self.k)]
        subs = [
            self.spawn(subscriber_process, port, pids[g::groups], g == 0) for g in range(groups)
        ]
        for conn in subs:
            self.expect(conn, 60, "subscribers join")

        def counts() -> tuple[dict[str, float], dict[str, int], dict[str, Any]]:
            at: dict[str, float] = {}
            video: dict[str, int] = {}
            decoded: dict[str, Any] = {}
            for conn in subs:
                conn.send("counts")
                t, v, d = self.expect(conn, 10, "counts")
                at.update(dict.fromkeys(v, t))
                video.update(v)
                decoded.update(d)
            return at, video, decoded

        deadline = time.monotonic() + 20
        while min(counts()[1].values()) == 0:  # every subscriber has video
            if time.monotonic() > deadline:
                raise TimeoutError("not every subscriber received video within 20 s")
            time.sleep(0.2)
        time.sleep(warmup)

        hub.send("mark")
        cpu0, wall0 = self.expect(hub, 10, "hub mark")
        at0, video0, _ = counts()
        bar.set_postfix_str(f"{self.mode} K={self.k}: measuring {seconds:g} s", refresh=True)
        time.sleep(seconds)
        hub.send("mark")
        cpu1, wall1 = self.expect(hub, 10, "hub mark")
        at1, video1, decoded = counts()

        fps = [(video1[p] - video0[p]) / (at1[p] - at0[p]) for p in video0]
        hub.send("finish")
        recording = self.expect(hub, 30, "recording finish") or None
        decoded_ok = any(
            n > 0 and pattern and pattern[0] == LEAD_SOURCE for n, pattern in decoded.values()
        )
        return Result(
            self.mode,
            self.k,
            (cpu1 - cpu0) / (wall1 - wall0),
            min(fps),
            sum(fps) / len(fps),
            bool(decoded_ok),
            recording,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", default="1,4,8,16,32", help="comma-separated K values")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window per run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--json", type=Path, help="write results as JSON here")
    parser.add_argument("--modes", default="passthrough,transcode")
    parser.add_argument(
        "--transcode-max", type=int, default=8, help="largest K tried in transcode mode"
    )
    parser.add_argument("--audio", action="store_true", help="lead also sends Opus audio")
    parser.add_argument("--no-uvloop", action="store_true", help="plain asyncio loops")
    parser.add_argument(
        "--record",
        action="store_true",
        help="also run each K with the hub recording the lead (rows with mode 'record')",
    )
    args = parser.parse_args()

    ks = sorted({int(k) for k in args.subscribers.split(",")})
    modes = [m.strip() for m in args.modes.split(",")]
    if args.record and RECORD not in modes:
        modes.append(RECORD)
    plan = [(m, k) for m in modes for k in ks if m != "transcode" or k <= args.transcode_max]
    ctx = mp.get_context("spawn")
    cores = os.cpu_count()
    print(
        f"relay bench: VP8 640x480 @ 30 fps{' + Opus' if args.audio else ''}, "
        f"{args.seconds:g} s per run, {cores} cores shared with other work "
        f"(load average at start {os.getloadavg()[0]:.2f})"
    )
    results: list[Result] = []
    saturated_at: int | None = None
    with tqdm(plan, desc="runs", unit="run") as bar:
        for mode, k in bar:
            if mode == "transcode" and saturated_at is not None:
                continue
            run = Run(ctx, mode, k, args.audio, not args.no_uvloop)
            try:
                result = run.measure(args.seconds, args.warmup, bar)
            finally:
                run.close()
            results.append(result)
            tqdm.write(
                f"  {mode:11s} K={k:3d}  hub {result.hub_cpu_s_per_s:.3f} CPU-s/s  "
                f"fps min {result.fps_min:5.1f} mean {result.fps_mean:5.1f}  "
                f"decoded {'ok' if result.decoded_ok else 'FAILED'}"
                + (f"  recording {result.recording}" if result.recording else "")
            )
            if mode == "transcode" and result.fps_min < SATURATED_FPS:
                saturated_at = k
    report(results, saturated_at, args.transcode_max)
    record_report(results)
    if args.json:
        args.json.write_text(json.dumps({"results": [r.as_json() for r in results]}, indent=2))
        print(f"wrote {args.json}")


def report(results: list[Result], saturated_at: int | None, transcode_max: int) -> None:
    by = {(r.mode, r.subscribers): r for r in results}
    print(
        f"\n{'K':>4} {'pass CPU-s/s':>13} {'pass fps_min':>13} {'trans CPU-s/s':>14} "
        f"{'trans fps_min':>14} {'ratio':>7} {'ratio/frame':>12}"
    )
    for k in sorted({r.subscribers for r in results}):
        p, t = by.get(("passthrough", k)), by.get(("transcode", k))
        cells = [
            f"{p.hub_cpu_s_per_s:13.3f}" if p else f"{'-':>13}",
            f"{p.fps_min:13.1f}" if p else f"{'-':>13}",
            f"{t.hub_cpu_s_per_s:14.3f}" if t else f"{'-':>14}",
            f"{t.fps_min:14.1f}" if t else f"{'-':>14}",
            f"{t.hub_cpu_s_per_s / p.hub_cpu_s_per_s:7.1f}" if p and t else f"{'-':>7}",
            # CPU per frame delivered: fair when transcode falls below full rate.
            f"{(t.hub_cpu_s_per_s / t.fps_mean) / (p.hub_cpu_s_per_s / p.fps_mean):12.1f}"
            if p and t and t.fps_mean > 0
            else f"{'-':>12}",
        ]
        print(f"{k:>4} " + " ".join(cells))
    print(
        "ratio = transcode / pass-through hub CPU-s/s; ratio/frame = the same per frame delivered"
    )
    if saturated_at is not None:
        print(
            f"transcode saturated at K={saturated_at} (fps_min < {SATURATED_FPS:g}); stopped there"
        )
    elif any(r.mode == "transcode" for r in results):
        print(f"transcode measured up to K={transcode_max} (--transcode-max)")
    passthrough = [r for r in results if r.mode == "passthrough"]
    if len(passthrough) >= 2:
        n = len(passthrough)
        xs = [float(r.subscribers) for r in passthrough]
        ys = [r.hub_cpu_s_per_s for r in passthrough]
        mx, my = sum(xs) / n, sum(ys) / n
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mx) ** 2 for x in xs
        )
        base = my - slope * mx
        full = [r.subscribers for r in passthrough if r.fps_min >= 29]
        print(
            f"pass-through hub cost ~ {base:.3f} + {slope * 1000:.2f} m CPU-s/s per subscriber; "
            f"one core (1.0 CPU-s/s) carries about K = {(1 - base) / slope:.0f} "
            f"(extrapolated; measured full rate up to K = {max(full) if full else 0})"
        )


def recorder_alone(media_s: float = 60.0) -> float:
    """CPU seconds per media second of ``SessionRecorder`` alone (loop side + writer
    thread), fed real VP8 640x480 @ 30 fps and Opus frames as fast as it takes them.

    The in-process figure is free of the other processes' noise that the hub
    CPU difference above carries.
    """
    import av

    from hub.recording.recorder import SessionRecorder
    from hub.recording.settings import RecordingSettings

    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 640, 480, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 90_000)
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    encoder.gop_size = 100_000
    source = VideoTestSource(LEAD_SOURCE, width=640, height=480, fps=30)
    video = [bytes(p) for i in range(60) for p in encoder.encode(source.frame_at(i))]
    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate, opus.layout, opus.format = 48_000, "mono", "s16"
    tone = AudioTestSource(LEAD_SOURCE)
    audio = [bytes(p) for i in range(50) for p in opus.encode(tone.frame_at(i))]

    async def feed() -> float:
        folder = Path(tempfile.mkdtemp(prefix="dc-bench-rec-"))
        wall = [0.0]
        rec = SessionRecorder(
            "bench", RecordingSettings(directory=folder, min_free_mb=100),
            lead="lead", wall_ms=lambda: wall[0],
        )  # fmt: skip
        rec.start()
        cpu0 = time.process_time()
        frames = int(media_s * 30)
        for i in range(frames):
            wall[0] = i * 1000 / 30
            data = video[0] if i == 0 else video[1 + (i - 1) % (len(video) - 1)]
            rec.on_frame("lead", "video", "video/VP8", data, i * 3000, i == 0)
            for j in range(5 * i // 3, 5 * (i + 1) // 3):
                rec.on_frame("lead", "audio", "audio/opus", audio[j % len(audio)], j * 960, True)
            if i % 30 == 0:
                await asyncio.sleep(0)  # let the writer keep up, as live pacing would
        await rec.finish()
        cpu = time.process_time() - cpu0
        shutil.rmtree(folder, ignore_errors=True)
        return cpu / media_s

    return asyncio.run(feed())


def record_report(results: list[Result]) -> None:
    """Recording's extra hub CPU against the cost of one more forwarded subscriber."""
    by = {(r.mode, r.subscribers): r for r in results}
    passthrough = sorted(
        (r.subscribers, r.hub_cpu_s_per_s) for r in results if r.mode == "passthrough"
    )
    recorded = [r for r in results if r.mode == RECORD]
    if not recorded or len(passthrough) < 2:
        return
    n = len(passthrough)
    mx = sum(k for k, _ in passthrough) / n
    my = sum(c for _, c in passthrough) / n
    slope = sum((k - mx) * (c - my) for k, c in passthrough) / sum(
        (k - mx) ** 2 for k, _ in passthrough
    )
    print(f"\n{'K':>4} {'pass CPU-s/s':>13} {'record CPU-s/s':>15} {'extra':>7} {'extra/sub':>10}")
    for r in sorted(recorded, key=lambda r: r.subscribers):
        p = by.get(("passthrough", r.subscribers))
        if p is None:
            continue
        extra = r.hub_cpu_s_per_s - p.hub_cpu_s_per_s
        print(
            f"{r.subscribers:>4} {p.hub_cpu_s_per_s:13.3f} {r.hub_cpu_s_per_s:15.3f} "
            f"{extra:7.3f} {extra / slope:10.2f}"
        )
    print(
        f"extra = record - pass-through at the same K; extra/sub = extra / the cost of one "
        f"more forwarded subscriber ({slope * 1000:.2f} m CPU-s/s, the pass-through slope "
        "of this run); goal <= 1"
    )
    alone = recorder_alone()
    print(
        f"recorder alone (in process, VP8 640x480 @ 30 fps + Opus): {alone * 1000:.2f} m CPU-s "
        f"per media second = {alone / slope:.2f} x one more forwarded subscriber"
    )


if __name__ == "__main__":
    main()
