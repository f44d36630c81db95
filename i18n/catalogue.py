"""Message catalogues for every browser page, in Simplified Chinese and English.

One JSON file per language in this package (``zh-CN.json``, ``en.json``): flat
``key -> text`` maps with ``{name}`` placeholders. Browser pages load them through
the hub's ``/i18n/`` route (``i18n.js`` here picks the language and draws the
switch); pages the hub renders itself (the HTML coverage report) use this module,
so one catalogue holds every word a teacher or operator reads. The command line
stays English and does not use them.

Pure apart from reading the two files once. Numbers and dates are written the way
each language writes them (CLDR data through Babel).
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

__all__ = [
    "CATALOGUE_DIR",
    "DEFAULT_LANG",
    "LANGS",
    "Messages",
    "catalogue",
    "messages",
    "negotiate",
    "static_file",
]

CATALOGUE_DIR = Path(str(resources.files("i18n")))
LANGS = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"


def static_file(name: str) -> tuple[Path, str] | None:
    """``(path, media type)`` of a file pages load from ``/i18n/``: ``i18n.js`` and
    the catalogues; None for any other name (the routes serving them answer 404)."""
    if name == "i18n.js":
        return CATALOGUE_DIR / name, "text/javascript; charset=utf-8"
    if name.endswith(".json") and name[: -len(".json")] in LANGS:
        return CATALOGUE_DIR / name, "application/json; charset=utf-8"
    return None


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """The ``key -> text`` map of ``lang`` (one of ``LANGS``)."""
    if lang not in LANGS:
        raise KeyError(lang)
    data: dict[str, str] = json.loads((CATALOGUE_DIR / f"{lang}.json").read_text("utf-8"))
    return data


def negotiate(accept_language: str | None, asked: str | None = None) -> str:
    """``asked`` (``?lang=``) if supported, else the first supported language of the
    ``Accept-Language`` header (``zh*`` -> ``zh-CN``, ``en*`` -> ``en``), else Chinese."""
    for candidate in ([asked] if asked else []) + _ranked(accept_language or ""):
        low = candidate.strip().lower()
        if low.startswith("zh"):
            return "zh-CN"
        if low.startswith("en"):
            return "en"
    return DEFAULT_LANG


def _ranked(header: str) -> list[str]:
    items = []
    for i, part in enumerate(header[:500].split(",")[:20]):
        tag, _, params = part.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag.strip() and q > 0:
            items.append((-q, i, tag.strip()))
    return [tag for _, _, tag in sorted(items)]


class Messages:
    """Texts of one language; ``t(key, **params)`` fills ``{name}`` placeholders."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._texts = catalogue(lang)
        self._fallback = catalogue("en")

    def get(self, key: str, default: str) -> str:
        """The text of ``key``, or ``default`` (for names made outside the catalogue,
        like a report column added later: shown as is rather than failing the page)."""
        return self._texts.get(key) or self._fallback.get(key) or default

    def t(self, key: str, **params: Any) -> str:
        text = self._texts.get(key) or self._fallback.get(key)
        if text is None:
            raise KeyError(f"no message {key!r}")
        return string.Formatter().vformat(text, (), params) if params else text

    @property
    def _locale(self) -> str:
        return self.lang.replace("-", "_")

    def number(self, value: float, digits: int = 1) -> str:
        """The number as written in this language (CLDR, through Babel)."""
        pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
        return str(format_decimal(value, format=pattern, locale=self._locale))

    def percent(self, share: float) -> str:
        return str(format_percent(share, format="#,##0.0%", locale=self._locale))

    def date(self, day: date) -> str:
        """``2026年3月2日`` / ``March 2, 2026``."""
        return str(format_date(day, format="long", locale=self._locale))


def messages(lang: str) -> Messages:
    return Messages(lang if lang in LANGS else DEFAULT_LANG)
