"""Screen sharing from the lead console (Debian Chromium) to a partner (aiortc).

The "screen" is fake but honest: ``getDisplayMedia`` is replaced, before the page
loads, by a canvas stream that paints the relay's test pattern with source number
77 in its digits. The partner decodes the ``screen`` slot and reads 77 back, so
the frames it decodes are the lead's screen, forwarded by the hub as they are.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.media.routing import Slot
from hub.tokens import JoinRole
from protocols.signalling import SignalJoin
from simulators.media.testsource import _FONT
from tests.hub.hubkit import wait_for
from tests.hub.signalling.conftest import LiveHub
from tests.hub.signalling.peers import media_peer, token

from .conftest import browser_skip_reason
from .test_consoles import _open

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or ""),
    pytest.mark.timeout(120),
]

SCREEN_SOURCE = 77

# JavaScript is full of braces: %-formatting keeps them readable
FAKE_SCREEN = """
(() => {
  const FONT = %s;
  navigator.mediaDevices.getDisplayMedia = async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 640; canvas.height = 480;
    const ctx = canvas.getContext("2d");
    let counter = 0;
    const grey = (v) => `rgb(${v},${v},${v})`;
    const text = (str, row) => [...str].forEach((ch, i) => {
      const bits = FONT[ch];
      for (let k = 0; k < 15; k++) {
        ctx.fillStyle = grey(bits[k] === "1" ? 235 : 16);
        ctx.fillRect(20 + i * 40 + (k %% 3) * 10, row + Math.floor(k / 3) * 10, 10, 10);
      }
    });
    const paint = () => {
      const g = ctx.createLinearGradient(0, 0, 640, 0);
      g.addColorStop(0, grey(40)); g.addColorStop(1, grey(200));
      ctx.fillStyle = g; ctx.fillRect(0, 0, 640, 480);
      ctx.fillStyle = grey(16); ctx.fillRect(0, 0, 500, 180);
      ctx.fillStyle = grey(235); ctx.fillRect((counter * 8) %% 640, 240, 24, 240);
      text(`%02d ${String(counter %% 1000000).padStart(6, "0")}`, 40);
      counter++;
    };
    paint();
    setInterval(paint, 66);
    window.fakeScreen = { frames: () => counter };
    return canvas.captureStream(15);
  };
})();
""" % (json.dumps(_FONT), SCREEN_SOURCE)  # noqa: UP031


async def test_lead_shares_a_screen_and_a_partner_decodes_it(
    live: LiveHub, browser_context: Any
) -> None:
    await browser_context.add_init_script(FAKE_SCREEN)
    p1_join = SignalJoin(node="p1", secret=live.secret("p1"), session="S1")
    async with media_peer(live.url, p1_join) as p1:
        assert [m.slot for m in p1.joined.layout if m.direction == "sendonly"][-1] == "screen"
        lead = await _open(browser_context, f"{live.url}/console/lead?token={token(JoinRole.LEAD)}")
        await lead.click("[data-action=start]")
        await lead.wait_for_function("() => window.dc.state && window.dc.state.status === 'live'")
        screen = p1.rtc.slot(Slot.SCREEN)
        assert screen.decoded == 0  # nothing is shared yet
        await lead.click("#share-screen")
        # the partner learns it from the lesson state and decodes the lead's screen
        await p1.client.wait(lambda c: c.state is not None and c.state.screen is True, 30)
        await wait_for(
            lambda: screen.patterns_seen.get(SCREEN_SOURCE, 0) >= 10,
            within=60,
            what="p1 decodes the shared screen",
        )
        # the camera still arrives in the main slot, separately
        assert SCREEN_SOURCE not in p1.rtc.slot(Slot.MAIN).patterns_seen
        assert "Stop" in (await lead.text_content("#share-screen") or "")
        await lead.click("#share-screen")
        await p1.client.wait(lambda c: c.state is not None and c.state.screen is None, 30)
        stopped_at = screen.decoded
        assert await lead.evaluate("() => window.dc.errors.length") == 0
        # a second stop is refused by the lesson rules, not silently accepted
        await lead.evaluate("() => window.dc.interact('screen.share', {active: false})")
        await lead.wait_for_function(
            "() => window.dc.errors.some((e) => e.code === 'screen_unchanged')"
        )
        assert screen.decoded - stopped_at <= 30  # frames in flight at most
