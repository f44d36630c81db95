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


def _on_screen(frames: list[tuple[float, bool, int | None]], t: float) -> int:
    """Index of the picture on screen at ``t`` (the last frame at or before it)."""
    return max(i for i, (at, _, _) in enumerate(frames) if at <= t + 1e-6)


@pytest.mark.timeout(180)
def test_demo_record_lesson_decodes_and_slides_land_on_their_pictures(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "dualclass.cli", "demo", "--record",
            "--duration", "10", "--partners", "1",
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
    assert frames[0][1], "the recording must start on a keyframe"
    # and lasts the lesson (lesson.start to lesson.end), within 1 s
    start = next(e for e in events if e["type"] == "lesson.start")
    end = next(e for e in events if e["type"] == "lesson.end")
    with av.open(str(lead)) as container:
        duration = container.duration / 1e6
    lesson_s = (end["ts"] - start["ts"]) / 1000
    assert abs(duration - lesson_s) <= 1.0, (duration, lesson_s, recording)
    assert len(frames) >= 5 * lesson_s  # pictures all along (15 fps sent; a loaded box sends less)

    # at each slide change the picture shows that slide within one frame interval at
    # the recorded rate: on screen at the event's time, or in the next picture
    slides = [e for e in events if e["type"] == "slide.show" and e["src"] == "lead"]
    assert len(slides) >= 4
    checked = 0
    for event in slides:
        if event["t"] < frames[0][0] or event["t"] >= frames[-2][0]:
            continue  # before the first picture or at the last
        i = _on_screen(frames, event["t"])
        pictures = [frames[i][2], frames[i + 1][2]]
        around = [(at, slide) for at, _, slide in frames[max(i - 3, 0) : i + 4]]
        assert event["body"]["index"] in pictures, (event, around)
        checked += 1
    assert checked >= 3
