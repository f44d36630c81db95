"""HubConfig sources: stack file < config file < environment < overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.config import HubConfig
from hub.exceptions import ConfigError


def _stack(tmp_path: Path) -> Path:
    path = tmp_path / "stack.json"
    path.write_text(
        json.dumps(
            {
                "mqtt": {
                    "host": "127.0.0.1",
                    "port": 18830,
                    "hub_username": "hub",
                    "hub_password": "s3cret",
                },
                "redis": {"url": "redis://127.0.0.1:16379/0"},
                "broker_files": {
                    "password_file": str(tmp_path / "passwd"),
                    "acl_file": str(tmp_path / "acl"),
                    "pid_file": str(tmp_path / "mosquitto.pid"),
                },
                "admin_key": "k",
                "prefix": "dc/v1",
            }
        )
    )
    return path


def test_stack_file_fills_in_connections_and_broker_files(tmp_path: Path) -> None:
    config = HubConfig.load(stack_file=_stack(tmp_path))
    assert (config.mqtt_port, config.redis_url) == (18830, "redis://127.0.0.1:16379/0")
    assert config.mqtt_password is not None and config.mqtt_password.get_secret_value() == "s3cret"
    files = config.broker_files()
    assert files is not None and files.acl_file == tmp_path / "acl"
    out = config.client_settings(publisher=True)
    # the publisher link is its own broker identity: client ids are bound to users
    assert out.username == config.client_settings().username + "/out"


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "hub.toml"
    conf.write_text('mqtt_port = 1999\napi_port = 9000\nshare_group = "g1"\n')
    monkeypatch.setenv("DUALCLASS_API_PORT", "9100")
    config = HubConfig.load(conf, stack_file=_stack(tmp_path), share_group=None, api_port=None)
    assert config.mqtt_port == 1999  # config file beats the stack file
    assert config.api_port == 9100  # environment beats the config file
    assert config.share_group == "g1"  # None overrides are ignored
    assert HubConfig.load(conf, api_port=0).api_port == 0  # flags beat everything


def test_unreadable_config_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        HubConfig.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ConfigError):
        HubConfig.load(bad)
