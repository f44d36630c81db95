"""``RecordingSettings``: where recordings go, how long they stay, how much disk to spare.

Built from the hub's one configuration (``HubConfig``: ``recording_dir``,
``record_by_default``, ``recording_retention_days``, ``recording_min_free_mb``),
so the config file, ``DUALCLASS_*`` variables and ``python -m hub`` flags set them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["RecordingSettings"]


@dataclass(frozen=True, kw_only=True)
class RecordingSettings:
    """See the module docstring."""

    directory: Path
    #: Record sessions whose spec (and the API) say nothing either way.
    by_default: bool = False
    #: Recordings older than this are deleted (checked at start and every hour).
    retention_days: float = 30.0
    #: Recording stops (with an alert) when the disk has less free space than this.
    min_free_mb: float = 500.0
    #: Frames waiting for the writer thread before new ones are dropped (a stalled disk).
    queue_frames: int = 1000
    #: How often the writer checks the free space.
    space_check_s: float = 1.0
