"""One configuration model: hub and node read settings the same way, apart.

Each daemon has its own environment prefix (``DUALCLASS_HUB_*``,
``DUALCLASS_NODE_*``), so a variable meant for one never configures the other on
a machine running both; both read TOML files with the same precedence, and one
file with ``[hub]`` and ``[node]`` tables serves both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from classroom_node.config import NodeConfig
from hub.config import HubConfig
from runtime.settings import dump_toml

SHARED = """
[hub]
api_port = 9000
mqtt_port = 1884

[hub.signalling]
video_codec = "video/H264"

[node]
node_id = "p1"
api_port = 9100
mqtt_port = 1885

[node.media]
enabled = true
fps = 10
"""


def test_prefixes_are_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUALCLASS_HUB_API_PORT", "9001")
    monkeypatch.setenv("DUALCLASS_NODE_API_PORT", "9101")
    monkeypatch.setenv("DUALCLASS_API_PORT", "1")  # the old shared name: ignored by both
    assert HubConfig.load().api_port == 9001
    assert NodeConfig.load(node_id="p1").api_port == 9101


def test_one_file_serves_both_daemons(tmp_path: Path) -> None:
    path = tmp_path / "dualclass.toml"
    path.write_text(SHARED)
    hub = HubConfig.load(path)
    node = NodeConfig.load(path)
    assert (hub.api_port, hub.mqtt_port, hub.signalling.video_codec) == (9000, 1884, "video/H264")
    assert (node.node_id, node.api_port, node.mqtt_port) == ("p1", 9100, 1885)
    assert node.media.enabled and node.media.fps == 10


@pytest.mark.parametrize(
    ("cls", "prefix", "required"),
    [(HubConfig, "DUALCLASS_HUB_", {}), (NodeConfig, "DUALCLASS_NODE_", {"node_id": "p1"})],
)
def test_same_precedence_for_every_daemon(
    cls: type[HubConfig] | type[NodeConfig],
    prefix: str,
    required: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "d.toml"
    path.write_text("mqtt_port = 2001\napi_port = 2002\nlog_level = 'debug'\n")
    monkeypatch.setenv(prefix + "API_PORT", "3002")
    monkeypatch.setenv(prefix + "LOG_LEVEL", "error")
    config = cls.load(path, log_level="warning", mqtt_host=None, **required)
    assert config.mqtt_port == 2001  # file beats defaults
    assert config.api_port == 3002  # environment beats the file
    assert config.log_level == "warning"  # flags beat the environment
    assert config.mqtt_host == "127.0.0.1"  # a flag not given (None) changes nothing
    monkeypatch.setenv(prefix + "CONFIG", str(path))
    assert cls.load(**required).mqtt_port == 2001  # the file named by <PREFIX>CONFIG


def test_nested_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUALCLASS_NODE_MEDIA__ENABLED", "true")
    monkeypatch.setenv("DUALCLASS_NODE_MEDIA__HUB_URL", "http://10.0.0.1:8080")
    monkeypatch.setenv("DUALCLASS_HUB_SIGNALLING__JOIN_TIMEOUT_S", "3")
    media = NodeConfig.load(node_id="p1").media
    assert media.enabled and media.hub_url == "http://10.0.0.1:8080"
    assert HubConfig.load().signalling.join_timeout_s == 3


def test_config_files_written_by_programs_read_back(tmp_path: Path) -> None:
    """``dump_toml`` (tests, benchmarks, simulators write configs with it) is TOML."""
    values = {
        "hub_users": {"plain-a": "$7$101$abc+/=="},
        "ice_servers": [{"urls": ["turn:127.0.0.1:3478?transport=udp"]}],
        "turn_secret": 's"q',
        "api_port": 9000,
    }
    path = tmp_path / "hub.toml"
    path.write_text(dump_toml(values, "hub"))
    config = HubConfig.load(path)
    assert config.hub_users == {"plain-a": "$7$101$abc+/=="} and config.api_port == 9000
    assert config.ice_servers[0].urls == ["turn:127.0.0.1:3478?transport=udp"]
    assert config.turn_secret is not None and config.turn_secret.get_secret_value() == 's"q'
