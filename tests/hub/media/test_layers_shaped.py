"""Two camera layers over a really shaped link (issue 15, item 4).

A partner classroom runs in its own network namespace behind a veth pair whose
hub end is shaped with ``tc tbf`` to 400 kbit/s; another partner is behind an
unshaped one (each partner a process of its own, so neither competes with the
relay's event loop). The lead sends its camera twice (noise-filled test
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

    def __init__(self, isl: Island, *, decode: bool = True) -> None:
        argv = [sys.executable, "-m", "tests.hub.media.shapedpeer", isl.theirs]
        self.proc = subprocess.Popen(
            isl.argv(argv if decode else [*argv, "--count-only"]),
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


async def _high_bytes(lead: ParticipantPeer) -> int:
    """Bytes the lead's high camera sender has sent so far."""
    sender = next(t.sender for t in lead.pc.getTransceivers() if t.sender.track is not None)
    stats = await sender.getStats()
    return sum(int(s.bytesSent) for s in stats.values() if s.type == "outbound-rtp")


def _sent(relay: SessionRelay) -> tuple[int, int]:
    """Frames of the lead's (high, low) layers the relay has received so far."""
    upstream = relay.stats()["participants"]["lead"]["upstream"]
    return int(upstream["video"]), int(upstream[LOW_FEED])


def _rate(first: dict[str, Any], last: dict[str, Any]) -> tuple[float, dict[int, int]]:
    """Decoded fps between two reports of a partner, and frames per pattern."""
    fps = (last["decoded"] - first["decoded"]) / (last["t"] - first["t"])
    new = {k: v - first["patterns"].get(k, 0) for k, v in last["patterns"].items()}
    return fps, new


async def _measure(
    relay: SessionRelay, partners: list[RemotePartner], seconds: float
) -> tuple[list[tuple[float, dict[int, int]]], tuple[float, float]]:
    """Decoded fps and frames per pattern at each partner over ``seconds``, and the
    rate (fps) of each layer the lead really sent meanwhile: on a loaded machine the
    sources themselves slow down, and that is not the relay's doing."""
    sent_before = _sent(relay)
    firsts = [partner.reports[-1] for partner in partners]
    started = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    sent_after = _sent(relay)
    rates = ((sent_after[0] - sent_before[0]) / elapsed, (sent_after[1] - sent_before[1]) / elapsed)
    return [
        _rate(first, partner.reports[-1]) for first, partner in zip(firsts, partners, strict=True)
    ], rates


@pytest.fixture
def schools() -> Iterator[tuple[Island, Island]]:
    """Two partner classrooms, each in a process and namespace of its own (so that
    neither shares the relay's CPU): the first will be shaped, the second not."""
    with (
        island("s", prefix="dc15a", net=215) as shaped,
        island("u", prefix="dc15a", net=217) as free,
    ):
        restrict_host_addresses(["127.0.0.1", shaped.ours, free.ours])
        try:
            yield shaped, free
        finally:
            restrict_host_addresses(None)


async def test_shaped_partner_gets_low_others_keep_high_and_lifting_moves_it_up(
    schools: tuple[Island, Island],
) -> None:
    school, other = schools
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
    # a small school line: 400 kbit/s, a modem-sized buffer
    shaping = ("root", "tbf", "rate", "400kbit", "burst", "32kb", "latency", "400ms")
    _tc("qdisc", "add", "dev", school.link, *shaping)
    slow = RemotePartner(school)
    fast = RemotePartner(other, decode=False)  # frames received at full rate
    try:
        offer = await relay.offer("lead", Role.LEAD, layers=2)
        await relay.answer("lead", await lead.answer(offer))
        await relay.answer("slow", await slow.answer(await relay.offer("slow", Role.PARTNER)))
        await relay.answer("fast", await fast.answer(await relay.offer("fast", Role.PARTNER)))

        # the shaped partner loses most of the high layer and is moved down
        sent_at, sent = time.monotonic(), await _high_bytes(lead)
        try:
            await wait_until(lambda: relay.layer_of("slow") == "low", 20, "slow partner on low")
        except AssertionError:
            kbps = (await _high_bytes(lead) - sent) * 8 / 1000 / (time.monotonic() - sent_at)
            if kbps < 600:  # the premise is missing, not the feature
                pytest.skip(
                    f"machine too busy: the lead encoded its high layer at {kbps:.0f} kbit/s"
                )
            raise
        down_at = changes[-1][0]
        start = slow.seen(LOW)
        await wait_until(lambda: slow.seen(LOW) >= start + 15, 8, "low layer decoded")
        fast_slot = relay.slot_track("fast", Slot.MAIN, "video").stats
        fast_out = fast_slot.frames_out
        [(remote_fps, remote_new), (fast_fps, _)], (high_fps, low_fps) = await _measure(
            relay, [slow, fast], 3.0
        )
        fast_out = fast_slot.frames_out - fast_out
        print(
            f"\nshaped 400 kbit/s partner on low: {remote_fps:.1f} fps decoded {remote_new} "
            f"(low layer sent at {low_fps:.1f}); unshaped partner: {fast_fps:.1f} fps "
            f"received (high sent at {high_fps:.1f})"
        )
        assert relay.layer_of("slow") == "low"
        assert remote_new.get(LOW, 0) > 0 and remote_new.get(HIGH, 0) == 0
        assert remote_fps >= 0.75 * low_fps  # steady: the low layer's own rate
        # the congested partner degrades nobody: the other keeps high at full rate
        assert relay.layer_of("fast") == "high"
        assert relay.stats()["participants"]["fast"]["slots"]["main/video"]["layer"] == "high"
        # the relay hands the unshaped partner the frames of high the lead sends (what
        # arrives there is printed above: a busy machine starves that process too;
        # 0.6: it starves this one as well, the lead's encoders and the relay alike)
        assert fast_out >= 0.6 * high_fps * 3.0

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
        fast.close()
        with contextlib.suppress(subprocess.CalledProcessError):
            _tc("qdisc", "del", "dev", school.link, "root")
        await relay.close()
        await lead.close()
