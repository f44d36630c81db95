"""``dualclass sim``: command line of the load simulator (see ``docs/simulator.md``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runtime.loop import run as run_loop
from simulators.sim.capacity import Targets, search
from simulators.sim.deploy import ApiError, RemoteDeployment
from simulators.sim.faultplan import parse_duration, parse_fault
from simulators.sim.plan import PREFIX_RE, parse_mix
from simulators.sim.render import html_report, summary_lines, write_json
from simulators.sim.runner import RunOptions, run_sim

__all__ = ["add_arguments", "main"]


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fault(text: str) -> Any:
    try:
        return parse_fault(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _mix(text: str) -> Any:
    try:
        return parse_mix(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Load simulator: many sessions of real classroom nodes against a hub, with faults "
        "and a report. By default on its own local stack; --hub/--admin-key/--mqtt drive "
        "an existing deployment (everything it registers is removed afterwards)."
    )
    p = parser.add_argument
    p("--sessions", type=int, default=4, help="sessions (default 4)")
    p("--partners", type=int, default=4, help="partner classrooms per session (default 4)")
    p(
        "--duration",
        type=_duration,
        default=60.0,
        help="lesson length, e.g. 120 or 2m (default 60 s)",
    )
    p("--ramp", type=_duration, default=0.0, help="spread the session starts over this time")
    p("--lead-rate", type=float, default=0.5, help="lead events per second per session (0.5)")
    p(
        "--mix",
        type=_mix,
        default=None,
        help="partner interactions per minute: hands=0.5,chat=0.2,quiz=1,attendance=0.1",
    )
    p("--media", action="store_true", help="the lead sends real video through the hub's relay")
    p("--seed", type=int, default=0, help="same seed, same lessons and random faults")
    p(
        "--workers",
        type=int,
        default=max(2, min(8, (os.cpu_count() or 2) * 2)),
        help="worker processes",
    )
    p("--prefix", default="", help="id prefix of everything registered (default: sim + random)")
    p(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        help="AT:cut:TARGET:HOLD or AT:kill:hub|broker|redis[:DOWN], e.g. 60s:cut:p3:30s",
    )
    p("--fault-rate", type=float, default=0.0, help="random one-classroom cuts per minute")
    p("--heartbeat", type=_duration, default=5.0, help="node heartbeat period (5 s)")
    p("--hub", help="existing hub URL (with --admin-key and --mqtt)")
    p("--admin-key", default=os.environ.get("DUALCLASS_ADMIN_KEY"), help="hub admin key")
    p("--mqtt", help="existing broker HOST:PORT the classrooms connect to")
    p("--topic-prefix", default="dc/v1", help="MQTT topic prefix of the deployment")
    p("--mqtt-tls", action="store_true", help="MQTT over TLS (needed for a broker off loopback)")
    p("--mqtt-ca", type=Path, help="CA file of the broker's certificate (implies --mqtt-tls)")
    p("--hub-ca", type=Path, help="CA file of the hub's HTTPS certificate, if private")
    p("--report", type=Path, help="write the report as JSON here")
    p("--html", type=Path, help="write the report as an HTML page with plots here")
    p("--workdir", type=Path, help="node state directories here (default: a temp dir)")
    p(
        "--find-capacity",
        action="store_true",
        help="search the largest number of sessions that holds",
    )
    p("--p99-ms", type=float, default=100.0, help="capacity target: event p99 (ms)")
    p("--fps-min", type=float, default=25.0, help="capacity target with --media: lowest fps")
    p("--max-sessions", type=int, default=1000, help="capacity search ceiling")
    p(
        "--cleanup-only",
        action="store_true",
        help="with --hub and --prefix: only remove what an earlier run left under the prefix",
    )


def _options(args: argparse.Namespace, sessions: int) -> RunOptions:
    options = RunOptions(
        sessions=sessions,
        partners=args.partners,
        duration_s=args.duration,
        ramp_s=args.ramp,
        lead_rate=args.lead_rate,
        media=args.media,
        seed=args.seed,
        workers=args.workers,
        prefix=args.prefix,
        faults=list(args.fault),
        fault_rate=args.fault_rate,
        heartbeat_s=args.heartbeat,
        hub_url=args.hub,
        admin_key=args.admin_key,
        mqtt=args.mqtt,
        topic_prefix=args.topic_prefix,
        mqtt_tls=args.mqtt_tls,
        mqtt_ca_file=args.mqtt_ca,
        hub_ca_file=args.hub_ca,
        workdir=args.workdir,
    )
    if args.mix is not None:
        options.mix = args.mix
    return options


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    remote = [args.hub, args.admin_key if args.hub else None, args.mqtt]
    if args.hub and not all(remote):
        parser.error("--hub needs --admin-key (or DUALCLASS_ADMIN_KEY) and --mqtt HOST:PORT")
    if args.mqtt and not args.hub:
        parser.error("--mqtt is for an existing deployment: give --hub and --admin-key too")
    if args.hub and any(f.kind == "kill" for f in args.fault):
        parser.error("service kills (AT:kill:...) need the simulator's own local stack (no --hub)")
    if args.mqtt:
        host, _, port = args.mqtt.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            parser.error(f"--mqtt {args.mqtt!r}: expected HOST:PORT")
    for name in ("mqtt_ca", "hub_ca"):
        path = getattr(args, name)
        if path is not None and not path.is_file():
            parser.error(f"--{name.replace('_', '-')} {path}: no such file")
    if args.hub and not args.hub.startswith(("http://", "https://")):
        parser.error(f"--hub {args.hub!r}: expected an http:// or https:// URL")
    if args.cleanup_only and not (args.hub and args.prefix):
        parser.error("--cleanup-only needs --hub, --admin-key, --mqtt and --prefix")
    if args.prefix and not PREFIX_RE.match(args.prefix):
        parser.error(
            "--prefix: lower-case letters, digits and '-', at most 24, starting with a letter"
        )
    if not 1 <= args.sessions <= 2000 or not 1 <= args.partners <= 60:
        parser.error("--sessions within 1..2000, --partners within 1..60")
    if not 0 <= args.fault_rate <= 60:
        parser.error("--fault-rate within 0..60 per minute")
    if args.ramp > args.duration:
        parser.error("--ramp must not exceed --duration")


async def _cleanup_only(args: argparse.Namespace) -> int:
    deployment = RemoteDeployment(
        args.hub, args.admin_key, args.mqtt, args.topic_prefix, ca_file=args.hub_ca
    )
    await deployment.start()
    try:
        removed = await deployment.cleanup(args.prefix)
        left = await deployment.leftovers(args.prefix)
    finally:
        await deployment.stop()
    print(f"removed {removed}; left {left or 'nothing'}")
    return 0 if not left else 1


async def _main(args: argparse.Namespace) -> int:
    if args.cleanup_only:
        return await _cleanup_only(args)
    if not args.find_capacity:
        report = await run_sim(_options(args, args.sessions))
        return _finish(args, report)
    targets = Targets(p99_ms=args.p99_ms, fps_min=args.fps_min, media=args.media)

    async def one(sessions: int) -> dict[str, Any]:
        print(
            f"\ncapacity search: trying {sessions} sessions of {args.partners} partners", flush=True
        )
        return await run_sim(_options(args, sessions))

    last: list[dict[str, Any]] = []

    def step(size: int, report: dict[str, Any], ok: bool) -> None:
        last[:] = [report]
        print(
            f"capacity search: {size} sessions {'held' if ok else 'broke'} "
            f"(p99 {report['latency_ms']['p99']} ms, fps min {report['video'].get('fps_min')}, "
            f"lost {report['events']['lost']})",
            flush=True,
        )

    best, steps = await search(
        one, targets, start=max(1, args.sessions), ceiling=args.max_sessions, on_step=step
    )
    held = best is not None
    if best is None:
        print("capacity search: not even one session held the targets")
        best = last[0] if last else None
        if best is None:
            return 1
    best["capacity"] = {
        "sessions": best["sessions"] if held else 0,
        "partners": args.partners,
        "latency_ms": best["latency_ms"]["p99"] if held else None,
        "fps_min": best["video"].get("fps_min") if held else None,
        "targets": {"p99_ms": args.p99_ms, "fps_min": args.fps_min if args.media else None},
        # the search stopped at --max-sessions, not at a broken target
        "ceiling_reached": held and best["sessions"] >= args.max_sessions,
        "steps": steps,
    }
    return _finish(args, best)


def _finish(args: argparse.Namespace, report: dict[str, Any]) -> int:
    if report.get("interrupted"):
        print("interrupted; registered entries removed" if args.hub else "interrupted")
        return 130
    for line in summary_lines(report):
        print(line)
    if args.report:
        write_json(report, args.report)
        print(f"  report    {args.report}")
    if args.html:
        html_report(report, args.html)
        print(f"  html      {args.html}")
    if report.get("capacity", {}).get("sessions") == 0:
        return 1
    return 0 if report["events"]["lost"] == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``dualclass sim ARGS``: parse ``argv``, run; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="dualclass sim",
        description="Load simulator: many lessons of real nodes, faults, capacity.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    _check(parser, args)
    import httpx

    try:
        return run_loop(_main(args))
    except KeyboardInterrupt:
        return 130
    except (ApiError, httpx.HTTPError, OSError, RuntimeError, TimeoutError, ValueError) as exc:
        # the hub refused us, is unreachable, or a worker or service failed: say
        # which, without a traceback (what was started is stopped by then)
        print(f"dualclass sim: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
