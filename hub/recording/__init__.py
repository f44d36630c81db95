"""Lesson recording (issue 16): the relay's encoded frames into WebM, and the timeline.

- ``clock``      pure: RTP timestamps -> media time; wall-clock alignment
- ``timeline``   pure: sequenced events -> ``timeline.json`` with media times
- ``container``  PyAV muxing of VP8/Opus frames into WebM (no decoding)
- ``recorder``   ``SessionRecorder``: a listener on the relay; writer thread, disk floor
- ``storage``    the recordings folder: list, manifest, files, delete, retention
- ``settings``   ``RecordingSettings`` (from ``HubConfig``)

May import: av, protocols, and ``hub.exceptions``; the relay does not import this
package (the recorder is one more listener on it).
"""

from __future__ import annotations

from hub.recording.exceptions import RecordingError, RecordingNotFound
from hub.recording.settings import RecordingSettings

# ``recorder`` (PyAV) is imported where it is used, so reading the config stays light.
__all__ = ["RecordingError", "RecordingNotFound", "RecordingSettings"]
