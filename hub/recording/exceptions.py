"""Errors of the recorder; none of them ever reaches the live lesson."""

from __future__ import annotations

from hub.exceptions import HubError

__all__ = ["RecordingError", "RecordingNotFound"]


class RecordingError(HubError):
    """A recording cannot be written (no space, unsupported codec, file error)."""


class RecordingNotFound(HubError):
    """No recording (or no such file of it) for this session."""
