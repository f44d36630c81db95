"""The HTML format: one self-contained page, charts embedded as base64 PNG.

Why self-contained: the page is mailed to district offices and opened offline;
it references nothing outside itself (no scripts, no stylesheets, no images).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from ledger.formats.charts import attendance_png, heatmap_png, weeks_png
from ledger.formats.csvfmt import tables
from ledger.schema import CoverageReport

__all__ = ["to_html", "write_html"]

_STYLE = """
body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3}td:first-child{text-align:left}
img{max-width:100%;margin:0.5em 0}
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1 else f"{value:,.1f}"
    return str(value)


def _lessons(report: CoverageReport) -> str:
    """The lessons of the window, each linked to its replay when it was recorded."""
    header = [
        "day",
        "session",
        "title",
        "subject",
        "grade",
        "lead school",
        "schools received",
        "minutes",
        "replay minutes",
        "replay",
    ]
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
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
        tds = "".join(f"<td>{escape(_fmt(v))}</td>" for v in cells)
        if lesson.replay:
            link = f'<a href="{escape(lesson.replay, quote=True)}">replay 回放</a>'
        else:
            link = "not recorded"
        rows.append(f"<tr>{tds}<td>{link}</td></tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def to_html(report: CoverageReport) -> str:
    w = report.window
    where = f" in {w.region}" if w.region else ""
    title = f"Coverage {w.from_.isoformat()} to {w.to.isoformat()}{where}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>Dates and weeks in UTC{escape(w.tz)}; a lesson counts as received when a "
        f"partner classroom was connected at least {report.params.min_minutes:g} minutes.</p>",
    ]
    all_tables = tables(report)
    parts.append("<h2>Summary</h2>" + _table(*all_tables["summary"]))
    parts.append("<h2>Coverage by region</h2>")
    for region in report.coverage.regions:
        parts.append(_img(heatmap_png(region), f"coverage heatmap {region.region}"))
    parts.append("<h2>Lessons per week</h2>" + _img(weeks_png(report), "lessons per week"))
    parts.append("<h2>Attendance</h2>" + _img(attendance_png(report), "attendance distribution"))
    for name, heading in (
        ("schools", "Partner schools"),
        ("teachers", "Lead teachers"),
        ("pairs", "School pairs"),
        ("weeks", "Weeks"),
        ("coverage_regions", "Coverage cells by region"),
    ):
        parts.append(f"<h2>{heading}</h2>" + _table(*all_tables[name]))
    parts.append("<h2>Lessons</h2>" + _lessons(report))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(report: CoverageReport, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_html(report), encoding="utf-8")
    return out
