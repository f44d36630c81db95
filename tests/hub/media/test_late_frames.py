"""``LateFrames``: a frozen hub's backlog is stale, jitter and a restarted clock are not."""

from __future__ import annotations

from hub.media.stalls import LateFrames

RATE = 90_000
FRAME = 3000  # 30 fps


def test_steady_frames_with_jitter_are_never_late() -> None:
    late = LateFrames(max_late_s=1.0)
    for i in range(300):
        jitter = 0.2 if i % 7 == 0 else 0.0
        assert not late.is_late(i * FRAME, RATE, 10.0 + i / 30 + jitter)
    assert late.late == 0


def test_backlog_after_a_freeze_is_late_until_live_frames_come() -> None:
    late = LateFrames(max_late_s=1.0)
    for i in range(30):  # one second of live video
        assert not late.is_late(i * FRAME, RATE, 10.0 + i / 30)
    # frozen 10 s; then frames 30..329 come out of the socket buffer at once
    verdicts = [late.is_late(i * FRAME, RATE, 21.0 + (i - 30) * 0.001) for i in range(30, 330)]
    assert all(verdicts[:200]) and not any(verdicts[-20:])  # last ~1 s of backlog is fresh
    # then live again
    assert not late.is_late(330 * FRAME, RATE, 21.0)


def test_a_source_that_restarts_its_timestamps_is_followed_after_a_while() -> None:
    late = LateFrames(max_late_s=1.0, rebase_after_s=3.0)
    for i in range(30):
        late.is_late(i * FRAME + 900_000, RATE, 10.0 + i / 30)
    # timestamps jump back by 10 s: every frame looks late...
    results = [late.is_late(i * FRAME, RATE, 11.0 + i / 30) for i in range(150)]
    assert results[0] is True
    # ...for at most rebase_after_s, then the new timeline counts
    assert not any(results[100:])
