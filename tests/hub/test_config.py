"""HubConfig sources: stack file < config file < environment < overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.config import HubConfig
from runtime.exceptions import ConfigError


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
    monkeypatch.setenv("DUALCLASS_HUB_API_PORT", "9100")
    config = HubConfig.load(conf, stack_file=_stack(tmp_path), share_group=None, api_port=None)
    assert config.mqtt_port == 1999  # config file beats the stack file
    assert config.api_port == 9100  # environment beats the config file
    assert config.share_group == "g1"  # None overrides are ignored
    assert HubConfig.load(conf, api_port=0).api_port == 0  # flags beat everything


def test_unreadable_config_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        HubConfig.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("nope = [")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        HubConfig.load(bad)
    json_file = tmp_path / "hub.json"
    json_file.write_text('{"mqtt_port": 1}')
    with pytest.raises(ConfigError, match="TOML"):
        HubConfig.load(json_file)


def test_plain_mqtt_only_to_a_loopback_broker(tmp_path: Path) -> None:
    """A hub (or node) never sends its MQTT password across a network in clear."""
    from classroom_node.config import NodeConfig

    assert HubConfig(mqtt_host="127.0.0.1").client_settings().tls is None
    with pytest.raises(ValueError, match="plain MQTT"):
        HubConfig(mqtt_host="mqtt.example.org")
    with pytest.raises(ValueError, match="plain MQTT"):
        NodeConfig(node_id="p1", mqtt_host="mqtt.example.org", state_dir=tmp_path)
    ca = tmp_path / "ca.crt"
    tls = HubConfig(mqtt_host="mqtt.example.org", mqtt_ca_file=ca).client_settings().tls
    assert tls is not None and tls.ca_file == ca and tls.check_hostname
    node = NodeConfig(node_id="p1", mqtt_host="mqtt.example.org", mqtt_tls=True, state_dir=tmp_path)
    node_tls = node.mqtt_tls_settings()
    assert node_tls is not None and node_tls.ca_file is None  # the system trust store
    with pytest.raises(ValueError, match="go together"):
        HubConfig(mqtt_cert_file=tmp_path / "c.crt")


def test_stack_file_of_a_tls_stack_turns_on_mqtt_tls_and_https(tmp_path: Path) -> None:
    path = _stack(tmp_path)
    data = json.loads(path.read_text())
    data["mqtt"]["ca_file"] = str(tmp_path / "ca.crt")
    data["api"] = {"cert_file": str(tmp_path / "api.crt"), "key_file": str(tmp_path / "api.key")}
    data["ice_servers"] = [{"urls": ["turn:127.0.0.1:3478"]}]
    data["turn_secret"] = "t"
    path.write_text(json.dumps(data))
    config = HubConfig.load(stack_file=path)
    assert config.mqtt_tls and config.mqtt_ca_file == tmp_path / "ca.crt"
    assert config.api_tls and config.api_key_file == tmp_path / "api.key"
    assert config.ice_servers[0].urls == ["turn:127.0.0.1:3478"]
