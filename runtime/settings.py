"""``DaemonSettings``: the one settings style of every dualclass daemon.

Each daemon subclasses it with its own environment prefix and TOML table:

====================  ===================  ============
daemon                environment          TOML table
====================  ===================  ============
hub                   ``DUALCLASS_HUB_*``  ``[hub]``
classroom node        ``DUALCLASS_NODE_*`` ``[node]``
====================  ===================  ============

Sources, strongest first (the same for every daemon):

1. keyword overrides: the command-line flags (``None`` means "not given");
2. environment: ``<PREFIX><FIELD>``, e.g. ``DUALCLASS_NODE_MQTT_PORT``; nested
   settings with ``__``, e.g. ``DUALCLASS_NODE_MEDIA__ENABLED``;
3. the config file: TOML, from ``--config`` or ``<PREFIX>CONFIG``; settings at the
   top level, or under the daemon's table so one file can serve both daemons on
   one machine;
4. what a subclass adds below the file (the hub: the stack file);
5. the defaults in the class.

``load()`` is the only place that reads files; constructing settings in code
uses only keywords, environment and defaults. Every problem is reported at once
as a ``ConfigError``.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from protocols.validation import describe_errors
from runtime.exceptions import ConfigError

__all__ = ["DaemonSettings", "dump_toml", "exposed_secret_file", "read_toml", "warn_if_exposed"]

log = logging.getLogger("dualclass.config")

#: Setting names that hold a credential: a file holding one must not be readable by all.
SECRET_KEYS = frozenset(
    {"mqtt_password", "admin_key", "hub_password", "redis_password", "redis_url", "url"}
)

_FILE_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("daemon_file_values", default=None)


class _FileSource(PydanticBaseSettingsSource):
    """The values ``DaemonSettings.load`` read from files (empty outside ``load``)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return (_FILE_VALUES.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_VALUES.get() or {})


def exposed_secret_file(path: Path) -> str | None:
    """Why a file holding a credential is readable by others, or None if it is not.

    0600 (owner only) or 0640 (a service group may read) are fine; anything that
    lets other users read it, or anyone but the owner write it, is reported."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if mode & 0o037:
        return f"{path} holds a secret but has mode {mode:04o} (chmod 600, or 640 for a group)"
    return None


def _keys(data: dict[str, Any]) -> set[str]:
    out = set(data)
    for value in data.values():
        if isinstance(value, dict):
            out |= _keys(value)
    return out


def warn_if_exposed(path: Path, data: dict[str, Any]) -> None:
    """Log a warning if ``data`` (read from ``path``) holds a secret others can read."""
    if SECRET_KEYS & _keys(data):
        problem = exposed_secret_file(path)
        if problem is not None:
            log.warning("%s", problem)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ "
            + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
            + " }"
        )
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dump_toml(settings: dict[str, Any], section: str = "") -> str:
    """A config file's text for programs that write one (tests, benchmarks, simulators).

    Keys at the top level (or under ``[section]``); nested tables and lists become
    TOML inline tables and arrays. ``read_toml`` reads it back to the same values.
    """
    lines = [f"[{section}]"] if section else []
    lines += [f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in settings.items()]
    return "\n".join(lines) + "\n"


def read_toml(path: Path, section: str = "") -> dict[str, Any]:
    """The settings in a TOML file: its ``[section]`` table if present, else the top level."""
    if path.suffix.lower() != ".toml":
        raise ConfigError(f"{path}: config files are TOML (name ending in .toml)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    warn_if_exposed(path, data)
    table = data.get(section) if section else None
    return dict(table) if isinstance(table, dict) else data


class DaemonSettings(BaseSettings):
    """Base of every daemon's settings; see the module docstring for the sources."""

    #: The TOML table holding this daemon's settings in a shared file.
    section: ClassVar[str] = ""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, env_nested_delimiter="__")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls))

    @classmethod
    def env_prefix(cls) -> str:
        return str(cls.model_config.get("env_prefix", ""))

    @classmethod
    def file_values(cls, config_file: Path | None, overrides: dict[str, Any]) -> dict[str, Any]:
        """Everything below the environment, merged: the config file's values.

        A subclass that has a weaker source (the hub's stack file) extends this.
        """
        return read_toml(config_file, cls.section) if config_file is not None else {}

    @classmethod
    def load(cls, config_file: Path | str | None = None, **overrides: Any) -> Self:
        """Read the config file (default ``<PREFIX>CONFIG``), then env and ``overrides``."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if config_file is None:
            config_file = os.environ.get(cls.env_prefix() + "CONFIG") or None
        path = Path(config_file) if config_file is not None else None
        values = cls.file_values(path, overrides)
        token = _FILE_VALUES.set(values)
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise ConfigError("; ".join(describe_errors(exc.errors()))) from None
        finally:
            _FILE_VALUES.reset(token)
