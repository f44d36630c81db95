"""Timestamp rebasing and keyframe pacing, driven with made-up clocks."""

from __future__ import annotations

from hub.media.timing import KeyframeLimiter, TimestampRebaser


def test_first_source_starts_at_zero_and_keeps_its_spacing() -> None:
    r = TimestampRebaser(90000)
    assert [r.rebase(ts, now) for ts, now in [(5000, 0.0), (8000, 0.033), (11000, 0.066)]] == [
        0,
        3000,
        6000,
    ]


def test_switch_continues_from_last_output_plus_elapsed_wall_time() -> None:
    r = TimestampRebaser(90000)
    r.rebase(900_000, 10.0)
    r.rebase(903_000, 10.033)
    r.switch()
    # New source starts near 0; 0.1 s after the last output frame.
    out = r.rebase(42, 10.133)
    assert out == 3000 + 9000
    assert r.rebase(42 + 3000, 10.166) == out + 3000


def test_a_source_going_backwards_is_treated_as_a_restart() -> None:
    r = TimestampRebaser(48000)
    r.rebase(10_000, 0.0)
    assert r.rebase(9_000, 0.02) == 960
    assert r.rebase(9_960, 0.04) == 1920


def test_switch_with_no_elapsed_time_still_moves_forward() -> None:
    r = TimestampRebaser(90000)
    r.rebase(0, 1.0)
    r.switch()
    assert r.rebase(123, 1.0) == 1


def test_limiter_sends_first_request_then_defers_one_trailing_request() -> None:
    lim = KeyframeLimiter(0.5)
    assert lim.request(10.0) == 0.0
    delay = lim.request(10.1)
    assert delay is not None and abs(delay - 0.4) < 1e-9
    assert lim.request(10.2) is None  # coalesced into the pending one
    lim.fire(10.5)
    assert lim.request(10.7) is not None and lim.request(10.7) is None
    assert lim.request(11.1) == 0.0
