"""Every browser page in Chinese: nothing left in English (checked against the catalogue),
and the visible switch turns it English in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.tokens import JoinRole
from i18n.catalogue import catalogue
from tests.hub.signalling.conftest import LiveHub
from tests.hub.signalling.peers import token

from .conftest import browser_skip_reason
from .i18ncheck import untranslated
from .test_ops import ARTIFACTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or ""),
    pytest.mark.timeout(90),
]

#: What the consoles show as is: the session, its classrooms, the lesson's title.
DATA = ["S1", "lead", "p1", "p2", "o1", "Fractions"]


@pytest.mark.parametrize(
    ("page_name", "join"),
    [
        ("lead", token(JoinRole.LEAD)),
        ("tutor", token(JoinRole.TUTOR, node="p1")),
        ("observer", token(JoinRole.OBSERVER)),
    ],
    ids=["lead", "tutor", "observer"],
)
async def test_console_in_chinese(
    live: LiveHub, browser_context: Any, page_name: str, join: str
) -> None:
    page = await browser_context.new_page()
    # a browser set to Chinese (then English) gets Chinese; no ?lang= needed
    await page.add_init_script(
        "Object.defineProperty(navigator, 'languages', {get: () => ['zh-CN', 'zh', 'en']})"
    )
    await page.goto(f"{live.url}/console/{page_name}?token={join}")
    await page.wait_for_function(
        "() => window.dc && window.dc.state && window.dc.joined", timeout=20_000
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(
        path=str(Path(ARTIFACTS) / f"console-{page_name}-zh-CN.png"), full_page=True
    )
    assert await untranslated(page, DATA) == []
    await page.select_option("#lang-switch", "en")
    heading = catalogue("en")[f"console.{page_name}.heading"]
    await page.wait_for_function(f"() => document.querySelector('h1').textContent === '{heading}'")
    assert await page.evaluate("() => document.documentElement.lang") == "en"
    # the choice sticks: a reload stays English
    await page.reload()
    await page.wait_for_function(f"() => document.querySelector('h1').textContent === '{heading}'")


async def test_classroom_display_in_chinese(browser_context: Any, tmp_path: Path) -> None:
    """The node's own big-screen page, with the hub out of reach (it must still speak)."""
    from broker.localstack import free_port
    from classroom_node.config import NodeConfig
    from classroom_node.node import ClassroomNode

    config = NodeConfig(
        node_id="p1",
        mqtt_port=free_port(),  # nothing listens: the hub link is down
        mqtt_password="unused",
        state_dir=tmp_path / "p1",
        api_enabled=True,
        journal_fsync=False,
    )
    node = ClassroomNode(config)
    await node.startup()
    try:
        assert node.api is not None
        page = await browser_context.new_page()
        await page.add_init_script(
            "Object.defineProperty(navigator, 'languages', {get: () => ['zh-CN', 'zh']})"
        )
        await page.goto(f"{node.api.base_url}/display")
        # no lesson has reached this box: it says it is waiting, in Chinese
        await page.wait_for_function(
            """() => window.dcI18n && window.dcI18n.lang === 'zh-CN'
                && document.getElementById('slide-missing').textContent
                   === window.dcI18n.t('display.waiting')
                && !/[A-Za-z]{3,}/.test(document.getElementById('slide-missing').textContent)""",
            timeout=30_000,
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "display-zh-CN.png"))
        assert await untranslated(page, ["p1"]) == []
        await page.select_option("#lang-switch", "en")
        await page.wait_for_function(
            "() => document.getElementById('title').textContent === 'Dual-teacher classroom'"
        )
    finally:
        await node.shutdown()
