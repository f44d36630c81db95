"""Pure parts of recording: timing, the timeline, the flag rule, headers, storage names."""

from __future__ import annotations

import itertools
import os
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.recording.clock import MAX_DRIFT_MS, StreamClock, media_time_s
from hub.recording.container import opus_head, vp8_size
from hub.recording.exceptions import RecordingError, RecordingNotFound
from hub.recording.flags import decide
from hub.recording.storage import RecordingStore
from hub.recording.timeline import build_timeline, event_time_ms
from hub.sessions import SessionSpec
from protocols.ids import new_id
from protocols.messages import (
    HandRaise,
    LessonStart,
    NodeHeartbeat,
    SlideShow,
    SlideShowBody,
)


def test_stream_clock_places_frames_by_rtp_and_estimates_the_capture_epoch() -> None:
    clock = StreamClock(90_000, epoch_ms=10_000.0)
    # a keyframe that took 70 ms longer than the others to arrive, then 15 fps frames
    # arriving one frame late (aiortc's jitter buffer) plus a little jitter
    assert clock.place(0, 10_000.0) == 0
    medias = [clock.place(6000 * k, 10_000.0 - 70 + 66.7 * k + (k % 3)) for k in range(1, 30)]
    assert medias == [round(66.667 * k) for k in range(1, 30)]
    assert clock.min_step_ms == pytest.approx(66.667, abs=0.01)
    assert clock.min_lag_ms == pytest.approx(-70, abs=1)
    # capture epoch: arrival of media 0 minus the extra keyframe delay minus one frame
    assert clock.capture_epoch_ms() == pytest.approx(10_000 - 70 - 66.7, abs=1)


def test_stream_clock_never_goes_back() -> None:
    clock = StreamClock(48_000, epoch_ms=0.0)
    first = clock.place(96_000, 500.0)
    assert first == 500
    assert clock.place(96_000, 520.0) == 501  # same timestamp twice
    assert clock.place(0, 540.0) == 540  # the source restarted: on the wall clock


@given(st.lists(st.integers(min_value=1, max_value=9000), min_size=1, max_size=50))
def test_media_times_strictly_increase(steps: list[int]) -> None:
    clock = StreamClock(90_000, epoch_ms=0.0)
    rtp, out = 0, [clock.place(0, 0.0)]
    for step in steps:
        rtp += step
        out.append(clock.place(rtp, rtp / 90))
    assert all(b > a for a, b in itertools.pairwise(out))


def test_event_time_is_the_senders_when_plausible() -> None:
    assert event_time_ms(10_000, 9_700) == 9_700
    assert event_time_ms(10_000, None) == 10_000
    assert event_time_ms(10_000, 10_050) == 10_000  # a clock ahead of the hub's
    assert event_time_ms(10_000, 7_000) == 10_000  # too early: a journal, a clock behind


def test_media_time_of_an_event() -> None:
    assert media_time_s(12_345, 10_000.0) == 2.345
    assert media_time_s(9_000, 10_000.0) == -1.0


def test_timeline_keeps_lesson_events_with_media_times() -> None:
    events = [
        SlideShow(
            id=new_id(),
            session="S",
            seq=2,
            ts=11_900,
            sent=11_500,  # made 400 ms before the hub sequenced it
            src="lead",
            body=SlideShowBody(index=3),
        ),
        LessonStart(id=new_id(), session="S", seq=1, ts=9_500, src="lead"),
        HandRaise(id=new_id(), session="S", seq=3, ts=12_000, src="p1", sent=5_000),  # journal
        NodeHeartbeat.model_validate(
            {"id": new_id(), "session": "S", "body": {"uptime_s": 1, "sessions": []}}
        ),
    ]
    timeline = build_timeline("S", 10_000.0, events)
    assert [(e["seq"], e["type"], e["t"]) for e in timeline["events"]] == [
        (1, "lesson.start", -0.5),
        (2, "slide.show", 1.5),
        (3, "hand.raise", 2.0),
    ]
    assert timeline["events"][1]["body"] == {"deck": "", "index": 3}
    assert timeline["kinds"] == ["hand.raise", "lesson.start", "slide.show"]


@pytest.mark.parametrize(
    ("override", "spec_record", "default", "expected"),
    [
        (None, None, False, False),
        (None, None, True, True),
        (None, True, False, True),
        (None, False, True, False),
        (True, False, False, True),
        (False, True, True, False),
    ],
)
def test_flag_rule(
    override: bool | None, spec_record: bool | None, default: bool, expected: bool
) -> None:
    spec = SessionSpec(session="S", lead="lead", record=spec_record)
    assert decide(override, spec, default) is expected


def test_vp8_size_and_opus_head() -> None:
    header = bytes([0x10, 0x02, 0x00]) + b"\x9d\x01\x2a" + struct.pack("<HH", 640, 480)
    assert vp8_size(header) == (640, 480)
    with pytest.raises(RecordingError):
        vp8_size(b"\x11" + header[1:])  # an inter frame
    head = opus_head(2)
    assert head[:8] == b"OpusHead" and len(head) == 19 and head[9] == 2


def test_storage_serves_only_what_the_manifest_lists(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    folder = tmp_path / "S1"
    folder.mkdir()
    (folder / "recording.json").write_text('{"session": "S1", "files": [{"name": "lead.webm"}]}')
    (folder / "lead.webm").write_bytes(b"x")
    (folder / "secret.webm").write_bytes(b"y")
    (tmp_path / "passwd.json").write_text("{}")
    assert store.file("S1", "lead.webm") == folder / "lead.webm"
    for name in ("secret.webm", "../passwd.json", "/etc/passwd", "lead.webm/..", ""):
        with pytest.raises(RecordingNotFound):
            store.file("S1", name)
    for session in ("..", ".", "../S1", "S1/..", "a" * 65):
        with pytest.raises(RecordingNotFound):
            store.manifest(session)
    assert [m["session"] for m in store.manifests()] == ["S1"]


def test_retention_deletes_old_recordings_only(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    for name, age_days in (("old", 40), ("new", 2)):
        folder = tmp_path / name
        folder.mkdir()
        manifest = folder / "recording.json"
        manifest.write_text(f'{{"session": "{name}", "files": []}}')
        stamp = time.time() - age_days * 86_400
        os.utime(manifest, (stamp, stamp))
    (tmp_path / "not-a-recording").mkdir()
    assert store.prune(30) == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "not-a-recording"]


def test_a_restarted_source_is_re_anchored_on_the_wall_clock() -> None:
    clock = StreamClock(90_000, epoch_ms=0.0)
    for k in range(10):
        clock.place(500_000 + 6000 * k, 1000.0 + 66.7 * k)
    last = clock.last_media_ms
    # the publisher reconnects 3 s later: its timestamps start again near 0
    assert clock.discontinuous(3000)
    assert clock.place(3000, 4600.0) == 4600
    assert clock.place(9000, 4667.0) == 4667
    assert last < 4600
    assert not clock.discontinuous(15_000)


def test_a_restarted_source_keeps_the_gap_when_the_old_one_ran_ahead() -> None:
    """The first picture came 1.5 s late (a keyframe queued on a loaded box), later
    ones on time: the stream runs 1.5 s ahead of its arrivals. A reconnection 1 s
    after its last frame must still land 1 s later on the file, not 1 ms later."""
    clock = StreamClock(90_000, epoch_ms=0.0)
    clock.place(0, 1500.0)
    for k in range(1, 60):
        clock.place(6000 * k, 66.7 * k)
    last, last_arrival = clock.last_media_ms, 66.7 * 59
    assert last > last_arrival  # ahead of the wall clock
    first_new = clock.place(3000, last_arrival + 1000.0)
    assert first_new - last >= 1000
    assert clock.place(9000, last_arrival + 1066.7) == first_new + 67


def test_report_command_links_recorded_lessons(tmp_path: Path) -> None:
    from ledger.command import replay_links

    (tmp_path / "S1").mkdir()
    (tmp_path / "S1" / "recording.json").write_text("{}")
    (tmp_path / "S2").mkdir()  # no manifest: not a recording
    assert replay_links(tmp_path, "https://hub.example/") == {"S1": "https://hub.example/replay/S1"}
    assert replay_links(None, "") == {}


def test_a_sender_falling_behind_is_pulled_to_the_wall_clock() -> None:
    """A 15 fps source whose clock is wrong: 12 frames a second stamped as 15 (paced
    late, not skipped). Without a bound the file would shrink by a fifth; with it,
    it stays within the bound of the wall clock."""
    clock = StreamClock(90_000, epoch_ms=0.0)
    medias = [clock.place(6000 * k, 1000 * k / 12) for k in range(12 * 60)]  # 60 s of wall
    assert medias[-1] == pytest.approx(1000 * (12 * 60 - 1) / 12, abs=MAX_DRIFT_MS + 100)
    assert clock.drift_ms > 5000


def test_a_sender_that_catches_up_is_not_pushed_ahead() -> None:
    """Late for 3 s (8 fps), then a burst back to its schedule, then on time: the
    stream ends where the wall clock is, whatever it did in between."""
    clock = StreamClock(90_000, epoch_ms=0.0)
    wall, k = 0.0, 0
    for _ in range(30):  # on time
        clock.place(6000 * k, wall)
        k, wall = k + 1, wall + 1000 / 15
    for _ in range(24):  # 3 s at 8 fps
        clock.place(6000 * k, wall)
        k, wall = k + 1, wall + 125
    while 6000 * k / 90 < wall:  # the burst: frames 5 ms apart until on schedule
        clock.place(6000 * k, wall)
        k, wall = k + 1, wall + 5
    for _ in range(60):  # on time again
        clock.place(6000 * k, wall)
        k, wall = k + 1, wall + 1000 / 15
    assert clock.last_media_ms == pytest.approx(wall - 1000 / 15, abs=MAX_DRIFT_MS + 100)


def test_a_transient_delay_moves_the_stream_little_or_not_at_all() -> None:
    for stall, moved in ((MAX_DRIFT_MS - 100, 0), (MAX_DRIFT_MS + 100, 100)):
        clock = StreamClock(90_000, epoch_ms=0.0)
        for k in range(100):
            late = stall if 50 <= k < 55 else 0.0  # five frames held up
            clock.place(6000 * k, 1000 * k / 15 + late)
        assert clock.drift_ms == pytest.approx(moved, abs=2)
        assert clock.last_media_ms == pytest.approx(99 * 1000 / 15 + moved, abs=2)
