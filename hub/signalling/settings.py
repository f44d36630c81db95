"""``SignallingSettings``: how the hub's signalling and media relay behave.

A part of ``HubConfig`` (``HubConfig.signalling``), so it is read like every
other hub setting: environment ``DUALCLASS_HUB_SIGNALLING__<FIELD>`` (e.g.
``DUALCLASS_HUB_SIGNALLING__VIDEO_CODEC``), the ``[hub.signalling]`` table of the
config file, or flags. Which host addresses ICE offers is the hub-wide
``HubConfig.ice_host_addresses`` (the local stack sets loopback there).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SignallingSettings"]


class SignallingSettings(BaseModel):
    """Signalling and relay settings; see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The sessions' video codec (``video/VP8``, which every browser sends).
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
