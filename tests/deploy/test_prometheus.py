"""``deploy/prometheus``: promtool checks and rule unit tests, the thresholds equal to
the dashboard's, and the real Prometheus scraping a hub on loopback."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from broker.localstack import MosquittoServer, RedisServer, free_port
from hub.ops.alerts import AlertRules
from hub.server import Hub
from tests.hub.hubkit import hub_config, running_hub

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = DEPLOY / "dualclass-rules.yml"
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool missing")


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], cwd=DEPLOY, capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_rules_and_config_check() -> None:
    rules = _promtool("check", "rules", RULES.name)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = _promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


@needs_promtool
def test_rule_unit_tests() -> None:
    result = _promtool("test", "rules", "dualclass-rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_thresholds_match_the_dashboard() -> None:
    rules = {r["alert"]: r for r in yaml.safe_load(RULES.read_text())["groups"][0]["rules"]}
    d = AlertRules()
    assert f"< {d.min_fps:g}" in rules["DualclassVideoLowFps"]["expr"]
    assert rules["DualclassVideoLowFps"]["for"] == f"{d.media_hold_s:g}s"
    assert f"> {d.max_loss:g}" in rules["DualclassPacketLoss"]["expr"]
    assert rules["DualclassPacketLoss"]["for"] == f"{d.media_hold_s:g}s"
    assert rules["DualclassJournalBacklogGrowing"]["for"] == f"{d.backlog_hold_s:g}s"
    assert f"> {d.max_p99_ms / 1000:g}" in rules["DualclassHubSequencingP99"]["expr"]
    assert f">= {d.min_p99_events}" in rules["DualclassHubSequencingP99"]["expr"]
    assert "for" not in rules["DualclassClassroomOffline"]


@pytest.fixture
async def hub(mosquitto: MosquittoServer, redis_server: RedisServer) -> AsyncIterator[Hub]:
    async with running_hub(hub_config(mosquitto, redis_server)) as running:
        await running.add_node("p1")
        yield running


@pytest.mark.timeout(90)
@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus missing")
async def test_real_prometheus_scrapes_the_hub(hub: Hub, tmp_path: Path) -> None:
    port = free_port()
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(RULES)]
    config["scrape_configs"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{hub.api_port}"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(  # noqa: ASYNC220 - a one-off spawn
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        result: list[Any] = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as api:
            while not result:
                assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "Prometheus never had the hub's metric"
                try:
                    answer = await api.get(
                        "/api/v1/query", params={"query": "dualclass_hub_sessions"}
                    )
                    result = answer.json()["data"]["result"] if answer.status_code == 200 else []
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            assert result[0]["metric"]["job"] == "dualclass-hub"
            assert float(result[0]["value"][1]) == 0.0
            rules = (await api.get("/api/v1/rules")).json()["data"]["groups"][0]["rules"]
            assert len(rules) == 5 and all(r["health"] == "ok" for r in rules)
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()
