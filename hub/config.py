"""One typed configuration for the hub process (``runtime.DaemonSettings``).

Sources, strongest first: keyword overrides (the CLI flags) > environment
(``DUALCLASS_HUB_*``, e.g. ``DUALCLASS_HUB_MQTT_PORT``) > the config file (TOML,
``--config`` or ``DUALCLASS_HUB_CONFIG``; top level or a ``[hub]`` table) > the
stack file > defaults. ``HubConfig.load()`` does the file reading; building
``HubConfig(...)`` directly uses only kwargs, environment and defaults.

The stack file is the JSON that ``dualclass stack up`` writes::

    {"mqtt": {"host", "port", "hub_username", "hub_password"},
     "redis": {"url"},
     "broker_files": {"password_file", "acl_file", "pid_file"},
     "admin_key": "...", "prefix": "dc/v1",
     "hub_users": {"hub": "$7$..."}}          # optional

Hub users and the password file: when the hub manages the broker files it rewrites
the whole password file from its registry, so the hubs' own MQTT users must be in it
too. The hub keeps them in Redis (``dc:hub_users``: username -> ``$7$`` hash). On
start it (1) merges any ``hub_users`` given here (stack file or config), and (2)
makes sure its own ``mqtt_username`` is present with a hash of ``mqtt_password``
(re-hashing only if the stored hash does not verify). So a stack file needs no
``hub_users`` entry, and several hub replicas with different users all survive each
other's re-renders.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from broker.admin import BrokerFiles
from broker.client import ClientSettings
from broker.render import hub_link_users
from broker.stack import DEFAULT_REDIS_URL, read_stack_file
from broker.tls import MqttTlsFields
from hub.csvlimits import CsvLimits
from hub.decks.render import DeckLimits
from hub.recording.settings import RecordingSettings
from hub.signalling.settings import SignallingSettings
from protocols.codec import DEFAULT_MAX_SIZE
from protocols.topics import DEFAULT_PREFIX
from runtime.settings import DaemonSettings
from webrtc.iceservers import IceServerSpec

__all__ = ["HubConfig", "stack_values"]


def _default_client_id() -> str:
    return f"hub-{socket.gethostname()}"[:60]


class HubConfig(DaemonSettings, MqttTlsFields):
    """Everything the hub process needs to know; see the module docstring for sources."""

    section = "hub"
    model_config = SettingsConfigDict(env_prefix="DUALCLASS_HUB_")

    # MQTT (host and TLS: ``MqttTlsFields``)
    mqtt_port: int = 1883
    mqtt_username: str = "hub"
    mqtt_password: SecretStr | None = None
    #: Base client id; the subscriber uses it as is, the publisher appends ``-out``.
    #: Keep it stable per replica: the broker queues uplinks for it while it restarts.
    mqtt_client_id: str = Field(default_factory=_default_client_id)
    prefix: str = DEFAULT_PREFIX
    #: ``None`` (the default): a random group name kept in Redis and shared by every
    #: replica. A fixed name lets any node that guesses it join the group and take
    #: uplinks away from the hub (see ``broker.render``).
    share_group: str | None = None
    max_payload_size: int = Field(default=DEFAULT_MAX_SIZE, ge=1024)

    # Redis
    redis_url: str = DEFAULT_REDIS_URL
    redis_retry_max_s: float = 5.0

    # HTTP API
    api_host: str = "127.0.0.1"
    #: 0 picks a free port; ``Hub.api_port`` tells which.
    api_port: int = Field(default=8080, ge=0, le=65535)
    api_enabled: bool = True
    admin_key: SecretStr | None = None
    #: HTTPS and WSS served by the hub itself: certificate (chain) and key, PEM.
    api_cert_file: Path | None = None
    api_key_file: Path | None = None
    #: The address browsers and nodes use for the API, if not ``http(s)://api_host:port``
    #: (behind a reverse proxy: ``https://hub.example.org``). Only for printed links.
    public_url: str | None = None
    #: Largest HTTP request body (JSON routes); larger ones get 413 unread.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024**3)
    #: Largest CSV upload (``POST .../import``), and its columns and rows.
    max_csv_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=1024**3)
    max_csv_columns: int = Field(default=64, ge=1, le=10_000)
    max_csv_rows: int = Field(default=100_000, ge=1, le=10_000_000)

    # Broker files the hub manages (all three, or none)
    password_file: Path | None = None
    acl_file: Path | None = None
    pid_file: Path | None = None
    #: Mode of the rendered files: 0o600, or 0o640 to let Mosquitto's group read
    #: them (see docs/security.md); never wider.
    broker_files_mode: Literal[0o600, 0o640] = 0o600
    #: Extra hub users for the password file: username -> ``$7$`` hash.
    hub_users: dict[str, str] = {}

    stack_file: Path | None = None
    #: Restrict WebRTC ICE host candidates to these addresses (``["127.0.0.1"]`` on
    #: the local stack and in tests; unset in production).
    ice_host_addresses: tuple[str, ...] | None = None
    #: STUN/TURN servers handed to every media peer (``webrtc.iceservers``):
    #: ``[{"urls": ["turn:turn.example.org:3478?transport=udp", ...]}]``.
    ice_servers: list[IceServerSpec] = Field(default=[], max_length=8)
    #: coturn's ``static-auth-secret``: TURN credentials are minted per join from it.
    turn_secret: SecretStr | None = None
    #: How long minted TURN credentials stay valid.
    turn_ttl_s: int = Field(default=3600, ge=60, le=86400)
    #: Signalling and relay (``DUALCLASS_HUB_SIGNALLING__VIDEO_CODEC``, ``[hub.signalling]``).
    signalling: SignallingSettings = SignallingSettings()

    # Lesson decks (hub.decks): page images on disk, bounded uploads and rendering
    decks_dir: Path = Path("var/decks")
    deck_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    deck_max_pages: int = Field(default=300, ge=1, le=10_000)
    deck_width: int = Field(default=1920, ge=64, le=7680)
    deck_height: int = Field(default=1080, ge=64, le=4320)
    deck_render_timeout_s: float = Field(default=120.0, gt=0)
    deck_render_memory_mb: int = Field(default=1536, ge=128)

    # Presence and joins
    #: A node silent for this long is shown offline even without a last will.
    heartbeat_timeout_s: float = 30.0
    #: Nodes get ``cmd.join`` this long before ``starts_at`` (and any time after).
    join_lead_time_s: float = 600.0
    #: How often scheduled joins are checked.
    join_check_interval_s: float = 5.0

    # Intake: crash-safe and bounded
    #: Uplinks the broker may hand us before we acknowledge any (MQTT 5 Receive
    #: Maximum). Each is acknowledged only once Redis stored it (or it was refused),
    #: so a hub that falls behind leaves the rest queued at the broker.
    intake_window: int = Field(default=500, ge=1, le=65535)
    #: Uplinks queued per session before the router waits (backpressure).
    inbox_size: int = Field(default=500, ge=1, le=100_000)
    #: Per-node token bucket: sustained uplinks per second, and the burst allowed
    #: (a quiz answered by 60 clickers at once fits, and so does the backlog of a
    #: minute-long outage). Beyond: ``rate_limited``.
    rate_per_node_s: float = Field(default=40.0, gt=0, le=100_000)
    rate_burst: int = Field(default=240, ge=1, le=1_000_000)
    #: A node refused more than ``flood_threshold`` times within one second is a
    #: flood: our nodes stop sending new events at the first refusal, so they can
    #: be refused at most their send window (100) at once. The broker is told to
    #: refuse its uplinks for ``flood_quarantine_s`` (doubling on each repeat, at
    #: most 5 min), so the flood stops at the broker instead of queueing ahead of
    #: every other classroom's events. 0 turns it off. Needs managed broker files.
    flood_threshold: int = Field(default=150, ge=1, le=1_000_000)
    flood_quarantine_s: float = Field(default=10.0, ge=0, le=3600)

    # Operator dashboard (/ops)
    #: How often the dashboard is rebuilt and open pages get what changed.
    ops_interval_s: float = Field(default=1.0, gt=0, le=60)
    #: Lifetime of the operator's sign-in cookie.
    ops_session_ttl_s: int = Field(default=8 * 3600, ge=60, le=7 * 86_400)
    #: UTC offset of "today" and "this week" on the dashboard.
    ops_tz: str = "+08:00"
    #: How often the week's coverage summary is rebuilt (a report: CPU seconds).
    ops_coverage_interval_s: float = Field(default=300.0, gt=0)

    # Recording (hub.recording)
    #: One folder per recorded session (WebM files, manifest, timeline).
    recording_dir: Path = Path("var/hub/recordings")
    #: Record sessions whose spec and the API say nothing either way.
    record_by_default: bool = False
    #: Recordings older than this many days are deleted.
    recording_retention_days: float = Field(default=30.0, gt=0)
    #: Recording stops, with an alert, when the disk has less free space than this (MB).
    recording_min_free_mb: float = Field(default=500.0, ge=0)

    #: How long ``shutdown`` waits for in-flight sequencing and publishing.
    drain_timeout_s: float = 10.0
    log_level: str = "info"

    @model_validator(mode="after")
    def _api_tls_rules(self) -> HubConfig:
        if (self.api_cert_file is None) != (self.api_key_file is None):
            raise ValueError("api_cert_file and api_key_file go together")
        return self

    @classmethod
    def file_values(cls, config_file: Path | None, overrides: dict[str, Any]) -> dict[str, Any]:
        """The stack file's values under the config file's (the stack file is the weaker)."""
        file_values = super().file_values(config_file, overrides)
        stack = (
            overrides.get("stack_file")
            or os.environ.get(cls.env_prefix() + "STACK_FILE")
            or file_values.get("stack_file")
        )
        values = stack_values(Path(stack)) if stack else {}
        values.update(file_values)
        return values

    # ------------------------------------------------------------- derived

    def broker_files(self) -> BrokerFiles | None:
        """The broker files to manage, or ``None`` when the broker is not ours."""
        if self.password_file is None or self.acl_file is None:
            return None
        return BrokerFiles(
            password_file=self.password_file,
            acl_file=self.acl_file,
            pid_file=self.pid_file,
            prefix=self.prefix,
            mode=self.broker_files_mode,
        )

    def recording_settings(self) -> RecordingSettings:
        return RecordingSettings(
            directory=self.recording_dir,
            by_default=self.record_by_default,
            retention_days=self.recording_retention_days,
            min_free_mb=self.recording_min_free_mb,
        )

    def csv_limits(self) -> CsvLimits:
        return CsvLimits(
            max_bytes=self.max_csv_bytes,
            max_columns=self.max_csv_columns,
            max_rows=self.max_csv_rows,
        )

    def deck_limits(self) -> DeckLimits:
        return DeckLimits(
            max_bytes=self.deck_max_bytes,
            max_pages=self.deck_max_pages,
            width=self.deck_width,
            height=self.deck_height,
            timeout_s=self.deck_render_timeout_s,
            memory_mb=self.deck_render_memory_mb,
        )

    @property
    def api_tls(self) -> bool:
        return self.api_cert_file is not None

    def client_settings(self, *, publisher: bool = False, intake: bool = False) -> ClientSettings:
        """The subscriber link logs in as ``mqtt_username``, the publisher as
        ``<mqtt_username>/out``: the broker binds client ids to usernames. ``intake``: the
        uplink subscriber (manual acknowledgement, at most ``intake_window`` unacknowledged)."""
        subscriber, out = hub_link_users(self.mqtt_username)
        suffix = "-out" if publisher else ""
        return ClientSettings(
            tls=self.mqtt_tls_settings(),
            host=self.mqtt_host,
            port=self.mqtt_port,
            username=out if publisher else subscriber,
            password=self.mqtt_password.get_secret_value() if self.mqtt_password else None,
            client_id=self.mqtt_client_id + suffix,
            manual_ack=intake,
            receive_maximum=self.intake_window if intake else None,
        )


def stack_values(path: Path) -> dict[str, Any]:
    """Translate a ``dualclass stack up`` JSON file into ``HubConfig`` fields."""
    data = read_stack_file(path)
    out: dict[str, Any] = {"stack_file": path}
    mqtt = data.get("mqtt") or {}
    for key, field in (
        ("host", "mqtt_host"),
        ("port", "mqtt_port"),
        ("hub_username", "mqtt_username"),
        ("hub_password", "mqtt_password"),
    ):
        if key in mqtt:
            out[field] = mqtt[key]
    if mqtt.get("ca_file"):
        out["mqtt_tls"] = True
        out["mqtt_ca_file"] = mqtt["ca_file"]
    api = data.get("api") or {}
    for key in ("cert_file", "key_file"):
        if api.get(key):
            out[f"api_{key}"] = api[key]
    redis = data.get("redis") or {}
    if "url" in redis:
        out["redis_url"] = redis["url"]
    files = data.get("broker_files") or {}
    for key in ("password_file", "acl_file", "pid_file"):
        if files.get(key):
            out[key] = files[key]
    for key in (
        "admin_key",
        "prefix",
        "hub_users",
        "ice_host_addresses",
        "ice_servers",
        "turn_secret",
    ):
        if key in data:
            out[key] = data[key]
    # a local stack keeps the hub's deck images next to its other files
    out["decks_dir"] = data.get("decks_dir") or path.parent / "decks"
    return out
