"""``MediaSettings``: the node's media configuration (environment ``DUALCLASS_MEDIA_*``).

Kept apart from ``NodeConfig`` (which forbids unknown keys and belongs to the
MQTT daemon) so media can be switched on without touching the lesson path:

``DUALCLASS_MEDIA_ENABLED``   join each session's media (default off)
``DUALCLASS_MEDIA_HUB_URL``   the hub's HTTP address; signalling is ``/ws/signal`` there
``DUALCLASS_MEDIA_SOURCE``    ``pattern`` (synthetic), ``file``, or ``device`` (V4L2 + ALSA)
``DUALCLASS_MEDIA_SINK``      ``null`` (statistics only) or ``record`` (files in ``record_dir``)
``DUALCLASS_MEDIA_ICE_HOST_ADDRESSES``  e.g. ``["127.0.0.1"]`` for tests and the local
    stack (media on loopback only, WEBRTC-LOOPBACK.md); unset in production.
``DUALCLASS_MEDIA_CA_FILE``   CA of the hub's HTTPS certificate (``https://`` hub URLs;
    unset: the system trust store)
``DUALCLASS_MEDIA_ICE_SERVERS``  JSON list of extra STUN/TURN servers
    (``[{"urls": ["stun:stun.example.org:3478"]}]``); the hub adds its own, with
    fresh TURN credentials, at every join
``DUALCLASS_MEDIA_ICE_TRANSPORT_POLICY``  ``all`` (default) or ``relay`` (only TURN:
    a school whose firewall lets nothing else through)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from webrtc.iceservers import IceServerSpec

__all__ = ["MediaSettings"]


class MediaSettings(BaseSettings):
    """See the module docstring."""

    model_config = SettingsConfigDict(env_prefix="DUALCLASS_MEDIA_", extra="forbid", frozen=True)

    enabled: bool = False
    hub_url: str = "http://127.0.0.1:8080"
    source: Literal["pattern", "file", "device"] = "pattern"
    #: ``source = "file"``: any file FFmpeg reads; played in a loop.
    file: Path | None = None
    #: ``source = "device"``: V4L2 camera and ALSA microphone.
    video_device: str = "/dev/video0"
    audio_device: str = "default"
    width: int = Field(default=640, ge=160, le=3840)
    height: int = Field(default=480, ge=120, le=2160)
    fps: int = Field(default=30, ge=1, le=60)
    sink: Literal["null", "record"] = "null"
    record_dir: Path = Path("var/node/recordings")
    ice_host_addresses: tuple[str, ...] | None = None
    ca_file: Path | None = None
    ice_servers: list[IceServerSpec] = []
    ice_transport_policy: Literal["all", "relay"] = "all"
    #: How often statistics are refreshed (and land in the next heartbeat).
    stats_interval_s: float = Field(default=2.0, gt=0)
    #: Longest wait between reconnection attempts after the hub dropped us.
    reconnect_max_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _file_needs_path(self) -> MediaSettings:
        if self.source == "file" and self.file is None:
            raise ValueError("source 'file' needs file")
        return self
