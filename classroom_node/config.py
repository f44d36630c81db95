"""``NodeConfig``: the one typed configuration of a classroom node.

A ``runtime.DaemonSettings``, read like every daemon's settings. Sources,
strongest first: keyword arguments (flags, tests, simulators), environment
``DUALCLASS_NODE_*`` (``DUALCLASS_NODE_NODE_ID``, ``DUALCLASS_NODE_MQTT_PORT``,
``DUALCLASS_NODE_MEDIA__ENABLED`` ...), then the TOML file given as
``config_file`` (or ``DUALCLASS_NODE_CONFIG``; top level or a ``[node]`` table,
media under ``[media]`` / ``[node.media]``), then the defaults below.
``NodeConfig.load()`` is where the file is read, so constructing a config in code
never touches the disk.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from broker.tls import MqttTlsFields
from classroom_node.media.settings import MediaSettings
from protocols.codec import DEFAULT_MAX_SIZE
from protocols.topics import DEFAULT_PREFIX
from runtime.settings import DaemonSettings

__all__ = ["NodeConfig"]

_NODE_ID = r"^[A-Za-z0-9_.:\-]{1,64}$"


class NodeConfig(DaemonSettings, MqttTlsFields):
    """Everything a node daemon needs to know; see the module docstring for sources."""

    section = "node"
    model_config = SettingsConfigDict(env_prefix="DUALCLASS_NODE_")

    #: This classroom's id: MQTT username (by default), client id and topic segment.
    node_id: str = Field(pattern=_NODE_ID)

    # the broker's host and TLS: ``MqttTlsFields``
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    #: Defaults to ``node_id``: the broker's ACL is written per node username.
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_keepalive_s: int = Field(default=10, ge=2, le=600)
    prefix: str = DEFAULT_PREFIX

    #: Journal, applied-event logs and memberships live here.
    state_dir: Path = Path("var/node")

    heartbeat_s: float = Field(default=5.0, gt=0)

    #: Local input API (clickers, tutor tablet). Port 0 picks a free port;
    #: ``api_uds`` (a Unix socket path) replaces host/port when set.
    api_enabled: bool = True
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=0, ge=0, le=65535)
    api_uds: Path | None = None

    #: How long a gap may last before the node asks for it (reordering across a
    #: reconnect usually fills it by itself within a few ms).
    resync_grace_s: float = Field(default=0.2, ge=0)
    #: How long to wait for a resync answer before asking again.
    resync_timeout_s: float = Field(default=2.0, gt=0)
    #: Largest message the node encodes or accepts.
    max_payload: int = Field(default=DEFAULT_MAX_SIZE, ge=1024)
    #: fsync the outbound journal on every append (off only for load simulations).
    journal_fsync: bool = True
    #: Bounds of the outbound journal; beyond them new events are refused (503).
    journal_max_entries: int = Field(default=20_000, ge=1, le=1_000_000)
    journal_max_bytes: int = Field(default=32 * 1024 * 1024, ge=64 * 1024, le=2**32)
    #: An event sent but not seen in the session's stream within this long is sent
    #: again (same id), with the wait doubling per try up to ``resend_max_s``.
    confirm_timeout_s: float = Field(default=10.0, gt=0, le=600)
    resend_max_s: float = Field(default=30.0, gt=0, le=3600)
    #: At most this many events sent and not yet confirmed (the rest wait their turn).
    #: Kept below the hub's per-node burst and flood threshold: a node refused for
    #: its rate stops sending new events, so at most this many are refused at once.
    send_window: int = Field(default=100, ge=1, le=10_000)
    #: How long ``submit`` (the local API) waits for the broker's PUBACK before it
    #: answers "queued" (the event is in the journal either way).
    submit_wait_s: float = Field(default=0.5, gt=0, le=30)

    #: The hub's HTTP API (``https://hub.example:8443``) for deck downloads; unset:
    #: the node carries events but cannot fetch slides.
    hub_url: str | None = None
    #: CA bundle to verify the hub's certificate (default: ``mqtt_ca_file``, else the
    #: system's).
    hub_ca_file: Path | None = None
    #: Longest wait between attempts to complete a deck while the hub is away.
    deck_retry_max_s: float = Field(default=15.0, gt=0)

    log_level: str = "info"

    #: WebRTC media of the lessons (off by default: a node without camera hardware
    #: still carries the lesson's events).
    media: MediaSettings = MediaSettings()

    @model_validator(mode="after")
    def _default_username(self) -> NodeConfig:
        if self.mqtt_username is None:
            object.__setattr__(self, "mqtt_username", self.node_id)
        return self

    @property
    def username(self) -> str:
        return self.mqtt_username or self.node_id
