"""``python -m hub --stack-file``: serves, and drains on the first SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from broker.localstack import MosquittoServer, RedisServer, free_port


def test_hub_process_serves_and_drains_on_sigterm(
    mosquitto: MosquittoServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    stack = tmp_path / "stack.json"
    stack.write_text(
        json.dumps(
            {
                "mqtt": {
                    "host": "127.0.0.1",
                    "port": mosquitto.port,
                    "hub_username": "hub",
                    "hub_password": "hub-secret",
                },
                "redis": {"url": redis_server.url},
                "broker_files": {
                    "password_file": str(mosquitto.workdir / "passwd"),
                    "acl_file": str(mosquitto.workdir / "acl"),
                    "pid_file": str(mosquitto.pid_file),
                },
                "admin_key": "k",
                "prefix": "dc/v1",
            }
        )
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub",
            "--stack-file",
            str(stack),
            "--api-port",
            str(port),
            "--client-id",
            "hub-proc",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = (
            time.monotonic() + 60
        )  # a start-up, not a speed goal: a loaded CI box is slow to import
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/api/nodes",
                    json={"node": "n1"},
                    headers={"Authorization": "Bearer k"},
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "hub did not start"
                time.sleep(0.05)
        assert response.status_code == 201
        # the hub kept its own user in the password file it re-rendered
        passwd = (mosquitto.workdir / "passwd").read_text()
        assert passwd.startswith("hub:$7$") and "\nn1:$7$" in passwd
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
