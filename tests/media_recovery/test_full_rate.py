"""When a partner counts as back at full rate (pure; no processes started)."""

from __future__ import annotations

from pathlib import Path

from simulators.mediarecovery import MediaRecoveryRun


def _since(readings: list[tuple[float, float | None]]) -> float | None:
    run = MediaRecoveryRun(Path("/nonexistent"), fps=15, stable_s=2.0)
    return run._full_since(readings)


def _every(
    step: float, values: list[float | None], start: float = 0.0
) -> list[tuple[float, float | None]]:
    return [(start + i * step, v) for i, v in enumerate(values)]


def test_steady_full_rate_counts_from_its_first_reading() -> None:
    assert _since(_every(0.5, [None, 0.0, 15.0, 14.0, 16.0, 15.0, 15.0, 15.0])) == 1.0


def test_a_burst_of_stale_frames_then_a_freeze_does_not_count() -> None:
    readings = _every(0.5, [149.0, 55.0, 0.0, 0.0, 15.0, 15.0, 15.0, 15.0, 15.0])
    assert _since(readings) == 2.0


def test_one_reading_a_frame_short_is_jitter() -> None:
    assert _since(_every(0.5, [15.0, 11.9, 15.0, 16.0, 14.0, 15.0])) == 0.0


def test_not_yet_stable_long_enough() -> None:
    assert _since(_every(0.5, [15.0, 15.0, 15.0])) is None
