"""Errors of the shared WebRTC helpers.

::

    WebRTCError                 root: catch this to catch everything below
    +-- InternalsChangedError   aiortc no longer has the private internals we rely on
"""

from __future__ import annotations

__all__ = ["InternalsChangedError", "WebRTCError"]


class WebRTCError(Exception):
    """Root of every error raised by ``webrtc``."""


class InternalsChangedError(WebRTCError):
    """An aiortc private attribute we depend on is missing: aiortc was upgraded.

    ``name`` is the attribute that was not found.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return (
            f"aiortc private internal {self.name!r} not found; "
            "webrtc/aiortc_internals.py must be updated for this aiortc version"
        )
