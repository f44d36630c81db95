"""``dualclass stack up/status`` on a partly running stack, as an operator runs them:
only the dead service comes back, on its port, with its files and credentials."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from broker.stack import stack_down, stack_status, stack_up

CLI = Path(sys.executable).parent / "dualclass"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "stack", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_up_restarts_only_the_dead_service(tmp_path: Path) -> None:
    directory = tmp_path / "stack"
    assert _cli("up", "--dir", str(directory)).returncode == 0
    try:
        first = json.loads((directory / "stack.json").read_text())
        passwd = directory / "mosquitto" / "passwd"
        # what the hub renders from its registry: must survive a broker restart
        passwd.write_text(passwd.read_text() + "p1:$7$101$AAAA$BBBB\n")
        os.kill(first["pids"]["mosquitto"], signal.SIGKILL)

        status = _cli("status", "--dir", str(directory))
        assert status.returncode == 3
        assert "mosquitto  dead" in status.stdout and "redis      alive" in status.stdout

        again = _cli("up", "--dir", str(directory))
        assert again.returncode == 0 and "started    mosquitto" in again.stdout
        second = json.loads((directory / "stack.json").read_text())
        assert second["pids"]["redis"] == first["pids"]["redis"]  # untouched
        assert second["pids"]["mosquitto"] != first["pids"]["mosquitto"]
        assert second["mqtt"] == first["mqtt"] and second["redis"] == first["redis"]
        assert second["admin_key"] == first["admin_key"]
        assert "p1:$7$101$AAAA$BBBB" in passwd.read_text()
        pid_file = Path(second["broker_files"]["pid_file"])
        assert int(pid_file.read_text()) == second["pids"]["mosquitto"]  # what the hub signals
        assert _cli("status", "--dir", str(directory)).returncode == 0
        # only one Redis on that data directory, the same one with the same data
        client = redis.Redis.from_url(second["redis"]["url"])
        assert client.ping()
        client.close()
    finally:
        _cli("down", "--dir", str(directory))


def test_status_reaps_and_calls_a_killed_child_dead(tmp_path: Path) -> None:
    """Started in this process, a killed Mosquitto is a zombie until reaped: not alive."""
    info = stack_up(tmp_path / "stack")
    try:
        os.kill(info.data["pids"]["mosquitto"], signal.SIGKILL)
        deadline = time.monotonic() + 5  # the kill lands asynchronously
        while (status := stack_status(tmp_path / "stack"))["mosquitto"]["alive"]:
            assert time.monotonic() < deadline, "a killed (zombie) mosquitto still 'alive'"
            time.sleep(0.01)
        assert status["redis"]["alive"] is True
        again = stack_up(tmp_path / "stack")
        assert again.started == ("mosquitto",) and again.mqtt_port == info.mqtt_port
        assert stack_status(tmp_path / "stack")["mosquitto"]["alive"] is True
    finally:
        stack_down(tmp_path / "stack")
