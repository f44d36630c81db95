"""``NodeConfig``: the one typed configuration of a classroom node.

Sources, highest priority first: keyword arguments (flags, tests, simulators),
environment ``DUALCLASS_*`` (``DUALCLASS_NODE_ID``, ``DUALCLASS_MQTT_PORT`` ...),
then a TOML or JSON file given as ``config_file`` (or ``DUALCLASS_CONFIG``), then
the defaults below. ``load()`` is where the file is read, so constructing a config
in code never touches the disk unless asked to.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    JsonConfigSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from broker.tls import TlsSettings, plain_allowed
from classroom_node.exceptions import ConfigError
from protocols.codec import DEFAULT_MAX_SIZE
from protocols.topics import DEFAULT_PREFIX

__all__ = ["NodeConfig", "load_config"]

_NODE_ID = r"^[A-Za-z0-9_.:\-]{1,64}$"


class NodeConfig(BaseSettings):
    """Everything a node daemon needs to know; see the module docstring for sources."""

    model_config = SettingsConfigDict(env_prefix="DUALCLASS_", extra="forbid", frozen=True)

    #: This classroom's id: MQTT username (by default), client id and topic segment.
    node_id: str = Field(pattern=_NODE_ID)

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    #: Defaults to ``node_id``: the broker's ACL is written per node username.
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_keepalive_s: int = Field(default=10, ge=2, le=600)
    #: MQTT over TLS (implied by ``mqtt_ca_file``). Plain MQTT only to a broker on
    #: loopback: the node's secret and the lesson must not cross a network in clear.
    mqtt_tls: bool = False
    #: CA of the broker's certificate (unset: the system trust store).
    mqtt_ca_file: Path | None = None
    #: Client certificate and key, for a broker that requires one.
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    #: The broker's certificate must name ``mqtt_host`` (off only for a lab broker).
    mqtt_tls_check_hostname: bool = True
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
    send_window: int = Field(default=200, ge=1, le=10_000)
    #: How long ``submit`` (the local API) waits for the broker's PUBACK before it
    #: answers "queued" (the event is in the journal either way).
    submit_wait_s: float = Field(default=0.5, gt=0, le=30)

    log_level: str = "info"

    @model_validator(mode="after")
    def _default_username(self) -> NodeConfig:
        if self.mqtt_username is None:
            object.__setattr__(self, "mqtt_username", self.node_id)
        return self

    @model_validator(mode="after")
    def _tls_rules(self) -> NodeConfig:
        if self.mqtt_ca_file is not None and not self.mqtt_tls:
            object.__setattr__(self, "mqtt_tls", True)
        if not self.mqtt_tls and not plain_allowed(self.mqtt_host):
            raise ValueError(
                f"plain MQTT to {self.mqtt_host} would send the node's secret in clear: "
                "set mqtt_tls (and mqtt_ca_file) or use a broker on loopback"
            )
        if (self.mqtt_cert_file is None) != (self.mqtt_key_file is None):
            raise ValueError("mqtt_cert_file and mqtt_key_file go together")
        return self

    def mqtt_tls_settings(self) -> TlsSettings | None:
        if not self.mqtt_tls:
            return None
        return TlsSettings(
            ca_file=self.mqtt_ca_file,
            cert_file=self.mqtt_cert_file,
            key_file=self.mqtt_key_file,
            check_hostname=self.mqtt_tls_check_hostname,
        )

    @property
    def username(self) -> str:
        return self.mqtt_username or self.node_id

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _CONFIG_FILE.get()
        if path is not None:
            if path.suffix.lower() == ".json":
                sources.append(JsonConfigSettingsSource(settings_cls, json_file=path))
            else:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


#: Which file ``settings_customise_sources`` reads; set only inside ``load_config``.
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("node_config_file", default=None)


def load_config(config_file: str | Path | None = None, **overrides: Any) -> NodeConfig:
    """Read ``config_file`` (TOML or JSON; default ``$DUALCLASS_CONFIG``), env and overrides.

    Raises ``ConfigError`` with every problem in one message.
    """
    if config_file is None:
        config_file = os.environ.get("DUALCLASS_CONFIG") or None
    path = Path(config_file) if config_file is not None else None
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} not found")
    token = _CONFIG_FILE.set(path)
    try:
        return NodeConfig(**overrides)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigError("; ".join(problems)) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    finally:
        _CONFIG_FILE.reset(token)
