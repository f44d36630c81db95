"""The bounded renderer against good and hostile files (real pdfium in a real child)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import pytest
from PIL import Image

from hub.decks.exceptions import EncryptedDeck, NotAPdf, RenderLimit, TooManyPages
from hub.decks.render import DeckLimits, DeckRenderer
from simulators.slides import page_colour, write_deck
from tests.hub.decks import hostile

LIMITS = DeckLimits(max_pages=300, width=640, height=360, timeout_s=30, memory_mb=400)


async def test_pages_fit_the_screen_and_are_content_addressed(tmp_path: Path) -> None:
    pdf = write_deck(tmp_path / "deck.pdf", pages=3)
    seen: list[tuple[int, int]] = []
    pages = await DeckRenderer(LIMITS).render(
        pdf, tmp_path / "out", lambda d, t: seen.append((d, t))
    )
    assert [p.width for p in pages] == [640] * 3 and [p.height for p in pages] == [360] * 3
    assert seen == [(1, 3), (2, 3), (3, 3)]
    for index, page in enumerate(pages):
        file = tmp_path / "out" / f"{page.sha256}.png"
        assert hashlib.sha256(file.read_bytes()).hexdigest() == page.sha256
        with Image.open(file) as image:
            # the page's own background colour, away from the drawn number
            assert image.convert("RGB").getpixel((10, 10)) == pytest.approx(
                page_colour(index, 3), abs=3
            )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"PK\x03\x04 this is a zip, not a pdf" * 10, NotAPdf),
        (b"%PDF-1.7\n garbage without objects", NotAPdf),
        (hostile.encrypted(), EncryptedDeck),
        (hostile.many_pages(10_000), TooManyPages),
    ],
    ids=["zip", "broken", "encrypted", "10000-pages"],
)
async def test_hostile_files_get_a_typed_refusal(tmp_path: Path, data: bytes, error: type) -> None:
    source = tmp_path / "upload.pdf"
    source.write_bytes(data)
    with pytest.raises(error):
        await DeckRenderer(LIMITS).render(source, tmp_path / "out")


async def test_decompression_bomb_hits_the_memory_limit_without_stalling_the_loop(
    tmp_path: Path,
) -> None:
    source = tmp_path / "bomb.pdf"
    source.write_bytes(hostile.bomb(400))
    ticks = 0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    with pytest.raises(RenderLimit):
        await DeckRenderer(LIMITS).render(source, tmp_path / "out")
    elapsed = time.monotonic() - started
    stop.set()
    await beat
    # the event loop kept turning while the child fought the bomb
    assert ticks >= elapsed / 0.01 * 0.3


async def test_a_slow_render_is_killed_at_the_deadline(tmp_path: Path) -> None:
    pdf = write_deck(tmp_path / "deck.pdf", pages=40)
    limits = DeckLimits(width=1920, height=1080, timeout_s=0.5, memory_mb=400)
    started = time.monotonic()
    with pytest.raises(RenderLimit, match="longer than"):
        await DeckRenderer(limits).render(pdf, tmp_path / "out")
    assert time.monotonic() - started < 10
