"""A small slide deck the demo (and the tests) make themselves: a real PDF.

Each page has its own background colour, a large page number and a title, drawn
with Pillow and saved as a multi-page PDF, so a test can tell which page a screen
shows from a single pixel (``page_colour``) and a person can read it.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

__all__ = ["deck_font", "page_colour", "write_deck"]


def page_colour(index: int, pages: int) -> tuple[int, int, int]:
    """The background colour of page ``index`` (well apart for neighbouring pages)."""
    hue = (index * 0.61803398875) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.55, 0.92)
    return int(r * 255), int(g * 255), int(b * 255)


#: Debian's fonts-noto-cjk (Simplified Chinese face): the title is bilingual, and
#: Pillow's built-in font has no CJK glyphs (it would draw empty boxes).
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
_CJK_FONT_INDEX_SC = 2


def deck_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font that draws Chinese when fonts-noto-cjk is installed, else Pillow's own."""
    if CJK_FONT.exists():
        return ImageFont.truetype(str(CJK_FONT), size=size, index=_CJK_FONT_INDEX_SC)
    return ImageFont.load_default(size=size)


def write_deck(path: Path, pages: int = 6, *, title: str = "Fractions 分数") -> Path:
    """Write a ``pages``-page PDF to ``path`` (16:9 pages) and return the path."""
    images: list[Image.Image] = []
    for index in range(pages):
        image = Image.new("RGB", (960, 540), page_colour(index, pages))
        draw = ImageDraw.Draw(image)
        big = deck_font(200)
        small = deck_font(40)
        draw.text((480, 250), str(index + 1), fill=(20, 20, 20), font=big, anchor="mm")
        draw.text((40, 470), f"{title} · {index + 1}/{pages}", fill=(20, 20, 20), font=small)
        images.append(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, format="PDF", save_all=True, append_images=images[1:], resolution=72.0)
    return path
