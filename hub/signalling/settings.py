"""``SignallingSettings``: how the hub's signalling and media relay behave.

Read from the environment (``DUALCLASS_*``), so a hub process, the local stack and
the tests configure it without touching ``HubConfig``:

``DUALCLASS_ICE_HOST_ADDRESSES``
    JSON list of the only host addresses ICE may offer, e.g. ``["127.0.0.1"]``.
    Set it in tests and the local stack (WEBRTC-LOOPBACK.md: media must stay on
    127.0.0.1 there); leave it unset in production, where aioice discovers the
    machine's interfaces. Applied process-wide (``webrtc.ice``) when the first
    peer joins.
``DUALCLASS_VIDEO_CODEC``
    The sessions' video codec (default ``video/VP8``, which every browser sends).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.media.relay import RelaySettings
from webrtc.ice import restrict_host_addresses

__all__ = ["SignallingSettings"]


class SignallingSettings(BaseSettings):
    """Signalling and relay settings; see the module docstring."""

    model_config = SettingsConfigDict(env_prefix="DUALCLASS_", extra="ignore", frozen=True)

    #: ``None``: aioice's own discovery (production). ``("127.0.0.1",)``: tests, local stack.
    ice_host_addresses: tuple[str, ...] | None = None
    video_codec: str = "video/VP8"
    #: A peer that has not sent ``join`` this long after connecting is dropped.
    join_timeout_s: float = Field(default=10.0, gt=0)
    #: Longest wait for an interaction's verdict from the sequencer.
    interact_timeout_s: float = Field(default=10.0, gt=0)
    #: Longest wait for one clean-up step (a feed task, a peer connection) to stop;
    #: past it the step is left behind and logged, so no leave or join waits on it.
    stop_timeout_s: float = Field(default=3.0, gt=0)
    #: Longest wait for a session's room to open (spec and snapshot from Redis).
    open_timeout_s: float = Field(default=10.0, gt=0)
    #: Frames queued for one slow peer before it is disconnected.
    peer_queue: int = Field(default=2000, ge=10)

    def relay_settings(self) -> RelaySettings:
        return RelaySettings(video_codec=self.video_codec)

    def apply_ice(self) -> None:
        """Restrict ICE host addresses if configured (never widens a restriction)."""
        if self.ice_host_addresses is not None:
            restrict_host_addresses(self.ice_host_addresses)
