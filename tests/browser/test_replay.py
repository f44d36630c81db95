"""The replay page in Debian Chromium: a real recording plays, the timeline jumps."""

from __future__ import annotations

from typing import Any

import pytest

from hub.media.routing import Role
from hub.tokens import JoinRole
from protocols.signalling import SignalJoin
from tests.hub.decks.hostile import many_pages
from tests.hub.hubkit import ADMIN_KEY, wait_for
from tests.hub.recording.conftest import RecHub, publisher
from tests.hub.recording.conftest import rec_hub as rec_hub  # fixture
from tests.hub.signalling.peers import token

from .conftest import browser_skip_reason

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or ""),
    pytest.mark.timeout(120),
]


async def _record_a_lesson(rec: RecHub) -> str:
    """Record a short lesson showing pages 1 and 2 of an uploaded deck; the deck id."""
    async with rec.admin() as http:
        await http.put("/api/sessions/S1/recording", json={"record": True})
        upload = await http.post(
            "/api/sessions/S1/decks?name=fractions.pdf",
            content=many_pages(3),
            headers={"content-type": "application/pdf"},
            timeout=60,
        )
        assert upload.status_code == 201, upload.text
        deck = str(upload.json()["id"])
    lead_join = SignalJoin(token=token(JoinRole.LEAD), camera=True)
    p1_join = SignalJoin(node="p1", secret=rec.nodes["p1"].secret, session="S1", events=False)
    async with (
        publisher(rec.url, lead_join, Role.LEAD, source=1) as lead,
        publisher(rec.url, p1_join, Role.PARTNER, source=2),
    ):
        await lead.client.interact("lesson.start")
        room = rec.hub.app.state.signalling.room("S1")
        await wait_for(lambda: room.recorder and room.recorder.frames > 15, within=15,
                       what="recording")  # fmt: skip
        await lead.client.interact("slide.show", {"deck": deck, "index": 1})
        await lead.client.interact("quiz.open", {"quiz": "q1", "choices": ["a", "b"]})
        before = room.recorder.frames
        await wait_for(lambda: room.recorder.frames > before + 40, within=15, what="1 s more")
        await lead.client.interact("slide.show", {"deck": deck, "index": 2})
        await lead.client.interact("quiz.close", {"quiz": "q1", "correct": 0})
        await lead.client.interact("floor.grant", {"node": "p1"})
        before = room.recorder.frames
        await wait_for(lambda: room.recorder.frames > before + 150, within=15, what="floor turn")
        await lead.client.interact("floor.revoke")
        await lead.client.interact("lesson.end")
    async with rec.admin() as http:

        async def complete() -> bool:
            r = await http.get("/api/recordings/S1")
            return r.status_code == 200 and r.json()["timeline"] is not None

        await wait_for(complete, within=20, what="recording complete")
    return deck


async def test_replay_page_plays_and_jumps_to_events(rec_hub: RecHub, browser_context: Any) -> None:
    deck = await _record_a_lesson(rec_hub)
    page = await browser_context.new_page()
    page.on("console", lambda msg: print("console:", msg.text))
    tutor = token(JoinRole.TUTOR, node="p1")
    await page.goto(f"{rec_hub.url}/replay/S1?token={tutor}&lang=en")
    await page.wait_for_function("() => window.dc && window.dc.ready", timeout=20_000)

    # it plays: time advances and pictures are decoded
    await page.evaluate("() => { const v = document.getElementById('video'); v.muted = true; "
                        "return v.play(); }")  # fmt: skip
    await page.wait_for_function(
        "() => { const v = document.getElementById('video'); return v.currentTime > 1.0 && "
        "v.getVideoPlaybackQuality().totalVideoFrames > 10 && v.videoWidth === 640; }",
        timeout=20_000,
    )
    await page.evaluate("() => document.getElementById('video').pause()")

    # a click on an event of the timeline jumps there; the state beside the picture follows
    events = await page.evaluate("() => window.dc.events")

    async def jump(kind: str, nth: int = 0) -> None:
        event = [e for e in events if e["type"] == kind][nth]
        await page.locator(f"#timeline li[data-seq='{event['seq']}']").click()
        await page.wait_for_function(
            "() => Math.abs(document.getElementById('video').currentTime - "
            f"{max(event['t'], 0)}) < 0.05 && window.dc.state.last.seq >= {event['seq']}"
        )

    await jump("slide.show", 1)
    assert "#2" in await page.locator("#slide").inner_text()
    # the deck's page image is shown beside the picture (fetched with the token)
    await page.wait_for_function(
        "() => { const i = document.getElementById('slide-image'); "
        "return !i.hidden && i.complete && i.naturalWidth > 0; }"
    )
    assert deck in await page.locator("#slide").inner_text()
    await jump("quiz.open")  # back in time: slide 1 again, the quiz open
    assert "#1" in await page.locator("#slide").inner_text()
    quiz = await page.locator("#quiz").inner_text()
    assert "q1" in quiz and "closed" not in quiz
    await jump("quiz.close")
    assert "closed" in await page.locator("#quiz").inner_text()
    assert await page.evaluate("() => window.dc.state.slide.index") == 2
    # at 0:00, before the lead's first click, the class sees that first slide (not "—")
    first = next(e for e in events if e["type"] == "slide.show")
    assert first["t"] > 0, first
    await page.evaluate("() => window.dc.seek(0)")
    assert await page.evaluate("() => window.dc.state.slide.index") == 1
    assert "#1" in await page.locator("#slide").inner_text()

    # during the floor turn the floor holder's picture plays beside the lead's
    grant = next(e for e in events if e["type"] == "floor.grant")
    turn = next(f for f in await page.evaluate("() => window.dc.manifest.files")
                if f["role"] == "floor")  # fmt: skip
    at = turn["offset_s"] + turn["duration_s"] / 2
    await page.evaluate(f"() => window.dc.seek({at})")
    await page.wait_for_function(
        "() => !document.getElementById('floor-figure').hidden && "
        "document.getElementById('floor-video').readyState >= 2"
    )
    assert await page.evaluate("() => window.dc.state.floor") == "p1"
    assert "p1" in await page.locator("#floor-video-name").inner_text()
    # (1 s of slack before: the test source stamps frames it makes late with their
    # scheduled time, so on a loaded machine its clock runs behind the wall's)
    assert grant["t"] - 1.0 <= turn["offset_s"] <= grant["t"] + 2.0

    # playback speed
    await page.select_option("#speed", "2")
    assert await page.evaluate("() => document.getElementById('video').playbackRate") == 2

    # watching time reaches the ledger as p1's replay viewing
    await page.evaluate("() => window.dc.reportView()")
    feed = rec_hub.hub.ledger_feed
    await wait_for(
        lambda: any(room == "p1" and ms >= 500 for room, ms, _ in
                    feed.ledger.sessions["S1"].replays.values()),
        within=10, what="replay viewing in the ledger",
    )  # fmt: skip


async def test_replay_page_admin_sign_in(rec_hub: RecHub, browser_context: Any) -> None:
    await _record_a_lesson(rec_hub)
    page = await browser_context.new_page()
    await page.goto(f"{rec_hub.url}/replay/S1")
    await page.wait_for_selector("#signin:not([hidden])")
    await page.fill("#admin-key", "wrong")
    await page.click("#signin button")
    await page.wait_for_function("() => document.getElementById('signin-error').textContent")
    await page.fill("#admin-key", ADMIN_KEY)
    await page.click("#signin button")
    await page.wait_for_function("() => window.dc && window.dc.ready", timeout=20_000)
    assert await page.locator("#timeline li").count() >= 4
