"""Every file holding a credential or the registry is private to its owner.

The local stack (``dualclass stack up``) writes the stack file (hub MQTT password,
Redis password, admin key), Mosquitto's password and ACL files, the Redis config
(``requirepass``), and the servers write Redis's AOF/RDB (node secret hashes, the
share group, every lesson) and Mosquitto's persistence file. After a real run with
data in both servers, no file under the stack directory may be readable, or
writable, by anyone but the owner; the directories are 0700.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
import redis

from broker.admin import exposed_secret_file
from broker.stack import stack_down, stack_up
from hub.config import HubConfig


def _modes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if not p.is_symlink() and not p.is_socket()
    }


def test_stack_files_and_server_data_are_private(tmp_path: Path) -> None:
    info = stack_up(tmp_path / "stack")
    try:
        config = HubConfig.load(stack_file=info.path)
        client = redis.Redis.from_url(config.redis_url)
        client.set("dc:probe", "x")
        client.bgrewriteaof()  # AOF base + increment files written by Redis itself
        client.save()  # and an RDB
        client.close()
    finally:
        stack_down(tmp_path / "stack")
    modes = _modes(tmp_path / "stack")
    assert any("appendonly" in name for name in modes), modes
    assert any(name.endswith("stack.json") for name in modes)
    assert any(name.endswith("passwd") for name in modes)
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert loose == {}


def test_a_readable_config_with_a_secret_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conf = tmp_path / "hub.toml"
    conf.write_text('admin_key = "k"\n')
    conf.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        HubConfig.load(conf)
    assert "holds a secret but has mode 0644" in caplog.text
    conf.chmod(0o640)  # a service group may read it
    assert exposed_secret_file(conf) is None
    conf.chmod(0o600)
    assert exposed_secret_file(conf) is None
