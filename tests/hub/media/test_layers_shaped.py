"""Two camera layers over a really shaped link (issue 15, item 4).

A partner classroom runs in its own network namespace behind a veth pair whose
hub end is shaped with ``tc tbf`` to 400 kbit/s; another partner is on
loopback, unshaped. The lead sends its camera twice (noise-filled test
pattern, so the encoders use all the bitrate they may: high ~1 Mbit/s at
640x480/30 fps, low ~250 kbit/s at 400x240/15 fps; the pattern number tells
the layers apart). With the relay's default policy:

- the shaped partner ends on the low layer and decodes steady video;
- the unshaped partner keeps the high layer at full rate meanwhile;
- lifting the shaping moves the shaped partner up within 15 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCSessionDescription

from hub.media.relay import RelaySettings, SessionRelay
from protocols.media import LOW_FEED, Role, Slot
from simulators.media.participant import ParticipantPeer
from simulators.media.testsource import AudioTestSource, VideoTestSource
from tests.netns import Island, island, island_skip_reason
from webrtc import aiortc_internals as internals
from webrtc.ice import restrict_host_addresses

from .helpers import wait_until

ROOT = Path(__file__).resolve().parents[3]
HIGH, LOW = 1, 51  # the lead's pattern numbers on its two layers


def _skip_reason() -> str | None:
    if not hasattr(internals, "guard_receiver"):
        return "needs the receivers' stall guard (issue 15, item 5)"
    return island_skip_reason() or (None if shutil.which("tc") else "tc is missing")


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


def _tc(*args: str) -> None:
    subprocess.run(["tc", *args], check=True, capture_output=True, timeout=10)


class RemotePartner:
    """The shaped partner: a ``shapedpeer`` process inside the island."""

    def __init__(self, isl: Island) -> None:
        self.proc = subprocess.Popen(
            isl.argv([sys.executable, "-m", "tests.hub.media.shapedpeer", isl.theirs]),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.reports: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None

    async def answer(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"sdp": offer.sdp, "type": offer.type}) + "\n")
        self.proc.stdin.flush()
        loop = asyncio.get_running_loop()
        line = await asyncio.wait_for(loop.run_in_executor(None, self.proc.stdout.readline), 20)
        answer = json.loads(line)
        self._reader = asyncio.ensure_future(self._read())
        return RTCSessionDescription(answer["sdp"], answer["type"])

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, self.proc.stdout.readline)
            if not line:
                return
            report = json.loads(line)
            report["patterns"] = {int(k): v for k, v in report["patterns"].items()}
            self.reports.append(report)

    def seen(self, pattern: int) -> int:
        return self.reports[-1]["patterns"].get(pattern, 0) if self.reports else 0

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        self.proc.kill()
        self.proc.wait(10)


async def _measure(
    remote: RemotePartner, local: ParticipantPeer, seconds: float
) -> tuple[float, dict[int, int], float, dict[int, int]]:
    """Decoded fps and frames per pattern at both partners over ``seconds``."""
    first_remote = remote.reports[-1]
    local_slot = local.slot(Slot.MAIN)
    local_before, local_patterns = local_slot.decoded, dict(local_slot.patterns_seen)
    started = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    last_remote = remote.reports[-1]
    remote_fps = (last_remote["decoded"] - first_remote["decoded"]) / (
        last_remote["t"] - first_remote["t"]
    )
    remote_new = {
        k: v - first_remote["patterns"].get(k, 0) for k, v in last_remote["patterns"].items()
    }
    local_fps = (local_slot.decoded - local_before) / elapsed
    local_new = {k: v - local_patterns.get(k, 0) for k, v in local_slot.patterns_seen.items()}
    return remote_fps, remote_new, local_fps, local_new


@pytest.fixture
def school() -> Iterator[Island]:
    with island("s", prefix="dc15a", net=215) as isl:
        restrict_host_addresses(["127.0.0.1", isl.ours])
        try:
            yield isl
        finally:
            restrict_host_addresses(None)


async def test_shaped_partner_gets_low_others_keep_high_and_lifting_moves_it_up(
    school: Island,
) -> None:
    relay = SessionRelay("shaped", RelaySettings())
    changes: list[tuple[float, str, str, str]] = []
    relay.add_layer_listener(lambda *c: changes.append((time.monotonic(), *c)))
    lead = ParticipantPeer(
        Role.LEAD,
        video=VideoTestSource(HIGH, noise=True),
        audio=AudioTestSource(HIGH),
        video_low=VideoTestSource(LOW, width=400, height=240, fps=15, noise=True),
        max_kbps={"video": 1000, LOW_FEED: 250, "audio": 32},
        decode=False,
    )
    fast = ParticipantPeer(Role.PARTNER)
    # a small school line: 400 kbit/s, a modem-sized buffer
    shaping = ("root", "tbf", "rate", "400kbit", "burst", "32kb", "latency", "400ms")
    _tc("qdisc", "add", "dev", school.link, *shaping)
    slow = RemotePartner(school)
    try:
        offer = await relay.offer("lead", Role.LEAD, layers=2)
        await relay.answer("lead", await lead.answer(offer))
        await relay.answer("slow", await slow.answer(await relay.offer("slow", Role.PARTNER)))
        await relay.answer("fast", await fast.answer(await relay.offer("fast", Role.PARTNER)))

        # the shaped partner loses most of the high layer and is moved down
        await wait_until(lambda: relay.layer_of("slow") == "low", 20, "slow partner on low")
        down_at = changes[-1][0]
        start = slow.seen(LOW)
        await wait_until(lambda: slow.seen(LOW) >= start + 15, 8, "low layer decoded")
        remote_fps, remote_new, fast_fps, fast_new = await _measure(slow, fast, 4.0)
        print(
            f"\nshaped 400 kbit/s partner on low: {remote_fps:.1f} fps decoded {remote_new}; "
            f"unshaped partner: {fast_fps:.1f} fps {fast_new}"
        )
        assert relay.layer_of("slow") == "low"
        assert remote_new.get(LOW, 0) > 0 and remote_new.get(HIGH, 0) == 0
        assert remote_fps >= 11.0  # the low layer is 15 fps
        # the congested partner degrades nobody: the other keeps high at full rate
        assert relay.layer_of("fast") == "high"
        assert fast_new.get(HIGH, 0) > 0 and fast_new.get(LOW, 0) == 0
        assert fast_fps >= 24.0

        # lift the shaping: up within 15 s
        _tc("qdisc", "del", "dev", school.link, "root")
        lifted = time.monotonic()
        took = await wait_until(lambda: relay.layer_of("slow") == "high", 15, "slow back on high")
        start = slow.seen(HIGH)
        await wait_until(lambda: slow.seen(HIGH) >= start + 15, 5, "high layer decoded")
        stats = relay.stats()["participants"]
        print(
            f"up {took:.1f} s after lifting (down {lifted - down_at:.1f} s before); "
            f"switches slow={stats['slow']['layer']['switches']} "
            f"fast={stats['fast']['layer']['switches']}; changes {[c[1:] for c in changes]}"
        )
        assert stats["fast"]["layer"]["switches"] == 0  # the congested one degraded nobody
        assert stats["slow"]["layer"]["seconds"]["low"] > 4.0
    finally:
        slow.close()
        with contextlib.suppress(subprocess.CalledProcessError):
            _tc("qdisc", "del", "dev", school.link, "root")
        await relay.close()
        await lead.close()
        await fast.close()
