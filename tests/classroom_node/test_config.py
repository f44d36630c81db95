"""NodeConfig sources: file, environment, keyword arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from classroom_node.config import load_config
from classroom_node.exceptions import ConfigError


def test_file_env_kwargs_priority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "node.toml"
    path.write_text('node_id = "p3"\nmqtt_port = 1999\nheartbeat_s = 2\n')
    monkeypatch.setenv("DUALCLASS_MQTT_PORT", "2000")
    config = load_config(path, heartbeat_s=1)
    assert (config.node_id, config.mqtt_port, config.heartbeat_s) == ("p3", 2000, 1)
    assert config.username == "p3" and config.api_host == "127.0.0.1" and config.api_port == 0


def test_json_file_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    path.write_text('{"node_id": "lead", "state_dir": "/tmp/x"}')
    assert load_config(path).node_id == "lead"
    with pytest.raises(ConfigError, match="node_id"):
        load_config(None, node_id="bad/id")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
