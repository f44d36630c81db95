"""Media through a TURN relay versus direct, same run, same hub.

A local stack and hub, a real ``turnserver`` (Debian coturn) on loopback sharing
the hub's ``turn_secret``, one lead and two partner classroom nodes with media:
``direct`` gathers host candidates as usual, ``relayed`` uses relay candidates only
(``ice_transport_policy = relay``: a school whose firewall lets only the TURN
server through), with TURN credentials the hub minted for its join. Both receive
the lead's video for ``--seconds``; prints, for each, the time from joining to
the first decoded frames, frames per second, bitrate, round-trip time, loss and
freezes, and the relayed/direct ratios.

Usage: ``python bench/turn.py [--seconds 20] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from broker.localstack import free_port, wait_for_port
from classroom_node.media.runner import NodeMedia
from classroom_node.media.settings import MediaSettings
from protocols.ids import now_ms
from protocols.messages import MediaStats
from runtime.settings import dump_toml
from simulators.district import demo_district
from simulators.harness import LocalRun

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"


def start_turn(workdir: Path, secret: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = "\n".join(
        [
            f"listening-port={port}",
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            "realm=bench.invalid",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            "fingerprint",
            "allow-loopback-peers",
            "no-tls",
            "no-dtls",
            "no-cli",
            f"pidfile={workdir / 'turn.pid'}",
            f"userdb={workdir / 'turndb'}",
            f"log-file={workdir / 'turn.log'}",
            "simple-log",
        ]
    )
    (workdir / "turnserver.conf").write_text(conf + "\n")
    proc = subprocess.Popen(
        [TURNSERVER, "-c", str(workdir / "turnserver.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port("127.0.0.1", port, proc=proc)
    return proc, port


async def run(seconds: float) -> dict[str, Any]:
    secret = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="dualclass-bench-turn-") as tmp:
        workdir = Path(tmp)
        turn, port = start_turn(workdir, secret)
        hub_conf = workdir / "hub.toml"
        hub_conf.write_text(
            dump_toml(
                {
                    "ice_servers": [{"urls": [f"turn:127.0.0.1:{port}?transport=udp"]}],
                    "turn_secret": secret,
                },
                "hub",
            )
        )
        try:
            async with LocalRun(workdir / "run", hub_args=["--config", str(hub_conf)]) as local:
                return await _measure(local, seconds)
        finally:
            turn.terminate()
            turn.wait(10)


async def _measure(local: LocalRun, seconds: float) -> dict[str, Any]:
    assert local.hub is not None
    partners = {"direct": "p1", "relayed": "p2"}
    nodes = {}
    for node in ["lead", *partners.values()]:
        await local.register_node(node)
    district = demo_district("lead", list(partners.values()))
    for kind in ("schools", "classrooms", "teachers"):
        for item in district[kind]:
            await local.api("POST", f"/api/{kind}", json=item)
    for node in ["lead", *partners.values()]:
        nodes[node] = await local.start_node(node)
    now = now_ms()
    await local.create_session(
        {
            "session": "bench-turn",
            "lead": "lead",
            "partners": list(partners.values()),
            "title": "TURN",
            "starts_at": now,
            "ends_at": now + 3_600_000,
        }
    )
    base = MediaSettings(
        enabled=True,
        hub_url=local.hub.base_url,
        ice_host_addresses=("127.0.0.1",),
        fps=30,
        stats_interval_s=1.0,
    )
    relay_only = base.model_copy(update={"ice_transport_policy": "relay"})
    runners = {
        "lead": NodeMedia(nodes["lead"], base),
        "direct": NodeMedia(nodes["p1"], base),
        "relayed": NodeMedia(nodes["p2"], relay_only),
    }
    started = time.monotonic()
    for runner in runners.values():
        await runner.start()
    first: dict[str, float] = {}
    deadline = started + 60
    while len(first) < 2 and time.monotonic() < deadline:
        for name, node in partners.items():
            stats = nodes[node].media_stats or MediaStats()
            if name not in first and stats.fps > 0:
                first[name] = time.monotonic() - started
        await asyncio.sleep(0.05)
    samples: dict[str, list[MediaStats]] = {name: [] for name in partners}
    pairs: dict[str, Any] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(1.0)
        for name, node in partners.items():
            samples[name].append(nodes[node].media_stats or MediaStats())
    for name in partners:
        session = runners[name].sessions.get("bench-turn")
        pairs[name] = session.candidate_types() if session is not None else None
    for runner in runners.values():
        await runner.stop()
    out: dict[str, Any] = {}
    for name, rows in samples.items():
        n = max(len(rows), 1)
        out[name] = {
            "candidates": pairs[name],
            "first_frames_s": round(first.get(name, float("nan")), 2),
            "fps": round(sum(r.fps for r in rows) / n, 2),
            "bitrate_kbps": round(sum(r.bitrate_kbps for r in rows) / n, 1),
            "rtt_ms": round(sum(r.rtt_ms for r in rows) / n, 2),
            "loss": round(max((r.loss for r in rows), default=0.0), 4),
            "freezes": max((r.freezes for r in rows), default=0),
        }
    d, r = out["direct"], out["relayed"]
    out["ratio"] = {
        key: round(r[key] / d[key], 2) if d[key] else None
        for key in ("first_frames_s", "fps", "bitrate_kbps", "rtt_ms")
    }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.seconds))
    print(f"lead video to two partners for {args.seconds:g} s (pair: our side, hub side)")
    for name in ("direct", "relayed"):
        row = result[name]
        print(
            f"  {name:<8} {row['candidates']!s:<22} first frames {row['first_frames_s']:5.2f} s  "
            f"{row['fps']:5.1f} fps  {row['bitrate_kbps']:7.1f} kbps  rtt {row['rtt_ms']:6.2f} ms"
            f"  loss {row['loss']:.4f}  freezes {row['freezes']}"
        )
    ratio = result["ratio"]
    print(
        f"  relayed/direct: first frames {ratio['first_frames_s']}, fps {ratio['fps']}, "
        f"bitrate {ratio['bitrate_kbps']}, rtt {ratio['rtt_ms']}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = (
        result["relayed"]["candidates"] is not None
        and result["relayed"]["candidates"][0] == "relay"
    )
    return 0 if ok and result["relayed"]["fps"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
