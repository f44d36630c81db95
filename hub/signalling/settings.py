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

The STUN/TURN servers (``ice_servers``, ``turn_secret``, ``turn_ttl_s``) come from
the hub's config (``HubConfig``), copied in by ``hub.api.signalling``: every join
gets the list with TURN credentials minted for it (``webrtc.iceservers``), and
the relay's own peer connections use it too (a hub behind NAT needs TURN as well).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.media.relay import RelaySettings
from webrtc.ice import restrict_host_addresses, rtc_ice_servers
from webrtc.iceservers import IceServerSpec, ice_servers_for

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
    ice_servers: list[IceServerSpec] = []
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

    def apply_ice(self) -> None:
        """Restrict ICE host addresses if configured (never widens a restriction)."""
        if self.ice_host_addresses is not None:
            restrict_host_addresses(self.ice_host_addresses)
