"""Stopping background tasks without swallowing the caller's own cancellation.

The usual ``task.cancel(); with suppress(CancelledError): await task`` has a
flaw: if the *calling* task is cancelled while it waits (a second signal, a
timeout around a shutdown), that ``CancelledError`` is suppressed too, and the
caller carries on as if nothing happened. ``cancel_and_wait`` waits with
``asyncio.wait``, which never raises the awaited tasks' outcome but does raise
the caller's own cancellation.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

__all__ = ["cancel_and_wait"]

log = logging.getLogger("dualclass.runtime")


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel ``tasks`` (``None`` entries are skipped) and wait until each has ended.

    A task that ended with an error other than its cancellation is logged, not
    raised: the caller is stopping it, and its error must not hide the stop.
    """
    live = {task for task in tasks if task is not None}
    for task in live:
        task.cancel()
    if not live:
        return
    pending = live
    while pending:
        _, pending = await asyncio.wait(pending, timeout=1.0)
        # Python 3.11's asyncio.wait_for (inside aiomqtt, redis-py...) swallows a
        # cancellation that lands just as its inner wait completes; such a task
        # would wait on forever. Cancel what is still running again.
        for task in pending:
            task.cancel()
    for task in live:
        if not task.cancelled() and task.exception() is not None:
            log.warning("task %s ended with %r", task.get_name(), task.exception())
