"""The message catalogues: both languages complete, every key a page uses exists,
and no page holds words of its own."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from classroom_node.display.routes import STATIC_DIR as DISPLAY_DIR
from hub.api.consoles import STATIC_DIR as CONSOLE_DIR
from hub.api.ops import OPS_DIR
from i18n.catalogue import CATALOGUE_DIR, catalogue, messages, negotiate

#: Every folder of browser pages, the hub's and the classroom node's (a page added
#: in a new folder is checked too).
PAGE_DIRS = sorted(
    {OPS_DIR, DISPLAY_DIR}
    | {d for d in CONSOLE_DIR.parent.iterdir() if d.is_dir()}
    | {d for d in DISPLAY_DIR.parent.iterdir() if d.is_dir()}
)
PAGES = sorted(p for d in PAGE_DIRS for p in d.glob("*.html"))
SCRIPTS = sorted([*(p for d in PAGE_DIRS for p in d.glob("*.js")), CATALOGUE_DIR / "i18n.js"])
PLACEHOLDER = re.compile(r"\{(\w+)\}")
#: Text nodes that are not words: symbols and punctuation only.
SYMBOLS = re.compile("^[\\s\\-\u2014\u2013\u00b7:/#()\u2026|,.0-9]*$")


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    en, zh = catalogue("en"), catalogue("zh-CN")
    assert en.keys() == zh.keys()
    for key in en:
        assert set(PLACEHOLDER.findall(en[key])) == set(PLACEHOLDER.findall(zh[key])), key
        assert zh[key].strip(), key


class _Texts(HTMLParser):
    """Collects text nodes outside elements that take their text from the catalogue."""

    VOID = {"meta", "link", "input", "br", "img", "hr", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.loose: list[str] = []
        self.keys: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for attr in ("data-i18n", "data-i18n-placeholder", "data-i18n-title"):
            if names.get(attr):
                self.keys.append(str(names[attr]))
        for attr in ("placeholder", "title", "alt", "aria-label"):
            if names.get(attr) and f"data-i18n-{attr}" not in names:
                self.loose.append(f"{tag}[{attr}]={names[attr]}")
        if tag not in self.VOID:
            self.stack.append("data-i18n" in names or tag in ("script", "style"))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if any(self.stack):
            return
        if not SYMBOLS.match(data):
            self.loose.append(data.strip())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_hold_no_words_of_their_own(page: Path) -> None:
    parser = _Texts()
    parser.feed(page.read_text("utf-8"))
    assert parser.loose == []
    missing = [k for k in parser.keys if k not in catalogue("en")]
    assert missing == []
    assert "/i18n/i18n.js" in page.read_text("utf-8")
    assert "data-lang-switch" in page.read_text("utf-8"), "no visible language switch"


KEY_CALL = re.compile(r"""\bt\(\s*["'`]([\w.\-]+)["'`]""")
TEMPLATE_KEY = re.compile(r"""\bt\(\s*`([\w.\-]*)\$\{""")
#: A string literal set as visible text: textContent = "…" / text: "…" with letters.
WORDY = re.compile(r"""(?:textContent\s*=|\btext:)\s*["']([^"']*[A-Za-z]{3,}[^"']*)["']""")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_use_catalogue_keys_only(script: Path) -> None:
    source = script.read_text("utf-8")
    en = catalogue("en")
    missing = [k for k in KEY_CALL.findall(source) if k not in en]
    assert missing == []
    for prefix in TEMPLATE_KEY.findall(source):
        assert any(k.startswith(prefix) for k in en), prefix
    assert WORDY.findall(source) == []


def test_negotiation() -> None:
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert negotiate("en-US,en;q=0.9,zh;q=0.5") == "en"
    assert negotiate("fr-FR, en;q=0.3") == "en"
    assert negotiate("fr-FR") == "zh-CN"
    assert negotiate("en", "zh-TW") == "zh-CN"
    assert negotiate("x" * 10_000) == "zh-CN"


def test_messages_fill_placeholders() -> None:
    zh = messages("zh-CN")
    assert zh.t("report.title", start="2026-03-02", end="2026-03-08") == (
        "覆盖报告 2026-03-02 至 2026-03-08"
    )
    assert zh.number(12345) == "12,345"
    assert zh.date(date(2026, 3, 2)) == "2026年3月2日"
    assert messages("en").date(date(2026, 3, 2)) == "March 2, 2026"
    assert messages("en").percent(0.125) == "12.5%"
    # a name made outside the catalogue is shown as is, never a failed page
    assert zh.get("report.col.added_later", "added_later") == "added_later"


async def test_catalogues_are_served_and_nothing_else() -> None:
    import httpx
    from fastapi import FastAPI

    from hub.api import languages
    from hub.api.problems import install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(languages.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        zh = await client.get("/i18n/zh-CN.json")
        assert zh.status_code == 200 and zh.json() == dict(catalogue("zh-CN"))
        assert "charset=utf-8" in zh.headers["content-type"]
        assert (await client.get("/i18n/i18n.js")).status_code == 200
        for name in ("catalogue.py", "fr.json", "..%2Fpyproject.toml", "x" * 300):
            assert (await client.get(f"/i18n/{name}")).status_code == 404, name


def test_every_report_column_and_figure_has_words() -> None:
    """A field added to the report's tables needs its name in both catalogues."""
    import ledger.schema as schema

    names = {"metric", "value", "from", "to", "tz", "region", "min_minutes", "long_term_weeks"}
    names |= {"grade", "subject", "scheduled", "lessons", "school"}  # long-form coverage
    for model in (
        schema.Summary,
        schema.SchoolRow,
        schema.TeacherRow,
        schema.PairRow,
        schema.WeekRow,
        schema.AttendanceBucket,
    ):
        names |= set(model.model_fields)
    missing = sorted(n for n in names if f"report.col.{n}" not in catalogue("zh-CN"))
    assert missing == []
