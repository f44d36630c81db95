"""Slides in the teacher consoles (Debian Chromium): the lead uploads a deck, pages
through it with thumbnails and previous/next, draws on it; the tutor sees the same
page image, and the strokes reach the classrooms as ``annotation.stroke`` events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.tokens import JoinRole
from simulators.slides import page_colour, write_deck
from tests.hub.hubkit import wait_for
from tests.hub.signalling.conftest import LiveHub
from tests.hub.signalling.peers import token

from .conftest import browser_skip_reason
from .test_consoles import _open

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or ""),
    pytest.mark.timeout(120),
]

PAGES = 4
PIXEL = """() => {
  const img = document.getElementById('slide-image');
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return Array.from(ctx.getImageData(8, 8, 1, 1).data.slice(0, 3));
}"""


async def _slide_is(page: Any, index: int) -> None:
    await page.wait_for_function(
        f"() => document.getElementById('slide-image').dataset.index === '{index}'",
        timeout=40_000,
    )
    assert await page.evaluate(PIXEL) == pytest.approx(list(page_colour(index, PAGES)), abs=4)


async def test_lead_uploads_pages_and_draws_tutor_follows(
    live: LiveHub, browser_context: Any, tmp_path: Path
) -> None:
    p1 = live.nodes["p1"]
    lead = await _open(browser_context, f"{live.url}/console/lead?token={token(JoinRole.LEAD)}")
    tutor = await _open(
        browser_context, f"{live.url}/console/tutor?token={token(JoinRole.TUTOR, node='p1')}"
    )
    observer = await _open(
        browser_context, f"{live.url}/console/observer?token={token(JoinRole.OBSERVER)}"
    )
    for page in (lead, tutor, observer):
        page.set_default_timeout(40_000)  # a loaded 2-core machine
    # a hostile upload is refused with its code; the real deck is rendered and attached
    bad = tmp_path / "notes.pdf"
    bad.write_bytes(b"not a pdf at all" * 100)
    await lead.set_input_files("#deck-file", str(bad))
    await lead.click("[data-action=upload-deck]")
    await lead.wait_for_function("() => window.dc.slides.lastUpload?.status === 415")
    assert "not_a_pdf" in await lead.text_content("#deck-status")
    await lead.set_input_files("#deck-file", str(write_deck(tmp_path / "deck.pdf", PAGES)))
    await lead.click("[data-action=upload-deck]")
    await lead.wait_for_function(
        "() => window.dc.slides.lastUpload?.status === 201", timeout=60_000
    )
    await lead.wait_for_function(
        f"() => document.querySelectorAll('#thumbs img[src]').length === {PAGES}"
    )
    # members were told: cmd.join now names the deck
    joins = [m for m in p1.of_type("cmd.join") if m.body.decks]
    assert joins and joins[-1].body.decks[0].pages == PAGES

    await lead.click("[data-action=start]")
    await lead.click("[data-action=next-slide]")
    await _slide_is(lead, 0)
    await lead.click("#thumbs li[data-index='3']")
    await _slide_is(lead, 3)
    await lead.click("[data-action=prev-slide]")
    await _slide_is(lead, 2)
    await _slide_is(tutor, 2)
    await _slide_is(observer, 2)  # an inspector watching sees the same page

    # draw a stroke across the slide: it is sequenced and reaches the classrooms
    box = await lead.locator("#slide-ink").bounding_box()
    assert box is not None
    await lead.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    await lead.mouse.down()
    for step in range(1, 6):
        await lead.mouse.move(
            box["x"] + box["width"] * (0.2 + step * 0.1), box["y"] + box["height"] * 0.5
        )
    await lead.mouse.up()
    strokes = await wait_for(
        lambda: [e for e in p1.events("S1") if e.type == "annotation.stroke"],
        within=40,
        what="the stroke at p1",
    )
    body = strokes[0].body
    assert body.slide == 2 and len(body.points) >= 3
    assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in body.points)
    assert body.points[0][0] == pytest.approx(0.2, abs=0.05)
    await tutor.wait_for_function("() => window.dc.slides.strokes.length === 1")
