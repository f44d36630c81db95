"""Lesson recording (issue 16): the relay's encoded frames into WebM, and the timeline.

- ``clock``      pure: RTP timestamps -> media time; wall-clock alignment
- ``timeline``   pure: sequenced events -> ``timeline.json`` with media times
- ``container``  PyAV muxing of VP8/Opus frames into WebM (no decoding)
- ``recorder``   ``SessionRecorder``: a listener on the relay; writer thread, disk floor
- ``storage``    the recordings folder: list, manifest, files, delete, retention
- ``settings``   ``RecordingSettings`` (from ``HubConfig``)
- ``flags``      whether a session is recorded: API override, spec, hub default

May import: av, protocols, ``hub.exceptions`` and ``hub.sessions``; the relay does
not import this package (the recorder is one more listener on it). The HTTP side
is ``hub/api/recordings.py``, the page ``hub/static/replay/``; docs/recording.md.
"""

from __future__ import annotations

from hub.recording.exceptions import RecordingError, RecordingNotFound
from hub.recording.settings import RecordingSettings

# ``recorder`` (PyAV) is imported where it is used, so reading the config stays light.
__all__ = ["RecordingError", "RecordingNotFound", "RecordingSettings"]
