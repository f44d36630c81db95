"""The teacher consoles in Debian Chromium: lesson video both ways through the hub."""

from __future__ import annotations

from typing import Any

import pytest

from hub.media.routing import Slot
from hub.tokens import JoinRole
from protocols.signalling import SignalAck, SignalJoin
from tests.hub.hubkit import wait_for
from tests.hub.signalling.conftest import LiveHub
from tests.hub.signalling.peers import media_peer, token

from .conftest import browser_skip_reason, frames_decoded, wait_frames

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or ""),
    pytest.mark.timeout(90),
]

CANDIDATES = """() => (window.dc.pc.localDescription.sdp.match(/^a=candidate:.*$/gm) || [])"""


async def _open(context: Any, url: str) -> Any:
    page = await context.new_page()
    page.on("console", lambda msg: print("console:", msg.text))
    page.on("response", lambda r: print("http:", r.status, r.url) if r.status >= 400 else None)
    await page.goto(url)
    await page.wait_for_function("() => window.dc && window.dc.answered === true", timeout=20_000)
    return page


async def test_tutor_console_shows_the_lead(live: LiveHub, browser_context: Any) -> None:
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    async with media_peer(live.url, lead_join, source=1) as lead:
        page = await _open(
            browser_context, f"{live.url}/console/tutor?token={token(JoinRole.TUTOR, node='p1')}"
        )
        # no trickle: the answer carried its candidates, and only 127.0.0.1 ones
        candidates = await page.evaluate(CANDIDATES)
        assert candidates and all(" 127.0.0.1 " in c for c in candidates), candidates
        first = await frames_decoded(page)
        await wait_frames(page, first + 30, timeout=20)
        # the tutor's controls act as p1 under the role rules
        assert isinstance(await lead.client.interact("lesson.start"), SignalAck)
        await page.wait_for_function("() => window.dc.state && window.dc.state.status === 'live'")
        await page.click("[data-action=raise]")
        await lead.client.wait(lambda c: c.state is not None and c.state.hands == ["p1"])
        assert await page.evaluate("() => window.dc.state.hands") == ["p1"]
        assert await page.locator("#hands li").count() == 1


async def test_lead_console_video_reaches_a_partner(live: LiveHub, browser_context: Any) -> None:
    p1_join = SignalJoin(node="p1", secret=live.secret("p1"), session="S1", events=False)
    async with media_peer(live.url, p1_join) as p1:
        url = f"{live.url}/console/lead?camera=1&token={token(JoinRole.LEAD)}"
        page = await _open(browser_context, url)
        await wait_for(
            lambda: p1.rtc.slot(Slot.MAIN).decoded >= 30, within=20, what="p1 decodes the lead"
        )
        # the console sends its camera in two layers (the low one scaled down by the
        # browser); moving p1 to the low layer keeps its picture going
        assert live.hub._api is not None
        relay = live.hub._api.config.app.state.signalling.rooms["S1"].relay

        def low_frames() -> int:
            stats = relay.stats()["participants"]
            lead = next(s for s in stats.values() if s["role"] == "lead")
            return int(lead["upstream"]["video_low"])

        await wait_for(lambda: low_frames() > 10, within=10, what="the console's low layer")
        scale = await page.evaluate(
            "() => window.dc.pc.getSenders().map((s) => s.getParameters().encodings?.[0]"
            "?.scaleResolutionDownBy).filter(Boolean)"
        )
        assert scale == [2]
        relay.force_layer("p1", "low")
        before = p1.rtc.slot(Slot.MAIN).decoded
        await wait_for(
            lambda: p1.rtc.slot(Slot.MAIN).decoded >= before + 15, within=10, what="p1 on low"
        )
        assert relay.stats()["participants"]["p1"]["slots"]["main/video"]["layer"] == "low"
        # lead controls go through the same role rules: start, then grant the floor
        await page.click("[data-action=start]")
        await page.wait_for_function("() => window.dc.state && window.dc.state.status === 'live'")
        await page.locator("#roster li", has_text="p1").get_by_role("button").click()
        await page.wait_for_function("() => window.dc.state.floor === 'p1'")
        assert await page.evaluate("() => window.dc.errors.length") == 0
