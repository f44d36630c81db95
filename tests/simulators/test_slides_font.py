"""The generated deck's bilingual title must draw its Chinese, not empty boxes."""

from __future__ import annotations

import pytest

from simulators.slides import CJK_FONT, deck_font


@pytest.mark.skipif(not CJK_FONT.exists(), reason="fonts-noto-cjk is not installed")
def test_deck_font_draws_distinct_chinese_glyphs() -> None:
    font = deck_font(40)
    # a font without CJK draws every missing glyph as the same box
    first, second = (bytes(font.getmask(ch)) for ch in ("分", "数"))
    assert first and second
    assert first != second
