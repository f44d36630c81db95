"""Media recovery benchmark: how fast every partner's video is back after each fault.

The lesson of ``tests/media_recovery`` as separate processes (stack, hub, a lead
and partner classroom nodes with media on), with the camera size, rate, partner
count and outage lengths of your choice. For each fault (hub SIGKILL and restart,
hub SIGSTOP, lead node restart, partner node restart) it reports, per partner,
the seconds from the heal until a stretch of ``--stable-s`` at full rate begins
(read from each partner's own figures, 0.5 s averages: upper bounds).

    .venv/bin/python bench/media_recovery.py --json media_recovery.json \\
        [--partners 2] [--width 320 --height 240 --fps 15] [--stop-s 10] [--faults ...]

writes ``{"full_fps", "stable_s", "faults": [{"fault", "recovery_s": {partner: s},
"worst_s"}], "wall_s"}``. Run it on a quiet machine: a loaded CPU stretches every
time here.
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

from simulators.mediarecovery import FAULTS, MediaRecoveryRun


async def run(args: argparse.Namespace) -> dict[str, object]:
    faults = args.faults.split(",") if args.faults else list(FAULTS)
    with tempfile.TemporaryDirectory(prefix="dualclass-media-recovery-") as tmp:
        started = time.monotonic()
        async with MediaRecoveryRun(
            Path(tmp),
            partners=args.partners,
            width=args.width,
            height=args.height,
            fps=args.fps,
            stop_s=args.stop_s,
            hub_down_s=args.hub_down_s,
            stable_s=args.stable_s,
        ) as media:
            for fault in faults:
                report = await media.fault(fault)
                worst = "never" if report.worst_s is None else f"{report.worst_s:.2f} s"
                print(f"  {fault:<16} worst partner back at full rate after {worst}", flush=True)
            summary = media.summary()
        summary["wall_s"] = round(time.monotonic() - started, 1)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--partners", type=int, default=2)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--stop-s", type=float, default=10.0, help="SIGSTOP of the hub")
    parser.add_argument("--hub-down-s", type=float, default=4.0, help="hub dead before restart")
    parser.add_argument("--stable-s", type=float, default=2.0)
    parser.add_argument("--faults", help=f"comma-separated subset of {','.join(FAULTS)}")
    args = parser.parse_args(argv)
    summary = asyncio.run(run(args))
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    faults = summary["faults"]
    assert isinstance(faults, list)
    return 0 if all(f["worst_s"] is not None for f in faults) else 1


if __name__ == "__main__":
    raise SystemExit(main())
