"""The report on the terminal, as JSON and as an HTML page with plots.

JSON keys (at least): ``sessions``, ``classrooms``, ``events`` {``submitted``,
``sequenced``, ``lost``, ``duplicated``, ``rejected`` {reason: count}},
``latency_ms`` {``p50``, ``p99``, ``max``}, ``video`` {``fps_min``, ``fps_p5``},
``hub`` {``cpu_s_per_s``, ``rss_mb``}, ``faults`` [{``at_s``, ``kind``,
``target``, ``recovery_s``}], and after a capacity search ``capacity``
{``sessions``, ``partners``, ``latency_ms``, ``fps_min``}.

The HTML page is self-contained (plots embedded as PNG): latency and fps over time
with the faults marked, in Chinese and English (Noto CJK font).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["html_report", "summary_lines", "write_json"]


def summary_lines(report: dict[str, Any]) -> list[str]:
    ev = report["events"]
    lat = report["latency_ms"]
    hub = report["hub"]
    lines = [
        "",
        f"summary: {report['sessions']} sessions, {report['classrooms']} classrooms, "
        f"{report['duration_s']:g} s lesson ({report['wall_s']:g} s with drain)",
        f"  events    submitted {ev['submitted']}  sequenced {ev['sequenced']}  "
        f"rejected {sum(ev['rejected'].values())} {ev['rejected'] or ''}  lost {ev['lost']}  "
        f"duplicated {ev['duplicated']}",
        f"  latency   lead -> every classroom applied: p50 {lat['p50']} ms  p99 {lat['p99']} ms  "
        f"max {lat['max']} ms  ({lat['count']} deliveries)",
        *(
            f"            after the start-up burst: p50 {w['p50']} ms  p99 {w['p99']} ms"
            for w in [report["latency_ms_after_warmup"]]
            if "latency_ms_after_warmup" in report
        ),
        *(
            f"            {name.replace('_', ' ')}: p50 {leg['p50']} ms  p99 {leg['p99']} ms"
            for name, leg in report.get("latency_legs_ms", {}).items()
        ),
        f"  hub       {_num(hub['cpu_s_per_s'])} CPU-s/s  RSS {_num(hub['rss_mb'])} MB"
        + (
            f"  ({_num(hub['cpu_s_per_s_per_partner_stream'])} CPU-s/s per partner stream)"
            if report.get("media")
            else ""
        ),
    ]
    for name, svc in report.get("services", {}).items():
        lines.append(f"  {name:<9} {_num(svc['cpu_s_per_s'])} CPU-s/s  RSS {svc['rss_mb_max']} MB")
    if report.get("media"):
        v = report["video"]
        lines.append(
            f"  video     {v.get('classrooms', 0)} partner streams  fps min {v['fps_min']}  "
            f"p5 {v['fps_p5']}  freezes {v.get('freezes')}  loss max {v.get('loss_max')}  "
            f"rtt max {v.get('rtt_ms_max')} ms"
        )
    nodes = report["nodes"]
    lines.append(
        f"  nodes     {nodes['reconnects']} reconnects by "
        f"{nodes['reconnected_classrooms']} classrooms"
    )
    for fault in report["faults"]:
        rec = fault["recovery_s"]
        lines.append(
            f"  fault     {fault['at_s']:g}s {fault['kind']} {fault['target']} "
            f"for {fault['hold_s']:g}s -> recovered "
            + ("never (within the run)" if rec is None else f"{rec:g} s after it ended")
        )
    cap = report.get("capacity")
    if cap and not cap["sessions"]:
        lines.append(
            f"  capacity  no number of sessions of {cap['partners']} partners held the targets "
            f"{cap['targets']} (this report: the smallest run tried)"
        )
    elif cap:
        lines.append(
            f"  capacity  {cap['sessions']} sessions of {cap['partners']} partners held "
            f"(p99 {cap['latency_ms']} ms, fps min {cap['fps_min']})"
        )
    machine = report.get("machine", {})
    lines.append(
        f"  machine   {machine.get('cpus')} CPUs, load average "
        f"{' / '.join(str(x) for x in machine.get('loadavg_1_5_15', []))} (1/5/15 min); "
        f"{report.get('machine_note', '')}"
    )
    return lines


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:g}"


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def _plot(draw: Callable[[Any], None]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = ["Noto Sans CJK SC", "DejaVu Sans"]
    fig, ax = plt.subplots(figsize=(9, 3.4), dpi=96)
    try:
        draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _mark_faults(ax: Any, faults: list[dict[str, Any]]) -> None:
    for f in faults:
        start = f.get("fired_at_s", f["at_s"])
        end = f.get("ended_at_s", start + f.get("hold_s", 0))
        ax.axvspan(start, max(end, start + 0.5), color="tab:red", alpha=0.15)
        ax.annotate(
            f"{f['kind']}:{f['target']}",
            (start, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            color="tab:red",
            va="top",
        )


def html_report(report: dict[str, Any], path: Path) -> None:
    """A self-contained page: figures, plots, per-session table."""
    rows = report["latency_over_time"]
    faults = report["faults"]

    def latency(ax: Any) -> None:
        ax.plot([r["t_s"] for r in rows], [r["p99"] for r in rows], label="p99")
        ax.plot([r["t_s"] for r in rows], [r["p50"] for r in rows], label="p50")
        ax.set_xlabel("时间 time (s)")
        ax.set_ylabel("延迟 latency (ms)")
        ax.set_yscale("symlog", linthresh=10)
        ax.set_title("事件延迟 Event latency, lead → every classroom")
        _mark_faults(ax, faults)
        ax.legend(loc="upper right")

    plots = [_plot(latency)]
    fps_rows = report.get("fps_over_time") or []
    if report.get("media"):

        def fps(ax: Any) -> None:
            ax.plot([r["t_s"] for r in fps_rows], [r["p50"] for r in fps_rows], label="p50")
            ax.plot(
                [r["t_s"] for r in fps_rows],
                [r.get("min", r["p50"]) for r in fps_rows],
                label="min",
            )
            ax.set_xlabel("时间 time (s)")
            ax.set_ylabel("帧率 fps")
            ax.set_title("视频帧率 Video fps per partner classroom")
            _mark_faults(ax, faults)
            ax.legend(loc="lower right")

        plots.append(_plot(fps))
    ev = report["events"]
    lat = report["latency_ms"]
    hub = report["hub"]
    figures = [
        ("会话 Sessions", report["sessions"]),
        ("教室 Classrooms", report["classrooms"]),
        ("提交 Submitted", ev["submitted"]),
        ("已排序 Sequenced", ev["sequenced"]),
        ("拒绝 Rejected", json.dumps(ev["rejected"], ensure_ascii=False)),
        ("丢失 Lost", ev["lost"]),
        ("重复 Duplicated", ev["duplicated"]),
        ("延迟 Latency p50 / p99 / max (ms)", f"{lat['p50']} / {lat['p99']} / {lat['max']}"),
        (
            "视频 Video fps min / p5",
            f"{report['video'].get('fps_min')} / {report['video'].get('fps_p5')}",
        ),
        ("中心 Hub CPU-s/s, RSS MB", f"{hub['cpu_s_per_s']}, {hub['rss_mb']}"),
        ("重连 Node reconnects", report["nodes"]["reconnects"]),
    ]
    if report.get("capacity"):
        cap = report["capacity"]
        figures.append(
            (
                "容量 Capacity",
                f"{cap['sessions']} x {cap['partners']} "
                f"(p99 {cap['latency_ms']} ms, fps {cap['fps_min']})",
            )
        )
    table = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in figures
    )
    fault_rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(f.get(k)))}</td>"
            for k in ("at_s", "kind", "target", "hold_s", "recovery_s")
        )
        + "</tr>"
        for f in faults
    )
    session_rows = "".join(
        f"<tr><td>{html.escape(s['session'])}</td><td>{s['submitted']}</td><td>{s['sequenced']}</td>"
        f"<td>{html.escape(json.dumps(s['rejected']))}</td><td>{s['lost']}</td>"
        f"<td>{s['latency_ms']['p50']}</td><td>{s['latency_ms']['p99']}</td><td>{s['latency_ms']['max']}</td></tr>"
        for s in report.get("per_session", [])
    )
    plan_text = html.escape(
        ", ".join(f"{k} {v}" for k, v in report.get("plan", {}).items() if k != "mix")
        + " · mix "
        + ", ".join(f"{k}={v:g}/min" for k, v in report.get("plan", {}).get("mix", {}).items())
    )
    if not fault_rows:
        fault_rows = '<tr><td colspan="5">无 none</td></tr>'
    images = "".join(f'<img alt="plot" src="data:image/png;base64,{p}">' for p in plots)
    page = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>dualclass sim 负载模拟报告 load simulation report</title>
<style>body{{font-family:"Noto Sans CJK SC",sans-serif;margin:2em;max-width:60em}}
table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:left}}
img{{max-width:100%;display:block;margin:1em 0}}</style></head><body>
<h1>负载模拟报告 Load simulation report</h1>
<p>{plan_text}</p>
<table>{table}</table>
{images}
<h2>故障 Faults</h2>
<table><tr><th>时间 at (s)</th><th>类型 kind</th><th>目标 target</th>
<th>持续 hold (s)</th><th>恢复 recovery (s)</th></tr>{fault_rows}</table>
<h2>各会话 Per session</h2>
<table><tr><th>会话 session</th><th>提交 submitted</th><th>已排序 sequenced</th>
<th>拒绝 rejected</th><th>丢失 lost</th><th>p50</th><th>p99</th><th>max</th></tr>
{session_rows}</table>
<p>{html.escape(report.get("machine_note", ""))}</p>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
