"""The classroom display in Debian Chromium, fed by a real node of a real stack.

What a partner classroom relies on: after each ``slide.show`` the big screen shows
that page's image (from the node's cache), the lead's strokes over it, the quiz
with live answer counts, hands and the floor; and when the hub link drops the
screen says so and keeps showing the lesson from the cache, even after a reload.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from i18n.catalogue import catalogue
from protocols.ids import now_ms
from simulators.faults import TcpProxy
from simulators.harness import LocalRun
from simulators.slides import page_colour, write_deck

from .conftest import browser_skip_reason, live, loopback_only

__all__ = ["live", "loopback_only"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or ""),
    pytest.mark.timeout(120),
]

SESSION = "display-1"
PAGES = 5
# the colour of the slide image's top-left pixel, as the page drew it
PIXEL = """() => {
  const img = document.getElementById('slide');
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return Array.from(ctx.getImageData(8, 8, 1, 1).data.slice(0, 3));
}"""


@pytest.fixture
async def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LocalRun]:
    # the hub process renders half-HD slides: the same path, a quarter of the work
    monkeypatch.setenv("DUALCLASS_HUB_DECK_WIDTH", "960")
    monkeypatch.setenv("DUALCLASS_HUB_DECK_HEIGHT", "540")
    async with LocalRun(tmp_path, heartbeat_s=1.0) as local:
        for node in ("lead", "p1", "p2"):
            await local.register_node(node)
        yield local


async def test_display_follows_slides_ink_quiz_and_survives_the_hub_link_dropping(
    run: LocalRun, browser_context: Any, tmp_path: Path
) -> None:
    assert run.stack is not None
    mqtt = await TcpProxy(run.stack.mqtt_port).start()
    lead = await run.start_node("lead")
    p1 = await run.start_node("p1", api_enabled=True, mqtt_port=mqtt.port)
    p2 = await run.start_node("p2")
    now = now_ms()
    await run.create_session(
        {
            "session": SESSION,
            "lead": "lead",
            "partners": ["p1", "p2"],
            "title": "分数 Fractions",
            "starts_at": now,
            "ends_at": now + 600_000,
        }
    )
    pdf = write_deck(tmp_path / "deck.pdf", pages=PAGES)
    response = await run.http.post(
        f"/api/sessions/{SESSION}/decks",
        params={"name": "deck.pdf"},
        content=pdf.read_bytes(),
        timeout=120,
    )
    deck = response.json()["id"]
    await run.wait_for(lambda: p1.deck_cache.complete(deck), 30, "p1 has the deck")

    page = await browser_context.new_page()
    page.set_default_timeout(40_000)  # a loaded 2-core machine
    page.on("console", lambda msg: print("console:", msg.text))
    await page.goto(f"{p1.api.base_url}/display?lang=en")
    await lead.send("lesson.start", {"title": "分数 Fractions"}, SESSION)
    await page.wait_for_function("() => window.dc.view && window.dc.view.status === 'live'")
    for index in (0, 3, 1, 4):
        await lead.send("slide.show", {"deck": deck, "index": index}, SESSION)
        await page.wait_for_function(
            f"() => document.getElementById('slide').dataset.index === '{index}'", timeout=40_000
        )
        colour = await page.evaluate(PIXEL)
        assert colour == pytest.approx(list(page_colour(index, PAGES)), abs=4), index
    shown = await page.evaluate("() => window.dc.shown.map((s) => s.index)")
    assert shown == [0, 3, 1, 4]

    # the lead's stroke is drawn over the slide, the quiz counts answers live
    await lead.send(
        "annotation.stroke",
        {"points": [[0.1, 0.1], [0.5, 0.5]], "color": "#00ff00", "width": 4},
        SESSION,
    )
    await page.wait_for_function("() => window.dc.inked === 1")
    await lead.send(
        "quiz.open",
        {"quiz": "q1", "question": "1/2 + 1/4 = ?", "choices": ["3/4", "2/6", "1/8"]},
        SESSION,
    )
    await p1.send("quiz.answer", {"quiz": "q1", "choice": 0}, SESSION)
    await p2.send("quiz.answer", {"quiz": "q1", "choice": 0}, SESSION)
    await page.wait_for_function(
        "() => document.querySelector('#choices li')?.dataset.count === '2'"
    )
    await p2.send("hand.raise", {}, SESSION)
    await page.wait_for_function("() => document.querySelectorAll('#hands li').length === 1")
    await lead.send("floor.grant", {"node": "p2"}, SESSION)
    await page.wait_for_function("() => document.getElementById('floor').textContent === 'p2'")

    # the hub link drops: the screen says so and still shows the lesson, even reloaded
    mqtt.cut()
    await page.wait_for_function("() => window.dc.connected === false", timeout=30_000)
    await page.reload()
    await page.wait_for_function(
        "() => document.getElementById('slide').dataset.index === '4'", timeout=40_000
    )
    assert await page.evaluate(PIXEL) == pytest.approx(list(page_colour(4, PAGES)), abs=4)
    assert "hub link down" in await page.text_content("#link")
    mqtt.restore()
    await page.wait_for_function("() => window.dc.connected === true", timeout=30_000)

    # the lesson ends: the screen says so and keeps the last slide and the results...
    await lead.send("lesson.end", {}, SESSION)
    await page.wait_for_function("() => window.dc.ended === true")
    assert await page.is_visible("#ended")
    assert await page.text_content("#ended") == catalogue("en")["display.ended"]
    assert await page.evaluate("() => document.getElementById('slide').dataset.index") == "4"
    # ... also once the hub made the classroom leave it, on a screen opened afterwards
    await run.api("DELETE", f"/api/sessions/{SESSION}")
    await run.wait_for(lambda: not p1.sessions, 30, "p1 to leave the session")
    await page.goto(f"{p1.api.base_url}/display?lang=zh-CN")
    await page.wait_for_function(
        "() => window.dc.ended === true && document.getElementById('slide').dataset.index === '4'"
    )
    assert await page.text_content("#ended") == catalogue("zh-CN")["display.ended"]
    assert await page.evaluate(PIXEL) == pytest.approx(list(page_colour(4, PAGES)), abs=4)
    assert await page.locator("#choices li").count() == 3
    await mqtt.stop()


FRAMES = "(id) => document.getElementById(id).getVideoPlaybackQuality().totalVideoFrames"


async def test_display_shows_the_lead_video_and_the_shared_screen(
    live: Any, browser_context: Any, tmp_path: Path
) -> None:
    """The node passes the lead's video and screen it receives on to its screen page."""
    from classroom_node import ClassroomNode, NodeConfig
    from classroom_node.media.runner import NodeMedia
    from classroom_node.media.settings import MediaSettings
    from hub.tokens import JoinRole
    from protocols.signalling import SignalAck, SignalJoin
    from tests.hub.signalling.peers import media_peer, token

    config = NodeConfig(
        node_id="p2",
        mqtt_port=live.hub.config.mqtt_port,
        mqtt_password=live.secret("p2"),
        state_dir=tmp_path / "p2",
        api_enabled=True,
        heartbeat_s=1.0,
    )
    node = ClassroomNode(config)
    await node.startup()
    settings = MediaSettings(width=320, height=240, fps=10, hub_url=live.url)
    node.media = NodeMedia(node, settings)
    try:
        # the lead's console sends its camera (and a screen) for this test
        lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
        async with media_peer(live.url, lead_join, source=1, screen=77) as lead:
            await node.media.start()
            page = await browser_context.new_page()
            page.set_default_timeout(40_000)
            await page.goto(f"{node.api.base_url}/display?lang=en")
            await page.wait_for_function(f"() => ({FRAMES})('lead') >= 10")
            assert await page.evaluate("() => document.getElementById('screen').hidden")
            assert isinstance(await lead.client.interact("lesson.start"), SignalAck)
            assert isinstance(
                await lead.client.interact("screen.share", {"active": True}), SignalAck
            )
            # the shared screen takes the slide's place and plays
            await page.wait_for_function("() => !document.getElementById('screen').hidden")
            await page.wait_for_function(f"() => ({FRAMES})('screen') >= 10")
            assert isinstance(
                await lead.client.interact("screen.share", {"active": False}), SignalAck
            )
            await page.wait_for_function("() => document.getElementById('screen').hidden")
    finally:
        await node.media.stop()
        await node.shutdown()
