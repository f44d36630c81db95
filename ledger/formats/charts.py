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

from ledger.schema import CoverageReport, RegionCoverage

__all__ = ["attendance_png", "heatmap_png", "weeks_png"]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()


def heatmap_png(region: RegionCoverage) -> bytes:
    """Lessons per grade x subject cell of one region; empty cells (gaps) in white."""
    m = region.matrix
    width = max(4.0, 0.8 * len(m.subjects) + 2)
    height = max(2.5, 0.5 * len(m.grades) + 1.5)
    fig, ax = plt.subplots(figsize=(width, height))
    if m.grades and m.subjects:
        image = ax.imshow(m.lessons, cmap="Greens", aspect="auto", vmin=0)
        ax.set_xticks(range(len(m.subjects)), m.subjects, rotation=45, ha="right")
        ax.set_yticks(range(len(m.grades)), [f"grade {g}" for g in m.grades])
        for i, row in enumerate(m.lessons):
            for j, value in enumerate(row):
                label = str(value) if value else "gap"
                ax.text(j, i, label, ha="center", va="center", fontsize=8)
        fig.colorbar(image, ax=ax, label="lessons")
    else:
        ax.text(0.5, 0.5, "no sessions scheduled", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title(f"Coverage in {region.region}")
    return _png(fig)


def weeks_png(report: CoverageReport) -> bytes:
    """Lessons delivered and school-lessons received per ISO week."""
    labels = [w.week for w in report.weeks]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.35 * len(labels) + 2), 3))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], [w.lessons for w in report.weeks], 0.4, label="lessons")
    ax.bar(
        [x + 0.2 for x in xs],
        [w.school_lessons for w in report.weeks],
        0.4,
        label="school-lessons received",
    )
    ax.set_xticks(list(xs), labels, rotation=60, ha="right", fontsize=7)
    ax.legend(fontsize=8)
    ax.set_title("Lessons per week")
    return _png(fig)


def attendance_png(report: CoverageReport) -> bytes:
    """How many received classroom-lessons had each attendance rate (10% buckets)."""
    buckets = report.attendance_histogram
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(
        [f"{int(b.lo * 100)}-{int(b.hi * 100)}%" for b in buckets],
        [b.classroom_lessons for b in buckets],
        color="tab:blue",
    )
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.set_ylabel("classroom-lessons")
    ax.set_title("Attendance rate distribution")
    return _png(fig)
