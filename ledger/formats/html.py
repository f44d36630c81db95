"""The HTML format: one self-contained page, charts embedded as base64 PNG.

Why self-contained: the page is mailed to district offices and opened offline;
it references nothing outside itself (no scripts, no stylesheets, no images).

Words come from the message catalogues (``i18n``) in the page's language
(``texts``: Simplified Chinese or English); table cells that are data (school ids,
subjects, weeks) stay as they are. ``switch`` (when the hub serves the page) is
the pair of addresses of the same report in each language, drawn as a visible
switch at the top; a mailed file has none.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from i18n.catalogue import LANGS, Messages, messages
from ledger.formats.charts import attendance_png, heatmap_png, weeks_png
from ledger.formats.csvfmt import tables
from ledger.schema import CoverageReport

__all__ = ["to_html", "write_html"]

_STYLE = """
body{font-family:"Noto Sans CJK SC",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3}td:first-child{text-align:left}
img{max-width:100%;margin:0.5em 0}
nav.lang{float:right}nav.lang a,nav.lang b{margin-left:.6em}
"""
#: Cell values that are words, not data: translated.
_WORDS = {"true", "false", "long_term", "occasional", "one_off"}


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _table(texts: Messages, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(texts.get(f'report.col.{h}', h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_fmt(texts, v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary(texts: Messages, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """The summary's first column names metrics: translated like column headers."""
    return [[texts.get(f"report.col.{row[0]}", str(row[0])), *row[1:]] for row in rows]


def _fmt(texts: Messages, value: Any) -> str:
    if isinstance(value, bool):
        return texts.t(f"report.value.{str(value).lower()}")
    if isinstance(value, date):
        return texts.date(value)
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1 else texts.number(value)
    if isinstance(value, int):
        return texts.number(value)
    if isinstance(value, str) and value in _WORDS:
        return texts.t(f"report.value.{value}")
    return str(value)


def _switch(texts: Messages, switch: Mapping[str, str] | None) -> str:
    if not switch:
        return ""
    items = []
    for lang in LANGS:
        name = escape(texts.t(f"lang.{lang}"))
        if lang == texts.lang:
            items.append(f"<b>{name}</b>")
        elif lang in switch:
            items.append(f'<a href="{escape(switch[lang])}" hreflang="{lang}">{name}</a>')
    label = escape(texts.t("lang.label"))
    return f'<nav class="lang" id="lang-switch">{label}{"".join(items)}</nav>'


def _lessons(texts: Messages, report: CoverageReport) -> str:
    """The lessons of the window, each recorded one linked to its replay page."""
    columns = (
        "day",
        "session",
        "title",
        "subject",
        "grade",
        "lead_school",
        "partner_schools_received",
        "minutes",
        "replay_minutes",
        "replay",
    )
    head = "".join(f"<th>{escape(texts.t(f'report.col.{c}'))}</th>" for c in columns)
    rows = []
    for lesson in report.lessons:
        cells = [
            lesson.day.isoformat(),
            lesson.session,
            lesson.title,
            lesson.subject,
            lesson.grade,
            lesson.lead_school,
            lesson.partner_schools_received,
            lesson.minutes,
            lesson.replay_minutes,
        ]
        tds = "".join(f"<td>{escape(_fmt(texts, v))}</td>" for v in cells)
        if lesson.replay:
            href = escape(lesson.replay, quote=True)
            link = f'<a href="{href}">{escape(texts.t("report.value.replay"))}</a>'
        else:
            link = escape(texts.t("report.value.not_recorded"))
        rows.append(f"<tr>{tds}<td>{link}</td></tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def to_html(
    report: CoverageReport,
    texts: Messages | None = None,
    *,
    switch: Mapping[str, str] | None = None,
) -> str:
    texts = texts or messages("en")
    t = texts.t
    w = report.window
    start, end = texts.date(w.from_), texts.date(w.to)
    title = (
        t("report.title_region", start=start, end=end, region=w.region)
        if w.region
        else t("report.title", start=start, end=end)
    )
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{texts.lang}"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        _switch(texts, switch),
        f"<h1>{escape(title)}</h1>",
        "<p>"
        + escape(t("report.intro", tz=w.tz, minutes=f"{report.params.min_minutes:g}"))
        + "</p>",
    ]
    all_tables = tables(report)
    header, rows = all_tables["summary"]
    parts.append(
        f"<h2>{escape(t('report.summary'))}</h2>" + _table(texts, header, _summary(texts, rows))
    )
    parts.append(f"<h2>{escape(t('report.by_region'))}</h2>")
    for region in report.coverage.regions:
        alt = t("report.chart.coverage_in", region=region.region)
        parts.append(_img(heatmap_png(region, texts), alt))
    parts.append(
        f"<h2>{escape(t('report.chart.weeks'))}</h2>"
        + _img(weeks_png(report, texts), t("report.chart.weeks"))
    )
    parts.append(
        f"<h2>{escape(t('report.attendance'))}</h2>"
        + _img(attendance_png(report, texts), t("report.chart.attendance"))
    )
    for name in ("schools", "classrooms", "teachers", "pairs", "weeks", "coverage_regions"):
        parts.append(
            f"<h2>{escape(t(f'report.table.{name}'))}</h2>" + _table(texts, *all_tables[name])
        )
    parts.append(f"<h2>{escape(t('report.table.lessons'))}</h2>" + _lessons(texts, report))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(report: CoverageReport, out: Path, lang: str = "en") -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_html(report, messages(lang)), encoding="utf-8")
    return out
