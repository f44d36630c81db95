"""``SessionRecorder`` and the WebM writer on real encoded frames (no WebRTC): files
decode, start on a keyframe, floor turns get files of their own, a full disk stops
recording with an alert and nothing raised into the caller."""

from __future__ import annotations

import asyncio
import fractions
import json
from pathlib import Path

import av
import pytest

from hub.recording import recorder as recorder_module
from hub.recording.container import WebmWriter
from hub.recording.exceptions import RecordingError
from hub.recording.recorder import SessionRecorder
from hub.recording.settings import RecordingSettings
from simulators.media.testsource import AudioTestSource, VideoTestSource, read_pattern


def _video_packets(source: int, count: int, fps: int = 15) -> list[tuple[bytes, int, bool]]:
    """``count`` VP8 frames of the test pattern: (data, 90 kHz timestamp, keyframe)."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 416, 192, "yuv420p"  # small: cheap
    encoder.time_base = fractions.Fraction(1, 90_000)
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    encoder.gop_size = 1000
    track = VideoTestSource(source, width=416, height=192, fps=fps)
    out = []
    for i in range(count):
        for packet in encoder.encode(track.frame_at(i)):
            out.append((bytes(packet), int(packet.pts or 0), bool(packet.is_keyframe)))
    return out


def _audio_packets(count: int) -> list[tuple[bytes, int]]:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48_000, "mono", "s16"
    tone = AudioTestSource(1)
    out = []
    for i in range(count):
        for packet in encoder.encode(tone.frame_at(i)):
            out.append((bytes(packet), int(packet.pts or 0)))
    return out


class FakeWall:
    def __init__(self) -> None:
        self.ms = 1_000_000.0

    def __call__(self) -> float:
        return self.ms


async def _feed(rec: SessionRecorder, wall: FakeWall, node: str, video, audio) -> None:  # type: ignore[no-untyped-def]
    """Interleave video (15 fps) and audio (50/s) frames in wall-clock order."""
    events = [(ts / 90, "video", data, ts, key) for data, ts, key in video]
    events += [(ts / 48, "audio", data, ts, True) for data, ts in audio]
    start = wall.ms
    for i, (at, kind, data, ts, key) in enumerate(sorted(events, key=lambda e: e[0])):
        wall.ms = start + at + (66.7 if kind == "video" else 20)
        rec.on_frame(node, kind, "video/VP8" if kind == "video" else "audio/opus", data, ts, key)
        # let the writer thread keep up, as live pacing would (a full queue drops)
        await asyncio.sleep(0.002 if i % 10 == 9 else 0)


async def test_lead_and_floor_files_decode_from_a_keyframe(tmp_path: Path) -> None:
    wall = FakeWall()
    asked: list[str] = []
    rec = SessionRecorder(
        "S",
        RecordingSettings(directory=tmp_path, min_free_mb=0),
        lead="lead",
        request_keyframe=asked.append,
        wall_ms=wall,
    )
    rec.set_floor("p1")  # before start: the turn opens when recording starts
    rec.start()
    assert asked == ["lead", "p1"]
    lead_video = _video_packets(1, 45)
    # the floor holder's first frames are not keyframes: they are skipped until one comes
    floor = _video_packets(2, 30)
    floor_video = [(d, ts, False) for d, ts, _ in floor[1:6]]
    floor_video += [(d, ts + 6 * 6000, k) for d, ts, k in floor]
    await _feed(rec, wall, "lead", lead_video, _audio_packets(150))
    await _feed(rec, wall, "p1", floor_video, [])
    rec.on_frame("p9", "video", "video/VP8", lead_video[0][0], 0, True)  # not recorded
    manifest = await rec.finish()
    assert manifest["status"] == "complete" and manifest["dropped"] == 0, manifest
    names = {f["name"]: f for f in manifest["files"]}
    assert set(names) == {"lead.webm", "floor-01-p1.webm"}
    with av.open(str(tmp_path / "S" / "lead.webm")) as container:
        frames = list(container.decode(video=0))
        assert frames[0].key_frame
        assert len(frames) == 45
        assert {read_pattern(f)[0] for f in frames if read_pattern(f)} == {1}  # type: ignore[index]
        assert container.duration / 1e6 == pytest.approx(3.0, abs=0.1)
    with av.open(str(tmp_path / "S" / "lead.webm")) as container:
        assert sum(1 for _ in container.decode(audio=0)) >= 140
    with av.open(str(tmp_path / "S" / "floor-01-p1.webm")) as container:
        frames = list(container.decode(video=0))
        assert frames[0].key_frame and len(frames) == 30
        assert {read_pattern(f)[0] for f in frames} == {2}  # type: ignore[index]
    saved = json.loads((tmp_path / "S" / "recording.json").read_text())
    assert saved["status"] == "complete"


async def test_a_full_disk_stops_the_recording_with_an_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FullDisk(WebmWriter):
        """Writes go to /dev/full: every write fails with ENOSPC, as on a full disk."""

        def __init__(self, path: Path) -> None:
            super().__init__(Path("/dev/full"))
            self.path = path

    monkeypatch.setattr(recorder_module, "WebmWriter", FullDisk)
    alerts: list[str] = []
    wall = FakeWall()
    rec = SessionRecorder(
        "S",
        RecordingSettings(directory=tmp_path, min_free_mb=0),
        lead="lead",
        on_stopped=alerts.append,
        wall_ms=wall,
    )
    rec.start()
    # WebM clusters reach the file every few seconds of media: feed 100 s of it, so
    # writes fail while the lesson runs
    # (the bytes of later frames need not decode: the muxer never looks inside them)
    first = _video_packets(1, 30)
    video = [(data, ts + rep * 30 * 6000, key) for rep in range(50) for data, ts, key in first]
    await _feed(rec, wall, "lead", video, [])
    for _ in range(1000):
        if alerts:
            break
        await asyncio.sleep(0.02)
    assert alerts == ["disk_full"], rec.describe()
    assert rec.status == "stopped" and rec.reason == "disk_full"
    # later frames are ignored, nothing raises into the relay
    rec.on_frame("lead", "video", "video/VP8", b"\x00" * 20, 1, False)
    manifest = await rec.finish()
    assert manifest["status"] == "stopped"


def test_writer_refuses_a_non_keyframe_start(tmp_path: Path) -> None:
    writer = WebmWriter(tmp_path / "x.webm")
    with pytest.raises(RecordingError):
        writer.add_video(b"\x01" * 20)
