"""Chaos benchmark: every fault of the chaos suite at full length, with figures.

Hub, Mosquitto, Redis and the classroom nodes run as separate processes; steady
traffic goes through the nodes' local APIs; each fault is injected in turn (a
node stopped for 30 s, a node's network cut for 60 s, ...) and healed. For each
fault it reports what was accepted (202) during it, how much of that was lost or
duplicated in the session log, and the recovery time: from the heal (process
back and ready, path restored) until everything accepted is sequenced and every
node has applied it.

    .venv/bin/python bench/chaos.py --json chaos.json [--faults hub_sigkill,...]

writes ``{"faults": [{"fault", "submitted", "lost", "duplicated", "recovery_s"}],
"lost_total", ...}``. Run it on a quiet machine: recovery times include catching
up the backlog the fault built, so a loaded CPU stretches them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulators.chaos import FAULTS, ChaosRun, Durations


async def run(args: argparse.Namespace) -> dict[str, object]:
    durations = Durations(stop_s=args.stop_s, cut_s=args.cut_s, burst_per_node=args.burst)
    faults = args.faults.split(",") if args.faults else list(FAULTS)
    with tempfile.TemporaryDirectory(prefix="dualclass-chaos-") as tmp:
        started = time.monotonic()
        async with ChaosRun(
            Path(tmp), partners=args.partners, rate_per_node=args.rate, durations=durations
        ) as chaos:
            for fault in faults:
                report = await chaos.fault(fault)
                took = "never" if report.recovery_s is None else f"{report.recovery_s:.2f} s"
                print(f"  {fault:<26} submitted {report.submitted:>5}  recovery {took}", flush=True)
            summary = await chaos.finish()
        summary["wall_s"] = round(time.monotonic() - started, 1)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--partners", type=int, default=5)
    parser.add_argument("--rate", type=float, default=4.0, help="events/s per node")
    parser.add_argument("--stop-s", type=float, default=30.0, help="SIGSTOP of a node")
    parser.add_argument("--cut-s", type=float, default=60.0, help="network cut of a node")
    parser.add_argument("--burst", type=int, default=40, help="events per node in a burst")
    parser.add_argument("--faults", help=f"comma-separated subset of {','.join(FAULTS)}")
    args = parser.parse_args(argv)
    summary = asyncio.run(run(args))
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    return 0 if summary["lost_total"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
