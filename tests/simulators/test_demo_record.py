"""``dualclass demo --record``: the demo lesson recorded, checked frame by frame."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

from classroom_node.media.pattern import read_slide


def _frames(path: Path) -> list[tuple[float, bool, int | None]]:
    """Every picture of the file, first to last: (time s, keyframe, slide shown)."""
    with av.open(str(path)) as container:
        return [
            (float(frame.time or 0.0), frame.key_frame, read_slide(frame))
            for frame in container.decode(video=0)
        ]


def _shown_at(frames: list[tuple[float, bool, int | None]], t: float) -> int | None:
    """The slide of the picture on screen at ``t`` (the last frame at or before it)."""
    shown = [slide for at, _, slide in frames if at <= t + 1e-6]
    return shown[-1] if shown else None


@pytest.mark.timeout(180)
def test_demo_record_lesson_decodes_and_slides_land_on_their_pictures(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "dualclass.cli", "demo", "--record",
            "--duration", "10", "--partners", "2",
            "--report", str(out), "--workdir", str(tmp_path / "run"),
            "--recording-dir", str(tmp_path / "recordings"),
        ],
        capture_output=True, text=True, timeout=170, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    printed = json.loads(proc.stdout.strip().splitlines()[-1])
    report = json.loads(out.read_text())
    assert printed["replay_url"].startswith(
        report["hub_url"] + f"/replay/{report['session']}?token="
    )
    recording = report["recording"]
    assert recording["status"] == "complete", recording
    lead = Path(next(f for f in recording["files"] if f.endswith("/lead.webm")))
    timeline = json.loads(Path(recording["timeline"]).read_text())
    events = timeline["events"]

    # the file decodes from its first picture to its last, starting on a keyframe
    frames = _frames(lead)
    assert len(frames) > 100
    assert frames[0][1], "the recording must start on a keyframe"
    # and lasts the lesson (lesson.start to lesson.end), within 1 s
    start = next(e for e in events if e["type"] == "lesson.start")
    end = next(e for e in events if e["type"] == "lesson.end")
    with av.open(str(lead)) as container:
        duration = container.duration / 1e6
    lesson_s = (end["ts"] - start["ts"]) / 1000
    assert abs(duration - lesson_s) <= 1.0, (duration, lesson_s, recording)

    # at each slide change the picture shows that slide, within one frame interval
    manifest = json.loads((lead.parent / "recording.json").read_text())
    step_s = (
        next(f for f in manifest["files"] if f["name"] == "lead.webm")["streams"]["video"][
            "min_step_ms"
        ]
        / 1000
    )
    slides = [e for e in events if e["type"] == "slide.show" and e["src"] == "lead"]
    assert len(slides) >= 4
    checked = 0
    for event in slides:
        if event["t"] < frames[0][0] or event["t"] + step_s > frames[-1][0]:
            continue  # before the first picture or after the last
        shown = _shown_at(frames, event["t"] + step_s + 0.001)
        changes = [(at, slide) for at, _, slide in frames if abs(at - event["t"]) < 1.0]
        assert shown == event["body"]["index"], (event, step_s, changes)
        checked += 1
    assert checked >= 3
