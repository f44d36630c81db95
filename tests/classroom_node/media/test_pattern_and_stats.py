"""Pure parts of node media: the pattern reads back, freezes are counted as defined."""

from __future__ import annotations

import pytest
from av import VideoFrame

from classroom_node.media.pattern import draw_pattern, read_counter
from classroom_node.media.runner import combine
from classroom_node.media.settings import MediaSettings
from classroom_node.media.sinks import TrackTiming, is_freeze
from protocols.messages import MediaStats


@pytest.mark.parametrize("counter", [0, 7, 123456, 99_999_999])
def test_counter_reads_back(counter: int) -> None:
    frame = VideoFrame.from_ndarray(draw_pattern(counter, 640, 480), format="yuv420p")
    assert read_counter(frame) == counter


def test_small_pictures_still_draw() -> None:
    assert draw_pattern(5, 160, 120).shape == (180, 160)


def test_freeze_definition() -> None:
    assert not is_freeze(0.05, 1 / 30)
    assert is_freeze(0.2, 1 / 30)  # > mean + 150 ms
    assert not is_freeze(0.5, 0.4)  # under 3 x mean
    assert not is_freeze(6.0, 1 / 30)  # an empty slot, not a freeze


def test_slot_stats_count_one_freeze() -> None:
    stats = TrackTiming("main/video", "video")
    t = 0.0
    for _ in range(30):
        stats.frame(t)
        t += 1 / 30
    stats.frame(t + 0.5)
    assert (stats.frames, stats.freezes) == (31, 1)


def test_combine_takes_the_worst() -> None:
    a = MediaStats(fps=30, bitrate_kbps=500, loss=0.01, rtt_ms=5, freezes=1)
    b = MediaStats(fps=12, bitrate_kbps=300, loss=0.05, rtt_ms=9, freezes=0)
    assert combine([a, b]) == MediaStats(fps=12, bitrate_kbps=800, loss=0.05, rtt_ms=9, freezes=1)
    assert combine([]) == MediaStats()


def test_settings_file_source_needs_a_path() -> None:
    with pytest.raises(ValueError, match="needs file"):
        MediaSettings(source="file")
