"""The report's charts as PNG bytes, drawn with matplotlib's Agg backend.

Why a module of its own: matplotlib is heavy and stateful (figures must be closed);
keeping it here lets the HTML page stay string building and lets the JSON/CSV
paths never import matplotlib.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from i18n.catalogue import Messages, messages
from ledger.schema import CoverageReport, RegionCoverage

# Chinese labels need a CJK font (Debian: fonts-noto-cjk); DejaVu stays the fallback.
matplotlib.rcParams["font.sans-serif"] = [
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "DejaVu Sans",
    *matplotlib.rcParams["font.sans-serif"],
]

__all__ = ["attendance_png", "heatmap_png", "weeks_png"]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()


def heatmap_png(region: RegionCoverage, texts: Messages | None = None) -> bytes:
    """Lessons per grade x subject cell of one region; empty cells (gaps) in white."""
    t = (texts or messages("en")).t
    m = region.matrix
    width = max(4.0, 0.8 * len(m.subjects) + 2)
    height = max(2.5, 0.5 * len(m.grades) + 1.5)
    fig, ax = plt.subplots(figsize=(width, height))
    if m.grades and m.subjects:
        image = ax.imshow(m.lessons, cmap="Greens", aspect="auto", vmin=0)
        ax.set_xticks(range(len(m.subjects)), m.subjects, rotation=45, ha="right")
        ax.set_yticks(range(len(m.grades)), [t("report.chart.grade", grade=g) for g in m.grades])
        for i, row in enumerate(m.lessons):
            for j, value in enumerate(row):
                label = str(value) if value else t("report.chart.gap")
                ax.text(j, i, label, ha="center", va="center", fontsize=8)
        fig.colorbar(image, ax=ax, label=t("report.chart.lessons"))
    else:
        ax.text(0.5, 0.5, t("report.chart.none"), ha="center", va="center")
        ax.set_axis_off()
    ax.set_title(t("report.chart.coverage_in", region=region.region))
    return _png(fig)


def weeks_png(report: CoverageReport, texts: Messages | None = None) -> bytes:
    """Lessons delivered and school-lessons received per ISO week."""
    t = (texts or messages("en")).t
    labels = [w.week for w in report.weeks]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.35 * len(labels) + 2), 3))
    xs = range(len(labels))
    ax.bar(
        [x - 0.2 for x in xs],
        [w.lessons for w in report.weeks],
        0.4,
        label=t("report.chart.lessons"),
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [w.school_lessons for w in report.weeks],
        0.4,
        label=t("report.chart.school_lessons"),
    )
    ax.set_xticks(list(xs), labels, rotation=60, ha="right", fontsize=7)
    ax.legend(fontsize=8)
    ax.set_title(t("report.chart.weeks"))
    return _png(fig)


def attendance_png(report: CoverageReport, texts: Messages | None = None) -> bytes:
    """How many received classroom-lessons had each attendance rate (10% buckets)."""
    t = (texts or messages("en")).t
    buckets = report.attendance_histogram
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(
        [f"{int(b.lo * 100)}-{int(b.hi * 100)}%" for b in buckets],
        [b.classroom_lessons for b in buckets],
        color="tab:blue",
    )
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.set_ylabel(t("report.chart.classroom_lessons"))
    ax.set_title(t("report.chart.attendance"))
    return _png(fig)
