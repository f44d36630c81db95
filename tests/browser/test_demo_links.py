"""Every link the demo prints, opened in Chromium as a person pastes it, while the
demo's lesson runs and after it ends.

Every classroom's node holds its camera; the lead, tutor and observer consoles
open beside them. Each must decode video, stay connected for the whole lesson
(no ``replaced``, no reconnect), and a hand raised in the tutor console must be
sequenced as its classroom. The other links must show real content with no
header a browser cannot send: the dashboard and its view of this lesson (signed
sign-in links), the API's own docs page, the metrics, a classroom's input API and
its big-screen display (slides, then the "ended" notice over the last slide).
``--record``'s replay link is ``tests/browser/test_replay.py``'s: a recording here
slows everything down on a loaded machine.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from i18n.catalogue import catalogue
from simulators.demo import run_demo

from .conftest import FRAMES_DECODED, browser_skip_reason, wait_frames

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or ""),
    pytest.mark.timeout(300),
]

CONSOLES = ("lead console", "tutor console (p3)", "observer")
HAND_SEQUENCED = """(node) => window.dc.events.some(
  (e) => e.type === 'hand.raise' && e.src === node && e.seq > 0)"""


async def _open(context: Any, url: str) -> Any:
    page = await context.new_page()
    page.set_default_timeout(60_000)  # a loaded 2-core machine
    page.on("console", lambda msg: print("console:", msg.text))
    await page.goto(url)
    await page.wait_for_function("() => window.dc && window.dc.answered === true")
    return page


async def _plain_links(context: Any, printed: dict[str, str], session: str) -> dict[str, Any]:
    """hub, metrics, API docs, the classroom's input API: open, look, close."""
    seen: dict[str, Any] = {}
    page = await context.new_page()
    page.set_default_timeout(60_000)
    try:
        response = await page.goto(printed["metrics"])
        assert response is not None and response.ok, printed["metrics"]
        assert "dualclass_hub_" in await page.inner_text("body")
        seen["metrics"] = response.status

        response = await page.goto(printed["API"])
        assert response is not None and response.ok
        # Swagger UI drew the hub's routes from /openapi.json (offline: served by the hub)
        await page.wait_for_selector(".swagger-ui .opblock")
        seen["API"] = await page.locator(".swagger-ui .opblock").count()

        response = await page.goto(printed["tablet"])
        assert response is not None and response.ok
        state = json.loads(await response.text())
        assert state["node"] == "p1" and session in [s["session"] for s in state["sessions"]]
        seen["tablet"] = state["node"]
    finally:
        await page.close()
    return seen


async def _dashboard(context: Any, printed: dict[str, str], session: str) -> tuple[Any, Any]:
    """The signed links sign this browser in: the dashboard, then this lesson on it."""
    board = await context.new_page()
    board.set_default_timeout(60_000)
    await board.goto(printed["dashboard"])
    assert urlsplit(board.url).path == "/ops"
    await board.wait_for_selector("#board", state="visible")
    assert await board.is_hidden("#signin")
    await board.wait_for_selector(f"text={session}")
    watch = await context.new_page()
    watch.set_default_timeout(60_000)
    await watch.goto(printed["watch"])
    await watch.wait_for_selector("#detail", state="visible")
    assert await watch.text_content("#detail-session") == session
    await watch.wait_for_function("() => document.querySelectorAll('#detail-log li').length > 0")
    # the bare hub address lands on the (signed-in) dashboard too
    hub = await context.new_page()
    await hub.goto(printed["hub"])
    await hub.wait_for_selector("#board", state="visible")
    await hub.close()
    return board, watch


async def test_demo_links_work_for_the_whole_lesson(tmp_path: Path, browser_context: Any) -> None:
    ready = asyncio.Event()

    async def during(printed: dict[str, str]) -> dict[str, Any]:
        session = parse_qs(urlsplit(printed["watch"]).query)["lesson"][0]
        opened = await asyncio.gather(*(_open(browser_context, printed[n]) for n in CONSOLES))
        pages = dict(zip(CONSOLES, opened, strict=True))
        # the consoles are up (slow on a loaded machine): the lesson may start
        ready.set()
        # early in the lesson: the tutor raises the classroom's hand from the console
        tutor = pages["tutor console (p3)"]
        await tutor.wait_for_function("() => window.dc.state && window.dc.state.status === 'live'")
        await tutor.click("[data-action=raise]")
        await tutor.wait_for_function("() => window.dc.acks.length >= 1")
        board, watch = await _dashboard(browser_context, printed, session)
        display = await browser_context.new_page()
        display.set_default_timeout(60_000)
        await display.goto(printed["display"] + "?lang=en")
        for page in pages.values():
            await page.wait_for_function(HAND_SEQUENCED, arg="p3")
            await wait_frames(page, 20, timeout=60)
        # the classroom's big screen: the lesson's slides from the node's cache (its
        # lead video: tests/browser/test_display.py)
        await display.wait_for_function("() => window.dc.shown.length >= 1")
        plain = await _plain_links(browser_context, printed, session)
        # ... and every console stays on, with video, until the lesson has ended
        for page in pages.values():
            await page.wait_for_function(
                "() => window.dc.state && window.dc.state.status === 'ended'", timeout=90_000
            )
        out: dict[str, Any] = {"plain": plain}
        for name, page in pages.items():
            out[name] = await page.evaluate(
                f"""async () => ({{
                  connects: window.dc.connects,
                  errors: window.dc.errors.map((e) => e.code),
                  frames: await ({FRAMES_DECODED})(),
                  media: window.dc.pc && window.dc.pc.connectionState,
                }})"""
            )
            if name != "lead console":  # the lead's video tile says the lesson ended
                out[name]["note"] = await page.text_content("#ended-note")
                out[name]["note_shown"] = await page.is_visible("#ended-note")
        # the display says the lesson ended and keeps its last slide
        await display.wait_for_function("() => window.dc.ended === true")
        out["display"] = {
            "ended": await display.text_content("#ended"),
            "visible": await display.is_visible("#ended"),
            "video_note": await display.is_visible("#lead-ended"),
            "slide": await display.evaluate("() => document.getElementById('slide').dataset.index"),
        }
        # the dashboard's lesson view followed the lesson to its end
        await watch.wait_for_function(
            "() => [...document.querySelectorAll('#detail-log li')]"
            ".some((li) => li.textContent.includes('lesson.end'))"
        )
        for page in (*pages.values(), board, watch, display):
            await page.close()
        return out

    report = await run_demo(
        partners=3,
        duration=30.0,
        workdir=tmp_path,
        out=None,
        with_media=True,
        during=during,
        start_when=ready,
    )
    assert report["lost"] == 0
    seen = report["during"]
    printed = report["printed"]
    assert {*CONSOLES, "hub", "metrics", "API", "dashboard", "watch", "tablet", "display"} <= set(
        printed
    )
    for name in CONSOLES:
        page = seen[name]
        assert page["connects"] == 1, (name, page)
        assert page["errors"] == [], (name, page)
        assert page["frames"] >= 60, (name, page)
        assert page["media"] == "connected", (name, page)
    assert seen["plain"]["API"] > 10
    for name in ("tutor console (p3)", "observer"):
        assert seen[name]["note_shown"], seen[name]
        assert seen[name]["note"] in {catalogue(lang)["console.ended"] for lang in ("en", "zh-CN")}
    assert seen["display"] == {
        "ended": catalogue("en")["display.ended"],
        "visible": True,
        "video_note": True,
        "slide": str(report["deck"]["pages"] - 1),  # the script ends on the last page
    }
    # the consoles never displaced a node: every partner still decoded the lead
    for partner in ("p1", "p2", "p3"):
        assert report["media"][partner]["fps"] > 0, report["media"]
