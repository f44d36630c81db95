"""The operator dashboard in Debian Chromium, during a demo-style run: real node
processes with media, one SIGKILLed; the Chinese page checked against the catalogue.

Screenshots land in ``var/artifacts/browser/`` (``DUALCLASS_ARTIFACTS`` overrides).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from broker.localstack import MosquittoServer, RedisServer
from hub.server import Hub
from hub.sessions import SessionSpec
from protocols.ids import now_ms
from tests.hub.hubkit import ADMIN_KEY, hub_config, running_hub

from .conftest import browser_skip_reason
from .i18ncheck import untranslated

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or ""),
    pytest.mark.timeout(150),
]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("DUALCLASS_ARTIFACTS", REPO / "var" / "artifacts" / "browser"))
#: the hub's heartbeat timeout here (production: 30 s; the goal is that plus one update)
HEARTBEAT_TIMEOUT_S = float(os.environ.get("DUALCLASS_TEST_HEARTBEAT_TIMEOUT_S", "6"))
SESSION = "ops-demo"


class NodeProc:
    """``python -m classroom_node`` with WebRTC media (test pattern) on loopback."""

    def __init__(self, node: str, secret: str, workdir: Path, mqtt_port: int, hub_url: str) -> None:
        self.node = node
        workdir.mkdir(parents=True)
        self.config = workdir / "node.toml"
        self.config.write_text(
            f'node_id = "{node}"\nmqtt_port = {mqtt_port}\nmqtt_password = "{secret}"\n'
            f'state_dir = "{workdir / "state"}"\nheartbeat_s = 1.0\napi_enabled = false\n'
            'log_level = "warning"\n\n'
            "[media]\n"
            f'enabled = true\nhub_url = "{hub_url}"\nice_host_addresses = ["127.0.0.1"]\n'
            "fps = 20\nwidth = 320\nheight = 240\nstats_interval_s = 1.0\n"
        )
        self.log = workdir / "node.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DUALCLASS_")}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "classroom_node", "--config", str(self.config)],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
async def demo(
    mosquitto: MosquittoServer, redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[tuple[Hub, dict[str, NodeProc]]]:
    config = hub_config(
        mosquitto,
        redis_server,
        heartbeat_timeout_s=HEARTBEAT_TIMEOUT_S,
        ops_interval_s=0.5,
        ice_host_addresses=("127.0.0.1",),
    )
    async with running_hub(config) as hub:
        url = f"http://127.0.0.1:{hub.api_port}"
        procs = {}
        for node in ("lead", "p1", "p2"):
            secret = await hub.add_node(node)
            procs[node] = NodeProc(node, secret, tmp_path / node, mosquitto.port, url)
        now = now_ms()
        spec = SessionSpec(
            session=SESSION,
            lead="lead",
            partners=["p1", "p2"],
            title="Fractions",
            subject="math",
            grade=5,
            starts_at=now,
            ends_at=now + 3_600_000,
        )
        await hub.create_session(spec)
        for proc in procs.values():
            proc.start()
        try:
            yield hub, procs
        finally:
            for proc in procs.values():
                proc.kill()


@pytest.fixture
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield ARTIFACTS


async def _sign_in(context: Any, url: str, artifacts: Path) -> Any:
    page = await context.new_page()
    page.on("console", lambda msg: print("console:", msg.text))
    await page.goto(f"{url}/ops?lang=en")
    await page.wait_for_selector("#signin-key", state="visible", timeout=20_000)
    await page.screenshot(path=str(artifacts / "ops-signin-en.png"))
    assert await page.locator("#board").is_hidden()  # nothing shown before sign-in
    await page.fill("#signin-key", ADMIN_KEY)
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_function("() => window.ops && window.ops.connected", timeout=20_000)
    return page


def _room(session: str, node: str) -> str:
    return f'[data-room="{session}/{node}"]'


async def test_dashboard_live_lesson_then_a_node_killed(
    demo: tuple[Hub, dict[str, NodeProc]], browser_context: Any, artifacts: Path
) -> None:
    hub, procs = demo
    url = f"http://127.0.0.1:{hub.api_port}"
    page = await _sign_in(browser_context, url, artifacts)
    # the lesson is inside its scheduled window: that is what makes an absence an alert
    for node in ("lead", "p1", "p2"):
        await page.wait_for_selector(f'{_room(SESSION, node)}[data-online="true"]', timeout=60_000)
    # live fps: each partner decodes the lead's test pattern
    for node in ("p1", "p2"):
        await page.wait_for_function(
            f"""() => {{
                const r = window.ops.doc.lessons["{SESSION}"].classrooms["{node}"];
                return r && r.fps > 0 && r.joined;
            }}""",
            timeout=60_000,
        )
    fps_text = await page.locator(f"{_room(SESSION, 'p1')} [data-field=fps]").inner_text()
    assert re.fullmatch(r"\d+", fps_text) and int(fps_text) > 0, fps_text
    assert await page.locator("#alerts li:not([data-kind=hub_p99])").count() == 0
    await page.screenshot(path=str(artifacts / "ops-live-en.png"), full_page=True)

    killed_at = time.monotonic()
    procs["p2"].kill()
    await page.wait_for_selector(f'{_room(SESSION, "p2")}[data-online="false"]', timeout=60_000)
    await page.wait_for_selector(f'[data-alert="classroom_offline:{SESSION}/p2"]', timeout=60_000)
    elapsed = time.monotonic() - killed_at
    # goal: within the heartbeat timeout plus one update (generous on a loaded machine)
    assert elapsed < HEARTBEAT_TIMEOUT_S + 10, elapsed
    print(f"p2 shown offline with an alert {elapsed:.1f} s after SIGKILL")
    assert await page.locator('[data-node="p2"] .badge.warn').count() == 1
    await page.screenshot(path=str(artifacts / "ops-node-killed-en.png"), full_page=True)

    # a box that hangs (SIGSTOP: its TCP connection stays up, no last will) is shown
    # offline once its heartbeats are older than the timeout
    stopped_at = time.monotonic()
    assert procs["p1"].proc is not None
    procs["p1"].proc.send_signal(signal.SIGSTOP)
    await page.wait_for_selector(f'[data-alert="classroom_offline:{SESSION}/p1"]', timeout=60_000)
    silent = time.monotonic() - stopped_at
    assert silent < HEARTBEAT_TIMEOUT_S + 10, silent
    print(f"p1 (SIGSTOP) shown offline with an alert {silent:.1f} s after it went silent")

    # drill-down: the lesson's live state and event log
    await page.click(f'[data-open="{SESSION}"]')
    await page.wait_for_selector("#detail:not([hidden]) #detail-state dd", timeout=20_000)

    # the Chinese page: every word from the catalogue, none left in English
    zh_page = await browser_context.new_page()
    await zh_page.goto(f"{url}/ops?lang=zh-CN")
    await zh_page.wait_for_function("() => window.ops && window.ops.connected", timeout=20_000)
    await zh_page.wait_for_selector(f'[data-alert="classroom_offline:{SESSION}/p2"]')
    await zh_page.click(f'[data-open="{SESSION}"]')
    await zh_page.wait_for_selector("#detail:not([hidden]) #detail-state dd", timeout=20_000)
    await zh_page.screenshot(path=str(artifacts / "ops-zh-CN.png"), full_page=True)
    # data shown as is (ids, titles, subjects, versions, event types) is not a word to translate
    data = await zh_page.evaluate(
        """() => {
            const d = window.ops.doc, out = [];
            for (const [s, l] of Object.entries(d.lessons)) out.push(s, l.title, l.subject);
            out.push(...Object.keys(d.nodes), ...Object.values(d.nodes).map(n => n.version || ''));
            const shown = '#detail-log li, #hub [data-hub="ops.hub.rejected"]';
            for (const li of document.querySelectorAll(shown)) out.push(li.innerText);
            return out.filter(Boolean);
        }"""
    )
    assert await untranslated(zh_page, data) == []
    text = await zh_page.evaluate("() => document.body.innerText")
    assert not re.search(r"\b(online|offline|Alerts|Lessons|Classroom)\b", text), text[:500]

    # the visible switch turns the same page English without a reload
    await zh_page.select_option("#lang-switch", "en")
    await zh_page.wait_for_function(
        "() => document.querySelector('h1').textContent === 'Operator dashboard'"
    )
    assert await zh_page.evaluate("() => document.documentElement.lang") == "en"
