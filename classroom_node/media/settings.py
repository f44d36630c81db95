"""``MediaSettings``: the node's media configuration, a part of ``NodeConfig``.

Read like every node setting (``NodeConfig.media``): environment
``DUALCLASS_NODE_MEDIA__<FIELD>``, the ``[media]`` (or ``[node.media]``) table of
the node's TOML file, or keywords. The ones an operator sets:

``enabled``             join each session's media (default off)
``hub_url``             the hub's HTTP address; signalling is ``/ws/signal`` there
``source``              ``pattern`` (synthetic), ``file``, or ``device`` (V4L2 + ALSA)
``sink``                ``null`` (statistics only) or ``record`` (files in ``record_dir``)
``ice_host_addresses``  e.g. ``["127.0.0.1"]`` for tests and the local stack, where
                        media must stay on loopback; unset in production
``ca_file``             CA of the hub's HTTPS certificate (``https://`` hub URLs;
                        unset: the system trust store)
``ice_servers``         JSON list of extra STUN/TURN servers
                        (``[{"urls": ["stun:stun.example.org:3478"]}]``); the hub adds
                        its own, with fresh TURN credentials, at every join
``ice_transport_policy`` ``all`` (default) or ``relay`` (only TURN: a school whose
                        firewall lets nothing else through)
``layers``              2 (default): send the camera twice, a high layer (``width`` x
                        ``height`` at ``fps``, at most ``high_kbps``) and a low one
                        (``low_width`` x ``low_height`` at ``low_fps``, at most
                        ``low_kbps``); the hub forwards each classroom the one its
                        link carries. 1: the camera once (older hubs)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from webrtc.iceservers import IceServerSpec

__all__ = ["MediaSettings"]


class MediaSettings(BaseModel):
    """See the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    ice_servers: list[IceServerSpec] = Field(default=[], max_length=8)
    ice_transport_policy: Literal["all", "relay"] = "all"
    #: How often statistics are refreshed (and land in the next heartbeat).
    stats_interval_s: float = Field(default=2.0, gt=0)
    #: Longest wait between reconnection attempts after the hub dropped us.
    reconnect_max_s: float = Field(default=10.0, gt=0)
    #: Camera layers sent (see the module docstring).
    layers: Literal[1, 2] = 2
    high_kbps: int = Field(default=1000, ge=100, le=10_000)
    low_width: int = Field(default=320, ge=160, le=1920)
    low_height: int = Field(default=240, ge=120, le=1080)
    low_fps: int = Field(default=15, ge=1, le=60)
    low_kbps: int = Field(default=250, ge=50, le=5_000)
    #: Opus bitrate of the microphone (aiortc's own default, 96, is music quality;
    #: a voice needs a third of it, and a school line has little to spare).
    audio_kbps: int = Field(default=32, ge=8, le=256)
    #: While the hub does not answer: how often its ``/healthz`` is asked, so media
    #: reconnects at once when it is back (see ``hubprobe.py``).
    reconnect_probe_s: float = Field(default=0.25, gt=0, le=60)

    @model_validator(mode="after")
    def _file_needs_path(self) -> MediaSettings:
        if self.source == "file" and self.file is None:
            raise ValueError("source 'file' needs file")
        return self
