"""The links the demo prints, opened in Chromium while the demo's lesson runs.

Every classroom's node holds its camera; the lead, tutor and observer consoles
open beside them. Each must decode video, stay connected for the whole lesson
(no ``replaced``, no reconnect), and a hand raised in the tutor console must be
sequenced as its classroom.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from simulators.demo import run_demo

from .conftest import FRAMES_DECODED, browser_skip_reason, wait_frames

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or ""),
    pytest.mark.timeout(240),
]

HAND_SEQUENCED = """(node) => window.dc.events.some(
  (e) => e.type === 'hand.raise' && e.src === node && e.seq > 0)"""


async def _open(context: Any, url: str) -> Any:
    page = await context.new_page()
    page.on("console", lambda msg: print("console:", msg.text))
    await page.goto(url)
    await page.wait_for_function("() => window.dc && window.dc.answered === true", timeout=60_000)
    return page


async def test_demo_links_work_for_the_whole_lesson(tmp_path: Path, browser_context: Any) -> None:
    async def during(links: dict[str, str]) -> dict[str, Any]:
        names = list(links)
        opened = await asyncio.gather(*(_open(browser_context, links[n]) for n in names))
        pages = dict(zip(names, opened, strict=True))
        # early in the lesson: the tutor raises the classroom's hand from the console
        tutor = pages["tutor console (p3)"]
        await tutor.wait_for_function(
            "() => window.dc.state && window.dc.state.status === 'live'", timeout=60_000
        )
        await tutor.click("[data-action=raise]")
        await tutor.wait_for_function("() => window.dc.acks.length >= 1", timeout=30_000)
        for page in pages.values():
            await page.wait_for_function(HAND_SEQUENCED, arg="p3", timeout=30_000)
            await wait_frames(page, 20, timeout=60)
        # ... and every console stays on, with video, until the lesson has ended
        for page in pages.values():
            await page.wait_for_function(
                "() => window.dc.state && window.dc.state.status === 'ended'", timeout=90_000
            )
        out = {}
        for name, page in pages.items():
            out[name] = await page.evaluate(
                f"""async () => ({{
                  connects: window.dc.connects,
                  errors: window.dc.errors.map((e) => e.code),
                  frames: await ({FRAMES_DECODED})(),
                  media: window.dc.pc && window.dc.pc.connectionState,
                }})"""
            )
        return out

    report = await run_demo(
        partners=3, duration=30.0, workdir=tmp_path, out=None, with_media=True, during=during
    )
    assert report["lost"] == 0
    seen = report["during"]
    assert set(seen) == {"lead console", "tutor console (p3)", "observer"}
    for name, page in seen.items():
        assert page["connects"] == 1, (name, page)
        assert page["errors"] == [], (name, page)
        assert page["frames"] >= 60, (name, page)
        assert page["media"] == "connected", (name, page)
    # the consoles never displaced a node: every partner still decoded the lead
    for partner in ("p1", "p2", "p3"):
        assert report["media"][partner]["fps"] > 0, report["media"]
