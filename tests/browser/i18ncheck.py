"""Checks a page shown in Chinese against the message catalogue (used by browser tests).

A word is "left in English" when an English catalogue text (one that differs in
Chinese, and is not part of its Chinese text, like the name "Redis") appears in
what the page shows: its text, title, placeholders and tooltips, after the data
the page shows as is (ids, titles, subjects, versions, event types) is removed.
"""

from __future__ import annotations

import re
from typing import Any

from i18n.catalogue import catalogue

SHOWN = """() => {
    const parts = [document.body.innerText, document.title];
    for (const e of document.querySelectorAll('[placeholder],[title]'))
        parts.push(e.placeholder || '', e.title || '');
    return parts.join('\\n');
}"""


def left_in_english(text: str, data: list[str]) -> list[str]:
    for item in sorted(data, key=len, reverse=True):
        if item:
            text = text.replace(item, " ")
    en, zh = catalogue("en"), catalogue("zh-CN")
    found = []
    for key, english in en.items():
        head = english.split("{")[0].strip()
        if english in zh[key] or not head or not re.search(r"[A-Za-z]{3,}", head):
            continue
        if re.search(rf"(?<![A-Za-z]){re.escape(head)}(?![A-Za-z])", text):
            found.append(english)
    return found


async def untranslated(page: Any, data: list[str]) -> list[str]:
    """English catalogue texts a zh-CN page shows, plus keys it asked for and lacked."""
    assert await page.evaluate("() => document.documentElement.lang") == "zh-CN"
    missing = await page.evaluate("() => window.dcI18n.missing")
    return [f"missing key {k}" for k in missing] + left_in_english(await page.evaluate(SHOWN), data)
