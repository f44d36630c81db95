"""``SignallingSettings``: how the hub's signalling and media relay behave.

A part of ``HubConfig`` (``HubConfig.signalling``), so it is read like every
other hub setting: environment ``DUALCLASS_HUB_SIGNALLING__<FIELD>`` (e.g.
``DUALCLASS_HUB_SIGNALLING__VIDEO_CODEC``), the ``[hub.signalling]`` table of the
config file, or flags. Which host addresses ICE offers is the hub-wide
``HubConfig.ice_host_addresses`` (the local stack sets loopback there).

The STUN/TURN servers (``ice_servers``, ``turn_secret``, ``turn_ttl_s``) are
hub-wide settings too (``HubConfig``); the ``Signalling`` service copies them in
when the hub creates it: every join gets the list with TURN credentials minted
for it (``webrtc.iceservers``), and the relay's own peer connections use it too
(a hub behind NAT needs TURN as well).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hub.media.relay import RelaySettings
from webrtc.ice import rtc_ice_servers
from webrtc.iceservers import IceServerSpec, ice_servers_for

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
    #: Copied from ``HubConfig`` by the ``Signalling`` service (set them there).
    ice_servers: list[IceServerSpec] = Field(default=[], max_length=8)
    turn_secret: SecretStr | None = None
    turn_ttl_s: int = Field(default=3600, ge=60, le=86400)

    def ice_servers_for(self, who: str) -> list[dict[str, Any]]:
        """The STUN/TURN list for one peer, TURN credentials minted now for ``who``."""
        secret = self.turn_secret.get_secret_value() if self.turn_secret else None
        return ice_servers_for(self.ice_servers, who=who, secret=secret, ttl_s=self.turn_ttl_s)

    def relay_settings(self) -> RelaySettings:
        return RelaySettings(
            video_codec=self.video_codec,
            ice_servers=tuple(rtc_ice_servers(self.ice_servers_for("hub"))),
        )
