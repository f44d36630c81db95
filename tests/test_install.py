"""A classroom box installs ``dualclass[node]`` and nothing of the hub's weight.

The wheel is built from this checkout and installed into a brand-new venv with
pip, offline, from ``.venv/wheelhouse`` (``make setup`` fills it with the node
extra's wheels), so pip itself resolves the extra exactly as on a real box. Then:
the hub's libraries (OR-Tools, matplotlib, Redis, ...) are absent, ``dualclass
hub`` says which extra it needs instead of a traceback, and that venv's own
``dualclass node`` runs against a real Mosquitto: it comes online, follows a
``cmd.join``, applies a sequenced event, sends a lesson event from its local
API, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import pytest

from broker.localstack import MosquittoServer, free_port
from tests.classroom_node.hubsim import HubSim, wait_until
from tests.classroom_node.nodefixtures import hub

__all__ = ["hub"]

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
#: Distributions only the hub (or development) needs.
HUB_ONLY = ["ortools", "matplotlib", "redis", "prometheus-client", "pyjwt", "tqdm", "pypdfium2"]
#: Import names of the same, checked from inside the fresh venv.
HUB_MODULES = ["ortools", "matplotlib", "redis", "prometheus_client", "jwt", "tqdm", "pypdfium2"]
SOURCES = ["pyproject.toml", "README.md"]


def _copy_sources(dest: Path) -> None:
    """The files a wheel is built from: pyproject, README and every package."""
    dest.mkdir()
    for name in SOURCES:
        shutil.copy2(ROOT / name, dest / name)
    for pkg in ROOT.iterdir():
        if pkg.is_dir() and (pkg / "__init__.py").exists() and pkg.name != "tests":
            shutil.copytree(pkg, dest / pkg.name, ignore=shutil.ignore_patterns("__pycache__"))


def _pip(*args: str, timeout: float) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


@pytest.fixture(scope="module")
def node_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with ``dualclass[node]`` installed by pip, offline."""
    if not (WHEELHOUSE / ".done").exists():
        pytest.fail("no .venv/wheelhouse: run `make setup` (it collects the node extra's wheels)")
    base = tmp_path_factory.mktemp("install")
    _copy_sources(base / "src")
    links = ["--no-index", "--find-links", str(WHEELHOUSE)]
    _pip("wheel", "--no-deps", *links, "-w", str(base / "dist"), str(base / "src"), timeout=300)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(base / "venv")], check=True, timeout=120
    )
    python = base / "venv" / "bin" / "python"
    wheel = next((base / "dist").glob("dualclass-*.whl"))
    _pip("--python", str(python), "install", "-q", *links, f"{wheel}[node]", timeout=600)
    return base / "venv"


def test_node_extra_leaves_the_hub_libraries_out(node_venv: Path) -> None:
    python = node_venv / "bin" / "python"
    probe = (
        "import importlib.metadata as m, importlib.util as u, json, sys;"
        "print(json.dumps({'dists': sorted(d.metadata['Name'].lower() for d in m.distributions()),"
        f"'missing': [n for n in {HUB_MODULES!r} if u.find_spec(n) is None],"
        "'prefix': sys.prefix}))"
    )
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    found = json.loads(out.stdout)
    assert found["prefix"] == str(node_venv)  # the fresh venv, not the dev one
    assert "dualclass" in found["dists"] and "aiortc" in found["dists"]
    assert not [d for d in HUB_ONLY if d in found["dists"]], found["dists"]
    assert found["missing"] == HUB_MODULES

    hub_cmd = subprocess.run(
        [str(node_venv / "bin" / "dualclass"), "hub", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert hub_cmd.returncode == 2, hub_cmd.stderr
    assert "dualclass[hub]" in hub_cmd.stderr and "Traceback" not in hub_cmd.stderr


def _start_node(venv: Path, config: Path, cwd: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """``dualclass node`` of the fresh venv, configured only by ``DUALCLASS_NODE_CONFIG``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUALCLASS_")}
    env["DUALCLASS_NODE_CONFIG"] = str(config)
    return subprocess.Popen(
        [str(venv / "bin" / "dualclass"), "node"],
        cwd=cwd,  # nothing of the checkout on sys.path
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def test_node_from_the_fresh_venv_runs_against_a_real_broker(
    node_venv: Path, hub: HubSim, mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    session = "s1"
    mosquitto.node_sessions["p1"] = [session]
    mosquitto.reload()
    api_port = free_port()
    config = tmp_path / "node.toml"
    config.write_text(
        "[node]\n"
        'node_id = "p1"\n'
        f"mqtt_port = {mosquitto.port}\n"
        'mqtt_password = "p1-secret"\n'
        f'state_dir = "{tmp_path / "state"}"\n'
        f"api_port = {api_port}\n"
        "heartbeat_s = 0.5\n"
    )
    log = (tmp_path / "node.log").open("wb")
    proc = _start_node(node_venv, config, tmp_path, log)
    try:
        await wait_until(lambda: True in hub.presence.get("p1", []), 30, "p1 online")
        await hub.join("p1", session)
        await hub.publish_event(session, "slide.show", {"index": 2})
        url = f"http://127.0.0.1:{api_port}"
        async with httpx.AsyncClient(timeout=2.0) as client:
            deadline = time.monotonic() + 20
            while True:
                state = (await client.get(f"{url}/v1/state")).json()
                joined = [s for s in state["sessions"] if s["session"] == session]
                if joined and joined[0]["counters"]["last_seq"] == 1:
                    break
                assert time.monotonic() < deadline, f"event not applied: {state}"
                await asyncio.sleep(0.1)
            reply = await client.post(f"{url}/v1/hand")
            assert reply.status_code == 202, reply.text
        await wait_until(lambda: bool(hub.events_from("p1")), 10, "hand.raise uplink")
        assert hub.events_from("p1")[0].type == "hand.raise"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 20) == 0
        await wait_until(lambda: hub.presence["p1"][-1] is False, 10, "p1 offline")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
