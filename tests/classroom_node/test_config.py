"""NodeConfig sources: file, environment, keyword arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from classroom_node.config import NodeConfig
from runtime.exceptions import ConfigError


def test_file_env_kwargs_priority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "node.toml"
    path.write_text('node_id = "p3"\nmqtt_port = 1999\nheartbeat_s = 2\n')
    monkeypatch.setenv("DUALCLASS_NODE_MQTT_PORT", "2000")
    config = NodeConfig.load(path, heartbeat_s=1, api_port=None)
    assert (config.node_id, config.mqtt_port, config.heartbeat_s) == ("p3", 2000, 1)
    assert config.username == "p3" and config.api_host == "127.0.0.1" and config.api_port == 0


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="node_id"):
        NodeConfig.load(None, node_id="bad/id")
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        NodeConfig.load(tmp_path / "missing.toml")
    json_file = tmp_path / "node.json"
    json_file.write_text('{"node_id": "lead"}')
    with pytest.raises(ConfigError, match="TOML"):
        NodeConfig.load(json_file)
    unknown = tmp_path / "typo.toml"
    unknown.write_text('node_id = "p1"\nmqtt_prot = 1\n')
    with pytest.raises(ConfigError, match="mqtt_prot"):
        NodeConfig.load(unknown)
