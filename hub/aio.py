"""Stop and await with a deadline, never waiting on a task that ignores its cancel.

``asyncio.wait_for`` cancels on timeout and then *waits for the cancellation to
finish*; a task stuck inside a library call (a Redis ``XREAD`` whose connection
is being torn down, a peer connection closing) can hold it for ever. And on
Python 3.11 a cancel that arrives while an inner ``wait_for`` completes is
swallowed, so a loop that was cancelled once carries on as if nothing happened
(the ops feed did, and hub shutdown hung). These helpers use ``asyncio.wait``,
which returns at the deadline whatever the task does, and cancel again until
the task ends; a task left behind is logged and keeps running on its own, it no
longer holds up the caller (a leaving peer, the next join, hub shutdown).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

__all__ = ["run_bounded", "stop_task"]

log = logging.getLogger("dualclass.hub")

#: How often ``stop_task`` repeats its cancel while it waits.
_RECANCEL_S = 0.05


async def stop_task(task: asyncio.Task[Any] | None, timeout_s: float, what: str) -> bool:
    """Cancel ``task`` and wait at most ``timeout_s`` for it; True if it ended."""
    if task is None or task.done():
        return True
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not task.done():
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            log.warning("%s did not stop within %.1f s; left behind", what, timeout_s)
            return False
        task.cancel()  # again: a swallowed cancel must not leave it running
        await asyncio.wait({task}, timeout=min(left, _RECANCEL_S))
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s ended with %r", what, task.exception())
    return True


async def run_bounded(step: Awaitable[Any], timeout_s: float, what: str) -> bool:
    """Await ``step`` for at most ``timeout_s``; False (logged) if it failed or ran over.

    Used for clean-up steps (closing peer connections and feeds): a failure there
    must never stop the rest of the clean-up."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        log.warning("%s still running after %.1f s; left behind", what, timeout_s)
        task.cancel()
        return False
    if task.cancelled():
        return False
    exc = task.exception()
    if exc is not None:
        log.warning("%s failed: %r", what, exc)
        return False
    return True
