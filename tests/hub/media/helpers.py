"""Test helpers: join peers to a relay, wait for conditions with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hub.media.relay import SessionRelay
from hub.media.routing import Role, Slot
from simulators.media.participant import ParticipantPeer
from simulators.media.testsource import AudioTestSource, VideoTestSource

LEAD_SOURCE = 1


async def wait_until(condition: Callable[[], bool], within: float, what: str) -> float:
    """Poll ``condition`` until true; return the seconds it took, fail after ``within`` s."""
    start = time.monotonic()
    deadline = start + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


class Lesson:
    """A relay plus its peers; ``close`` tears everything down."""

    def __init__(self, relay: SessionRelay) -> None:
        self.relay = relay
        self.peers: dict[str, ParticipantPeer] = {}

    async def join(
        self,
        pid: str,
        role: Role,
        *,
        source: int | None = None,
        size: tuple[int, int] = (400, 240),
        low: int | None = None,
        downlink_kbps: float | None = None,
    ) -> ParticipantPeer:
        """Join ``pid``; publishers send a test pattern numbered ``source`` (and, with
        ``low``, a second, low camera layer showing pattern ``low`` at 400x240, 15 fps: the
        smallest picture ``read_pattern`` reads)."""
        video = audio = video_low = None
        if role is not Role.OBSERVER:
            number = source if source is not None else LEAD_SOURCE
            width, height = (640, 480) if role is Role.LEAD else size
            video = VideoTestSource(number, width=width, height=height)
            audio = AudioTestSource(number)
            if low is not None:
                video_low = VideoTestSource(low, width=400, height=240, fps=15)
        peer = ParticipantPeer(role, video=video, audio=audio, video_low=video_low)
        self.peers[pid] = peer
        offer = await self.relay.offer(pid, role, layers=peer.layers, downlink_kbps=downlink_kbps)
        await self.relay.answer(pid, await peer.answer(offer))
        return peer

    def sees(self, pid: str, slot: Slot, source: int, frames: int = 1) -> Callable[[], bool]:
        """Condition: ``pid`` decoded ``frames`` frames of ``source`` in ``slot``."""

        def check() -> bool:
            got = self.peers[pid].slot(slot)
            return (
                got.patterns_seen.get(source, 0) >= frames
                and got.last_pattern is not None
                and (got.last_pattern[0] == source)
            )

        return check

    async def close(self) -> None:
        await self.relay.close()
        for peer in self.peers.values():
            await peer.close()
