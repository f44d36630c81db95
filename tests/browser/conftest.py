"""Real-browser fixtures: Debian Chromium under Playwright, inside a loopback-only netns.

Outside a network namespace Chromium offers the machine's
other addresses and makes DNS queries no flag prevents, so these tests run only
where ``lo`` is the sole interface (``make test`` runs pytest under
``unshare --net``); elsewhere they skip and say how to run them. Interfaces are
read with ``socket.if_nameindex()`` (netlink, this process's namespace), not from
``/sys/class/net``, which shows the namespace sysfs was mounted in.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub.signalling.conftest import live, loopback_only  # noqa: F401  (fixtures)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def _only_loopback() -> bool:
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def browser_skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if not _only_loopback():
        return (
            "not inside a loopback-only network namespace; run: unshare --net sh -c "
            "'ip link set lo up && exec .venv/bin/python -m pytest tests/browser' (or make test)"
        )
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture
async def browser_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[object]:
    """A headless persistent Chromium context with fake camera and microphone."""
    from playwright.async_api import async_playwright

    # short paths: Chromium's singleton socket under TMPDIR must fit a sockaddr_un
    short = Path(tempfile.mkdtemp(prefix="dcb-", dir="/tmp"))
    home, tmp = short / "home", short / "tmp"
    home.mkdir()
    tmp.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(tmp))
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(short / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            env={"HOME": str(home), "TMPDIR": str(tmp), "PATH": "/usr/bin:/bin"},
        )
        try:
            yield context
        finally:
            await context.close()
    shutil.rmtree(short, ignore_errors=True)


FRAMES_DECODED = """async () => {
  if (!window.dc || !window.dc.pc) return 0;
  const stats = await window.dc.pc.getStats();
  let frames = 0;
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
  });
  return frames;
}"""


async def frames_decoded(page: Any) -> int:
    return int(await page.evaluate(FRAMES_DECODED))


async def wait_frames(page: Any, at_least: int, timeout: float = 30.0) -> int:
    """Poll ``getStats`` until ``at_least`` video frames were decoded (or fail).

    Polled from Python: ``page.wait_for_function`` does not await an async
    predicate, it takes the returned promise as truthy at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        frames = await frames_decoded(page)
        if frames >= at_least:
            return frames
        if time.monotonic() > deadline:
            raise AssertionError(f"{frames} video frames decoded, wanted {at_least}")
        await asyncio.sleep(0.2)
