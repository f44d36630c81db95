"""``LateFrames``: a frozen hub's backlog is stale; jitter, a slow source, a new clock are not."""

from __future__ import annotations

from hub.media.stalls import LateFrames

RATE = 90_000
FRAME = 3000  # 30 fps


def test_steady_frames_with_jitter_are_never_late() -> None:
    late = LateFrames("t", max_late_s=1.0)
    for i in range(300):
        jitter = 0.2 if i % 7 == 0 else 0.0
        assert not late.is_late(i * FRAME, RATE, 10.0 + i / 30 + jitter)
    assert late.late == 0


def test_backlog_after_a_freeze_is_late_until_live_frames_come() -> None:
    late = LateFrames("t", max_late_s=1.0)
    for i in range(30):  # one second of live video
        assert not late.is_late(i * FRAME, RATE, 10.0 + i / 30)
    # frozen 10 s; then frames 30..329 come out of the socket buffer at once
    verdicts = [late.is_late(i * FRAME, RATE, 21.0 + (i - 30) * 0.001) for i in range(30, 330)]
    assert all(verdicts[:200]) and not any(verdicts[-20:])  # last ~1 s of backlog is fresh
    # then live again
    assert not late.is_late(330 * FRAME, RATE, 21.0 + 300 * 0.001)


def test_a_source_falling_behind_its_own_clock_is_not_dropped() -> None:
    """A CPU-starved camera that numbers frames: 30 fps timestamps, 20 fps delivery."""
    late = LateFrames("t", max_late_s=1.0)
    dropped = sum(late.is_late(i * FRAME, RATE, 10.0 + i / 20) for i in range(600))
    assert dropped <= 3


def test_a_source_hiccup_costs_at_most_a_second() -> None:
    late = LateFrames("t", max_late_s=1.0, pace_window_s=1.0)
    for i in range(30):
        late.is_late(i * FRAME, RATE, 10.0 + i / 30)
    # the source stalls 2 s, then goes on numbering where it stopped, at its pace
    verdicts = [late.is_late(i * FRAME, RATE, 13.0 + (i - 30) / 30) for i in range(30, 120)]
    assert 0 < sum(verdicts) <= 31 and not any(verdicts[40:])


def test_a_source_that_restarts_its_timestamps_is_followed() -> None:
    late = LateFrames("t", max_late_s=1.0, pace_window_s=1.0)
    for i in range(30):
        late.is_late(i * FRAME + 900_000, RATE, 10.0 + i / 30)
    # timestamps jump back by 10 s, frames at their pace: followed after a second
    results = [late.is_late(i * FRAME, RATE, 11.0 + i / 30) for i in range(150)]
    assert not any(results[40:])


def test_a_backlog_drained_slowly_by_a_busy_hub_is_still_skipped() -> None:
    """10 s of frames drained at 3x real time (a loaded hub): late until caught up."""
    late = LateFrames("t", max_late_s=1.0)
    for i in range(30):
        late.is_late(i * FRAME, RATE, 10.0 + i / 30)
    verdicts = [late.is_late(i * FRAME, RATE, 21.0 + (i - 30) / 90) for i in range(30, 330)]
    assert all(verdicts[:150])
