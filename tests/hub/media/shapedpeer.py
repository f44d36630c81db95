"""A partner classroom in its own network namespace, for the shaped-link tests.

Run inside an island (``tests.netns``) by ``test_layers_shaped``: reads the hub's
offer as one JSON line on stdin, answers with one JSON line on stdout, then
prints a JSON line every 0.25 s with what it decoded in the main slot (frames,
and frames per test-pattern number, so the test sees which layer arrives; with
``--count-only``, complete frames received and no patterns).

Its video receivers skip unrecoverable holes like a classroom node's do
(``guard_receiver``): a link that was overfull leaves holes no retransmission
fills, and aiortc alone would wait for 512 packets behind them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from aiortc import RTCSessionDescription

from protocols.media import Role, Slot
from simulators.media.participant import ParticipantPeer
from webrtc import aiortc_internals as internals
from webrtc.ice import restrict_host_addresses


async def main(address: str, decode: bool) -> None:
    restrict_host_addresses([address])
    peer = ParticipantPeer(Role.PARTNER, on_receivers=internals.guard_receiver, decode=decode)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    offer = json.loads(line)
    answer = await peer.answer(RTCSessionDescription(offer["sdp"], offer["type"]))
    print(json.dumps({"sdp": answer.sdp, "type": answer.type}), flush=True)
    main_video = peer.slot(Slot.MAIN)
    try:
        while True:
            await asyncio.sleep(0.25)
            report = {
                "t": time.monotonic(),
                # without decoding: complete frames received (decoding 1 Mbit/s of
                # noise on a busy machine would measure the CPU, not the link)
                "decoded": main_video.decoded if decode else main_video.encoded,
                "patterns": main_video.patterns_seen,
            }
            print(json.dumps(report), flush=True)
    finally:
        await peer.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], decode="--count-only" not in sys.argv))
